"""Orbits that have analytic answers: circular orbits and small epicycles."""

import numpy as np

from diskorbits.orbits import Leapfrog, integrate_orbits, phase_space_from_cylindrical

R0 = 8.0


def test_circular_orbit_stays_circular_with_period_2piR_over_vc(mw):
    vc = float(mw.circular_velocity(R0))
    period = 2 * np.pi * R0 / vc
    t = np.linspace(0.0, period, 5)
    xyz, vxyz = phase_space_from_cylindrical(R0, 0.0, 0.0, 0.0, vc, 0.0)
    o = integrate_orbits(mw, xyz, vxyz, t, method=Leapfrog(dt=0.1))
    # Leapfrog errors ~ (Omega dt)^2 ~ 1e-5 in relative terms.
    np.testing.assert_allclose(o.R, R0, rtol=1e-5)
    np.testing.assert_allclose(o.v_phi, vc, rtol=1e-5)
    np.testing.assert_allclose(o.z, 0.0, atol=1e-14)
    # a quarter turn per quarter period, and back to the start after one period
    np.testing.assert_allclose(np.unwrap(o.phi), np.linspace(0, 2 * np.pi, 5), atol=1e-4)
    np.testing.assert_allclose(o.xyz[-1], xyz, atol=1e-3)  # kpc; phase error ~1e-5 rad


def _frequency_from_zero_crossings(t, s):
    """Angular frequency of a nearly harmonic signal from its zero crossings."""
    i = np.nonzero(np.sign(s[:-1]) != np.sign(s[1:]))[0]
    tc = t[i] - s[i] * (t[i + 1] - t[i]) / (s[i + 1] - s[i])  # linear interpolation
    slope = np.polyfit(np.arange(tc.size), tc, 1)[0]  # half-period per crossing
    return np.pi / slope


def test_small_epicycles_oscillate_at_kappa_and_nu(mw):
    vc = float(mw.circular_velocity(R0))
    kappa, nu = float(mw.kappa(R0)), float(mw.nu(R0))
    # Leapfrog shifts frequencies by ~(omega dt)^2 / 24 <= 1e-5 at dt = 0.2 Myr.
    # Guiding radius exactly R0 (L_z = R0 v_c); amplitudes ~5e-3 kpc radially
    # and ~2e-4 kpc vertically, so anharmonic shifts are ~1e-6.
    xyz, vxyz = phase_space_from_cylindrical(R0, 0.0, 0.0, 1e-3 * vc, vc, 2e-5)
    t = np.linspace(0.0, 700.0, 701)  # ~4.5 radial and ~9 vertical periods
    o = integrate_orbits(mw, xyz, vxyz, t, method=Leapfrog(dt=0.2))
    t = np.asarray(o.t)
    kappa_measured = _frequency_from_zero_crossings(t, np.asarray(o.v_R))
    nu_measured = _frequency_from_zero_crossings(t, np.asarray(o.v_z))
    np.testing.assert_allclose(kappa_measured, kappa, rtol=2e-5)
    np.testing.assert_allclose(nu_measured, nu, rtol=5e-5)
    # The epicycle amplitude is v_R0 / kappa.
    np.testing.assert_allclose(o.R.max() - R0, 1e-3 * vc / kappa, rtol=2e-2)
