"""`prime`: PRIME images (Modas, Rade, Ortiz-Jiménez, Moosavi-Dezfooli & Frossard, "PRIME: A Few Primitives Can
Boost Robustness to Common Corruptions", ECCV 2022), made offline, one per image.

Three families of random transforms, each drawn at maximum entropy under a strength bound:
- spectral: convolution with δ + σ·N(0, 1) (a random k×k filter around the identity), σ ~ U(0, sigma);
- spatial: a random smooth displacement field (a diffeomorphism) of the first `cut` sine modes, with its
  temperature between half a pixel of typical displacement and the largest that never folds the image;
- colour: each channel's intensities mapped through x + Σₖ βₖ·sin(πkx), k ≤ cut, βₖ ~ N(0, T).
They are mixed as in AugMix: `width` chains of 1–3 primitives, weights w ~ Dirichlet(1, …), and the original kept
with weight 1 − m, m ~ Beta(1, 1). Defaults are the paper's CIFAR settings. The authors' code draws each
primitive's strength once per batch and puts the filter's identity tap one pixel off centre for odd kernels
(`ceil(k/2)`); here every image draws its own strengths, and the identity is the centre tap. Its kernel is
`prime_image`; the `prime` training method runs it online.

Example:
    >>> generator = create_generator("prime", {}, PartContext(seed=0))
    >>> out = generator.generate(samples, np.arange(len(samples)))   # uint8, kind "prime"
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import convolve, map_coordinates

from datacentric.core.randomness import Stream
from datacentric.parts.augmix import MixturePart
from datacentric.parts.registry import register


@dataclass(frozen=True)
class PrimeSettings:
    """PRIME's primitives and mixture (the paper's CIFAR settings are the defaults)."""

    filter_size: int = 3  # spectral: side of the random filter, pixels (odd)
    filter_sigma: float = 4.0  # spectral: largest σ of its random taps
    diffeo_cut_min: int = 2  # spatial: fewest sine modes of the displacement field
    diffeo_cut_max: int = 100  # spatial: most sine modes
    colour_cut: int = 100  # colour: most sine terms of the intensity map
    colour_temperature: float = 0.01  # colour: largest variance T of their coefficients
    width: int = 3  # chains mixed per image
    depth: int = -1  # primitives per chain; −1: 1–3, drawn per chain
    primitives: tuple[str, ...] = ("spectral", "spatial", "colour")

    def __post_init__(self):
        object.__setattr__(self, "primitives", tuple(self.primitives))
        if self.filter_size < 1 or self.filter_size % 2 == 0 or not self.filter_sigma >= 0:
            raise ValueError("filter_size must be odd and ≥ 1, filter_sigma ≥ 0")
        if not 1 <= self.diffeo_cut_min < self.diffeo_cut_max or self.colour_cut < 1:
            raise ValueError("1 ≤ diffeo_cut_min < diffeo_cut_max and colour_cut ≥ 1 are required")
        if not self.colour_temperature >= 0 or self.width < 1 or self.depth == 0 or self.depth < -1:
            raise ValueError("colour_temperature ≥ 0, width ≥ 1 and depth −1 or ≥ 1 are required")
        unknown = [name for name in self.primitives if name not in PRIMITIVES]
        if unknown or not self.primitives:
            raise ValueError(f"primitives must be among {', '.join(PRIMITIVES)}; got {unknown or 'none'}")


def spectral(image: np.ndarray, rng: np.random.Generator, settings: PrimeSettings) -> np.ndarray:
    """A random filter around the identity, the same for every channel, zero padding, clipped to [0, 1]."""
    size = settings.filter_size
    taps = rng.uniform(0, settings.filter_sigma) * rng.standard_normal((size, size))
    taps[size // 2, size // 2] += 1.0
    filtered = np.stack([convolve(image[..., c], taps, mode="constant") for c in range(image.shape[2])], axis=-1)
    return np.clip(filtered, 0, 1)


def _sine_field(shape: tuple[int, int], cut: int, rng: np.random.Generator) -> np.ndarray:
    """A random scalar field on the unit square: Σ cᵢⱼ/rᵢⱼ·sin(πiy)·sin(πjx) over modes rᵢⱼ = √(i²+j²) < cut + ½."""
    k = np.arange(1, cut + 1)
    radius = np.hypot(k[:, None], k[None, :])
    energy = np.where(radius < cut + 0.5, 1 / radius, 0.0)
    coefficients = rng.standard_normal((cut, cut)) * energy
    sin_y = np.sin(np.pi * np.linspace(0, 1, shape[0])[:, None] * k[None, :])
    sin_x = np.sin(np.pi * np.linspace(0, 1, shape[1])[:, None] * k[None, :])
    return sin_y @ coefficients @ sin_x.T


def spatial(image: np.ndarray, rng: np.random.Generator, settings: PrimeSettings) -> np.ndarray:
    """A random diffeomorphism: cut ~ Beta(½, ½) over [cut_min, cut_max'] (cut_max' itself drawn), temperature
    ~ Beta(½, ½) over [T₁, T₂] (T₁: half a pixel of typical displacement; T₂: the largest without folds),
    bilinear resampling with coordinates clamped to the image."""
    height, width = image.shape[:2]
    side = max(height, width)
    top = int(rng.integers(settings.diffeo_cut_min + 1, settings.diffeo_cut_max + 1))
    cut = int(rng.beta(0.5, 0.5) * (top + 1 - settings.diffeo_cut_min) + settings.diffeo_cut_min)
    log = math.log(cut + 1e-6)
    low, high = 1 / (math.pi * side**2 * log), 4 / (math.pi**3 * cut**2 * log)
    temperature = rng.beta(0.5, 0.5) * (max(low, high) - low) + low
    dx = math.sqrt(temperature) * _sine_field((height, width), cut, rng) * width
    dy = math.sqrt(temperature) * _sine_field((height, width), cut, rng) * height
    rows, columns = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    coordinates = [np.clip(rows - dy, 0, height - 1), np.clip(columns - dx, 0, width - 1)]
    return np.stack([map_coordinates(image[..., c], coordinates, order=1) for c in range(image.shape[2])], axis=-1)


def colour(image: np.ndarray, rng: np.random.Generator, settings: PrimeSettings) -> np.ndarray:
    """Each channel through x + Σₖ βₖ·sin(πkx), k = 1 … cut (cut ~ U{1, colour_cut}), βₖ ~ N(0, T), T ~ U(0, T_max)."""
    cut = int(rng.integers(1, settings.colour_cut + 1))
    temperature = rng.uniform(0, settings.colour_temperature)
    beta = rng.standard_normal((image.shape[2], cut)) * math.sqrt(temperature)
    # Σₖ βₖ·sin(kθ), θ = πx, by Clenshaw's recurrence: cut multiply-adds per pixel instead of cut sines
    theta = np.pi * image
    twice_cos, later, latest = 2 * np.cos(theta), np.zeros_like(image), np.zeros_like(image)
    for k in range(cut - 1, -1, -1):
        later, latest = latest, beta[:, k] + twice_cos * latest - later
    return np.clip(image + latest * np.sin(theta), 0, 1)


PRIMITIVES = {"spectral": spectral, "spatial": spatial, "colour": colour}


def prime_image(image: np.ndarray, rng: np.random.Generator, settings: PrimeSettings) -> tuple[np.ndarray, float]:
    """PRIME's kernel: one H×W×C uint8 image → (its PRIME mixture, float32 H×W×C in [0, 1]; the weight 1 − m the
    original keeps). Every draw comes from `rng`. Its training form is the `prime` method."""
    original = image.astype(np.float64) / 255
    weights = rng.dirichlet([1.0] * settings.width)
    mix_weight = float(rng.beta(1.0, 1.0))
    mixture = np.zeros_like(original)
    for weight in weights:
        chained = original
        for _ in range(settings.depth if settings.depth > 0 else int(rng.integers(1, 4))):
            primitive = PRIMITIVES[settings.primitives[int(rng.integers(len(settings.primitives)))]]
            chained = primitive(chained, rng, settings)
        mixture += weight * chained
    mixed = (1 - mix_weight) * original + mix_weight * mixture
    return np.clip(mixed, 0, 1).astype(np.float32), 1 - mix_weight


@register("prime", PrimeSettings)
class Prime(MixturePart):
    """PRIME (Modas et al., ECCV 2022): random spectral, spatial and colour transforms, mixed, one image per input."""

    kind = "prime"
    paper = "PRIME"
    kernel = staticmethod(prime_image)
    stream = Stream.PRIME

    @classmethod
    def seen_corruptions(cls, settings) -> set[str]:
        # counted as seen where a primitive is the same kind of change as a benchmark corruption: smooth
        # displacement fields (elastic) and per-channel intensity curves (brightness, contrast, saturation)
        kinds = {"spatial": {"elastic"}, "colour": {"brightness", "contrast", "saturate"}}
        return set().union(*(kinds.get(name, set()) for name in settings.primitives))
