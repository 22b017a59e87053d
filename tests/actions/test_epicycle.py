"""Epicycle (small-amplitude) actions: consistent with the Stäckel fudge for cold orbits."""

from __future__ import annotations

import numpy as np
import pytest

import diskorbits as do
from diskorbits import units
from diskorbits.actions import Epicycle, StaeckelFudge, compute_actions

KMS = units.KMS
POT = (
    do.MiyamotoNagaiPotential(6.8e10, 3.0, 0.28)
    + do.HernquistPotential(5e9, 1.0)
    + do.HernquistPotential(1.71e9, 0.07)
    + do.NFWPotential(5.4e11, 15.62)
)
STAR = StaeckelFudge(delta=2.5)  # same configuration as test_staeckel (shared compilation)


def test_circular_orbit_limits():
    R = np.array([5.0, 8.0, 11.0])
    vc = np.asarray(POT.circular_velocity(R))
    res = compute_actions(POT, R, 0.0, 0.0, vc, 0.0, method=Epicycle())
    assert np.all(np.asarray(res.flag) == 0)
    np.testing.assert_allclose(np.asarray(res.J_R), 0.0, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(res.J_z), 0.0)
    np.testing.assert_allclose(np.asarray(res.Omega_R), np.asarray(POT.kappa(R)), rtol=1e-8)
    np.testing.assert_allclose(np.asarray(res.Omega_phi), np.asarray(POT.omega(R)), rtol=1e-8)
    np.testing.assert_allclose(np.asarray(res.Omega_z), np.asarray(POT.nu(R)), rtol=1e-8)
    assert np.all(np.isnan(np.asarray(res.delta)))


@pytest.mark.parametrize("amp_kms", [1.0, 5.0])
def test_agrees_with_staeckel_for_cold_orbits(amp_kms):
    """Relative differences scale with the amplitude (epicycle error O(x/R_g))."""
    rng = np.random.default_rng(5)
    n = 200
    R = rng.uniform(6.0, 10.0, n)
    vc = np.asarray(POT.circular_velocity(R))
    vR = rng.normal(0.0, amp_kms, n) * KMS
    vz = rng.normal(0.0, amp_kms, n) * KMS
    vphi = vc + rng.normal(0.0, amp_kms, n) * KMS
    z = np.zeros(n)
    ep = compute_actions(POT, R, z, vR, vphi, vz, method=Epicycle())
    st = compute_actions(POT, R, z, vR, vphi, vz, method=STAR)
    assert np.all(np.asarray(ep.flag) == 0) and np.all(np.asarray(st.flag) == 0)
    tol = 0.03 * amp_kms  # 3% per km/s of amplitude
    for key in ("J_R", "J_z"):
        a, b = np.asarray(getattr(ep, key)), np.asarray(getattr(st, key))
        assert np.median(np.abs(a / b - 1)) < tol, key
    np.testing.assert_allclose(np.asarray(ep.Omega_R), np.asarray(st.Omega_R), rtol=tol / 3)
    np.testing.assert_allclose(np.asarray(ep.Omega_phi), np.asarray(st.Omega_phi), rtol=tol / 3)
    # nu is the harmonic limit: the vertical oscillation in the thin disk (b = 0.28 kpc) is
    # anharmonic at O((z_max/b)^2) ~ 4e-3 per (km/s)^2, plus the fudge's ~0.2% offset from nu
    np.testing.assert_allclose(np.asarray(ep.Omega_z), np.asarray(st.Omega_z), rtol=5e-3 + 5e-3 * amp_kms**2)
    # same angle conventions: compare on the circle
    for key in ("theta_R", "theta_z", "theta_phi"):
        d = np.angle(np.exp(1j * (np.asarray(getattr(ep, key)) - np.asarray(getattr(st, key)))))
        assert np.median(np.abs(d)) < 0.05, key


def test_angle_conventions():
    vc = float(POT.circular_velocity(8.0))
    # at z_max (v_z = 0, z > 0): theta_z = pi/2; upward crossing: 0; downward: pi
    res = compute_actions(POT, 8.0, np.array([0.1, 0.0, 0.0]), 0.0, vc, np.array([0.0, 5.0, -5.0]) * KMS,
                          method=Epicycle())
    np.testing.assert_allclose(np.asarray(res.theta_z), [np.pi / 2, 0.0, np.pi], atol=1e-12)
    # pericentre (inside R_g, v_R = 0): theta_R = 0; moving out: theta_R in (0, pi)
    res = compute_actions(POT, 8.0, 0.0, np.array([0.0, 5.0]) * KMS, 1.05 * vc, 0.0, method=Epicycle())
    assert float(res.theta_R[0]) == pytest.approx(0.0, abs=1e-12)
    assert 0.0 < float(res.theta_R[1]) < np.pi
