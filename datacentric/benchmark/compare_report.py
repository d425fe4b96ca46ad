"""The comparison's report: compare.json, compare.md (zoo means, per architecture, cost) and r_vs_cost.png."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datacentric.benchmark.report import load_reports
from datacentric.core.errors import DatacentricError
from datacentric.core.grid import pyplot, save_figure
from datacentric.core.io import write_json_atomic, write_text_atomic

STANDARD = "standard"  # the arm every other is measured against (mCE, ΔR)
# (key, column): accuracies in percent unless named otherwise
COLUMNS = (("clean", "clean"), ("adv", "P_adv"), ("adv_evaluation", "P_adv ens."), ("cor", "P_cor"),
           ("cor_seen", "seen"), ("cor_unseen", "unseen"), ("R", "R"), ("R_evaluation", "R ens."),
           ("ratio_adv", "A_adv/A_clean"), ("ratio_cor", "A_cor/A_clean"), ("mce", "mCE"),
           ("fgsm", "FGSM"), ("pgd", "PGD-20"), ("autoattack", "AutoAttack"), ("imagecorruptions", "imagecorr."),
           ("cifar10c", "CIFAR-10-C"), ("cifar10c_mce", "C10-C mCE"))
NOTE = ("P_adv and R are the independent attacker's (black-box transfer from models trained on images no subset "
        "holds); 'ens.' is the evaluation ensemble, trained like the surrogates. Seen corruptions are types an arm "
        "trains on; unseen ones are not, so only 'unseen' measures corruption robustness beyond the training data. "
        "A_phi/A_clean is paper 000's robustness score (eq. 7), mCE paper 003's (against `standard`), FGSM and PGD-20 "
        "white-box accuracy at L∞ 8/255 on 500 clean test images (paper 002's table), AutoAttack the standard version's "
        "white-box accuracy (Croce & Hein; RobustBench's protocol) on the benchmark's stated number of clean test "
        "images; imagecorr. is the imagecorruptions library's set (ImageNet-C code and severities), CIFAR-10-C the "
        "released arrays (mean over 15 corruptions × 5 severities) where the benchmark names them. Cost: wall seconds on this "
        "machine to make the arm's data (its parts, and the surrogates where a part attacks them) and to train the "
        "zoo on it; image passes count forward and backward passes of training.")


def flatten(result: dict) -> dict:
    """One evaluate() result → the report's columns."""
    row = {key: result.get(key, float("nan")) for key, _ in COLUMNS if key in result}
    row["ratio_adv"] = result["adv"] / result["clean"] if result["clean"] else float("nan")
    row["ratio_cor"] = result["cor"] / result["clean"] if result["clean"] else float("nan")
    row["fgsm"], row["pgd"] = result["whitebox"]["fgsm"], result["whitebox"]["pgd_linf"]
    row.setdefault("mce", float("nan"))
    return row


def build(results: dict[str, dict[str, dict]], costs: dict[str, dict], context: dict) -> dict:
    """{arm: {member: evaluate(...)}} and costs → {arms: {arm: {members, mean, delta, cost}}, context}."""
    if STANDARD not in results:
        raise DatacentricError(f"the comparison has no '{STANDARD}' arm to measure the others against")
    report = {"arms": {}, "context": context}
    standard = {m: flatten(r) for m, r in results[STANDARD].items()}
    for arm, by_member in results.items():
        rows = {member: flatten(result) for member, result in by_member.items()}
        keys = [k for k, _ in COLUMNS if all(k in r for r in rows.values())]
        mean = {k: float(np.mean([r[k] for r in rows.values()])) for k in keys}
        delta = {k: float(np.mean([rows[m][k] - standard[m][k] for m in rows])) for k in ("clean", "adv", "cor", "R")}
        cost = dict(costs.get(arm, {}))
        hours = cost.get("seconds", 0) / 3600
        cost["delta_R_per_hour"] = delta["R"] / hours if hours and arm != STANDARD else float("nan")
        report["arms"][arm] = {"members": rows, "mean": mean, "delta": delta, "cost": cost,
                               "kind": context.get("arms", {}).get(arm, {}).get("kind", "")}
    return report


def cell(value: float, sign: str = "") -> str:
    return "–" if value != value else f"{value:{sign}.2f}"


