"""The field's protocols beside our own numbers: AutoAttack (standard, white-box), the released CIFAR-10-C
arrays (written here, in their published layout) with RobustBench's mean and mCE, and the imagecorruptions
library's set, reported apart from P_cor with seen and unseen types."""

import dataclasses

import numpy as np
import pytest
import torch

from datacentric.benchmark import cifar10c
from datacentric.benchmark.build import CIFAR10C_SET, LIBRARY, BenchConfig, build
from datacentric.benchmark.run import Bench, add_corruption_errors, evaluate, suite_functions
from datacentric.core.errors import DatacentricError
from datacentric.core.tomlconfig import from_dict
from datacentric.corruptions.library import CORRUPTIONS
from datacentric.corruptions.library import corrupt as library_corrupt
from datacentric.data.samples import Samples
from datacentric.data.store import StoreInfo, write_store
from datacentric.models.predict import predict
from tests.benchmark.test_benchmark import CPU, SMALL, ClassZero
from tests.helpers import write_zoo_dir

RELEASED_PER_SEVERITY = 30  # images per severity in the arrays the tests write (the release has 10,000)


def write_released_arrays(folder, images, labels):
    """CIFAR-10-C's layout: <corruption>.npy holds severity 1's images, then 2's, … 5's; labels.npy alike.
    Each corruption here is a different, severity-scaled change of the same test images."""
    folder.mkdir(parents=True)
    count = len(labels)
    for number, name in enumerate(cifar10c.CORRUPTIONS):
        noise = np.random.default_rng(number).integers(-1, 2, images.shape)
        rows = [np.clip(images.astype(int) + noise * 12 * severity, 0, 255).astype(np.uint8) for severity in range(1, 6)]
        np.save(folder / f"{name}.npy", np.concatenate(rows))
    np.save(folder / "labels.npy", np.tile(labels.astype(np.uint8), 5))
    return count


@pytest.fixture(scope="module")
def protocol_bench(tmp_path_factory, cifar4k, module_models):
    folder = tmp_path_factory.mktemp("protocols")
    x, y = cifar4k
    info = StoreInfo("cifar10", "prepare", tuple(str(i) for i in range(10)), {"split": "test"}, 0)
    write_store(folder / "test", info, Samples.clean(x[2000:4000], y[2000:4000]), shard_size=1000)
    write_zoo_dir(folder / "evaluation", {"cifar_mobilenetv2_small-s200": module_models["cifar_mobilenetv2_small"]})
    # the test set in order, as released: position i is the test split's image i
    write_released_arrays(folder / "CIFAR-10-C", x[2000 : 2000 + RELEASED_PER_SEVERITY],
                          y[2000 : 2000 + RELEASED_PER_SEVERITY])
    config = dataclasses.replace(SMALL, imagecorruptions_per_cell=1, cifar10c_dir=str(folder / "CIFAR-10-C"),
                                 cifar10c_count=20, autoattack_count=20)
    build(folder / "test", folder / "out", folder / "evaluation", config, surrogates=[], device=CPU)
    return folder


def without_autoattack(bench: Bench) -> Bench:
    return Bench(bench.sets, {**bench.config, "autoattack_count": 0})


def test_cifar10c_is_the_plain_mean_over_the_released_cells_and_mce_divides_summed_errors(protocol_bench,
                                                                                        module_models):
    bench = without_autoattack(Bench.load(protocol_bench / "out"))
    released = bench.sets[CIFAR10C_SET]
    assert len(released) == 15 * 5 * 20 and set(released.corruption) == set(cifar10c.CORRUPTIONS)
    model, reference = module_models["cifar_resnet8"], module_models["cifar_vgg_small"]
    result, baseline = (evaluate(m, bench, CPU, whitebox_count=4) for m in (model, reference))
    # by hand, straight from the arrays: the same 20 images at every (corruption, severity)
    chosen = np.sort(released.source_index[:20])
    labels = np.load(protocol_bench / "CIFAR-10-C" / "labels.npy")[:RELEASED_PER_SEVERITY].astype(np.int64)
    cells = {}
    for m, name in ((model, "model"), (reference, "reference")):
        for corruption in cifar10c.CORRUPTIONS:
            arrays = np.load(protocol_bench / "CIFAR-10-C" / f"{corruption}.npy")
            for severity in range(1, 6):
                rows = arrays[(severity - 1) * RELEASED_PER_SEVERITY + chosen]
                predicted = predict(m, torch.from_numpy(rows)).numpy()
                cells[name, corruption, severity] = float((predicted == labels[chosen]).mean() * 100)
    assert result["cifar10c"] == pytest.approx(np.mean([v for k, v in cells.items() if k[0] == "model"]))
    add_corruption_errors(result, baseline)
    ce = [sum(100 - cells["model", c, s] for s in range(1, 6)) / sum(100 - cells["reference", c, s] for s in range(1, 6))
          for c in cifar10c.CORRUPTIONS]
    assert result["cifar10c_mce"] == pytest.approx(np.mean(ce))


