"""The smoke pipeline end to end (every stage, a few hundred images), and its resumption."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from datacentric.data.store import Store
from datacentric.models.saved import load_model
from datacentric.pipeline.runner import STAGES
from tests.cli.test_data_commands import run as cli
from tests.conftest import enhance_smoke
from tests.helpers import copy_prepared

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


SMOKE = os.path.join(REPO, "pipelines", "smoke.toml")


def enhance(data_dir, *args):
    return enhance_smoke(data_dir, *args)


def numbers(data_dir):
    report = json.loads((data_dir / "runs" / "smoke" / "report.json").read_text())
    return {arch: {name: {k: entry[name][k] for k in ("clean", "adv", "cor", "R")} for name in ("baseline", "enhanced")}
            for arch, entry in report["architectures"].items()}


def test_smoke_pipeline_runs_every_stage(tmp_path, smoke_run):
    data, result = tmp_path / "data", smoke_run[1]
    shutil.copytree(smoke_run[0], data)  # this test changes the run: a copy
    for stage in STAGES:
        assert f"stage {stage}" in result.stdout
    for part in ("clean", "adversarial", "corrupted"):  # the ratio shorthand's three parts
        assert f"part {part}" in result.stdout
    run = data / "runs" / "smoke"
    report = json.loads((run / "report.json").read_text())
    entry = report["architectures"]["cifar_resnet8-s0"]
    assert {"clean", "adv", "cor", "R"} <= set(entry["baseline"]) and {"clean", "adv", "cor", "R"} <= set(entry["enhanced"])
    # the inline target zoo: a registry model, a timm model and a torchvision model, trained and benchmarked
    assert set(report["architectures"]) == {"cifar_resnet8-s0", "timm-test_resnet-s0",
                                            "torchvision-shufflenet_v2_x0_5-s0"}
    for name, arch in (("timm-test_resnet-s0", "timm:test_resnet"),
                       ("torchvision-shufflenet_v2_x0_5-s0", "torchvision:shufflenet_v2_x0_5")):
        assert {"clean", "imagecorruptions", "whitebox"} <= set(report["architectures"][name]["enhanced"])
        assert load_model(run / "models" / "enhanced" / name / "model.pt")[1]["arch"] == arch
    assert "ACC imagecorruptions (library)" in (run / "report.md").read_text()
    for figure in ("per_corruption.png", "severity.png", "attacks.png"):
        assert (run / figure).stat().st_size > 5000
    assert "ACC(P_ori)" in (run / "report.md").read_text()
    added = report["ablation"]["adversarial"]  # the same set with the adversarial part left clean, trained again
    assert set(added) == {*report["architectures"], "mean"} and "## Ablation" in (run / "report.md").read_text()
    without = json.loads((run / "results.json").read_text())["cifar_resnet8-s0"]["without-adversarial"]
    assert added["mean"]["R"] == pytest.approx(entry["enhanced"]["R"] - without["R"])
    ablated = Store(run / "ablation" / "adversarial").load()
    assert set(ablated.kind) == {"clean", "corrupted"} and len(ablated) == len(Store(run / "enhanced"))
    assert (run / "submission" / "data.npy").exists() and (run / "submission" / "label.npy").exists()
    cli(["card", "--store", str(run / "enhanced"), "--out", str(tmp_path / "card")], data)  # the rest in this process
    text = (tmp_path / "card" / "card.md").read_text()
    assert "| adversarial | 100 |" in text and "held-out" in text and '"stage": "assemble"' in text
    assert "- `adversarial`: " in text and "not measured" not in text  # the attack part's transfer, read back
    assert (tmp_path / "card" / "norms.png").stat().st_size > 5000 and (tmp_path / "card" / "examples.png").exists()
    cli(["enhance", SMOKE, "--from", "report", "--until", "report"], data)  # a partial re-run keeps the stages' times
    timings = json.loads((run / "timings.json").read_text())
    assert set(timings["stages"]) == set(STAGES)
    assert timings["total"] == pytest.approx(sum(timings["stages"].values()))
    check_independent_attacker(data, result)
    # an edited pipeline remakes what its edit changed, in place, and keeps the rest
    # an edited pipeline remakes what its edit changed, in place, and keeps the rest: another attack, and
    # evaluation ensemble and independent attacker trained longer (the attacked benchmark sets are made again)
    text = open(os.path.join(REPO, "pipelines", "smoke.toml")).read().replace("iterations = 2", "iterations = 3")
    edited = tmp_path / "smoke.toml"
    edited.write_text(text.replace('zoo = "smoke-evaluation"\nrecipe = "cpu"\nepochs = 1',
                                   'zoo = "smoke-evaluation"\nrecipe = "cpu"\nepochs = 2')
                      .replace('zoo = "smoke-attacker"\nrecipe = "cpu"\nepochs = 1', 'zoo = "smoke-attacker"\nrecipe = "cpu"\nepochs = 2'))
    hashes = {name: Store(run / path).manifest["config_hash"]
              for name, path in (("corrupted", "parts/corrupted"), ("cor", "bench/cor"), ("adv", "bench/adv"),
                                 ("independent", "bench/adv-independent"))}
    before_report = (run / "report.json").read_text()
    cli(["enhance", str(edited), "--until", "report"], data)
    assert Store(run / "parts" / "adversarial").manifest["config"]["settings"]["iterations"] == 3
    assert Store(run / "parts" / "corrupted").manifest["config_hash"] == hashes["corrupted"]
    assert Store(run / "bench" / "cor").manifest["config_hash"] == hashes["cor"]  # no attacker: kept
    for name, path in (("adv", "bench/adv"), ("independent", "bench/adv-independent")):  # other weights: remade
        assert Store(run / path).manifest["config_hash"] != hashes[name], name
    assert (run / "report.json").read_text() != before_report


def check_independent_attacker(data, first_run):
    """The headline P_adv is the independent attacker's: trained once on the reserve, reused by another seed."""
    assert "cifar_resnet8-s300 epoch 1/1" in first_run.stdout + first_run.stderr  # epoch lines go to stderr
    run = data / "runs" / "smoke"
    results = json.loads((run / "results.json").read_text())["cifar_resnet8-s0"]
    for name in ("baseline", "enhanced"):
        assert results[name]["adv_source"] == "independent"
        assert results[name]["adv"] == results[name]["adv_independent"] and "adv_evaluation" in results[name]
    assert "Independent attacker: cifar_resnet8-s300" in (run / "report.md").read_text()
    reserve = Store(run / "reserve").load().source_index
    assert len(reserve) == 200 and not np.intersect1d(reserve, Store(run / "subset" / "clean").load().source_index).size
    second = cli(["enhance", SMOKE, "--seed", "1", "--until", "surrogates"], data)
    assert "cifar_resnet8-s300 epoch" not in second.stdout + second.stderr  # copied from the model cache
    other = data / "runs" / "smoke-seed1"
    assert not np.intersect1d(reserve, Store(other / "subset" / "clean").load().source_index).size
    weights = [json.loads((r / "models" / "attacker" / "cifar_resnet8-s300" / "identity.json").read_text())
               ["weights_sha256"] for r in (run, other)]
    assert weights[0] == weights[1]


