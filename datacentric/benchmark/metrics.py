"""Robustness metrics as pure functions of predictions."""

from __future__ import annotations

import numpy as np


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy in percent (NaN for an empty set)."""
    return float(np.mean(predictions == labels) * 100) if len(labels) else float("nan")


def robustness_r(clean: float, adversarial: float, corrupted: float) -> float:
    """Paper 004, eq. 7: R = the mean of the accuracies on P_ori, P_adv and P_cor (each set weighted equally)."""
    return (clean + adversarial + corrupted) / 3


def grouped_accuracy(predictions: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """Accuracy per distinct value of `groups`."""
    return {str(g): accuracy(predictions[groups == g], labels[groups == g]) for g in np.unique(groups)}


def robustness_scores(per_perturbation: dict[str, float], clean: float) -> dict[str, float]:
    """Paper 000, eq. 7: A_phi / A_clean for every perturbation phi."""
    return {name: value / clean if clean else float("nan") for name, value in per_perturbation.items()}


def corruption_errors(model_error: dict[str, dict[int, float]], baseline_error: dict[str, dict[int, float]]
                      ) -> tuple[dict[str, float], float]:
    """Paper 003, eq. 1: CE_c = Σ_s E(model, c, s) / Σ_s E(baseline, c, s); mCE = the mean over corruptions."""
    ce = {}
    for corruption, errors in model_error.items():
        denominator = sum(baseline_error[corruption].values())
        ce[corruption] = sum(errors.values()) / denominator if denominator else float("nan")
    return ce, float(np.nanmean(list(ce.values()))) if ce else float("nan")
