"""Schwarzschild initial conditions (Modak et al. 2026, Eqs. 19-21, 4-5, 8, 13-14)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from diskorbits.shearingbox import (
    guiding_centre,
    radial_action,
    schwarzschild_initial_conditions,
    state_from_actions_angles,
    vertical_action,
)

N = 200_000


@pytest.fixture(scope="module")
def ics(r8, kms):
    return schwarzschild_initial_conditions(r8, N, sigma_R0=10 * kms, sigma_z0=6 * kms, key=jax.random.PRNGKey(11))


@pytest.mark.parametrize("q", [1.0, 0.5, 1.5])
def test_actions_angles_round_trip(make_box, q):
    """Eq. 22 returns the drawn x_g, Eq. 8 the drawn J_R and Eq. 14 the drawn J_z."""
    box = make_box(q=q)
    rng = np.random.default_rng(5)
    n = 1000
    x_g = rng.uniform(-0.5 * box.L, 0.5 * box.L, n)
    J_R = rng.exponential(0.5 * box.kappa * 0.3**2, n)
    J_z = rng.exponential(0.5 * box.nu * 0.2**2, n)
    s = state_from_actions_angles(
        box, x_g=x_g, y0=rng.uniform(-0.5, 0.5, n), J_R=J_R, theta_R=rng.uniform(0, 2 * np.pi, n),
        J_z=J_z, theta_z=rng.uniform(0, 2 * np.pi, n),
    )
    assert np.any(np.asarray(s.nwrap) != 0)  # some epicycles start outside the box
    np.testing.assert_allclose(guiding_centre(box, s), x_g, rtol=0, atol=1e-14)
    np.testing.assert_allclose(radial_action(box, s), J_R, rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(vertical_action(box, s), J_z, rtol=1e-12, atol=1e-18)
    half = 0.5 * box.L
    for c in (s.x, s.y):
        assert np.all((np.asarray(c) >= -half) & (np.asarray(c) < half))


def test_action_moments(r8, kms, ics):
    """<J_R> = sigma_R0^2 / kappa and <J_z> = sigma_z0^2 / nu; both exponential (Eqs. 19-20)."""
    J_R = np.asarray(radial_action(r8, ics))
    J_z = np.asarray(vertical_action(r8, ics))
    mean_R, mean_z = (10 * kms) ** 2 / r8.kappa, (6 * kms) ** 2 / r8.nu
    tol = 5 / np.sqrt(N)  # 5 sigma of the mean of an exponential
    assert abs(J_R.mean() / mean_R - 1) < tol
    assert abs(J_z.mean() / mean_z - 1) < tol
    assert stats.kstest(J_R / mean_R, "expon").pvalue > 1e-3
    assert stats.kstest(J_z / mean_z, "expon").pvalue > 1e-3


def test_velocity_space_is_maxwellian(r8, kms, ics):
    """Dispersions sigma_R0 in v_x, sigma_R0 / gamma in v_y + q Omega x (Eq. 21), sigma_z0 in v_z, all Gaussian."""
    vx = np.asarray(ics.vx)
    vyt = np.asarray(ics.vy + r8.q * r8.Omega * ics.x)
    vz = np.asarray(ics.vz)
    tol = 5 / np.sqrt(2 * N)  # 5 sigma of a Gaussian's sample dispersion
    for v, sigma in ((vx, 10 * kms), (vyt, 10 * kms / r8.gamma), (vz, 6 * kms)):
        assert abs(np.sqrt(np.mean(v**2)) / sigma - 1) < tol
        assert abs(np.mean(v)) < 5 * sigma / np.sqrt(N)
        assert stats.kstest(v / sigma, "norm").pvalue > 1e-3


def test_positions_uniform_in_box(r8, ics):
    half = 0.5 * r8.L
    xg = np.asarray(guiding_centre(r8, ics))
    assert np.all((xg >= -half) & (xg < half))
    assert stats.kstest(xg / r8.L + 0.5, "uniform").pvalue > 1e-3
    # x and y are uniform too: the epicycles are phase mixed and the box is periodic.
    for c in (ics.x, ics.y):
        c = np.asarray(c)
        assert np.all((c >= -half) & (c < half))
        assert stats.kstest(c / r8.L + 0.5, "uniform").pvalue > 1e-3


def test_cold_stars_are_exactly_cold(r8):
    s = schwarzschild_initial_conditions(r8, 1000, sigma_R0=0.0, sigma_z0=0.0, key=jax.random.PRNGKey(2))
    assert np.all(np.asarray(radial_action(r8, s)) == 0.0)
    assert np.all(np.asarray(s.vx) == 0.0)
    assert np.all(np.asarray(s.z) == 0.0) and np.all(np.asarray(s.vz) == 0.0)
    assert np.all(np.asarray(s.nwrap) == 0.0)
    np.testing.assert_array_equal(s.vy, -r8.q * r8.Omega * s.x)


def test_reproducible_and_float64(r8, kms):
    kw = dict(sigma_R0=5 * kms, sigma_z0=5 * kms, key=jax.random.PRNGKey(3))
    a = schwarzschild_initial_conditions(r8, 50, **kw)
    b = schwarzschild_initial_conditions(r8, 50, **kw)
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert u.dtype == jnp.float64
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(n=0), "'n'"),
        (dict(n=2.5), "'n'"),
        (dict(sigma_R0=-1.0), "'sigma_R0'"),
        (dict(sigma_z0=float("inf")), "'sigma_z0'"),
    ],
)
def test_rejects_bad_arguments(r8, kw, match):
    args = dict(n=10, sigma_R0=0.01, sigma_z0=0.01, key=jax.random.PRNGKey(0))
    args.update(kw)
    n = args.pop("n")
    with pytest.raises(ValueError, match=match):
        schwarzschild_initial_conditions(r8, n, **args)