def test_a_pip_installed_run_interrupted_in_the_parts_stage_ends_with_the_same_report(tmp_path, prepared, smoke_run,
                                                                                     installed):
    """`pip install` outside the checkout, `datacentric init smoke`, `datacentric enhance smoke.toml` (the
    README's quickstart), interrupted in the parts stage and resumed: the same numbers and stores, byte for
    byte, as the checkout's uninterrupted run."""
    whole = smoke_run[0]
    broken = copy_prepared(prepared, tmp_path / "broken")
    subprocess.run([installed, "init", "smoke"], cwd=tmp_path, check=True, capture_output=True)
    pipeline = tmp_path / "smoke.toml"
    enhance_smoke(broken, "--until", "parts", command=(str(installed),), pipeline=pipeline)
    attack_store = broken / "runs" / "smoke" / "parts" / "adversarial"
    manifest = json.loads((attack_store / "manifest.json").read_text())
    manifest["complete"], manifest["shards"] = False, {}  # as if killed before its shard was recorded
    (attack_store / "manifest.json").write_text(json.dumps(manifest))
    enhance_smoke(broken, command=(str(installed),), pipeline=pipeline)
    assert numbers(broken) == numbers(whole)
    for store in ("parts/adversarial", "enhanced"):  # the data itself, byte for byte (paths in the configs differ)
        first, second = (Store(d / "runs" / "smoke" / store).load() for d in (whole, broken))
        assert np.array_equal(first.images, second.images) and np.array_equal(first.labels, second.labels), store
    assert (broken / "runs" / "smoke" / "report.md").read_text() == (whole / "runs" / "smoke" / "report.md").read_text()