def markdown(report: dict) -> str:
    arms = report["arms"]
    base = report["context"].get("base", {})
    lines = ["# Method comparison", "",
             f"Every arm trains the target zoo `{base.get('targets', {}).get('zoo', '?')}` on the same "
             f"{base.get('split', {}).get('limit') or 'full'}-image subset and is measured on one benchmark. "
             "Accuracies in percent; Δ against `standard` (same architecture), averaged over the zoo.", "",
             "## Zoo mean", "",
             "| arm | kind | clean | P_adv | P_cor | R | ΔR | Δclean | unseen | R ens. | cost (min) | ΔR per hour |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, arm in arms.items():
        m, d, c = arm["mean"], arm["delta"], arm["cost"]
        lines.append(f"| {name} | {arm['kind']} | {cell(m['clean'])} | {cell(m['adv'])} | {cell(m['cor'])} | "
                     f"{cell(m['R'])} | {cell(d['R'], '+')} | {cell(d['clean'], '+')} | {cell(m.get('cor_unseen', np.nan))} | "
                     f"{cell(m.get('R_evaluation', np.nan))} | {cell(c.get('seconds', np.nan) / 60)} | "
                     f"{cell(c.get('delta_R_per_hour', np.nan), '+')} |")
    members = list(next(iter(arms.values()))["members"])
    for member in members:
        present = [k for k, _ in COLUMNS if all(k in arm["members"][member] for arm in arms.values())]
        labels = dict(COLUMNS)
        lines += ["", f"## {member}", "", "| arm | " + " | ".join(labels[k] for k in present) + " |",
                  "|---" * (len(present) + 1) + "|"]
        for name, arm in arms.items():
            row = arm["members"][member]
            lines.append(f"| {name} | " + " | ".join(cell(row[k]) for k in present) + " |")
    lines += ["", "## Cost", "", "| arm | data (s) | training (s) | training forward images | backward images |",
              "|---|---|---|---|---|"]
    for name, arm in arms.items():
        c = arm["cost"]
        lines.append(f"| {name} | {c.get('data_seconds', 0):.0f} | {c.get('train_seconds', 0):.0f} | "
                     f"{c.get('forward_images', 0):,} | {c.get('backward_images', 0):,} |")
    lines += ["", NOTE, "", "Figure: `r_vs_cost.png` (zoo-mean R against cost, one point per arm).", ""]
    return "\n".join(lines)


def figure(report: dict, out: Path) -> None:
    """r_vs_cost.png: zoo-mean R against cost, one numbered point per arm (circles data-centric sets, squares
    training methods), the names in a legend beside the axes, and the standard arm's R as a reference line."""
    plt = pyplot()
    fig, axis = plt.subplots(figsize=(9, 5))
    colours = plt.get_cmap("tab20")
    for number, (name, arm) in enumerate(report["arms"].items(), start=1):
        minutes, r = arm["cost"].get("seconds", 0) / 60, arm["mean"]["R"]
        axis.scatter(minutes, r, s=70, marker="s" if arm["kind"] == "training" else "o",
                     color="black" if name == STANDARD else colours((number - 1) % 20), edgecolor="black",
                     label=f"{number}  {name}  (R {r:.1f}, {minutes:.1f} min)")
        axis.annotate(str(number), (minutes, r), textcoords="offset points", xytext=(5, 4), fontsize=8)
        if name == STANDARD:
            axis.axhline(r, color="black", linewidth=0.8, linestyle=":")
    axis.set_xlabel("cost: minutes of this machine (data + training)")
    axis.set_ylabel("R, zoo mean (%)")
    axis.set_title("Robustness against cost (o data-centric set, □ training method; dotted: standard)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    save_figure(fig, out)
    plt.close(fig)


def write(results: dict, costs: dict, context: dict, out_dir: Path) -> dict:
    report = build(results, costs, context)
    write_json_atomic(out_dir / "compare.json", report, sort_keys=False)
    write_text_atomic(out_dir / "compare.md", markdown(report))
    figure(report, out_dir / "r_vs_cost.png")
    return report


def seeds_table(run_dirs: list[Path]) -> str:
    """Several comparison runs (seeds) → per arm: zoo-mean clean, P_adv, unseen P_cor and R, ΔR against
    `standard` (zoo mean, each architecture, and from the evaluation ensemble), Δclean: mean [min, max]."""
    reports = load_reports(run_dirs, "compare.json")
    arms = [a for a in reports[0]["arms"] if all(a in r["arms"] for r in reports)]
    members = list(reports[0]["arms"][arms[0]]["members"])

    def spread(values: list[float], sign: str = "") -> str:
        return f"{np.mean(values):{sign}.2f} [{min(values):{sign}.2f}, {max(values):{sign}.2f}]"

    def member_delta(report: dict, arm: str, member: str, key: str = "R") -> float:
        return report["arms"][arm]["members"][member][key] - report["arms"][STANDARD]["members"][member][key]

    def zoo_delta(report: dict, arm: str, key: str) -> float:
        return float(np.mean([member_delta(report, arm, member, key) for member in members]))

    architectures = [member.rsplit("-s", 1)[0] for member in members]
    lines = [f"{len(reports)} runs: " + ", ".join(str(r) for r in run_dirs), "",
             "| arm | clean | P_adv | P_cor unseen | R | ΔR | " + " | ".join(f"ΔR {a}" for a in architectures)
             + " | ΔR ens. | Δclean | cost (min) |", "|---" * (9 + len(architectures)) + "|"]
    for arm in arms:
        entries = [r["arms"][arm] for r in reports]
        cells = [spread([e["mean"][k] for e in entries]) for k in ("clean", "adv", "cor_unseen", "R")]
        cells.append(spread([e["delta"]["R"] for e in entries], "+"))
        cells += [spread([member_delta(r, arm, member) for r in reports], "+") for member in members]
        cells.append(spread([zoo_delta(r, arm, "R_evaluation") for r in reports], "+"))
        cells.append(spread([e["delta"]["clean"] for e in entries], "+"))
        cells.append(f"{np.mean([e['cost'].get('seconds', 0) for e in entries]) / 60:.1f}")
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
