"""Figures of a fitted flow: data next to samples, and the log-density of 2-D flows."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _limits(data: np.ndarray, margin: float = 0.15) -> list[tuple[float, float]]:
    low, high = np.percentile(data, 0.5, axis=0), np.percentile(data, 99.5, axis=0)
    pad = margin * (high - low + 1e-6)
    return list(zip(low - pad, high + pad, strict=True))


def plot_samples(data: np.ndarray, samples: np.ndarray, path: str | Path) -> None:
    """Scatter (first two features) or histogram (one feature) of data beside model samples."""
    figure, axes = plt.subplots(1, 2, figsize=(9, 4.2), dpi=90, sharex=True, sharey=True)
    limits = _limits(data)
    for axis, values, title in ((axes[0], data, "data"), (axes[1], samples, "model samples")):
        if data.shape[1] == 1:
            axis.hist(values[:, 0], bins=60, range=limits[0], color="tab:blue", alpha=0.8)
        else:
            axis.scatter(values[:, 0], values[:, 1], s=2, alpha=0.4)
            axis.set_xlim(limits[0])
            axis.set_ylim(limits[1])
            axis.set_ylabel("feature 1")
        axis.set_xlabel("feature 0")
        axis.set_title(f"{title} ({len(values)})")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def plot_density(log_prob_fn, data: np.ndarray, path: str | Path, resolution: int = 200) -> None:
    """Filled contours of `log_prob_fn` over the data's range, data points on top (2-D only)."""
    (x_low, x_high), (y_low, y_high) = _limits(data, margin=0.3)
    grid_x, grid_y = np.meshgrid(np.linspace(x_low, x_high, resolution), np.linspace(y_low, y_high, resolution))
    points = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype(data.dtype)
    log_density = np.asarray(log_prob_fn(points)).reshape(grid_x.shape)
    floor = log_density.max() - 12.0  # far tails reach -1e5 and would flatten the colour scale
    figure, axis = plt.subplots(figsize=(5.5, 4.5), dpi=90)
    contour = axis.contourf(grid_x, grid_y, np.maximum(log_density, floor), levels=30, cmap="viridis")
    figure.colorbar(contour, ax=axis, label="log p(x)")
    axis.scatter(data[:500, 0], data[:500, 1], s=1, color="white", alpha=0.5)
    axis.set_title("model log-density (white: data)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
