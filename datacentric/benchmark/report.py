"""Comparison reports: report.json, report.md laid out like paper 004's Table 1, and PNG figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from datacentric.core.errors import DatacentricError
from datacentric.core.grid import pyplot, save_figure
from datacentric.core.io import write_json_atomic, write_text_atomic

ROWS = (("clean", "ACC(P_ori)"), ("adv", "ACC(P_adv)"), ("cor", "ACC(P_cor)"), ("R", "R"))
TTA_ROWS = (("clean_tta", "ACC(P_ori), test-time flip + shifts"),)  # clean only: R and attacks never use it
# P_adv and R from the other attacker sources: the evaluation ensemble is a second line when the headline is
# the independent attacker's; external attackers where the benchmark names any
SOURCE_ROWS = (("adv_evaluation", "ACC(P_adv), evaluation ensemble"), ("R_evaluation", "R, evaluation ensemble"),
               ("adv_external", "ACC(P_adv), external attackers"), ("R_external", "R, external attackers"))
HEADLINE = {"independent": "the independent attacker (models trained on training images no subset holds, sharing no "
                           "model, image or training length with the surrogates)",
            "evaluation": "the evaluation ensemble (trained on the subset like the surrogates, but made no training "
                          "data)"}


CORRUPTION_ROWS = (("cor_seen", "ACC(P_cor), seen corruptions"), ("cor_unseen", "ACC(P_cor), unseen corruptions"))
# the field's protocols and the independent corruption sets, where the benchmark has them (not part of R)
WHITEBOX_ROWS = (("autoattack", "ACC AutoAttack (white-box)"),)
OTHER_SET_ROWS = (("imagecorruptions", "ACC imagecorruptions (library)"),
                  ("imagecorruptions_seen", "ACC imagecorruptions, seen types"),
                  ("imagecorruptions_unseen", "ACC imagecorruptions, unseen types"),
                  ("cifar10c", "ACC CIFAR-10-C (released arrays)"), ("cifar10c_mce", "mCE CIFAR-10-C"))
NOTES = {  # one plain sentence under each table: what it measures, and what it does not
    "baseline": "Trained on the clean subset only: the reference for the other tables. P_adv is black-box transfer "
                "from the attackers named above, so it does not measure white-box robustness (see the details "
                "below); the evaluation ensemble's row resembles the surrogates and flatters the enhanced set.",
    "enhanced": "Trained on the enhanced set. Seen corruptions are types the enhanced set contains, unseen ones are "
                "not in it: only the unseen row measures corruption robustness beyond the training data.",
    "difference": "Enhanced minus baseline: a gain on seen corruptions without one on unseen corruptions means the "
                  "set taught those corruptions, not corruption robustness in general.",
}


def rows_of(entries: list[dict]) -> tuple:
    """The table's rows: paper 004's four (P_adv and R from the headline source), seen and unseen corruption
    accuracy, and the other attacker sources' P_adv and R where every entry has them and they are not the headline."""
    headline = {e.get("adv_source", "evaluation") for e in entries}
    second = tuple(row for row in SOURCE_ROWS if all(row[0] in e for e in entries)
                   and not any(source in row[0] for source in headline))
    present = lambda rows: tuple(row for row in rows if all(row[0] in e for e in entries))  # noqa: E731
    return ROWS[:1] + present(TTA_ROWS) + ROWS[1:2] + present(WHITEBOX_ROWS) + ROWS[2:] + CORRUPTION_ROWS + \
        present(OTHER_SET_ROWS) + second
TRAINED_SETS = ("baseline", "enhanced")
ABLATED = "without-"  # results key prefix: the zoo trained on the enhanced set with that part left clean
ATTACK_ORDER = ("cw_l2", "mi_fgsm_8", "pgd_linf", "mi_fgsm_16")  # roughly weakest to strongest transfer


def in_order(keys, order: tuple[str, ...]) -> list[str]:
    """`keys` in `order`, then any key `order` lacks (sorted): a new attack is drawn last, never dropped."""
    return [k for k in order if k in keys] + sorted(set(keys) - set(order))


