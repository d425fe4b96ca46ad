"""`datacentric list …` and `datacentric init`: what ships with the package, listed and copied out."""

import json

import pytest

from datacentric.core.tomlconfig import pipelines_dir
from datacentric.corruptions.registry import REGISTRY
from datacentric.corruptions.suites import SUITES
from datacentric.models.registry import ARCHITECTURES
from datacentric.parts.registry import list_generators
from datacentric.pipeline.config import load_pipeline
from datacentric.training.methods import list_methods
from tests.cli.test_data_commands import assert_one_line_error, run

EXPECTED = {
    "models": lambda: set(ARCHITECTURES),
    "zoos": lambda: {"cpu-small", "cpu-surrogates", "cpu-attacker"},
    "recipes": lambda: {"cpu", "gpu", "competition", "cpu-augmix"},
    "suites": lambda: set(SUITES),
    "corruptions": lambda: set(REGISTRY),
    "pipelines": lambda: {"smoke", "cifar10", "cifar10-paper", "compare-cifar10"},
}


@pytest.mark.parametrize("what", sorted(EXPECTED))
def test_list_names_everything_of_its_kind(what, tmp_path):
    listed = json.loads(run(["list", what, "--json"], tmp_path).stdout)
    assert EXPECTED[what]() <= set(listed)
    text = run(["list", what], tmp_path).stdout
    assert all(name in text for name in EXPECTED[what]())


def test_list_methods_names_every_generator_and_training_method(tmp_path):
    listed = json.loads(run(["list", "methods", "--json"], tmp_path).stdout)
    assert [g["name"] for g in listed["part_generators"]] == [g["name"] for g in list_generators()]
    assert [m["name"] for m in listed["training_methods"]] == [m["name"] for m in list_methods()]
    assert run(["methods"], tmp_path).stdout == run(["list", "methods"], tmp_path).stdout


def test_list_of_an_unknown_kind_is_refused(tmp_path):
    assert run(["list", "widgets"], tmp_path, check=False).returncode == 2


def test_init_copies_a_packaged_pipeline_that_then_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run(["init", "smoke"], tmp_path)
    copied = tmp_path / "smoke.toml"
    assert copied.read_text() == (pipelines_dir() / "smoke.toml").read_text()
    assert load_pipeline(copied).name == "smoke"
    assert_one_line_error(run(["init", "smoke"], tmp_path, check=False), "--overwrite")
    run(["init", "smoke", "--overwrite", "--out", str(tmp_path / "mine.toml")], tmp_path)
    assert load_pipeline(tmp_path / "mine.toml").name == "smoke"  # the run folder is the name inside the file
    assert_one_line_error(run(["init", "nope"], tmp_path, check=False), "no packaged pipeline 'nope'")
