"""Neighbours in action space, Appendix-A local means and abundance deviations (PW2021 Eq. 2, App. A)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diskorbits.torusimaging import (
    abundance_deviations,
    action_scale,
    find_neighbours,
    linear_correction_weights,
    neighbour_mean,
)
from diskorbits.torusimaging.local_mean import _neighbour_mean

_weights = jax.jit(linear_correction_weights)


def _brute_force(x, k, ids):
    d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=-1)
    d[ids[:, None] == ids[None, :]] = np.inf
    return np.sort(d, axis=1)[:, :k]


@pytest.fixture(scope="module")
def actions():
    rng = np.random.default_rng(11)
    # realistic shapes: J_R and J_z skewed and small, J_phi broad
    return np.stack([rng.exponential(30.0, 600), rng.normal(1800.0, 300.0, 600), rng.exponential(5.0, 600)], -1)


# ---------------------------------------------------------------------------- neighbour search
@pytest.mark.parametrize("metric", ["raw", "spread"])
def test_neighbours_match_brute_force(actions, metric):
    nb = find_neighbours(actions, 10, metric=metric)
    x = actions / nb.scale
    expected = _brute_force(x, 10, np.arange(len(x)))
    np.testing.assert_allclose(nb.distances, expected, rtol=1e-12)
    got = np.linalg.norm(x[nb.indices] - x[:, None, :], axis=-1)
    np.testing.assert_allclose(got, nb.distances, rtol=1e-12)
    assert not np.any(nb.indices == np.arange(len(x))[:, None]), "a star is its own neighbour"
    assert np.all(np.diff(nb.distances, axis=1) >= 0)


def test_spread_metric_divides_by_robust_spread(actions):
    s = action_scale(actions, "spread")
    q75, q25 = np.percentile(actions, [75, 25], axis=0)
    np.testing.assert_allclose(s, (q75 - q25) / 1.3489795003921634)
    np.testing.assert_array_equal(action_scale(actions, "raw"), np.ones(3))
    # the raw metric is dominated by J_phi, the scaled one is not: different neighbours
    raw, spread = find_neighbours(actions, 8), find_neighbours(actions, 8, metric="spread")
    assert np.mean(raw.indices == spread.indices) < 0.5
    explicit = find_neighbours(actions, 8, scale=s)
    np.testing.assert_array_equal(explicit.indices, spread.indices)
    assert explicit.metric == "custom"


def test_bootstrap_copies_are_never_neighbours_of_each_other(actions):
    rng = np.random.default_rng(5)
    ids = rng.integers(0, len(actions), size=900)  # resample with replacement: many duplicates
    J = actions[ids]
    assert np.bincount(ids).max() >= 4
    nb = find_neighbours(J, 12, metric="spread", ids=ids)
    assert not np.any(ids[nb.indices] == ids[:, None]), "a bootstrap copy counted as its own neighbour"
    # other stars' copies count with their multiplicity, exactly as brute force on the resample
    np.testing.assert_allclose(nb.distances, _brute_force(J / nb.scale, 12, ids), rtol=1e-12, atol=1e-15)
    # all copies of a star share one neighbour list
    for star in np.unique(ids)[:50]:
        rows = np.flatnonzero(ids == star)
        assert np.all(nb.indices[rows] == nb.indices[rows[0]])


def test_without_ids_exact_duplicates_are_neighbours():
    J = np.array([[0.0, 0, 0], [0.0, 0, 0], [1.0, 0, 0], [2.5, 0, 0]])
    assert find_neighbours(J, 1).indices[0, 0] == 1
    assert find_neighbours(J, 1, ids=[3, 3, 4, 5]).indices[0, 0] == 2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 0}, "positive integer"),
        ({"k": 600}, "other rows"),
        ({"metric": "mahalanobis"}, "metric"),
        ({"scale": [1.0, -1.0, 1.0]}, "scale"),
        ({"ids": np.zeros(5, int)}, "one entry per row"),
    ],
)
def test_neighbour_misuse_raises(actions, kwargs, match):
    with pytest.raises(ValueError, match=match):
        find_neighbours(actions, **{"k": 4, **kwargs})


def test_non_finite_actions_and_float_ids_raise(actions):
    bad = actions.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        find_neighbours(bad, 4)
    with pytest.raises(TypeError, match="integers"):
        find_neighbours(actions, 4, ids=np.arange(len(actions), dtype=float))


# ---------------------------------------------------------------------------- Appendix A weights
def test_weights_are_the_least_squares_intercept():
    rng = np.random.default_rng(2)
    d = rng.normal(size=(64, 3)) + np.array([0.8, 0.0, 0.3])  # lopsided neighbours
    w, fb = _weights(d)
    xi = d @ d.mean(axis=0)
    assert not bool(fb)
    np.testing.assert_allclose(float(jnp.sum(w)), 1.0, rtol=1e-13)
    np.testing.assert_allclose(float(w @ xi), 0.0, atol=1e-12)
    # y = a + b xi exactly -> the intercept a (Eq. A4), whatever b
    np.testing.assert_allclose(float(w @ (0.3 - 1.7 * xi)), 0.3, rtol=1e-12)
    # and the closed form equals a 2-parameter least-squares fit with noise
    y = 0.3 - 1.7 * xi + rng.normal(0, 0.1, 64)
    a_lsq = np.linalg.lstsq(np.stack([np.ones(64), xi], -1), y, rcond=None)[0][0]
    np.testing.assert_allclose(float(w @ y), a_lsq, rtol=1e-12)


def test_weights_fall_back_to_naive_mean_when_ill_conditioned():
    sym = np.array([[1.0, 0, 0], [-1.0, 0, 0], [0, 2.0, 0], [0, -2.0, 0]])  # centroid on the star
    w, fb = _weights(sym)
    assert bool(fb)
    np.testing.assert_allclose(np.asarray(w), 0.25)
    same = np.tile([[0.5, 0.5, 0.0]], (8, 1))  # all neighbours at one point (copies of one star)
    w, fb = _weights(same)
    assert bool(fb) and np.all(np.isfinite(np.asarray(w)))


def test_linear_correction_removes_naive_bias_at_an_edge():
    """A linear gradient across the face of the distribution: the naive mean is biased, App. A is not."""
    rng = np.random.default_rng(3)
    J = rng.uniform(size=(20_000, 3))
    y = 2.0 * J[:, 0]
    face = (J[:, 0] < 0.02) & np.all((J[:, 1:] > 0.25) & (J[:, 1:] < 0.75), axis=1)
    naive = abundance_deviations(J, y, k=64, weighting="naive").deviation[face]
    linear = abundance_deviations(J, y, k=64).deviation[face]
    assert face.sum() > 50
    assert naive.mean() < -10 * naive.std() / np.sqrt(face.sum())  # neighbours sit at larger J_R
    assert abs(linear.mean()) < 0.1 * abs(naive.mean())
    assert np.sqrt(np.mean(linear**2)) < 0.2 * np.sqrt(np.mean(naive**2))


def test_neighbour_mean_transforms_agree():
    """jit, vmap and grad of the JAX kernel; the NumPy path of the driver gives the same numbers."""
    rng = np.random.default_rng(4)
    d = rng.normal(size=(5, 16, 3)) + 0.5
    y = rng.normal(size=(5, 16, 2))
    e = np.full_like(y, 0.1)
    m, v, _, fb = _neighbour_mean(np, d, y, e, "linear")
    mj, vj, _, _ = jax.jit(jax.vmap(neighbour_mean))(d, y, e)
    for a, b in ((mj, m), (vj, v)):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-13)
    assert mj.dtype == jnp.float64 and not np.any(fb)
    # gradient w.r.t. the neighbour positions (fixed neighbour list) matches finite differences
    f = lambda dd: neighbour_mean(dd, y[0], e[0])[0][0]
    g = jax.jit(jax.grad(f))(jnp.asarray(d[0]))
    h = 1e-6
    bumped = d[0].copy()
    bumped[3, 1] += h
    fd = (_neighbour_mean(np, bumped, y[0], e[0], "linear")[0][0] - m[0, 0]) / h
    np.testing.assert_allclose(float(g[3, 1]), float(fd), rtol=1e-4)


# ---------------------------------------------------------------------------- deviations
@pytest.fixture(scope="module")
def gradient_sample():
    rng = np.random.default_rng(8)
    J = np.stack([rng.exponential(1.0, 8000), rng.normal(0, 1, 8000), rng.exponential(1.0, 8000)], -1)
    sig = rng.uniform(0.02, 0.06, 8000)
    truth = 0.1 * J[:, 2] - 0.05 * J[:, 0]
    return J, truth, truth + sig * rng.normal(size=8000), sig


def test_deviation_uncertainties_are_calibrated(gradient_sample):
    J, _, y, sig = gradient_sample
    dev = abundance_deviations(J, y, sig, k=64, metric="spread")
    pull = dev.deviation / dev.deviation_error
    assert abs(np.mean(pull)) < 0.1
    assert 0.9 < np.std(pull) < 1.12
    # sigma_Delta^2 = sigma_n^2 + var(local mean) >= sigma_n^2
    assert np.all(dev.deviation_error >= sig)
    # without errors the neighbours' scatter (~ typical sigma) is used instead
    dev2 = abundance_deviations(J, y, k=64, metric="spread")
    assert 0.9 < np.std(dev2.deviation / dev2.deviation_error) < 1.15


def test_multiple_ratios_share_neighbours(gradient_sample):
    J, _, y, sig = gradient_sample
    two = abundance_deviations(J, np.stack([y, -y], -1), np.stack([sig, sig], -1), k=32)
    one = abundance_deviations(J, y, sig, k=32)
    assert two.deviation.shape == (len(y), 2) and one.deviation.shape == (len(y),)
    np.testing.assert_allclose(two.deviation[:, 0], one.deviation, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(two.deviation[:, 1], -one.deviation, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(two.deviation_error[:, 0], one.deviation_error, rtol=1e-12)


def test_duplicated_star_does_not_pull_its_own_local_mean(gradient_sample):
    J, _, y, sig = gradient_sample
    J, y, sig = J[:2000], y[:2000].copy(), sig[:2000]
    y[0] += 1.0  # an outlier
    rows = np.concatenate([np.zeros(6, int), np.arange(1, 2000)])  # star 0 drawn 6 times
    base = abundance_deviations(J, y, sig, k=32)
    with_ids = abundance_deviations(J[rows], y[rows], sig[rows], k=32, ids=rows)
    without_ids = abundance_deviations(J[rows], y[rows], sig[rows], k=32)
    np.testing.assert_allclose(with_ids.local_mean[:6], base.local_mean[0], rtol=1e-12)
    # stars that did not have star 0 among their neighbours are untouched
    far = ~np.any(find_neighbours(J, 32).indices == 0, axis=1)
    far[0] = False
    np.testing.assert_allclose(with_ids.deviation[5:][far], base.deviation[far], rtol=1e-12)
    # treating the copies as distinct stars lets the outlier average with itself
    assert without_ids.local_mean[0] > base.local_mean[0] + 0.1


def test_deviation_misuse_raises(gradient_sample):
    J, _, y, sig = gradient_sample
    with pytest.raises(ValueError, match="shape"):
        abundance_deviations(J, y[:-1])
    with pytest.raises(ValueError, match="abundance_errors"):
        abundance_deviations(J, y, sig[:-1])
    with pytest.raises(ValueError, match="weighting"):
        abundance_deviations(J, y, weighting="median")
    bad = y.copy()
    bad[0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        abundance_deviations(J, bad)
