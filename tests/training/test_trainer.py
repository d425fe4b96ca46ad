import pytest
import torch

from datacentric.models import create
from datacentric.models.predict import accuracy
from datacentric.training.augment import crop_flip
from datacentric.training.config import TrainConfig
from datacentric.training.methods.base import training_loss
from datacentric.training.trainer import train
from tests.helpers import assert_same_weights, train_whole_and_resumed

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def cifar(cifar4k):
    x, y = cifar4k
    return torch.from_numpy(x), torch.from_numpy(y)


def test_a_small_model_learns_cifar_in_two_epochs(cifar):
    """fp32 (the same arithmetic on every machine); above 35 % (seen over seeds 10 and 20: at least 43.5)."""
    images, labels = cifar
    torch.manual_seed(0)
    model = create("cifar_vgg_small", 10)
    config = TrainConfig(epochs=2, batch_size=32, lr=0.02, warmup_epochs=0, crop_padding=0, bf16=False)
    train(model, images[:2000], labels[:2000], config, device=CPU, progress=False)
    assert accuracy(model, images[2000:], labels[2000:]) > 35


def test_one_hot_soft_labels_give_the_hard_label_loss():
    logits, labels = torch.randn(16, 10), torch.randint(0, 10, (16,))
    soft = torch.nn.functional.one_hot(labels, 10).float() * 3  # rows are normalised by the loss
    torch.testing.assert_close(training_loss(logits, soft), training_loss(logits, labels))
    assert training_loss(logits, soft, 0.1) < training_loss(logits, soft) + 1  # smoothing applies to soft labels too


def test_killed_after_an_epoch_and_resumed_gives_the_same_weights(tmp_path, cifar):
    config = TrainConfig(epochs=3, batch_size=32, lr=0.05)
    whole, resumed = train_whole_and_resumed(tmp_path, "cifar_resnet8", cifar[0][:256], cifar[1][:256], config)
    assert_same_weights(whole, resumed)
    assert len((tmp_path / "b" / "metrics.jsonl").read_text().splitlines()) == 2  # epochs 2 and 3 (1 was killed)


def test_crop_flip_is_a_shift_inside_a_zero_frame():
    images = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    same = crop_flip(images, torch.tensor([[2, 2], [2, 2]]), torch.tensor([False, False]), 2, flip=True)
    assert torch.equal(same, images)
    shifted = crop_flip(images, torch.tensor([[0, 0], [4, 4]]), torch.tensor([False, True]), 2, flip=True)
    assert torch.equal(shifted[0, 0, 2:, 2:], images[0, 0, :2, :2]) and shifted[0, 0, :2].abs().sum() == 0
    assert torch.equal(shifted[1, 0, :2, 2:], images[1, 0, 2:, 2:].flip(1))  # shifted up-left, then mirrored
