import pytest
import timm
import torch

from datacentric.core.errors import DatacentricError
from datacentric.core.tomlconfig import pipelines_dir, read_toml
from datacentric.models import ARCHITECTURES, create
from datacentric.models.saved import load_model, save_model
from datacentric.training.config import load_zoo


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_architecture_builds_through_timm(name):
    torch.manual_seed(0)
    model = timm.create_model(name, num_classes=10).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    reference = ARCHITECTURES[name].reference_params
    if reference is not None:
        count = sum(p.numel() for p in model.parameters())
        assert abs(count - reference) / reference < 0.05, (count, reference)
    # normalisation is inside the model: it takes [0, 1] images
    assert torch.allclose(model.normalize.mean.flatten(), torch.tensor([0.4914, 0.4822, 0.4465]))


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_parameter_of_every_architecture_gets_a_gradient(name):
    model = create(name, num_classes=10).train()
    model(torch.rand(2, 3, 32, 32)).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.any())]
    assert not missing, missing


@pytest.mark.parametrize("name", [n for n, a in ARCHITECTURES.items() if a.scale == "small"])
def test_small_models_take_any_class_count_grey_input_and_other_sizes(name):
    model = create(name, num_classes=7, in_chans=1).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 1, 28, 28)).shape == (2, 7)
        assert model(torch.rand(2, 1, 64, 64)).shape == (2, 7)


def test_save_and_load_in_one_call(tmp_path):
    model = create("cifar_resnet8", 10).eval()
    save_model(tmp_path / "m.pt", model, arch="cifar_resnet8", num_classes=10, in_chans=3, meta={"seed": 3})
    loaded, meta = load_model(tmp_path / "m.pt")
    x = torch.rand(3, 3, 32, 32)
    assert torch.equal(loaded(x), model(x)) and meta["meta"] == {"seed": 3} and meta["arch"] == "cifar_resnet8"
    (tmp_path / "bad.pt").write_bytes(b"junk")
    with pytest.raises(DatacentricError, match="cannot load model"):
        load_model(tmp_path / "bad.pt")


def test_zoos_resolve_and_surrogates_are_disjoint_from_the_holdout(tmp_path, monkeypatch):
    for name in read_toml(pipelines_dir() / "zoos.toml"):
        assert load_zoo(name)
    assert len(load_zoo("paper-table1")) == 6
    assert {m.arch for m in load_zoo("competition-stage2")} == {"cifar_preact_resnet18", "cifar_wrn_28_4"}
    surrogates = {(m.arch, m.seed) for m in load_zoo("cpu-surrogates")}
    holdout = {(m.arch, m.seed) for m in load_zoo("cpu-holdout")}
    assert not surrogates & holdout
    assert len({ARCHITECTURES[m.arch].family for m in load_zoo("cpu-small")}) >= 3
    with pytest.raises(DatacentricError, match="unknown zoo"):
        load_zoo("nope")
    (tmp_path / "zoos.toml").write_text('[x]\nmembers = [{ arch = "resnet9000" }]\n')
    monkeypatch.setenv("DATACENTRIC_PIPELINES", str(tmp_path))
    with pytest.raises(DatacentricError, match="zoo 'x': unknown architecture 'resnet9000'"):
        load_zoo("x")
    with pytest.raises(DatacentricError, match="unknown architecture 'resnet9000'"):
        create("resnet9000", 10)
