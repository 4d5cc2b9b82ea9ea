"""kf.datasets: the generated 2-D toys have the shapes, determinism and geometry their docstrings state."""

import numpy as np
import pytest

import kerasflows as kf

TOYS = {"two_moons": kf.datasets.two_moons, "rings": kf.datasets.rings, "checkerboard": kf.datasets.checkerboard}


@pytest.mark.parametrize("name", sorted(TOYS))
def test_float32_points_deterministic_per_seed(name):
    make = TOYS[name]
    points = make(1000, seed=3)
    assert points.shape == (1000, 2)
    assert points.dtype == np.float32
    assert np.isfinite(points).all()
    np.testing.assert_array_equal(points, make(1000, seed=3))
    assert not np.allclose(points, make(1000, seed=4))
    assert make().shape == (2000, 2)


def test_rings_points_lie_near_three_radii_in_proportion_to_length():
    points = kf.datasets.rings(30_000, noise=0.05, seed=0)
    norms = np.linalg.norm(points, axis=1)
    counts, _ = np.histogram(norms, bins=[0.5, 1.5, 2.5, 3.5])
    assert counts.sum() == len(points)  # no point strays half-way to another ring
    np.testing.assert_allclose(counts / len(points), [1 / 6, 2 / 6, 3 / 6], atol=0.01)
    radius = np.rint(norms)
    np.testing.assert_allclose(np.std(norms - radius), 0.05, rtol=0.05)  # the radial noise
    np.testing.assert_allclose(np.mean(points / norms[:, None], axis=0), [0.0, 0.0], atol=0.02)  # uniform angles
    exact = kf.datasets.rings(500, noise=0.0, seed=1)
    np.testing.assert_allclose(np.linalg.norm(exact, axis=1), np.rint(np.linalg.norm(exact, axis=1)), atol=1e-6)


def test_checkerboard_is_uniform_on_the_eight_dark_squares():
    points = kf.datasets.checkerboard(32_000, seed=0)
    assert (points >= -2.0).all() and (points < 2.0).all()
    col, row = np.floor(points + 2.0).astype(int).T
    assert ((row + col) % 2 == 0).all()
    cells = np.bincount(4 * row + col, minlength=16).reshape(4, 4)
    dark = (np.add.outer(np.arange(4), np.arange(4)) % 2) == 0
    assert (cells[~dark] == 0).all()
    np.testing.assert_allclose(cells[dark] / len(points), 1 / 8, atol=0.006)
    np.testing.assert_allclose(np.mean(points + 2.0 - np.floor(points + 2.0), axis=0), [0.5, 0.5], atol=0.01)
    noisy = kf.datasets.checkerboard(4000, noise=0.1, seed=0)
    col, row = np.floor(noisy + 2.0).astype(int).T
    assert 0.01 < np.mean((row + col) % 2 == 1) < 0.2  # noise pushes a few points onto light squares


@pytest.mark.parametrize("name", sorted(TOYS))
@pytest.mark.parametrize("kwargs", [{"num_samples": 0}, {"noise": -0.1}])
def test_bad_arguments_are_refused(name, kwargs):
    with pytest.raises(ValueError, match=r"Expected num_samples >= 1 and noise >= 0, Received: "):
        TOYS[name](**kwargs)
