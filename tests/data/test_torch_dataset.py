import pickle

import numpy as np
import torch

from datacentric.data.samples import Samples
from datacentric.data.store import StoreInfo, write_store
from datacentric.data.tensors import to_float
from datacentric.data.torch_dataset import StoreDataset, load_tensors


def make_store(tmp_path, cifar4k, soft=False):
    x, y = cifar4k
    samples = Samples.clean(x[:300], y[:300])
    if soft:
        samples.soft_labels = np.full((300, 10), 0.01, np.float32) + np.eye(10, dtype=np.float32)[y[:300]] * 0.9
    info = StoreInfo("cifar10", "test", tuple(str(i) for i in range(10)), {}, 0)
    write_store(tmp_path / "s", info, samples, shard_size=64)
    return tmp_path / "s", samples


def test_dataloader_with_workers_matches_the_store(tmp_path, cifar4k):
    root, samples = make_store(tmp_path, cifar4k)
    dataset = StoreDataset(root)
    assert len(dataset) == 300
    loader = torch.utils.data.DataLoader(dataset, batch_size=50, num_workers=2)
    images = torch.cat([batch for batch, _ in loader])
    labels = torch.cat([target for _, target in loader])
    torch.testing.assert_close(images, to_float(samples.images))
    assert torch.equal(labels, torch.from_numpy(samples.labels))
    dataset[0]  # a handle opened in this process must not travel in the pickle
    assert pickle.loads(pickle.dumps(dataset))._handles == {}


def test_soft_labels_and_the_fast_path(tmp_path, cifar4k):
    root, samples = make_store(tmp_path, cifar4k, soft=True)
    _, target = StoreDataset(root, soft_labels=True)[5]
    torch.testing.assert_close(target, torch.from_numpy(samples.soft_labels[5]))
    hard = StoreDataset(root)[5][1]
    assert hard == samples.labels[5]
    images, labels, soft = load_tensors(root)
    assert images.dtype == torch.uint8 and images.shape == (300, 32, 32, 3)
    assert torch.equal(labels, torch.from_numpy(samples.labels)) and soft.shape == (300, 10)
