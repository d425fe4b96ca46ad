"""The fast-training techniques (recipe `fast`): each does what its recipe key says, and a run that uses all of
them resumes exactly after a kill."""

import pytest
import torch
import torch.nn.functional as F

from datacentric.models import create
from datacentric.models.airnet import WhiteningConv
from datacentric.models.predict import tta_logits
from datacentric.training.augment import alternating_flips, crop_flip
from datacentric.training.config import TrainConfig, load_recipe
from datacentric.training.lookahead import Lookahead
from datacentric.training.trainer import learning_rate, sgd
from datacentric.training.whitening import init_whitening
from tests.helpers import assert_same_weights, train_whole_and_resumed


@pytest.fixture(scope="module")
def cifar(cifar4k):
    x, y = cifar4k
    return torch.from_numpy(x), torch.from_numpy(y)


def test_whitening_stem_decorrelates_the_patches_it_was_set_from(cifar):
    torch.manual_seed(0)
    model = create("cifar_airnet_s", 10)
    data = cifar[0][:1000].permute(0, 3, 1, 2).contiguous()
    assert init_whitening(model, data, 1000, seed=0)
    stem = next(m for m in model.modules() if isinstance(m, WhiteningConv))
    with torch.no_grad():
        inputs = model.normalize(data.float() / 255)
        out = F.conv2d(inputs.double(), stem.weight.double()[:12])  # the + half; the − half mirrors it
    flat = out.permute(1, 0, 2, 3).reshape(12, -1)
    covariance = torch.cov(flat)
    eigenvalues = torch.linalg.eigvalsh(torch.cov(F.unfold(inputs.double(), 2).transpose(1, 2).reshape(-1, 12).T))
    expected = (eigenvalues / (eigenvalues + 5e-4)).flip(0)  # λ / (λ + ε): 1 where the patch varies
    torch.testing.assert_close(covariance, torch.diag(expected), atol=1e-3, rtol=1e-3)  # float32 sums
    assert torch.equal(stem.weight[12:], -stem.weight[:12])


def test_models_without_a_whitening_stem_are_left_alone(cifar):
    model = create("cifar_resnet8", 10)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert not init_whitening(model, cifar[0][:64].permute(0, 3, 1, 2), 64, seed=0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_alternating_flip_mirrors_each_image_every_other_epoch():
    first, second, third = (alternating_flips(1000, seed=3, epoch=e) for e in range(3))
    assert torch.equal(first, ~second) and torch.equal(first, third)
    assert 400 < int(first.sum()) < 600  # a coin per image in the first epoch
    assert not torch.equal(first, alternating_flips(1000, seed=4, epoch=0))


def test_reflect_padding_translates_into_a_mirrored_border():
    images = torch.arange(16, dtype=torch.float32).view(1, 1, 4, 4)
    shifted = crop_flip(images, torch.tensor([[0, 0]]), torch.tensor([False]), 2, flip=False, pad_mode="reflect")
    torch.testing.assert_close(shifted, F.pad(images, (2, 2, 2, 2), mode="reflect")[..., :4, :4])


def test_decoupled_weight_decay_removes_the_same_fraction_whatever_the_lr():
    decayed = []
    for lr in (0.1, 3.0):
        torch.manual_seed(0)
        model = create("cifar_airnet_s", 10)
        config = TrainConfig(lr=lr, momentum=0.0, nesterov=False, weight_decay=0.01, decoupled_weight_decay=True)
        optimizer = sgd(model, config)
        before = model.net.head.weight.detach().clone()
        for parameter in model.parameters():
            parameter.grad = torch.zeros_like(parameter) if parameter.requires_grad else None
        optimizer.step()
        decayed.append(model.net.head.weight.detach() / before)
    torch.testing.assert_close(decayed[0], torch.full_like(decayed[0], 0.99))
    torch.testing.assert_close(decayed[1], decayed[0])


def test_norm_biases_get_their_own_lr_scale_and_frozen_weights_no_group():
    model = create("cifar_airnet_s", 10)
    optimizer = sgd(model, TrainConfig(norm_bias_lr_scale=64.0))
    scales = {id(p): group["lr_scale"] for group in optimizer.param_groups for p in group["params"]}
    norm = model.net.groups[0].norm1
    assert scales[id(norm.bias)] == 64.0 and id(norm.weight) not in scales  # BatchNorm scale stays 1
    assert id(model.net.whiten.weight) not in scales and scales[id(model.net.whiten.bias)] == 1.0


def test_linear_schedule_warms_up_then_falls_to_zero():
    config = TrainConfig(lr=2.0, schedule="linear", warmup_epochs=1)
    lrs = [learning_rate(config, step, 40, 10) for step in range(40)]
    assert lrs[9] == 2.0 and lrs[0] == pytest.approx(0.2) and lrs[-1] == pytest.approx(2.0 / 30)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))


def test_lookahead_follows_early_and_restores_the_slow_weights_late():
    model = torch.nn.Linear(2, 2)
    lookahead = Lookahead(model)
    slow = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    lookahead.update(model, keep=Lookahead.keep(0.95, 5, progress=0.0))  # keeps nothing: slow = fast
    torch.testing.assert_close(lookahead.slow["weight"], slow + 1)
    with torch.no_grad():
        model.weight.add_(1.0)
    lookahead.update(model, keep=1.0)  # keeps everything: the model returns to the slow weights
    torch.testing.assert_close(model.weight.detach(), slow + 1)


def test_test_time_views_average_the_logits():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 5))
    batch = torch.rand(2, 3, 4, 4)
    torch.testing.assert_close(tta_logits(model, batch, "flip"), (model(batch) + model(batch.flip(3))) / 2)
    assert torch.equal(tta_logits(model, batch, "none"), model(batch))
    assert tta_logits(model, batch, "flip_translate").shape == (2, 5)
    with pytest.raises(ValueError):
        TrainConfig(tta="five_crop")


def test_the_fast_recipe_killed_after_an_epoch_resumes_to_the_same_weights(tmp_path, cifar):
    """Whitening, Lookahead and alternating flips are all state a resumed run must restore."""
    config = load_recipe("fast", epochs=3, batch_size=64, whiten_images=256, lookahead_steps=3)
    whole, resumed = train_whole_and_resumed(tmp_path, "cifar_airnet_s", cifar[0][:512], cifar[1][:512], config)
    assert_same_weights(whole, resumed)
    assert '"whitened": true' in (tmp_path / "b" / "metrics.jsonl").read_text()