@pytest.mark.parametrize("pipeline", ["smoke-iat", "smoke-ant"])
def test_method_pipelines_run_end_to_end(tmp_path, prepared, pipeline):
    """IAT's chained parts (mixup of clean and of attacked images) and ANT's trained noise, end to end."""
    data = copy_prepared(prepared, tmp_path)
    env = {**os.environ, "DATACENTRIC_DATA": str(data)}
    result = subprocess.run([sys.executable, "-m", "datacentric", "enhance",
                             os.path.join(REPO, "pipelines", f"{pipeline}.toml")], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    run = data / "runs" / pipeline
    enhanced = Store(run / "enhanced").load()
    assert len(enhanced) == 300 and enhanced.soft_labels is not None or pipeline == "smoke-ant"
    np.testing.assert_allclose(enhanced.with_soft_labels(10).soft_labels.sum(1), 1, atol=1e-5)
    report = json.loads((run / "report.json").read_text())
    assert {"baseline", "enhanced", "difference"} <= set(report["architectures"]["cifar_resnet8-s0"])
    assert (run / "parts.png").stat().st_size > 2000
    if pipeline == "smoke-iat":  # the attacked part is an intermediate: only its mixed output is in the set
        assert set(enhanced.kind) == {"mixup"} and (enhanced.target_class >= -1).all()
        assert len(Store(run / "parts" / "adversarial")) == 150
    else:
        assert set(enhanced.kind) == {"clean", "adversarial_noise"}
        assert (run / "parts" / "ant" / "noise_generator.pt").exists()


def test_damaged_reserve_and_benchmark_shards_are_made_again_by_the_next_run(tmp_path, smoke_run):
    data = tmp_path / "data"
    shutil.copytree(smoke_run[0], data)
    run = data / "runs" / "smoke"
    shards = [run / "reserve" / "shard-00000.h5", run / "bench" / "adv-independent" / "shard-00000.h5"]
    good = [shard.read_bytes() for shard in shards]
    for shard, content in zip(shards, good):
        shard.write_bytes(content[:-100] + bytes(100))
    result = cli(["enhance", SMOKE, "--from", "split", "--until", "benchmark"], data)
    assert result.stderr.count("regenerating") >= 2
    assert shards[0].read_bytes() == good[0]  # the reserve: the same images again
    Store(run / "bench" / "adv-independent").verify()  # attacked again: every shard matches its checksum


def test_a_forged_export_marker_in_a_run_deletes_nothing(tmp_path, smoke_run):
    """The runner exports with --overwrite into its own submission folder: a marker there naming files elsewhere
    is refused like any other, and nothing is removed."""
    data = tmp_path / "data"
    shutil.copytree(smoke_run[0], data)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    marker = data / "runs" / "smoke" / "submission" / ".datacentric-export"
    marker.write_text(json.dumps({"files": {"../../../../victim.txt": "0" * 64}}))
    result = cli(["enhance", SMOKE, "--from", "export"], data, check=False)
    assert result.returncode == 2 and "nothing was replaced" in result.stderr
    assert victim.read_text() == "keep" and (data / "runs" / "smoke" / "submission" / "data.npy").exists()
