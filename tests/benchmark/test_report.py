"""Reports across runs: the seeds table averages what each run's report.json says."""

import json

import pytest

from datacentric.benchmark.report import ATTACK_ORDER, compare, in_order, seeds_table
from datacentric.core.errors import DatacentricError


def write_report(folder, baseline_r, enhanced_r):
    """A run's report.json made by compare(), as the pipeline writes it (R set by hand)."""
    folder.mkdir(parents=True)
    entry = lambda r: {"clean": 60.0, "adv": 30.0, "cor": 50.0, "R": r, "cor_seen": 50.0, "cor_unseen": 50.0}  # noqa: E731
    results = {"net-a": {"baseline": entry(baseline_r), "enhanced": entry(enhanced_r)},
               "net-b": {"baseline": entry(40.0), "enhanced": entry(50.0)}}
    (folder / "report.json").write_text(json.dumps(compare(results, context={})))
    return folder


def test_the_seeds_table_gives_mean_and_range_per_architecture_and_for_the_zoo(tmp_path):
    runs = [write_report(tmp_path / "s0", 40.0, 44.0), write_report(tmp_path / "s1", 42.0, 50.0)]
    table = seeds_table(runs)
    r_row = next(line for line in table.splitlines() if line.startswith("| R |"))
    # net-a: baseline (40+42)/2, enhanced (44+50)/2, Δ 4 and 8; net-b: Δ 10 twice; zoo mean Δ 7 and 9
    assert "| 41.00 | 47.00 | +6.00 [+4.00, +8.00] |" in r_row
    assert "+10.00 [+10.00, +10.00]" in r_row
    assert r_row.endswith("+8.00 [+7.00, +9.00] |")


def test_a_run_without_a_report_is_one_clear_error(tmp_path):
    with pytest.raises(DatacentricError, match="no report.json"):
        seeds_table([tmp_path])


def test_an_attack_outside_the_known_order_is_drawn_last_not_dropped():
    keys = {"pgd_linf": 1.0, "cw_l2": 2.0, "square_linf": 3.0, "autoattack": 4.0}
    assert in_order(keys, ATTACK_ORDER) == ["cw_l2", "pgd_linf", "autoattack", "square_linf"]
