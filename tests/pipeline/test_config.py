"""Pipeline configs: every shipped TOML loads, seeds move runs aside, identical surrogates are trained once."""

import dataclasses

import pytest

from datacentric.config import load_recipe, load_zoo, pipelines_dir
from datacentric.errors import DatacentricError
from datacentric.pipeline.config import ZooSettings, load_pipeline, with_seed
from datacentric.pipeline.runner import Run

PIPELINES = sorted(p for p in pipelines_dir().glob("*.toml") if p.stem not in ("zoos", "recipes"))


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.stem)
def test_every_shipped_pipeline_loads_with_known_zoos_and_recipes(path):
    config = load_pipeline(path)
    assert config.name == path.stem
    for settings in (config.surrogates, config.evaluation, config.targets):
        assert load_zoo(settings.zoo) and load_recipe(settings.recipe)


def test_an_unknown_key_is_one_clear_error(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text('name = "typo"\n[attack]\niteratons = 3\n')
    with pytest.raises(DatacentricError, match="iteratons"):
        load_pipeline(path)


def test_another_seed_runs_in_its_own_folder():
    config = load_pipeline(pipelines_dir() / "cifar10.toml")
    assert with_seed(config, config.seed) == config
    other = with_seed(config, 7)
    assert (other.seed, other.name) == (7, "cifar10-seed7")
    assert Run(other).root.name == "cifar10-seed7"


def test_surrogates_configured_like_the_targets_are_the_baseline_models():
    config = load_pipeline(pipelines_dir() / "smoke.toml")
    assert config.surrogates == config.targets
    assert Run(config).surrogate_dir == Run(config).root / "models" / "baseline"
    separate = dataclasses.replace(config, surrogates=ZooSettings("cpu-surrogates"))
    assert Run(separate).surrogate_dir == Run(separate).root / "models" / "surrogates"
