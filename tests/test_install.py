"""`pip install` with the dev extras, outside the checkout: its requirements resolve, and the package finds
its pipelines, recipes and zoos (the plain install runs the smoke pipeline in tests/pipeline/test_smoke.py)."""

import subprocess

from tests.conftest import pip_install


def test_pip_install_with_dev_extras_finds_its_pipelines(tmp_path):
    command = pip_install(tmp_path / "venv", "[dev]")
    listed = subprocess.run([command, "list", "pipelines"], capture_output=True, text=True, check=True).stdout
    assert "smoke" in listed and "cifar10" in listed
    site = subprocess.run([tmp_path / "venv" / "bin" / "python", "-c", "import datacentric; print(datacentric.__file__)"],
                          capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert str(tmp_path / "venv") in site  # the installed copy, not the checkout
