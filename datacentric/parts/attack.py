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
        results = attack_summary(self.context, out.load(), source)
        entries = [entry for entry in out.manifest["shards"].values() if "info" in entry]
        total = sum(entry["count"] for entry in entries)
        keys = sorted({key for entry in entries for key in entry["info"]["budget_use"]})
        results["budget_use"] = {key: sum(e["info"]["budget_use"][key] * e["count"] for e in entries) / total
                                 for key in keys}
        return results


def attack_summary(context, out: Samples, source: Samples) -> dict:
    """White-box error on the surrogates and transfer error on the held-out zoo, on the stored images
    (the fraction misclassified, with the error on the clean source images beside it)."""
    adversarial, clean = torch.from_numpy(out.images), torch.from_numpy(source.images)
    labels = torch.from_numpy(np.asarray(source.labels))

    def rates(model) -> dict:
        return {"adversarial": float((predict(model, adversarial, device=context.device) != labels).float().mean()),
                "clean": float((predict(model, clean, device=context.device) != labels).float().mean())}

    results = {"whitebox_error": {"ensemble": rates(context.ensemble)}}
    if context.holdout is not None:
        models, held = load_zoo_models(context.holdout, context.device)
        results["transfer_error"] = {m["name"]: rates(model) for m, model in zip(held, models)}
    return results
