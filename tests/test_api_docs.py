"""Every example of docs/API.md runs, in order, in one namespace, in a folder where the smoke pipeline ran."""

import os
import re
from pathlib import Path

import pytest

API_DOC = Path(__file__).resolve().parents[1] / "docs" / "API.md"


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", API_DOC.read_text(), flags=re.S)


def test_the_api_document_has_an_example_for_each_task():
    text = "\n".join(examples())
    for call in ("dc.attack(", "dc.corrupt(", "dc.open_store(", "dc.train(", "dc.evaluate(", "dc.load_model("):
        assert call in text


def test_every_api_example_runs(smoke_run, tmp_path, monkeypatch):
    data, finished = smoke_run
    assert finished.returncode == 0, finished.stderr[-2000:]
    (tmp_path / "data").symlink_to(data)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATACENTRIC_DATA", str(tmp_path / "cache"))  # the model cache, not the shared smoke run
    namespace: dict = {}
    for number, block in enumerate(examples(), start=1):
        try:
            exec(compile(block, f"docs/API.md example {number}", "exec"), namespace)
        except Exception as error:  # name the example that failed
            pytest.fail(f"docs/API.md example {number} failed: {type(error).__name__}: {error}")
    assert os.path.isdir(tmp_path / "my-models" / "timm-test_resnet-s0")