def compare(results: dict[str, dict[str, dict]], *, context: dict) -> dict:
    """{arch: {"baseline": evaluate(...), "enhanced": evaluate(...)}} → the report dictionary."""
    report = {"architectures": {}, "context": context}
    for arch, by_set in results.items():
        entry = {name: by_set[name] for name in TRAINED_SETS if name in by_set}
        if all(name in by_set for name in TRAINED_SETS):
            rows = rows_of([by_set[name] for name in TRAINED_SETS])
            entry["difference"] = {key: by_set["enhanced"][key] - by_set["baseline"][key] for key, _ in rows}
            entry["difference"]["adv_source"] = by_set["enhanced"].get("adv_source", "evaluation")
        report["architectures"][arch] = entry
    complete = [e for e in report["architectures"].values() if "difference" in e]
    if complete:
        rows = rows_of([e[name] for e in complete for name in TRAINED_SETS])
        report["mean"] = {name: {key: float(np.mean([e[name][key] for e in complete])) for key, _ in rows}
                          for name in TRAINED_SETS + ("difference",)}
        for name in TRAINED_SETS + ("difference",):
            report["mean"][name]["adv_source"] = complete[0][name].get("adv_source", "evaluation")
    ablated = sorted({k[len(ABLATED):] for by_set in results.values() for k in by_set if k.startswith(ABLATED)})
    if ablated:  # what each part adds: enhanced minus the same set with that part's images left clean
        report["ablation"] = {}
        for part in ablated:
            per_arch = {arch: {key: by_set["enhanced"][key] - by_set[ABLATED + part][key] for key, _ in ROWS}
                        for arch, by_set in results.items() if ABLATED + part in by_set}
            per_arch["mean"] = {key: float(np.mean([v[key] for v in per_arch.values()])) for key, _ in ROWS}
            report["ablation"][part] = per_arch
    return report


def write(report: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / "report.json", report)
    write_text_atomic(out_dir / "report.md", markdown(report))
    figures(report, out_dir)


def markdown(report: dict) -> str:
    archs = list(report["architectures"])
    sources = {e[s].get("adv_source", "evaluation") for e in report["architectures"].values() for s in TRAINED_SETS if s in e}
    source = sources.pop() if len(sources) == 1 else "evaluation"
    lines = ["# Robustness report", "",
             "Accuracies in percent on the benchmark's P_ori (clean), P_adv (black-box transfer attacks from "
             f"{HEADLINE[source]}) and P_cor (corruptions, severities 1–5); R is their mean (paper 004, eq. 7). "
             "No test-time augmentation anywhere but the row that says so (image, mirror and ±1 px shifts averaged, "
             "clean images only).", ""]
    bench = report.get("context", {}).get("bench", {})
    config = bench.get("config", {})
    if config.get("autoattack_count"):
        lines += [f"AutoAttack: the standard version (APGD-CE, APGD-T, FAB-T, Square; Croce & Hein 2020, RobustBench's "
                  f"protocol), white-box on each model, L∞ {config['autoattack_eps'] * 255:.0f}/255, on the first "
                  f"{config['autoattack_count']} P_ori images: beside the transfer P_adv, it shows what the model "
                  "withstands when the attacker has its gradients.", ""]
    if config.get("imagecorruptions_per_cell"):
        lines += ["imagecorruptions: the library's own code at ImageNet-C severities 1–5 (harsher than CIFAR-10-C's at "
                  f"32 px), {config['imagecorruptions_per_cell']} images per corruption and severity; a type is seen "
                  "when the enhanced set contains a corruption of that type (made by this package's code).", ""]
    if config.get("cifar10c_dir"):
        lines += [f"CIFAR-10-C: the released arrays, {config['cifar10c_count']} test images at each of 15 corruptions "
                  "× 5 severities (RobustBench's mean); mCE against the baseline model of the same architecture.", ""]
    attackers = bench.get("attacker", [])
    if attackers:
        lines += ["Independent attacker: " + ", ".join(f"{m['name']} ({m['clean_accuracy']:.1f} % on P_ori)"
                                                    for m in attackers) + ".", ""]
    for name, title in (("baseline", "Models trained on the clean set"),
                        ("enhanced", "Models trained on the enhanced set"), ("difference", "Enhanced − baseline")):
        present = [a for a in archs if name in report["architectures"][a]]
        if not present:
            continue
        lines += [f"## {title} (%)", "", "| | " + " | ".join(present) + (" | mean |" if "mean" in report else " |"),
                  "|---" * (len(present) + 1 + ("mean" in report)) + "|"]
        for key, label in rows_of([report["architectures"][a][name] for a in present]):
            values = [report["architectures"][a][name][key] for a in present]
            sign = "+" if name == "difference" else ""
            cell = lambda v: "–" if v != v else f"{v:{sign}.2f}"  # noqa: E731  (NaN: no such corruption in the set)
            mean = f" | {cell(report['mean'][name][key])}" if "mean" in report else ""
            lines.append(f"| {label} | " + " | ".join(cell(v) for v in values) + mean + " |")
        lines += ["", NOTES[name], ""]
    if "ablation" in report:
        columns = list(next(iter(report["ablation"].values())))
        lines += ["## Ablation: what each part adds (%)", "",
                  "| part replaced by its clean images | " + " | ".join(f"{c} ΔR" for c in columns)
                  + " | mean Δclean | mean ΔP_adv | mean ΔP_cor |", "|---" * (len(columns) + 4) + "|"]
        for part, per_arch in report["ablation"].items():
            mean = per_arch["mean"]
            lines.append(f"| {part} | " + " | ".join(f"{per_arch[c]['R']:+.2f}" for c in columns)
                         + f" | {mean['clean']:+.2f} | {mean['adv']:+.2f} | {mean['cor']:+.2f} |")
        lines += ["", "Enhanced set minus the same set with that part's images left as the clean images they were "
                  "made from (same models, epochs and seed): a positive ΔR means the part earns its place; it "
                  "does not say what other generators would have earned in its place.", ""]
    lines += ["## Details per architecture", ""]
    for arch, entry in report["architectures"].items():
        for name in TRAINED_SETS:
            if name not in entry:
                continue
            r = entry[name]
            lines.append(f"- **{arch}, {name}**: seen corruptions {r['cor_seen']:.1f}, unseen {r['cor_unseen']:.1f}; "
                         f"white-box PGD-20 {r['whitebox']['pgd_linf']:.1f}, FGSM {r['whitebox']['fgsm']:.1f}; "
                         + ", ".join(f"{k} {v:.1f}" for k, v in r["per_attack"].items())
                         + (f"; mCE {r['mce']:.3f}" if "mce" in r else ""))
    lines += ["", "Figures: `per_corruption.png`, `severity.png`, `attacks.png`.", ""]
    return "\n".join(lines)


