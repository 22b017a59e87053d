"""Unbinned weighted least-squares Fourier fit of Delta(theta_z) and the OTI objective (PW2021 Eqs. 3-8)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diskorbits.torusimaging import (
    FourierFit,
    fit_fourier,
    fourier_design_matrix,
    fourier_series,
    fourier_terms,
    oti_objective,
)

TRUTH = np.array([0.01, -0.004, 0.003, 0.006, -0.002])  # c0, a1, b1, a2, b2

_fit = jax.jit(fit_fourier, static_argnames=("m_max",))
_series = jax.jit(fourier_series)


def _sample(seed, n=3000):
    rng = np.random.default_rng(seed)
    # non-uniform angles (a selection) so that the coefficients are correlated
    theta = np.mod(rng.vonmises(0.0, 0.8, n), 2 * np.pi)
    sigma = rng.uniform(0.02, 0.08, n)
    return theta, sigma


def test_noise_free_fit_is_exact():
    theta, sigma = _sample(0)
    fit = _fit(theta, _series(TRUTH, theta), sigma)
    np.testing.assert_allclose(np.asarray(fit.coefficients), TRUTH, rtol=1e-10, atol=1e-14)
    assert fit.coefficients.dtype == jnp.float64
    assert float(fit.chi2) < 1e-18
    assert fit.names == ("c0", "a1", "b1", "a2", "b2")
    assert float(fit.a2) == pytest.approx(TRUTH[3]) and float(fit.b1) == pytest.approx(TRUTH[2])


def test_covariance_matches_scatter_over_noise_realisations():
    """The formal (M^T C^-1 M)^-1 equals the covariance of the estimates over noise draws."""
    theta, sigma = _sample(1)
    n_real = 600
    noise = np.random.default_rng(2).normal(size=(n_real, theta.size)) * sigma
    y = np.asarray(_series(TRUTH, theta)) + noise
    fits = jax.jit(jax.vmap(fit_fourier, in_axes=(None, 0, None)))(theta, y, sigma)
    g = np.asarray(fits.coefficients)
    cov = np.asarray(fits.covariance[0])
    emp = np.cov(g, rowvar=False)
    err = np.sqrt(np.diag(cov))
    # variances to ~ sqrt(2 / n_real) = 6%; correlations to ~ 1 / sqrt(n_real) = 0.04
    np.testing.assert_allclose(np.sqrt(np.diag(emp)) / err, 1.0, atol=0.12)
    np.testing.assert_allclose(emp / np.outer(err, err), cov / np.outer(err, err), atol=0.15)
    assert np.max(np.abs(cov / np.outer(err, err) - np.eye(5))) > 0.2, "angles should correlate coefficients"
    assert np.all(np.abs(g.mean(axis=0) - TRUTH) < 4 * err / np.sqrt(n_real))
    assert np.mean(np.asarray(fits.reduced_chi2)) == pytest.approx(1.0, abs=0.01)


def test_scaled_covariance_for_unknown_errors():
    theta, _ = _sample(3)
    y = np.asarray(_series(TRUTH, theta)) + 0.05 * np.random.default_rng(4).normal(size=theta.size)
    known = _fit(theta, y, np.full(theta.size, 0.05))
    unit = _fit(theta, y, None)
    np.testing.assert_allclose(np.asarray(unit.coefficients), np.asarray(known.coefficients), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(unit.scaled_covariance), np.asarray(known.covariance), rtol=0.08)


def test_weights_act_as_multiplicities():
    theta, sigma = _sample(5, 400)
    y = np.asarray(_series(TRUTH, theta)) + sigma * np.random.default_rng(6).normal(size=400)
    counts = np.random.default_rng(7).poisson(1.0, 400)  # a bootstrap resample, as weights
    rows = np.repeat(np.arange(400), counts)
    dup = _fit(theta[rows], y[rows], sigma[rows])
    wtd = _fit(theta, y, sigma, weights=counts)
    np.testing.assert_allclose(np.asarray(wtd.coefficients), np.asarray(dup.coefficients), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(wtd.covariance), np.asarray(dup.covariance), rtol=1e-10)
    assert float(wtd.n_data) == counts.sum()


def test_batched_fit_equals_loop_and_objective_gradient():
    theta, sigma = _sample(8)
    rng = np.random.default_rng(9)
    y = np.asarray(_series(TRUTH, theta)) + sigma * rng.normal(size=(3, theta.size))
    batched = _fit(np.broadcast_to(theta, y.shape), y, np.broadcast_to(sigma, y.shape))
    assert batched.coefficients.shape == (3, 5) and batched.covariance.shape == (3, 5, 5)
    for i in range(3):
        np.testing.assert_allclose(np.asarray(batched.coefficients[i]), np.asarray(_fit(theta, y[i], sigma).coefficients))

    @jax.jit
    def objective(delta):
        return oti_objective(fit_fourier(theta, delta, sigma))

    g = jax.jit(jax.grad(objective))(jnp.asarray(y[0]))
    h = 1e-7
    bump = y[0].copy()
    bump[17] += h
    fd = (objective(bump) - objective(y[0])) / h
    np.testing.assert_allclose(float(g[17]), float(fd), rtol=1e-5)


def test_objective_is_eq8_with_options():
    fit = FourierFit(jnp.asarray(TRUTH), jnp.diag(jnp.full(5, 1e-6)), jnp.asarray(0.0), jnp.asarray(100.0), 2)
    _, a1, b1, a2, _ = TRUTH
    assert float(oti_objective(fit)) == pytest.approx(a1**2 + b1**2 + a2**2, rel=1e-14)
    assert float(oti_objective(fit, include_c0=True, include_b2=True)) == pytest.approx(np.sum(TRUTH**2), rel=1e-14)
    assert float(oti_objective(fit, normalised=True)) == pytest.approx((a1**2 + b1**2 + a2**2) / 1e-6, rel=1e-12)
    with pytest.raises(ValueError, match="m = 2"):
        oti_objective(FourierFit(jnp.zeros(3), jnp.eye(3), jnp.asarray(0.0), jnp.asarray(9.0), 1))
    with pytest.raises(ValueError, match="unknown coefficient"):
        fit.coefficient("a3")


def test_design_matrix_and_higher_orders():
    theta = np.array([0.0, np.pi / 2])
    M = np.asarray(jax.jit(fourier_design_matrix, static_argnums=1)(theta, 2))
    np.testing.assert_allclose(M, [[1, 1, 0, 1, 0], [1, 0, 1, -1, 0]], atol=1e-15)
    assert fourier_terms(3) == ("c0", "a1", "b1", "a2", "b2", "a3", "b3")
    th = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    g3 = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.01, -0.02])
    fit = _fit(th, _series(g3, th), m_max=3)
    np.testing.assert_allclose(np.asarray(fit.coefficients), g3, atol=1e-14)
    with pytest.raises(ValueError, match="m_max"):
        fourier_terms(-1)
    with pytest.raises(ValueError, match="2 m_max"):
        fourier_series(np.zeros(4), th)
