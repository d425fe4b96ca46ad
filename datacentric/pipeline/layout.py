"""`RunLayout`: every path of a run folder (data/runs/<name>/), spelled once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datacentric.core import paths


@dataclass(frozen=True)
class RunLayout:
    """The folders and files of one run. Stores: split/<part>, subset/clean, reserve, parts/<part>, enhanced,
    ablation/<part>, bench/<set>; zoo folders: models/<set>; files: pipeline.json, timings.json, results.json,
    report.md/json and figures, parts.png, submission/."""

    root: Path

    @classmethod
    def named(cls, name: str) -> RunLayout:
        return cls(paths.data_dir() / "runs" / name)

    @property
    def config_file(self) -> Path:
        return self.root / "pipeline.json"

    @property
    def timings(self) -> Path:
        return self.root / "timings.json"

    def split(self, part: str) -> Path:
        return self.root / "split" / part

    @property
    def split_dir(self) -> Path:
        return self.root / "split"

    @property
    def subset_dir(self) -> Path:
        return self.root / "subset"

    @property
    def subset(self) -> Path:
        """The whole subset as one clean store: the baseline's training set and the surrogates' data."""
        return self.root / "subset" / "clean"

    @property
    def reserve(self) -> Path:
        return self.root / "reserve"

    def part(self, name: str) -> Path:
        return self.root / "parts" / name

    @property
    def parts_dir(self) -> Path:
        return self.root / "parts"

    @property
    def part_costs(self) -> Path:
        return self.root / "parts" / "costs.json"

    @property
    def enhanced(self) -> Path:
        return self.root / "enhanced"

    def ablation(self, part: str) -> Path:
        return self.root / "ablation" / part

    def models(self, name: str) -> Path:
        """A trained zoo folder: baseline, enhanced, without-<part>, surrogates, evaluation, attacker, or an arm."""
        return self.root / "models" / name

    @property
    def bench(self) -> Path:
        return self.root / "bench"

    @property
    def bench_config(self) -> Path:
        return self.root / "bench" / "bench.json"

    @property
    def results(self) -> Path:
        return self.root / "results.json"

    @property
    def report(self) -> Path:
        return self.root / "report.md"

    @property
    def parts_preview(self) -> Path:
        return self.root / "parts.png"

    @property
    def submission(self) -> Path:
        return self.root / "submission"

    def exported(self, format: str) -> Path:
        """Where the run's export of this format goes: submission/ for the competition's, export-<format>/ else."""
        return self.submission if format == "competition" else self.root / f"export-{format}"