def test_released_arrays_with_a_missing_or_misshapen_file_are_refused_with_one_line(tmp_path, cifar4k):
    x, y = cifar4k
    write_released_arrays(tmp_path / "c", x[:10], y[:10])
    assert cifar10c.check_folder(tmp_path / "c") == 10
    with pytest.raises(DatacentricError, match="cifar10c_count is 11"):
        cifar10c.read(tmp_path / "c", 11, Samples.clean(x[:10], y[:10]), seed=0)
    with pytest.raises(DatacentricError, match="not this dataset's test set"):
        cifar10c.read(tmp_path / "c", 10, Samples.clean(x[10:20], y[10:20]), seed=0)
    np.save(tmp_path / "c" / "fog.npy", np.zeros((49, 32, 32, 3), np.uint8))
    with pytest.raises(DatacentricError, match="fog.npy: expected 50"):
        cifar10c.check_folder(tmp_path / "c")
    (tmp_path / "c" / "fog.npy").unlink()
    with pytest.raises(DatacentricError, match="lacks fog.npy"):
        from_dict(BenchConfig, {"cifar10c_dir": str(tmp_path / "c")}, "benchmark")


def test_autoattack_cannot_move_a_model_without_gradients_and_never_beats_clean_accuracy(protocol_bench,
                                                                                       module_models):
    bench = Bench.load(protocol_bench / "out")
    constant = evaluate(ClassZero(), bench, CPU, whitebox_count=4)
    assert constant["autoattack_run"]["attacks"] == ["apgd-ce", "apgd-t", "fab-t", "square"]
    assert constant["autoattack_run"]["count"] == 20 and constant["autoattack_clean"] == pytest.approx(10)
    assert constant["autoattack"] == pytest.approx(10)  # its answer never depends on the image
    trained = evaluate(module_models["cifar_resnet8"], bench, CPU, whitebox_count=4)
    assert trained["autoattack"] <= trained["autoattack_clean"]


def test_autoattack_without_its_extra_is_one_error_line_before_any_work(monkeypatch):
    import datacentric.attacks.autoattack as autoattack

    monkeypatch.setattr(autoattack.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DatacentricError, match=r"datacentric\[autoattack\]"):
        from_dict(BenchConfig, {"autoattack_count": 10}, "benchmark")


def test_the_library_set_is_reported_apart_with_seen_and_unseen_types(protocol_bench, module_models):
    bench = without_autoattack(Bench.load(protocol_bench / "out"))
    library = bench.sets[LIBRARY]
    assert len(library) == len(CORRUPTIONS) * 5 and set(library.corruption) == {f"ic_{n}" for n in CORRUPTIONS}
    assert not set(library.source_index) & set(bench.sets["cor"].source_index)  # images of their own
    result = evaluate(module_models["cifar_resnet8"], bench, CPU, whitebox_count=4, seen=suite_functions("paper14"))
    predicted = predict(module_models["cifar_resnet8"], torch.from_numpy(library.images)).numpy()
    seen = np.isin(library.corruption, ["ic_gaussian_noise", "ic_motion_blur", "ic_snow", "ic_frost",
                                        "ic_elastic_transform", "ic_pixelate", "ic_jpeg_compression",
                                        "ic_gaussian_blur", "ic_saturate"])
    assert result["imagecorruptions"] == pytest.approx((predicted == library.labels).mean() * 100)
    assert result["imagecorruptions_seen"] == pytest.approx((predicted[seen] == library.labels[seen]).mean() * 100)
    assert result["imagecorruptions_unseen"] == pytest.approx((predicted[~seen] == library.labels[~seen]).mean() * 100)
    assert "cor" in result and "ic_fog" not in result["per_corruption"]  # P_cor holds only the built-in suites


def test_a_library_corruption_is_a_function_of_its_own_generator_and_leaves_numpy_state_alone(cifar4k):
    image = cifar4k[0][0]
    apply = library_corrupt(corruption="shot_noise", severity=3)
    np.random.seed(5)
    before = np.random.get_state()[1].copy()
    first = apply(image, np.random.default_rng(1))
    assert np.array_equal(np.random.get_state()[1], before)
    assert np.array_equal(first, apply(image, np.random.default_rng(1)))
    assert not np.array_equal(first, apply(image, np.random.default_rng(2)))
    assert first.dtype == np.uint8 and first.shape == image.shape
