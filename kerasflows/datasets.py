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
