"""Pipeline configs: every shipped TOML loads, seeds move runs aside, identical surrogates are trained once."""

import dataclasses

import pytest

from datacentric.core.errors import DatacentricError
from datacentric.core.tomlconfig import pipelines_dir
from datacentric.pipeline.config import ZooSettings, load_pipeline, with_seed
from datacentric.pipeline.runner import Run
from datacentric.training.config import load_recipe, load_zoo

COMPARISONS = sorted(pipelines_dir().glob("*compare*.toml"))
PIPELINES = sorted(p for p in pipelines_dir().glob("*.toml") if p.stem not in ("zoos", "recipes")
                   and p not in COMPARISONS)


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.stem)
def test_every_shipped_pipeline_loads_with_known_zoos_and_recipes(path):
    config = load_pipeline(path)
    assert config.name == path.stem
    for settings in (config.surrogates, config.evaluation, config.targets):
        assert load_zoo(settings.zoo) and load_recipe(settings.recipe)


@pytest.mark.parametrize("path", COMPARISONS, ids=lambda p: p.stem)
def test_every_shipped_comparison_loads_with_arms_sharing_its_subset(path):
    from datacentric.pipeline.compare import load_compare

    config = load_compare(path)
    assert config.name == path.stem and config.arms[0].name == "standard"


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


GOOD_PARTS = '''
[[parts]]
name = "clean"
share = 0.5
generator = "clean"

[[parts]]
name = "noisy"
share = 0.5
generator = "gaussian_noise"
[parts.settings]
sigma = 0.1
'''


def test_parts_tables_load_and_the_ratio_is_shorthand_for_the_classic_three(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n' + GOOD_PARTS)
    parts = load_pipeline(path).enhanced_parts()
    assert [(p.name, p.generator, p.share) for p in parts] == [("clean", "clean", 0.5), ("noisy", "gaussian_noise", 0.5)]
    assert parts[1].settings.sigma == 0.1
    classic = load_pipeline(pipelines_dir() / "cifar10.toml").enhanced_parts()
    assert [(p.name, p.generator) for p in classic] == [("clean", "clean"), ("adversarial", "transfer_attack"),
                                                        ("corrupted", "corruption")]
    assert [p.share for p in classic] == pytest.approx([0.2, 0.4, 0.4])


BAD_PARTS = {
    "unknown generator": (GOOD_PARTS.replace('"gaussian_noise"', '"blur_everything"'), "unknown part generator"),
    "shares": (GOOD_PARTS.replace("share = 0.5\ngenerator = \"clean\"", "share = 0.3\ngenerator = \"clean\""),
               "add up to 0.8"),
    "negative sigma": (GOOD_PARTS.replace("sigma = 0.1", "sigma = -0.1"), "non-negative"),
    "negative eps": (GOOD_PARTS.replace('generator = "gaussian_noise"\n[parts.settings]\nsigma = 0.1',
                                        'generator = "tlat"\n[parts.settings]\neps_max = -0.1'), "eps_max"),
    "missing input": (GOOD_PARTS + '\n[[parts]]\nname = "mixed"\ninput = "nowhere"\ngenerator = "mixup"\n',
                      "is not a part"),
    "cycle": (GOOD_PARTS + '\n[[parts]]\nname = "a"\ninput = "b"\ngenerator = "mixup"\n'
              '\n[[parts]]\nname = "b"\ninput = "a"\ngenerator = "mixup"\n', "cycle"),
    "soft label": (GOOD_PARTS.replace('generator = "clean"', 'generator = "clean"\nsoft_label = [0, 0]'),
                   "sums to a positive number"),
    "share and input": (GOOD_PARTS.replace('generator = "clean"', 'generator = "clean"\ninput = "noisy"'),
                        "either a share"),
    "fed twice": (GOOD_PARTS + '\n[[parts]]\nname = "a"\ninput = "noisy"\ngenerator = "mixup"\n'
                  '\n[[parts]]\nname = "b"\ninput = "noisy"\ngenerator = "mixup"\n', "more than one part"),
    "name escapes": (GOOD_PARTS.replace('name = "noisy"', 'name = "../x"'), "part name"),
    "unknown setting": (GOOD_PARTS.replace("sigma = 0.1", "sigmaa = 0.1"), "sigmaa"),
    "ablation of no part": ('ablation = ["nowhere"]\n' + GOOD_PARTS, "ablation names parts"),
}


@pytest.mark.parametrize("case", sorted(BAD_PARTS))
def test_bad_part_definitions_stop_with_one_line_before_any_work(tmp_path, case, monkeypatch, capsys):
    from datacentric.cli import main

    text, message = BAD_PARTS[case]
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n' + text)
    with pytest.raises(DatacentricError, match=message):
        load_pipeline(path)
    monkeypatch.setenv("DATACENTRIC_DATA", str(tmp_path / "data"))
    assert main(["enhance", str(path)]) == 2  # the command: one line, exit 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("error:") and len(stderr.splitlines()) == 1
    assert not (tmp_path / "data").exists()  # nothing written


def test_set_overrides_one_key_as_toml_and_is_recorded(tmp_path):
    smoke = pipelines_dir() / "smoke.toml"
    config = load_pipeline(smoke, ("split.limit=200", "corrupt.suite=cifar10c-light", "targets.epochs=2",
                                   'ablation=["adversarial", "corrupted"]'))
    assert (config.split.limit, config.corrupt.suite, config.targets.epochs) == (200, "cifar10c-light", 2)
    assert config.ablation == ("adversarial", "corrupted")
    assert config.overrides == ("split.limit=200", "corrupt.suite=cifar10c-light", "targets.epochs=2",
                                'ablation=["adversarial", "corrupted"]')
    assert load_pipeline(smoke).overrides == ()
    parts = load_pipeline(pipelines_dir() / "cifar10-augmix.toml", ("parts.0.share=0.75", "parts.1.share=0.25"))
    assert parts.parts[1].share == 0.25


@pytest.mark.parametrize("override, message", [
    ("split.limit=many", "limit must be an integer"),
    ("split.limt=3", "limt"),
    ("limit", "section.key=value"),
    ("name.x=1", "is not a table"),
    ("parts.9.share=0.5", "no entry 9"),
])
def test_a_bad_override_is_one_clear_error(override, message):
    path = pipelines_dir() / ("cifar10-augmix.toml" if override.startswith("parts") else "smoke.toml")
    with pytest.raises(DatacentricError, match=message):
        load_pipeline(path, (override,))


def test_a_comparison_arm_may_train_its_own_number_of_epochs(tmp_path, data_dir):
    from datacentric.pipeline.compare import Comparison, load_compare

    path = tmp_path / "c.toml"
    base = pipelines_dir() / "smoke.toml"
    path.write_text(f'name = "c"\nbase = "{base}"\nepochs = 4\n[[arms]]\nname = "standard"\n'
                    '[[arms]]\nname = "short"\nrecipe = "cpu-gnt"\nepochs = 2\n')
    comparison = Comparison(load_compare(path))
    assert [comparison.recipe(arm).epochs for arm in comparison.config.arms] == [4, 2]
    path.write_text(path.read_text().replace("epochs = 2", "epochs = 0"))
    with pytest.raises(DatacentricError, match="epochs must be at least 1"):
        load_compare(path)
