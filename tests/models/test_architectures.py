"""Architecture specs: a registry name, timm:NAME and torchvision:NAME build networks taking [0, 1] images;
bad names are one error line; timm's pretrained weights come from a file offline; specs are folder names."""

import pytest
import timm
import torch

from datacentric.core.errors import DatacentricError
from datacentric.models.architectures import Normalised, build, check, folder_name
from datacentric.models.saved import load_model, save_model
from datacentric.training.config import load_zoo

SPECS = ["cifar_resnet8", "timm:test_resnet", "torchvision:shufflenet_v2_x0_5"]


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("channels", [1, 3])
def test_every_kind_of_spec_builds_a_network_for_any_class_count_and_channel_count(spec, channels):
    torch.manual_seed(0)
    model = build(spec, num_classes=7, in_chans=channels).eval()
    assert model(torch.rand(2, channels, 32, 32)).shape == (2, 7)


@pytest.mark.parametrize("spec", SPECS)
def test_a_saved_model_of_each_kind_loads_with_the_same_logits(tmp_path, spec):
    torch.manual_seed(0)
    model = build(spec, num_classes=10).eval()
    save_model(tmp_path / "model.pt", model, arch=spec, num_classes=10, in_chans=3, meta={})
    loaded, meta = load_model(tmp_path / "model.pt")
    images = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(images), model(images))
    assert meta["arch"] == spec


def test_library_models_get_their_weights_normalisation_in_front():
    model = build("timm:test_resnet", num_classes=10)
    assert isinstance(model, Normalised)
    assert model.mean.flatten().tolist() == pytest.approx(list(model.model.pretrained_cfg["mean"]))


@pytest.mark.parametrize("spec, message", [
    ("resnet18", "unknown architecture 'resnet18'"),  # a bare library name says how to name it
    ("timm:no_such_net", "timm has no model"),
    ("torchvision:no_such_net", "torchvision has no classification model"),
    ("timm:hf-hub:timm/resnet18", "not a model name"),
    ("timm:resnet18,colour=blue", "the only setting is pretrained="),
    ("keras:resnet18", "not a model name"),
])
def test_bad_specs_are_one_error_line(spec, message):
    with pytest.raises(DatacentricError, match=message):
        check(spec)


def test_timm_pretrained_weights_come_from_a_file_on_disk(tmp_path):
    torch.manual_seed(1)
    source = timm.create_model("test_resnet", num_classes=10)
    torch.save(source.state_dict(), tmp_path / "weights.pth")
    model = build(f"timm:test_resnet,pretrained={tmp_path / 'weights.pth'}", num_classes=10)
    stem = next(iter(source.state_dict()))  # the backbone's weights (timm re-initialises a classifier whose class
    torch.testing.assert_close(model.model.state_dict()[stem], source.state_dict()[stem])  # count differs from the cfg)
    assert not torch.equal(build("timm:test_resnet", num_classes=10).model.state_dict()[stem], source.state_dict()[stem])
    with pytest.raises(DatacentricError, match="do not exist"):
        build(f"timm:test_resnet,pretrained={tmp_path / 'missing.pth'}", num_classes=10)


def test_zoos_can_be_declared_inline_and_their_members_are_folder_names():
    members = load_zoo(["cifar_resnet8", {"arch": "timm:test_resnet", "seed": 3, "lr": 0.1}])
    assert [m.name for m in members] == ["cifar_resnet8-s0", "timm-test_resnet-s3"]
    assert members[1].overrides == {"lr": 0.1}
    assert folder_name("timm:test_resnet,pretrained=true") == "timm-test_resnet-pretrained-true"
    with pytest.raises(DatacentricError, match="inline.*unknown architecture"):
        load_zoo(["resnet18"])
    with pytest.raises(DatacentricError, match="seed is an integer"):
        load_zoo([{"arch": "cifar_resnet8", "seed": -1}])
