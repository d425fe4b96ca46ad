"""`transfer_attack`: paper 004's ensemble transfer attack (MI, TI, DI, logit loss; L∞ and L2) as a part."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from datacentric.attacks.engine import AttackConfig
from datacentric.attacks.transfer import attack_images, budget_use, check_invariants
from datacentric.data.samples import Samples
from datacentric.data.store import Store
from datacentric.models.predict import predict
from datacentric.models.saved import load_zoo_models
from datacentric.parts.registry import PartGenerator, check_common, register


@register("transfer_attack", AttackConfig)
class TransferAttack(PartGenerator):
    """Transfer adversarial examples from the surrogate ensemble (paper 004, eq. 1–6); settings: AttackConfig."""

    needs_surrogates = True
    kind = "adversarial"
    paper = "004"

    def generate(self, inputs: Samples, positions: np.ndarray) -> Samples:
        part = inputs.select(positions)
        out = attack_images(self.context.ensemble, part.images, part.labels, part.source_index,
                            seed=self.context.seed, config=self.settings, device=self.context.device,
                            positions=positions)
        self._last = out
        return dataclasses.replace(
            part, images=out.images, kind=np.full(len(part), self.kind), l2=out.l2, linf=out.linf,
            target_class=out.target, budget=np.full(len(part), self.settings.linf_eps if out.norm[0] != "l2"
                                                    else self.settings.l2_eps, np.float32))

    def check(self, source: Samples, out: Samples) -> None:
        check_common(source, out, self.name)
        check_invariants(source.images, self._last, source.source_index, self.settings)

    def shard_info(self) -> dict:
        return {"budget_use": budget_use(self._last, self.settings)}

    def summary(self, out: Store, source: Samples) -> dict:
        results = attack_summary(self.context, out, source)
        entries = [entry for entry in out.manifest["shards"].values() if "info" in entry]
        total = sum(entry["count"] for entry in entries)
        keys = sorted({key for entry in entries for key in entry["info"]["budget_use"]})
        results["budget_use"] = {key: sum(e["info"]["budget_use"][key] * e["count"] for e in entries) / total
                                 for key in keys}
        return results


def attack_summary(context, out: Store, source) -> dict:
    """White-box error on the surrogates and transfer error on the held-out zoo, on the stored images
    (the fraction misclassified, with the error on the clean source images beside it), one shard at a time.
    `source` is the part's input (`Samples` or `StoreView`): out's sample i was made from its sample i."""
    models = {"ensemble": context.ensemble}
    if context.holdout is not None:
        held_models, held = load_zoo_models(context.holdout, context.device)
        models.update({m["name"]: model for m, model in zip(held, held_models)})
    wrong = {name: {"adversarial": 0, "clean": 0} for name in models}
    offset = 0
    for shard in out.iter_shards():
        clean = source.select(np.arange(offset, offset + len(shard)))
        offset += len(shard)
        labels = torch.from_numpy(np.asarray(clean.labels))
        for name, model in models.items():
            for key, images in (("adversarial", shard.images), ("clean", clean.images)):
                predicted = predict(model, torch.from_numpy(images), device=context.device)
                wrong[name][key] += int((predicted != labels).sum())
    rates = {name: {key: count / offset for key, count in counts.items()} for name, counts in wrong.items()}
    results = {"whitebox_error": {"ensemble": rates.pop("ensemble")}}
    if context.holdout is not None:
        results["transfer_error"] = rates
    return results
