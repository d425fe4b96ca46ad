"""CIFAR-stem architectures registered in timm, zoos of them, and saved-model I/O.

Importing this package registers every architecture, so `timm.create_model("cifar_resnet18",
num_classes=10)` works. Every model takes float32 N×C×H×W images in [0, 1]: input normalisation
is the model's first layer, so attacks and training can never disagree about it.
"""

from datacentric.models import registry as _registry  # noqa: F401  (registers the architectures)
from datacentric.models.registry import ARCHITECTURES, create  # noqa: F401
