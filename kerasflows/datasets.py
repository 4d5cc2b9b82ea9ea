"""Data sets that ship with kerasflows or are generated: nothing is downloaded."""

import numpy as np


def two_moons(num_samples: int = 2000, noise: float = 0.1, seed: int | None = 0) -> np.ndarray:
    """Two interleaved half circles in 2-D, float32 `[num_samples, 2]`.

    The upper moon is `(cos t, sin t)`, the lower `(1 - cos t, 0.5 - sin t)`,
    `t ~ U[0, pi]`, plus Gaussian noise of standard deviation `noise`.

    Raises:
        ValueError: if `num_samples < 1` or `noise < 0`.
    """
    if num_samples < 1 or noise < 0:
        raise ValueError(f"Expected num_samples >= 1 and noise >= 0, Received: {num_samples=}, {noise=}.")
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, np.pi, num_samples)
    upper = rng.random(num_samples) < 0.5
    x = np.where(upper, np.cos(t), 1.0 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    points = np.stack([x, y], axis=1) + noise * rng.standard_normal((num_samples, 2))
    return points.astype("float32")


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
