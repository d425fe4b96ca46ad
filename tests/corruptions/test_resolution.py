"""Corruption parameters follow the image size: the published tables at 32, 64 and 224 px, pixel lengths scaled between,
and every suite runs on real images at every size."""

import numpy as np
import pytest
import torch

from datacentric.attacks.engine import AttackConfig, ti_kernel
from datacentric.corruptions.apply import SuiteRunner
from datacentric.corruptions.resolution import IMAGENETC, TINYIMAGENETC, at_size
from datacentric.corruptions.suites import CIFAR10C, PAPER14, SUITES, get_suite, suite_from_dict
from datacentric.data.source import resize_square


def test_the_common_corruptions_take_the_published_table_nearest_the_size():
    assert at_size(CIFAR10C, 32) is CIFAR10C  # unchanged at 32 px: stores made before keep their hashes
    assert at_size(CIFAR10C, 64).entries == TINYIMAGENETC.entries
    assert at_size(CIFAR10C, 224).entries == IMAGENETC.entries
    between = {e.name: e for e in at_size(CIFAR10C, 96).entries}  # nearest table: 64 px, lengths × 1.5
    assert between["gaussian_blur"].severities[0]["sigma"] == pytest.approx(0.75)
    assert between["gaussian_noise"].severities[0]["sigma"] == 0.04  # not a length: as published at 64 px
    assert [e.name for e in at_size(CIFAR10C, 224).entries] == [e.name for e in CIFAR10C.entries]
    light = at_size(get_suite("cifar10c-light"), 224)  # the training suite made from the table follows it
    assert light.kind == "training" and light.entries[0].severities == IMAGENETC.entries[0].severities[:3]


def test_other_suites_scale_their_pixel_lengths_from_their_resolution():
    paper14 = {e.name: e.params for e in at_size(PAPER14, 64).entries}
    assert paper14["gaussian_blur"]["sigma"] == [0.8, 1.6] and paper14["motion_blur"]["radius"] == [4, 6]
    assert paper14["frost"]["texture_scale"] == 0.4 and paper14["jpeg"] == {"quality": [25, 60]}
    user = suite_from_dict({"name": "mine", "kind": "training", "resolution": 64,
                            "entries": [{"name": "blur", "function": "gaussian_blur", "params": {"sigma": [1.0, 2.0]}}]})
    assert at_size(user, 32).entries[0].params["sigma"] == [0.5, 1.0]


@pytest.mark.parametrize("side", [32, 64, 224])
@pytest.mark.parametrize("name", sorted(SUITES))
def test_every_suite_runs_at_every_size_on_real_images(cifar4k, name, side):
    image = resize_square(cifar4k[0][7], side)
    runner = SuiteRunner(SUITES[name])
    cells = list(runner.appliers(side))
    images = np.repeat(image[None], len(cells), axis=0)
    out = runner.corrupt_assigned(images, np.arange(len(cells)), np.array([n for n, _ in cells]),
                                  np.array([s for _, s in cells]), seed=0)
    assert out.shape == images.shape and out.dtype == np.uint8
    changed = np.abs(out.astype(np.int16) - images).reshape(len(cells), -1).max(axis=1) > 0
    assert changed.mean() > 0.9, [cell for cell, c in zip(cells, changed) if not c]


def test_the_ti_kernel_scales_with_the_image_and_stays_odd():
    config = AttackConfig(ti_size=5, ti_sigma=1.0)
    sides = {side: ti_kernel(config, torch.Size([1, 3, side, side])).shape[-1] for side in (32, 64, 224)}
    assert sides == {32: 5, 64: 11, 224: 35}
