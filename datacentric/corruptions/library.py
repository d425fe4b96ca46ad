"""The `imagecorruptions` library's corruptions (Michaelis et al., 2019: Hendrycks & Dietterich's ImageNet-C
code as a package; its maintained fork `imagecorruptions-imaug`), as a second, independently written
corruption set: none of this package's corruption code runs in it. Its parameters are ImageNet-C's (made for
224 px), so at 32 px a severity is harsher than CIFAR-10-C's.
"""

from __future__ import annotations

import imagecorruptions
import numpy as np

from datacentric.core.errors import DatacentricError
from datacentric.corruptions.ops import Apply

# glass blur is left out: the library's pixel loop takes about 0.8 s per 32-px image (measured here, one core),
# a thousand times its other corruptions
CORRUPTIONS = tuple(name for name in imagecorruptions.get_corruption_names("all") if name != "glass_blur")
SEEDED = ("impulse_noise", "glass_blur")  # these take a seed of their own (scikit-image's generator), not NumPy's global
SAME_AS = {"jpeg_compression": "jpeg", "elastic_transform": "elastic"}  # the library's name → the registry's


def corrupt(*, corruption: str, severity: int) -> Apply:
    """The library's `corruption` at `severity` (1–5). It draws from NumPy's global generator, so every
    image reseeds that from its own generator (and puts the caller's state back)."""
    if corruption not in CORRUPTIONS or severity not in (1, 2, 3, 4, 5):
        raise TypeError(f"corruption is one of {', '.join(CORRUPTIONS)} and severity 1–5")

    def apply(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if min(image.shape[:2]) < 32:
            raise DatacentricError(f"the imagecorruptions library needs images of at least 32 px, got "
                                   f"{image.shape[0]}×{image.shape[1]}: set imagecorruptions_per_cell = 0")
        state = np.random.get_state()
        seed = int(rng.integers(2**32 - 1))
        np.random.seed(seed)
        try:
            out = imagecorruptions.corrupt(image, corruption_name=corruption, severity=severity,
                                           **({"seed": seed} if corruption in SEEDED else {}))
        finally:
            np.random.set_state(state)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8) if out.dtype != np.uint8 else out

    return apply
