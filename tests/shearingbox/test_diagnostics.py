"""Diagnostics: actions, energies, Eq. 24 guiding-centre tracking, observers, Eqs. 29-30."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diskorbits.shearingbox import (
    PlaneWaveForcing,
    azimuthal_action,
    cold_ensemble_rms_prediction,
    ensemble_observer,
    guiding_centre,
    guiding_centre_shift_from_snapshots,
    heating_constant,
    integrate,
    jacobi_energy,
    mean_radial_action_prediction,
    per_star_observer,
    power_law_slope,
    radial_action,
    schwarzschild_initial_conditions,
    vertical_action,
    vertical_energy,
)


@pytest.fixture(scope="module")
def warm(r8, kms):
    return schwarzschild_initial_conditions(r8, 400, sigma_R0=10 * kms, sigma_z0=5 * kms, key=jax.random.PRNGKey(21))


def test_eq24_tracks_guiding_centre_through_crossings(r8, kms, warm):
    """Eq. 24 from stored snapshots agrees with the nwrap-based unwrapped x_g on a kicked run."""
    box = r8
    k = 2 * np.pi / box.L
    forcing = PlaneWaveForcing(amplitude=(8 * kms) ** 2, kx=k, ky=k)

    def observe(s):
        return dict(vx=s.vx, vyt=s.vy + box.q * box.Omega * s.x, xg=guiding_centre(box, s), nwrap=s.nwrap,
                    xg_naive=s.x + (s.vy + box.q * box.Omega * s.x) / ((2 - box.q) * box.Omega))

    _, _, obs = integrate(box, forcing, warm, forcing.init(None), j0=0, n_intervals=400, n_sub=4, dt_snap=1.0,
                          observe=observe)
    first = observe(warm)
    obs = {key: np.concatenate([np.asarray(first[key])[None], np.asarray(v)]) for key, v in obs.items()}
    t = np.arange(401.0)
    dxg_true = obs["xg"] - obs["xg"][0]
    crossed = np.any(obs["nwrap"] != obs["nwrap"][0], axis=0)
    assert crossed.mean() > 0.2
    assert np.sqrt(np.mean(dxg_true[-1] ** 2)) > 0.05  # real migration, not just epicycles
    # Without the crossing bookkeeping x_g jumps by L.
    assert np.abs(obs["xg_naive"] - obs["xg"]).max() > 0.9 * box.L

    errors = []
    for stride in (1, 2):
        sl = slice(None, None, stride)
        dxg = guiding_centre_shift_from_snapshots(box, t[sl], obs["vx"][sl], obs["vyt"][sl])
        assert dxg.shape == dxg_true[sl].shape
        errors.append(np.abs(np.asarray(dxg) - dxg_true[sl]).max())
    assert errors[0] < 1e-3  # kpc, trapezoid error at 1 Myr snapshots
    assert 3.0 < errors[1] / errors[0] < 5.0  # and it is the O(dt^2) quadrature error


def test_guiding_centre_shift_shape_check(r8):
    with pytest.raises(ValueError, match="'vx', 'vy_tilde'"):
        guiding_centre_shift_from_snapshots(r8, np.arange(3.0), np.zeros((3, 2)), np.zeros((2, 2)))


def test_jacobi_energy_decomposition(r8, warm):
    """E_J = kappa J_R - q (2 - q) Omega^2 x_g^2 / 2 + E_z for the unperturbed box."""
    box = r8
    xg = guiding_centre(box, warm)
    expected = (box.kappa * radial_action(box, warm) - 0.5 * box.q * (2 - box.q) * box.Omega**2 * xg**2
                + vertical_energy(box, warm))
    np.testing.assert_allclose(jacobi_energy(box, warm), expected, rtol=1e-10, atol=1e-18)
    # J_phi of Eq. 7 in its first form, in the unbounded sheet.
    x_sheet = warm.x + warm.nwrap * box.L
    vy_sheet = warm.vy - warm.nwrap * box.q * box.Omega * box.L
    jphi = box.Omega * box.R0**2 + 2 * box.Omega * box.R0 * (x_sheet + vy_sheet / (2 * box.Omega))
    np.testing.assert_allclose(azimuthal_action(box, warm), jphi, rtol=1e-13)


def test_vertical_action_and_energy_agree_near_midplane(r8, kms):
    """Eq. 14 is the harmonic limit of the vertical energy: E_z ~ nu J_z for small amplitude."""
    s = schwarzschild_initial_conditions(r8, 100, sigma_R0=0.0, sigma_z0=0.5 * kms, key=jax.random.PRNGKey(1))
    np.testing.assert_allclose(vertical_energy(r8, s), r8.nu * vertical_action(r8, s), rtol=2e-3)


def test_observers(r8, kms, warm):
    ens = ensemble_observer(r8, warm)
    star = per_star_observer(r8, warm)
    o0 = ens(warm)
    assert float(o0["rms_dJR"]) == 0.0 and float(o0["rms_dJphi"]) == 0.0
    assert math.isnan(float(o0["ratio"]))
    np.testing.assert_allclose(o0["sigma_R"], np.sqrt(np.mean(np.asarray(warm.vx) ** 2)))
    np.testing.assert_allclose(o0["mean_JR"], (10 * kms) ** 2 / r8.kappa, rtol=0.2)
    np.testing.assert_allclose(o0["mean_Jz"], (5 * kms) ** 2 / r8.nu, rtol=0.2)

    k = 2 * np.pi / r8.L
    forcing = PlaneWaveForcing(amplitude=(8 * kms) ** 2, kx=k, ky=k)
    s, _, (oe, os_) = integrate(r8, forcing, warm, forcing.init(None), j0=0, n_intervals=50, n_sub=4, dt_snap=1.0,
                                observe=lambda u: (ens(u), star(u)))
    assert oe["sigma_R"].shape == (50,) and os_["dJ_R"].shape == (50, 400)
    last = {key: np.asarray(v[-1]) for key, v in os_.items()}
    np.testing.assert_allclose(last["dJ_R"], radial_action(r8, s) - radial_action(r8, warm), atol=1e-16)
    np.testing.assert_allclose(last["dJ_phi"], azimuthal_action(r8, s) - azimuthal_action(r8, warm),
                               rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(last["dx_g"], guiding_centre(r8, s) - guiding_centre(r8, warm), atol=1e-15)
    np.testing.assert_allclose(last["J_z"], vertical_action(r8, s))
    # Ensemble scalars are the rms / means of the per-star quantities (Eq. 25).
    np.testing.assert_allclose(oe["rms_dJR"][-1], np.sqrt(np.mean(last["dJ_R"] ** 2)), rtol=1e-12)
    np.testing.assert_allclose(oe["rms_dJphi"][-1], np.sqrt(np.mean(last["dJ_phi"] ** 2)), rtol=1e-12)
    np.testing.assert_allclose(oe["rms_dxg"][-1], np.sqrt(np.mean(last["dx_g"] ** 2)), rtol=1e-12)
    np.testing.assert_allclose(oe["ratio"][-1], oe["rms_dJR"][-1] / oe["rms_dJphi"][-1])
    np.testing.assert_allclose(oe["sigma_z"][-1], np.sqrt(np.mean(np.asarray(s.vz) ** 2)), rtol=1e-12)


def test_power_law_slope_recovers_known_slope():
    t = np.geomspace(1.0, 1e4, 200)
    slope, err = power_law_slope(t, 2.5 * t**0.4, 10.0, 1000.0)
    np.testing.assert_allclose(slope, 0.4, rtol=1e-12)
    assert float(err) < 1e-12
    # Noisy data outside the window is ignored; inside, the slope is recovered within errors.
    rng = np.random.default_rng(0)
    y = 3.0 * t**0.5 * np.exp(rng.normal(0, 0.05, t.size))
    y[t > 2000] = 1e9
    slope, err = power_law_slope(jnp.asarray(t), jnp.asarray(y), 1.0, 2000.0)
    assert abs(float(slope) - 0.5) < 4 * float(err)
    assert 0 < float(err) < 0.01
    with pytest.raises(ValueError, match="t_min < t_max"):
        power_law_slope(t, y, 5.0, 5.0)
    # Also usable under jit with traced window limits.
    s_jit, _ = jax.jit(power_law_slope)(t, 2.5 * t**0.4, 10.0, 1000.0)
    np.testing.assert_allclose(s_jit, 0.4, rtol=1e-12)


@pytest.mark.parametrize(
    "alpha_R, alpha_phi, p_R, p_phi",
    [(1.0, 0.0, 1.0, 0.5), (-0.5, -0.5, 0.4, 0.4)],
)
def test_cold_ensemble_prediction_scalings(alpha_R, alpha_phi, p_R, p_phi):
    """Long-wavelength (1, 0): t and t^1/2; short-wavelength (-1/2, -1/2): t^2/5 for both (Eqs. 35, 38)."""
    t = np.geomspace(1.0, 1e4, 50)
    r, p = cold_ensemble_rms_prediction(t, 2e-3, alpha_R, 5e-2, alpha_phi)
    np.testing.assert_allclose(power_law_slope(t, r, 1.0, 1e4)[0], p_R, rtol=1e-12)
    np.testing.assert_allclose(power_law_slope(t, p, 1.0, 1e4)[0], p_phi, rtol=1e-12)
    # Eq. 29 is sqrt(2) times the cold limit of Eq. C4.
    np.testing.assert_allclose(r, np.sqrt(2) * mean_radial_action_prediction(t, 2e-3, alpha_R), rtol=1e-13)


def test_cold_ensemble_prediction_values():
    """Closed forms: c(1) = 1/2, c(-1/2) = (5 sqrt(pi) / 4)^(2/5); alpha_phi = 0 is plain diffusion."""
    np.testing.assert_allclose(heating_constant(1.0), 0.5, rtol=1e-14)
    np.testing.assert_allclose(heating_constant(-0.5), (1.25 * math.sqrt(math.pi)) ** 0.4, rtol=1e-14)
    t, d_RR, d_pp = 300.0, 2e-3, 5e-2
    r, p = cold_ensemble_rms_prediction(t, d_RR, 1.0, d_pp, 0.0)
    np.testing.assert_allclose(r, math.sqrt(2) * 0.5 * d_RR * t, rtol=1e-14)
    np.testing.assert_allclose(p, math.sqrt(d_pp * t), rtol=1e-14)
    # Eq. C4 with a warm start reduces to <J_R>_0 at t = 0 and grows as Eq. C3 says.
    np.testing.assert_allclose(mean_radial_action_prediction(0.0, d_RR, 1.0, mean_JR0=0.3), 0.3, rtol=1e-14)
    h = 1e-3
    jr = mean_radial_action_prediction(np.array([5.0 - h, 5.0 + h]), d_RR, -0.5, mean_JR0=0.3)
    rate = (jr[1] - jr[0]) / (2 * h)
    expected = 0.5 * math.gamma(0.5) * d_RR * float(mean_radial_action_prediction(5.0, d_RR, -0.5, 0.3)) ** -1.5
    np.testing.assert_allclose(rate, expected, rtol=1e-6)