def load_reports(run_dirs: list[Path], filename: str) -> list[dict]:
    """Each run's `filename` (report.json, compare.json), or one error line naming the unfinished run."""
    reports = []
    for run in run_dirs:
        path = Path(run) / filename
        if not path.is_file():
            raise DatacentricError(f"{run} has no {filename}; run it to the end first")
        reports.append(json.loads(path.read_text()))
    return reports


def seeds_table(run_dirs: list[Path]) -> str:
    """A markdown table of several runs' reports (one pipeline, several seeds): per architecture and for
    the zoo's mean, baseline and enhanced accuracy averaged over runs, and the difference's mean [min, max]."""
    reports = load_reports(run_dirs, "report.json")
    archs = [a for a in reports[0]["architectures"] if all("difference" in r["architectures"].get(a, {})
                                                            for r in reports)]
    if not archs:
        raise DatacentricError("the runs share no architecture with both a baseline and an enhanced result")
    columns = {a: [r["architectures"][a] for r in reports] for a in archs}
    columns["mean"] = [r["mean"] for r in reports]  # compare() already averaged each run over its zoo
    lines = [f"{len(reports)} runs: " + ", ".join(str(r) for r in run_dirs), "",
             "| % | " + " | ".join(f"{a} baseline | enhanced | Δ mean [min, max]" for a in columns) + " |",
             "|---" * (1 + 3 * len(columns)) + "|"]
    for key, label in rows_of([e[name] for entries in columns.values() for e in entries for name in TRAINED_SETS]):
        if key.startswith("cor_"):
            continue
        cells = []
        for entries in columns.values():
            base, enhanced, delta = ([e[name][key] for e in entries] for name in TRAINED_SETS + ("difference",))
            cells += [f"{np.mean(base):.2f}", f"{np.mean(enhanced):.2f}",
                      f"{np.mean(delta):+.2f} [{min(delta):+.2f}, {max(delta):+.2f}]"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for part in [p for p in reports[0].get("ablation", {}) if all(p in r.get("ablation", {}) for r in reports)]:
        cells = []
        for arch in columns:
            added = [r["ablation"][part][arch]["R"] for r in reports]
            cells += ["", "", f"{np.mean(added):+.2f} [{min(added):+.2f}, {max(added):+.2f}]"]
        lines.append(f"| R added by part '{part}' (ablation) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figures(report: dict, out_dir: Path) -> None:
    """per_corruption.png, severity.png and attacks.png: one colour per architecture, baseline plain and
    enhanced hatched (bars) or dashed and solid (lines), legends outside the data."""
    plt = pyplot()
    entries = report["architectures"]
    series = [(arch, name, entry[name]) for arch, entry in entries.items() for name in TRAINED_SETS if name in entry]
    colours = {arch: plt.get_cmap("tab10")(i % 10) for i, arch in enumerate(entries)}
    seen = {c for _, _, result in series for c in result.get("cor_seen_names", ())}
    everything = sorted({c for _, _, result in series for c in result["per_corruption"]})
    corruptions = [c for c in everything if c in seen] + [c for c in everything if c not in seen]
    labels = [f"{c} (unseen)" if seen and c not in seen else c for c in corruptions]
    figure, axis = plt.subplots(figsize=(max(8.0, len(corruptions) * 0.55), 4.8))
    _bars(axis, series, colours, [[r["per_corruption"].get(c, np.nan) for c in corruptions] for *_, r in series],
          labels)
    if seen and len(seen & set(corruptions)) < len(corruptions):  # shade the types the training set lacks
        axis.axvspan(len(seen & set(corruptions)) - 0.5, len(corruptions) - 0.5, color="0.92", zorder=0)
    axis.set_title("Accuracy per corruption, severities 1–5 pooled" +
                   ("; shaded: types the enhanced set does not contain" if seen else ""))
    _finish(plt, figure, axis, out_dir / "per_corruption.png")

    figure, axis = plt.subplots(figsize=(7, 4.5))
    steps = ("clean", "1", "2", "3", "4", "5")
    for arch, name, result in series:
        values = [result["clean"]] + [result["per_severity"].get(k, np.nan) for k in steps[1:]]
        axis.plot(range(len(steps)), values, marker="o", color=colours[arch],
                  linestyle="--" if name == "baseline" else "-", label=f"{arch} {name}")
    axis.set_xticks(range(len(steps)), ["clean\n(P_ori)", *steps[1:]])
    axis.set_xlabel("corruption severity (P_cor)")
    axis.set_title("Accuracy against corruption severity, from clean accuracy")
    _finish(plt, figure, axis, out_dir / "severity.png")

    attacks = in_order({k for *_, r in series for k in r["per_attack"]}, ATTACK_ORDER)
    figure, axis = plt.subplots(figsize=(max(7.0, 1.4 * (len(attacks) + 1)), 4.5))
    _bars(axis, series, colours, [[r["clean"]] + [r["per_attack"].get(k, np.nan) for k in attacks] for *_, r in series],
          ["clean (P_ori)", *attacks])
    axis.set_title("Accuracy per transfer attack (P_adv, weakest to strongest), beside clean accuracy")
    _finish(plt, figure, axis, out_dir / "attacks.png")


def _bars(axis, series: list, colours: dict, values: list[list[float]], categories: list[str]) -> None:
    """Grouped bars: one group per category, one bar per (architecture, set)."""
    width = 0.8 / max(1, len(series))
    for i, ((arch, name, _), heights) in enumerate(zip(series, values)):
        axis.bar(np.arange(len(categories)) - 0.4 + (i + 0.5) * width, heights, width, color=colours[arch],
                 edgecolor="black", linewidth=0.4, hatch="///" if name == "enhanced" else None, label=f"{arch} {name}")
    axis.set_xticks(np.arange(len(categories)), categories, rotation=45 if len(categories) > 6 else 0,
                    ha="right" if len(categories) > 6 else "center", fontsize=8)
    axis.set_xlim(-0.6, len(categories) - 0.4)


def _finish(plt, figure, axis, out: Path) -> None:
    axis.set_ylabel("accuracy (%)")
    axis.set_ylim(0, 100)
    axis.grid(axis="y", alpha=0.3)
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    figure.tight_layout()
    save_figure(figure, out)
    plt.close(figure)
