"""Data sets that ship with kerasflows or are generated: nothing is downloaded."""

import numpy as np


def _generator(num_samples: int, noise: float, seed: int | None) -> np.random.Generator:
    """The random generator of a generated 2-D data set, after checking its size and noise level."""
    if num_samples < 1 or noise < 0:
        raise ValueError(f"Expected num_samples >= 1 and noise >= 0, Received: {num_samples=}, {noise=}.")
    return np.random.default_rng(seed)


def two_moons(num_samples: int = 2000, noise: float = 0.1, seed: int | None = 0) -> np.ndarray:
    """Two interleaved half circles in 2-D, float32 `[num_samples, 2]`.

    The upper moon is `(cos t, sin t)`, the lower `(1 - cos t, 0.5 - sin t)`,
    `t ~ U[0, pi]`, plus Gaussian noise of standard deviation `noise`.

    Raises:
        ValueError: if `num_samples < 1` or `noise < 0`.
    """
    rng = _generator(num_samples, noise, seed)
    t = rng.uniform(0.0, np.pi, num_samples)
    upper = rng.random(num_samples) < 0.5
    x = np.where(upper, np.cos(t), 1.0 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    points = np.stack([x, y], axis=1) + noise * rng.standard_normal((num_samples, 2))
    return points.astype("float32")


RINGS_RADII = (1.0, 2.0, 3.0)


def rings(num_samples: int = 2000, noise: float = 0.05, seed: int | None = 0) -> np.ndarray:
    """Three concentric circles of radii 1, 2 and 3 in 2-D, float32 `[num_samples, 2]`.

    `x = (r + noise * e) * (cos t, sin t)`, `P(r) = r / 6` for `r` in {1, 2, 3}, `t ~ U[0, 2 pi]`, `e ~ N(0, 1)`:
    uniform along the rings' total length, spread radially by Gaussian noise
    of standard deviation `noise`. Reference: the "rings" toy of Grathwohl et
    al., "FFJORD", ICLR 2019.

    Raises:
        ValueError: if `num_samples < 1` or `noise < 0`.
    """
    rng = _generator(num_samples, noise, seed)
    radii = np.asarray(RINGS_RADII)
    radius = rng.choice(radii, num_samples, p=radii / radii.sum()) + noise * rng.standard_normal(num_samples)
    t = rng.uniform(0.0, 2.0 * np.pi, num_samples)
    return (radius[:, None] * np.stack([np.cos(t), np.sin(t)], axis=1)).astype("float32")


def checkerboard(num_samples: int = 2000, noise: float = 0.0, seed: int | None = 0) -> np.ndarray:
    """Uniform on the 8 dark squares of a 4x4 checkerboard over `[-2, 2]^2`, float32 `[num_samples, 2]`.

    `x = (col, row) - 2 + u + noise * e`, `(row, col)` uniform on the 8 cells of `{0..3}^2` with `row + col` even,
    `u ~ U[0, 1)^2`, `e ~ N(0, I)`: the bottom-left square `[-2, -1]^2` is dark, and `noise=0` (the default)
    keeps every point on a dark square. Reference: the "checkerboard" toy of Grathwohl et al., "FFJORD",
    ICLR 2019.

    Raises:
        ValueError: if `num_samples < 1` or `noise < 0`.
    """
    rng = _generator(num_samples, noise, seed)
    square = rng.integers(0, 8, num_samples)
    row = square // 2
    col = 2 * (square % 2) + row % 2
    points = np.stack([col, row], axis=1) - 2.0 + rng.random((num_samples, 2))
    return (points + noise * rng.standard_normal((num_samples, 2))).astype("float32")


DIGITS_SPLITS = {"train": slice(0, 1000), "validation": slice(1000, 1350), "test": slice(1350, 1797)}


def digits(split: str = "train") -> np.ndarray:
    """scikit-learn's bundled 8x8 handwritten digits as float32 images `[N, 8, 8, 1]`, pixels 0 to 16.

    The 1797 images split in their stored order into "train" (1000),
    "validation" (350) and "test" (447); use `num_bins=17` for their 17
    pixel values. Reference: the UCI optical recognition of handwritten
    digits data set.

    Raises:
        ValueError: for an unknown split.
    """
    if split not in DIGITS_SPLITS:
        raise ValueError(f"Expected split to be one of {sorted(DIGITS_SPLITS)}, Received: {split!r}.")
    from sklearn.datasets import load_digits

    images = load_digits().images[DIGITS_SPLITS[split]]
    return images[..., None].astype("float32")
