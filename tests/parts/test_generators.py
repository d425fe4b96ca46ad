"""Every registered part generator on real CIFAR-10 images: shapes, budgets, label rows, provenance, and the
same bytes for any worker count, shard size and batch size, and after a kill."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from datacentric.core.errors import DatacentricError
from datacentric.data.samples import Samples
from datacentric.data.store import Store, StoreInfo, write_store
from datacentric.parts.augmix import OPERATIONS, AugMixSettings, augmix_image
from datacentric.parts.prime import PRIMITIVES, PrimeSettings, colour, prime_image, spatial, spectral
from datacentric.parts.registry import (
    GENERATORS,
    PartContext,
    _load_all,
    create_generator,
    generator_class,
    list_generators,
    make_settings,
)
from datacentric.parts.transform import transform_with_workers
from datacentric.training.methods import METHODS, method_class
from tests.cli.test_data_commands import run
from tests.helpers import write_zoo_dir

_load_all()
CPU = torch.device("cpu")
COUNT = 48
# small settings per generator (the defaults are the papers' and run longer); settings with a batch size get two
SMALL = {
    "clean": {},
    "transfer_attack": {"iterations": 2, "combine": "linf", "target": "random", "batch_size": 16},
    "corruption": {"suite": "cifar10c-light"},
    "tlat": {"eps_max": 8 / 255, "label_weight": 0.3, "batch_size": 16},
    "mixup": {"alpha": 0.4},
    "gaussian_noise": {"sigmas": [0.04, 0.1]},
    "speckle_noise": {},
    "adversarial_noise": {"eps": 3.0, "iterations": 3, "train_batch_size": 8},
    "augmix": {"width": 2, "severity": 5},
    "prime": {"width": 2},
}


def test_every_registered_generator_has_small_settings_here_and_a_methods_section():
    from pathlib import Path

    methods = (Path(__file__).resolve().parents[2] / "docs" / "METHODS.md").read_text()
    assert set(SMALL) == set(GENERATORS)
    for entry in list_generators():
        assert entry["summary"] and f"`{entry['name']}`" in methods, entry["name"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory, cifar4k, module_models):
    folder = tmp_path_factory.mktemp("parts")
    x, y = cifar4k
    index = np.arange(3000, 3000 + COUNT)
    info = StoreInfo("cifar10", "split", tuple(str(i) for i in range(10)), {"part": "any"}, 0)
    write_store(folder / "input", info, Samples.clean(x[index], y[index], index), shard_size=100)
    write_zoo_dir(folder / "surrogates", {"cifar_vgg_small-s0": module_models["cifar_vgg_small"],
                                          "cifar_resnet8-s0": module_models["cifar_resnet8"]})
    return folder


def make(setup, name, out, *, settings=None, workers=1, shard_size=20, input_store=None, **kwargs):
    context = PartContext(seed=3, device=CPU, surrogates=setup / "surrogates")
    return transform_with_workers(workers, input_store=input_store or setup / "input", out_dir=setup / out,
                                  generator=name, settings=make_settings(name, settings or SMALL[name]),
                                  context=context, shard_size=shard_size, progress=False, **kwargs)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_generator_output_is_well_formed_and_the_same_for_any_workers_shards_and_batches(setup, name):
    source = Store(setup / "input").load()
    store = make(setup, name, f"{name}-a")
    out = store.load()
    assert out.images.shape == source.images.shape and out.images.dtype == np.uint8
    assert np.array_equal(out.source_index, source.source_index)
    if out.soft_labels is not None:
        np.testing.assert_allclose(out.soft_labels.sum(1), 1, atol=1e-5)
        assert (out.soft_labels >= 0).all() and np.array_equal(out.soft_labels.argmax(1), out.labels)
    if name != "clean":
        assert (out.l2 > 0).mean() > 0.9, "most samples must change"
    other = make(setup, name, f"{name}-b", workers=2, shard_size=48,
                 settings={**SMALL[name], **({"batch_size": 5} if "batch_size" in SMALL[name] else {})}).load()
    for field in ("images", "labels", "soft_labels", "partner_index", "mix_lambda", "target_class", "budget"):
        assert np.array_equal(getattr(out, field), getattr(other, field), equal_nan=True) \
            if getattr(out, field) is not None else getattr(other, field) is None, field


@pytest.mark.parametrize("name", ["transfer_attack", "mixup", "adversarial_noise"])
def test_a_killed_part_resumes_to_the_same_bytes(setup, name):
    reference = make(setup, name, f"{name}-resume").load()
    folder = setup / f"{name}-resume"
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["shards"].pop("1")
    manifest["complete"] = False  # as if killed before shard 1 was recorded
    (folder / "manifest.json").write_text(json.dumps(manifest))
    again = make(setup, name, f"{name}-resume").load()
    assert np.array_equal(again.images, reference.images) and np.array_equal(again.labels, reference.labels)


@pytest.mark.parametrize("name, workers", [("transfer_attack", 1), ("gaussian_noise", 2)])
def test_a_finished_part_is_returned_without_setting_its_generator_up_again(setup, name, workers, monkeypatch):
    first = make(setup, name, f"finished-{name}", workers=workers)

    def refuse(self, samples):
        raise AssertionError("setup ran again on a finished part")

    monkeypatch.setattr(generator_class(name), "setup", refuse)
    again = make(setup, name, f"finished-{name}", workers=workers)
    assert again.manifest == first.manifest


def test_tlat_budgets_targets_and_labels(setup):
    out = Store(setup / "tlat-a").load() if (setup / "tlat-a").exists() else make(setup, "tlat", "tlat-a").load()
    source = Store(setup / "input").load()
    eps_max = SMALL["tlat"]["eps_max"]
    assert (out.budget >= 0).all() and (out.budget <= eps_max).all() and out.budget.std() > 0
    assert (out.linf <= out.budget + 0.5 / 255 + 1e-6).all()
    assert (out.target_class != source.labels).all() and (out.target_class >= 0).all()
    rows = np.arange(len(out))
    weight = 0.3 * out.budget / eps_max
    np.testing.assert_allclose(out.soft_labels[rows, out.target_class], weight, atol=1e-5)
    np.testing.assert_allclose(out.soft_labels[rows, source.labels], 1 - weight, atol=1e-5)


def test_mixup_partners_lambdas_and_pixels(setup):
    out = make(setup, "mixup", "mixup-check").load()
    source = Store(setup / "input").load()
    by_index = {int(i): k for k, i in enumerate(source.source_index)}
    assert set(out.partner_index) <= set(by_index) and len(set(out.partner_index)) == COUNT  # a permutation
    assert ((out.mix_lambda >= 0) & (out.mix_lambda <= 1)).all() and out.mix_lambda.std() > 0
    for k in range(COUNT):
        own, partner, lam = source.images[k].astype(np.float32), source.images[by_index[out.partner_index[k]]], \
            out.mix_lambda[k]
        expected = np.clip(np.round(lam * own + (1 - lam) * partner.astype(np.float32)), 0, 255)
        assert np.abs(out.images[k].astype(int) - expected.astype(int)).max() <= 1


def test_mixup_of_an_attacked_part_is_iat_data(setup):
    attacked = setup / "transfer_attack-a"
    if not attacked.exists():
        make(setup, "transfer_attack", "transfer_attack-a")
    out = make(setup, "mixup", "iat", input_store=attacked).load()
    assert out.soft_labels is not None and (out.target_class >= 0).all()  # the attack's provenance travels along


def test_noise_budgets_are_the_sigmas_drawn(setup):
    gaussian = make(setup, "gaussian_noise", "gaussian-check").load()
    assert np.isclose(gaussian.budget[:, None], [0.04, 0.1]).any(1).all() and len(set(gaussian.budget)) == 2
    speckle = make(setup, "speckle_noise", "speckle-check").load()
    assert np.isclose(speckle.budget[:, None], [0.15, 0.2, 0.35, 0.45, 0.6]).any(1).all()


def test_adversarial_noise_is_on_the_eps_sphere_and_its_generator_is_saved(setup):
    out = make(setup, "adversarial_noise", "ant-check").load()
    eps = SMALL["adversarial_noise"]["eps"]
    assert (out.l2 <= eps + 0.5 / 255 * np.sqrt(3072) + 1e-5).all()
    assert np.median(np.abs(out.l2 - eps)) < 0.2  # rounding to uint8 moves the norm a little
    saved = torch.load(setup / "ant-check" / "noise_generator.pt", weights_only=True)
    assert saved["identity"]["eps"] == eps and "state_dict" in saved
    assert Store(setup / "ant-check").manifest["extra"]["generator_training"]["iterations"] == 3


def test_a_part_label_rule_makes_soft_rows(setup):
    out = make(setup, "clean", "smoothed", soft_label=(0.9, 0.01)).load()
    source = Store(setup / "input").load()
    rows = np.arange(len(out))
    np.testing.assert_allclose(out.soft_labels[rows, source.labels], 0.91, atol=1e-6)
    np.testing.assert_allclose(out.soft_labels.sum(1), 1, atol=1e-6)


def test_an_invariant_break_writes_nothing(setup, monkeypatch):
    from datacentric.parts.noise import GaussianNoise

    original = GaussianNoise.generate

    def broken(self, inputs, positions):
        out = original(self, inputs, positions)
        return dataclasses.replace(out, images=out.images[:-1], labels=out.labels[:-1],
                                   source_index=out.source_index[:-1])

    monkeypatch.setattr(GaussianNoise, "generate", broken)
    with pytest.raises(DatacentricError, match="nothing was written"):
        make(setup, "gaussian_noise", "broken")
    assert Store(setup / "broken", require_complete=False).shard_ids == []


def test_transform_refuses_another_config_in_the_same_folder(setup):
    make(setup, "gaussian_noise", "refuse", settings={"sigma": 0.1})
    with pytest.raises(DatacentricError, match="another config"):
        make(setup, "gaussian_noise", "refuse", settings={"sigma": 0.2})


def test_the_methods_command_lists_every_generator_and_training_method(tmp_path):
    method_class("standard")
    result = run(["methods", "--json"], tmp_path)
    listed = json.loads(result.stdout)
    assert {g["name"] for g in listed["part_generators"]} == set(GENERATORS)
    assert {m["name"] for m in listed["training_methods"]} == set(METHODS)
    tlat = next(g for g in listed["part_generators"] if g["name"] == "tlat")
    assert tlat["settings"]["eps_max"] == 0.025 and tlat["needs_surrogates"] and tlat["paper"] == "000"


@pytest.mark.parametrize("side", [64, 224])
@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_generator_runs_at_64_and_224_pixels(setup, name, side):
    """Real images resized as `prepare --image-size` does; the 32-px surrogates take any size."""
    from datacentric.data.source import resize_square

    source = Store(setup / "input").load().select(np.arange(6))
    folder = setup / f"input-{side}"
    if not (folder / "manifest.json").is_file():
        resized = dataclasses.replace(source, images=np.stack([resize_square(image, side) for image in source.images]))
        write_store(folder, Store(setup / "input").info, resized, shard_size=100)
    settings = {**SMALL[name], **({"train_batch_size": 3} if name == "adversarial_noise" else {})}
    out = make(setup, name, f"{name}-{side}", settings=settings, input_store=folder).load()
    assert out.images.shape == (6, side, side, 3) and out.images.dtype == np.uint8
    if name != "clean":
        assert (out.l2 > 0).mean() > 0.5, "most samples change"


def test_augmix_mixes_the_original_with_its_chains_by_the_recorded_weight(setup):
    inputs = Store(setup / "input").load()
    settings = {"width": 1, "depth": 1, "operations": ["autocontrast"]}  # a chain that draws nothing
    out = create_generator("augmix", settings, PartContext(seed=3)).generate(inputs, np.arange(len(inputs)))
    chained = np.stack([np.asarray(ImageOps.autocontrast(Image.fromarray(x))) for x in inputs.images])
    kept = out.mix_lambda[:, None, None, None]
    expected = np.round((kept * inputs.images + (1 - kept) * chained.astype(np.float32)) / 255 * 255)
    assert np.abs(out.images.astype(int) - expected).max() <= 1  # float32 rounding of the same mixture
    assert (out.kind == "augmix").all() and 0 < out.mix_lambda.min() and out.mix_lambda.max() < 1
    assert len(np.unique(out.mix_lambda)) == len(out)  # m ~ Beta(1, 1) per image


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_augmix_operation_keeps_the_shape_and_changes_images(cifar4k, operation):
    settings = AugMixSettings(width=1, depth=1, alpha=1.0, severity=10, operations=(operation,))
    for images in (cifar4k[0][:20], cifar4k[0][:20, :, :, :1]):  # colour and grey
        rng = np.random.default_rng(0)
        mixed = np.stack([augmix_image(image, rng, settings)[0] for image in images])
        assert mixed.shape == images.shape and mixed.dtype == np.float32 and 0 <= mixed.min() <= mixed.max() <= 1
        assert np.abs(mixed * 255 - images).mean() > 0.5, operation


@pytest.mark.parametrize("primitive", sorted(PRIMITIVES))
def test_every_prime_primitive_keeps_the_shape_and_changes_images(cifar4k, primitive):
    settings = PrimeSettings(width=1, depth=1, primitives=(primitive,))
    for images in (cifar4k[0][:20], cifar4k[0][:20, :, :, :1], cifar4k[0][:20, :, :24]):  # colour, grey, not square
        rng = np.random.default_rng(0)
        mixed = np.stack([prime_image(image, rng, settings)[0] for image in images])
        assert mixed.shape == images.shape and mixed.dtype == np.float32 and 0 <= mixed.min() <= mixed.max() <= 1
        assert np.abs(mixed * 255 - images).mean() > 0.5, primitive


def test_prime_primitives_at_zero_strength_are_the_identity(cifar4k):
    """σ = 0, T = 0: the filter is the centre tap alone (not one pixel off, as in the authors' code) and the
    colour map adds nothing; the smallest displacement field moves pixels by under a pixel."""
    image = cifar4k[0][0].astype(np.float64) / 255
    rng = np.random.default_rng(0)
    calm = PrimeSettings(filter_sigma=0.0, colour_temperature=0.0)
    np.testing.assert_allclose(spectral(image, rng, calm), image, atol=1e-12)
    np.testing.assert_allclose(colour(image, rng, calm), image, atol=1e-12)
    moved = spatial(image, rng, PrimeSettings())
    assert moved.shape == image.shape and 0 < np.abs(moved - image).mean() < 0.25


def test_prime_colour_map_equals_its_sine_series(cifar4k):
    """Clenshaw's recurrence gives x + Σₖ βₖ·sin(πkx) with the same draws as the direct sum."""
    image = cifar4k[0][1].astype(np.float64) / 255
    settings = PrimeSettings()
    fast = colour(image, np.random.default_rng(5), settings)
    rng = np.random.default_rng(5)
    cut, temperature = int(rng.integers(1, settings.colour_cut + 1)), rng.uniform(0, settings.colour_temperature)
    beta = rng.standard_normal((3, cut)) * np.sqrt(temperature)
    direct = image + np.einsum("hwck,ck->hwc", np.sin(np.pi * image[..., None] * np.arange(1, cut + 1)), beta)
    np.testing.assert_allclose(fast, np.clip(direct, 0, 1), atol=1e-10)
