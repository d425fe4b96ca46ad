"""What a store was made from, read back from its manifests: the part stores an assembled store was built from,
and the corruption functions its images contain (the benchmark's seen/unseen split for a model trained on it)."""

from __future__ import annotations

from pathlib import Path

from datacentric.core.errors import DatacentricError
from datacentric.data.store import Store
from datacentric.parts.registry import generator_class, make_settings


def part_stores(store: Store) -> dict[str, Store | None]:
    """The part stores of an assembled store, by part name: `parts/<name>` beside it (a run folder's layout)
    or a path as recorded; None for one that is gone or was remade since (another config hash)."""
    recorded = store.manifest["config"].get("parts", {})
    pairs = recorded.items() if isinstance(recorded, dict) else ((name, None) for name in recorded)
    found = {}
    for name, config_hash in pairs:
        found[name] = None
        for folder in (Path(store.root).parent / "parts" / name, Path(name)):
            if (folder / "manifest.json").is_file():
                part = Store(folder)
                if config_hash in (None, part.manifest["config_hash"]):
                    found[name] = part
                    break
    return found


def seen_corruptions(store: Store) -> set[str] | None:
    """Corruption functions (corruptions/registry.py) whose kind of change the store's images contain: a part
    store's generator's, the union of an assembled store's parts', none for source data; None when that cannot
    be known (a part store gone, a suite file moved away)."""
    config = store.manifest["config"]
    try:
        if "generator" in config:
            return generator_class(config["generator"]).seen_corruptions(
                make_settings(config["generator"], config.get("settings") or {}))
        if "parts" in config:
            parts = part_stores(store)
            found = [seen_corruptions(part) if part is not None else None for part in parts.values()]
            return None if any(s is None for s in found) else set().union(*found)
    except DatacentricError:
        return None
    return set()
