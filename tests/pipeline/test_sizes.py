"""The smoke pipeline at 224 px: every part generator, every corruption suite and the benchmark on small real data
resized on prepare (pipelines/smoke-sizes.toml), ending with a report. (Its 64 px run, the file as it is, was
dropped from the suite for time: every small model takes 64 px in tests/models/test_registry.py.)"""

import json

import numpy as np
import pytest

from datacentric.data.store import Store
from tests.cli.test_data_commands import run
from tests.conftest import REPO

# At 224 px a CPU does 49× the work of 32 px: the same pipeline with fewer images, cheaper benchmark attacks and
# timm models only (the registry's ResNet-8 keeps full resolution through its first stage).
LIGHTER_AT_224 = [
    ("image_size = 64", "image_size = 224"), ("limit = 140", "limit = 60"), ("reserve = 60", "reserve = 20"),
    ('zoo = "smoke-evaluation"', 'zoo = [{ arch = "timm:test_resnet", seed = 200 }]'),
    ('zoo = "smoke-attacker"', 'zoo = [{ arch = "timm:test_resnet", seed = 300 }]'),
    ('zoo = ["cifar_resnet8", "timm:test_resnet"]', 'zoo = ["timm:test_resnet"]'),
    ("clean_count = 20", "clean_count = 8"), ("adv_count = 20", "adv_count = 8\ncw_iterations = 3\ncw_search_steps = 1"),
]


@pytest.mark.parametrize("side", [224])
def test_the_smoke_pipeline_runs_at_larger_image_sizes(tmp_path, cifar4k, side):
    x, y = cifar4k
    source = tmp_path / "small.npz"  # real CIFAR-10 images, resized to side×side by prepare
    np.savez(source, x_train=x[:400], y_train=y[:400], x_test=x[3000:3260], y_test=y[3000:3260])
    text = (REPO / "pipelines" / "smoke-sizes.toml").read_text().replace('dataset = "cifar10"', f'dataset = "{source}"')
    for old, new in (LIGHTER_AT_224 if side == 224 else []):
        assert old in text, old
        text = text.replace(old, new)
    pipeline = tmp_path / "sizes.toml"
    pipeline.write_text(text)
    result = run(["enhance", str(pipeline)], tmp_path / "data", check=False)  # in this process: no import cost
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    run_dir = tmp_path / "data" / "runs" / "smoke-sizes"
    for part in ("clean", "adversarial", "iat", "corrupted", "tlat", "gnt", "speckle", "ant"):
        assert f"part {part}" in result.stdout
        assert Store(run_dir / "parts" / part).image_shape == (side, side, 3)
    prepared = Store(tmp_path / "data" / "prepared" / f"small-{side}px" / "test")
    assert prepared.manifest["config"]["image_size"] == side and prepared.image_shape == (side, side, 3)
    report = json.loads((run_dir / "report.json").read_text())
    for entry in report["architectures"].values():
        for model in ("baseline", "enhanced"):
            assert {"clean", "adv", "cor", "R", "imagecorruptions"} <= set(entry[model])
    assert (run_dir / "report.md").is_file()
    counts = json.loads((run_dir / "bench" / "bench.json").read_text())["counts"]
    assert counts["cor"] == (19 + 4) * 5 and counts["cor-imagecorruptions"] == 18 * 5  # every cell of every suite
    assert Store(run_dir / "bench" / "cor").image_shape == (side, side, 3)
