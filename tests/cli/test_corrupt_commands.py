

from datacentric.data.store import Store
from tests.cli.test_data_commands import assert_one_line_error, run


def test_corrupt_and_preview_from_the_command_line(tmp_path, data_dir, cifar_npz):
    run(["prepare", str(cifar_npz)], data_dir)
    run(["split", "--dataset", "cifar-small", "--ratio", "0:1:4", "--limit", "300"], data_dir)
    run(["corrupt", "--dataset", "cifar-small", "--workers", "2", "--shard-size", "100"], data_dir)
    out = Store(data_dir / "parts" / "cifar-small" / "corrupted").load()
    assert len(out) == 240 and set(out.kind) == {"corrupted"} and len(set(out.corruption)) >= 10
    run(["preview", "--out", str(tmp_path / "p.png"), "--suite", "cifar10c", "--store",
         str(data_dir / "prepared" / "cifar-small" / "test"), "--count", "4"], data_dir)
    assert (tmp_path / "p.png").stat().st_size > 10_000


def test_corrupt_errors(tmp_path, data_dir):
    assert_one_line_error(run(["corrupt", "--suite", "nope"], data_dir, check=False), "unknown corruption suite")
    assert_one_line_error(run(["corrupt", "--suite", "cifar10c"], data_dir, check=False), "evaluation suite")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "mine"\nkind = "training"\n[[entries]]\nname = "melt"\n')
    assert_one_line_error(run(["corrupt", "--suite", str(bad)], data_dir, check=False), "unknown corruption function")
    assert_one_line_error(run(["preview", "--out", str(tmp_path / "x.png"), "--suite", "nope"], data_dir, check=False),
                          "unknown corruption suite")
