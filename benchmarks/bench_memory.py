"""bench-memory: peak memory of the data stages for N and 10×N images of the same size, side by side.

Each stage runs in its own process, as `datacentric enhance --from S --until S` runs it (`export`: `datacentric
export --format npz`), on a `data.npy` + `label.npy` source of real CIFAR-10 images resized to SIZE×SIZE and
repeated to the count. Peak memory is the process's maximum resident set (`wait4`'s ru_maxrss). Streaming
holds one shard at a time, so the 10×N peak should match the N peak: ratio = peak(10N) / peak(N), target ≤ 1.3.
The dataset's own size is printed beside it: a stage that held the dataset would add that much.

Stages: prepare (the source is memory-mapped), split, parts (clean, a CIFAR-10-C-light corruption part and
Gaussian noise), assemble, and an .npz export. Training is not here: the trainer holds its set on the device.

Run: make bench-memory  [BENCH_N=5000 BENCH_SIZE=96]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DATACENTRIC_SHARED_DATA", REPO.parent / "shared" / "data")) / "cifar10-lossless-4k.npz"
PIPELINE = """
name = "memory"
dataset = "{source}"
seed = 0
device = "cpu"

[split]
stratify = true

[benchmark]              # not run here; small so that a small N still validates
clean_count = 1
adv_count = 1
cor_per_cell = 1
suites = ["mtlat4"]

[[parts]]
name = "clean"
share = 0.6
generator = "clean"

[[parts]]
name = "corrupted"
share = 0.2
generator = "corruption"
[parts.settings]
suite = "cifar10c-light"

[[parts]]
name = "gnt"
share = 0.2
generator = "gaussian_noise"
"""
STAGES = ("prepare", "split", "parts", "assemble")


def write_source(folder: Path, count: int, size: int, base: tuple[np.ndarray, np.ndarray]) -> Path:
    """data.npy + label.npy: the base images repeated to `count`, written piece by piece with plain writes (a
    memory map would count the file's pages in this process's peak, which every stage's process inherits at
    fork: Linux carries the high-water mark across exec)."""
    folder.mkdir(parents=True)
    images, labels = base
    with open(folder / "data.npy", "wb") as file:
        np.lib.format.write_array_header_2_0(file, {"descr": "|u1", "fortran_order": False,
                                                    "shape": (count, size, size, 3)})
        for start in range(0, count, len(images)):
            file.write(images[: min(count, start + len(images)) - start].tobytes())
    np.save(folder / "label.npy", np.resize(labels, count))
    return folder / "data.npy"


def resized_base(size: int) -> tuple[np.ndarray, np.ndarray]:
    with np.load(SHARED) as npz:
        x, y = npz["x"], npz["y"].astype(np.int64)
    resized = np.stack([np.asarray(Image.fromarray(image).resize((size, size), Image.BICUBIC)) for image in x])
    return resized, y


def peak_mib(command: list[str], env: dict) -> tuple[float, float]:
    """(peak resident MiB, seconds) of one process; its output goes to a log beside the data."""
    start = time.perf_counter()
    with open(Path(env["DATACENTRIC_DATA"]) / "bench.log", "a") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        tail = Path(log.name).read_text()[-2000:]
        raise SystemExit(f"{' '.join(command)} failed:\n{tail}")
    return usage.ru_maxrss / 1024, time.perf_counter() - start


def measure(root: Path, count: int, size: int, base) -> dict[str, tuple[float, float]]:
    source = write_source(root / "source", count, size, base)
    (root / "memory.toml").write_text(PIPELINE.format(source=source))
    env = {**os.environ, "DATACENTRIC_DATA": str(root / "data")}
    (root / "data").mkdir()
    cli = [sys.executable, "-m", "datacentric"]
    peaks = {stage: peak_mib([*cli, "enhance", str(root / "memory.toml"), "--from", stage, "--until", stage], env)
             for stage in STAGES}
    enhanced = root / "data" / "runs" / "memory" / "enhanced"
    peaks["export npz"] = peak_mib([*cli, "export", "--store", str(enhanced), "--out", str(root / "npz"), "--format", "npz"], env)
    return peaks


def main() -> None:
    count = int(os.environ.get("BENCH_N", 5000))  # one default shard (DEFAULT_SHARD_SIZE)
    size = int(os.environ.get("BENCH_SIZE", 96))
    base = resized_base(size)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        small = measure(Path(tmp) / "n", count, size, base)
        large = measure(Path(tmp) / "10n", 10 * count, size, base)
    mib = lambda n: n * size * size * 3 / 2**20  # noqa: E731 - the dataset's bytes as uint8
    print(f"peak resident memory per stage, {size}×{size} px: N = {count} images ({mib(count):.0f} MiB as uint8) "
          f"and 10N = {10 * count} ({mib(10 * count):.0f} MiB)")
    print(f"{'stage':12} {'N: MiB':>8} {'10N: MiB':>9} {'ratio':>6} {'N: s':>6} {'10N: s':>7}")
    for stage in small:
        (a, ta), (b, tb) = small[stage], large[stage]
        print(f"{stage:12} {a:8.0f} {b:9.0f} {b / a:6.2f} {ta:6.1f} {tb:7.1f}")
    worst = max(large[s][0] / small[s][0] for s in small)
    overall = max(v[0] for v in large.values()) / max(v[0] for v in small.values())
    print(f"ratio (peak over all stages, 10N / N): {overall:.2f}; worst single stage {worst:.2f} (target ≤ 1.3)")


if __name__ == "__main__":
    main()
