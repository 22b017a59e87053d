"""Stäckel-fudge actions, angles and frequencies (diskorbits.actions.staeckel).

Compilation dominates the run time, so the tests share a few method
configurations and call sizes <= 1024 stars (one padded batch shape).
"""

from __future__ import annotations


import astropy.units as u
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diskorbits as do
from diskorbits import units
from diskorbits.actions import ActionFlag, ActionWarning, StaeckelFudge, compute_actions

KMS = units.KMS
RO, VO = 8.0, 220.0  # galpy natural units used for the comparison


def mw():
    """The gala-like 4-component Milky Way (MN disk + Hernquist bulge + nucleus + NFW halo)."""
    return (
        do.MiyamotoNagaiPotential(6.8e10, 3.0, 0.28)
        + do.HernquistPotential(5e9, 1.0)
        + do.HernquistPotential(1.71e9, 0.07)
        + do.NFWPotential(5.4e11, 15.62)
    )


POT = mw()
STAR = StaeckelFudge(delta=2.5)  # explicit Delta, J_R along the star's line (shared compilation)
MID = StaeckelFudge(delta=2.5, jr_line="midplane")


def disk_sample(n, seed):
    rng = np.random.default_rng(seed)
    R = rng.uniform(4.0, 12.0, n)
    z = rng.uniform(-1.0, 1.0, n)
    vR = rng.normal(0.0, 35.0, n) * KMS
    vphi = rng.normal(220.0, 25.0, n) * KMS
    vz = rng.normal(0.0, 20.0, n) * KMS
    phi = rng.uniform(0.0, 2 * np.pi, n)
    return R, z, vR, vphi, vz, phi


# ----------------------------------------------------------------------------- galpy
@pytest.fixture(scope="module")
def galpy_setup():
    gp = pytest.importorskip("galpy.potential")
    from galpy.util import conversion

    munit = conversion.mass_in_msol(VO, RO)
    # galpy's Hernquist amp is twice the mass; MN and NFW amps are G M (natural units).
    pot = [
        gp.MiyamotoNagaiPotential(amp=6.8e10 / munit, a=3.0 / RO, b=0.28 / RO),
        gp.HernquistPotential(amp=2 * 5e9 / munit, a=1.0 / RO),
        gp.HernquistPotential(amp=2 * 1.71e9 / munit, a=0.07 / RO),
        gp.NFWPotential(amp=5.4e11 / munit, a=15.62 / RO),
    ]
    R = np.array([3.0, 8.0, 11.0])
    z = np.array([0.0, 0.4, -0.9])
    ours = np.asarray(POT.potential(R, z))
    theirs = gp.evaluatePotentials(pot, R / RO, z / RO) * (VO * KMS) ** 2
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    return pot


def _galpy_aaf(pot, delta_kpc, R, z, vR, vphi, vz, phi):
    from galpy.actionAngle import actionAngleStaeckel

    V = VO * KMS
    aA = actionAngleStaeckel(pot=pot, delta=np.asarray(delta_kpc) / RO, c=True)
    out = aA.actionsFreqsAngles(R / RO, vR / V, vphi / V, z / RO, vz / V, phi)
    jr, _, jz, Or, Op, Oz, ar, ap, az = out
    return dict(
        J_R=jr * RO * V, J_z=jz * RO * V, Omega_R=Or * V / RO, Omega_phi=Op * V / RO, Omega_z=Oz * V / RO,
        theta_R=ar, theta_phi=ap, theta_z=az,
    )


def _compare(res, ref):
    # Actions: 1e-5 relative with an absolute floor of 1e-5 kpc km/s for J near 0.
    floor = 1e-5 * units.KPC_KMS
    for key in ("J_R", "J_z"):
        ours = np.asarray(getattr(res, key))
        np.testing.assert_array_less(np.abs(ours - ref[key]), 1e-5 * np.abs(ref[key]) + floor)
    for key in ("Omega_R", "Omega_phi", "Omega_z"):
        np.testing.assert_allclose(np.asarray(getattr(res, key)), ref[key], rtol=1e-5)
    for key in ("theta_R", "theta_phi", "theta_z"):
        d = np.angle(np.exp(1j * (np.asarray(getattr(res, key)) - ref[key])))
        assert np.max(np.abs(d)) < 1e-5, key


def test_matches_galpy_fixed_delta(galpy_setup):
    R, z, vR, vphi, vz, phi = disk_sample(1000, seed=1)
    res = compute_actions(POT, R, z, vR, vphi, vz, phi, method=MID)
    assert np.all(np.asarray(res.flag) == 0)
    _compare(res, _galpy_aaf(galpy_setup, 2.5, R, z, vR, vphi, vz, phi))


def test_matches_galpy_per_star_delta(galpy_setup):
    from galpy.actionAngle import estimateDeltaStaeckel

    R, z, vR, vphi, vz, phi = disk_sample(1000, seed=2)
    delta = estimateDeltaStaeckel(galpy_setup, R / RO, z / RO, no_median=True) * RO
    res = compute_actions(POT, R, z, vR, vphi, vz, phi, method=StaeckelFudge(delta=delta, jr_line="midplane"))
    assert np.all(np.asarray(res.flag) == 0)
    np.testing.assert_allclose(np.asarray(res.delta), delta)
    _compare(res, _galpy_aaf(galpy_setup, delta, R, z, vR, vphi, vz, phi))


def test_star_line_equals_midplane_line_in_the_plane():
    R, _, vR, vphi, vz, phi = disk_sample(200, seed=3)
    z = np.zeros_like(R)
    a = compute_actions(POT, R, z, vR, vphi, vz, phi, method=STAR)
    b = compute_actions(POT, R, z, vR, vphi, vz, phi, method=MID)
    assert np.all(np.asarray(a.flag) == 0) and np.all(np.asarray(b.flag) == 0)
    np.testing.assert_allclose(np.asarray(a.J_R), np.asarray(b.J_R), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(a.Omega_z), np.asarray(b.Omega_z), rtol=1e-12)


def test_default_delta_is_orbit_consistent_and_named_strategies():
    from diskorbits.actions.focal_distance import estimate_delta

    R, z, vR, vphi, vz, phi = disk_sample(50, seed=4)
    # default: orbit-consistent Delta (roots-only first pass), J_R along the star's line
    assert StaeckelFudge().delta_method == "orbit-consistent" and StaeckelFudge().jr_line == "star"
    d = np.asarray(estimate_delta(POT, R, z, vR, vphi, vz, method="orbit-consistent"))
    a = compute_actions(POT, R, z, vR, vphi, vz, phi, method=StaeckelFudge())
    b = compute_actions(POT, R, z, vR, vphi, vz, phi, method=StaeckelFudge(delta=d))
    np.testing.assert_allclose(np.asarray(a.delta), d, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(a.J_R), np.asarray(b.J_R), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(a.theta_z), np.asarray(b.theta_z), rtol=1e-10, atol=1e-10)
    # the orbit-consistent Delta differs from the local one (it is read where the orbit lives)
    d_loc = np.asarray(estimate_delta(POT, R, z))
    assert np.max(np.abs(d / d_loc - 1)) > 1e-3
    # named strategy "local": the Sanders (2012) estimate at the star's position
    c = compute_actions(POT, R, z, vR, vphi, vz, phi, method=StaeckelFudge(delta="local"))
    np.testing.assert_allclose(np.asarray(c.delta), d_loc, rtol=1e-12)
    with pytest.raises(ValueError, match="delta must be"):
        StaeckelFudge(delta="median")


# ----------------------------------------------------------------------------- physics
def test_circular_orbits_have_zero_JR_JZ_and_epicycle_frequencies():
    R = np.array([4.0, 6.0, 8.0, 10.0, 12.0])
    vc = np.asarray(POT.circular_velocity(R))
    zero = np.zeros_like(R)
    res = compute_actions(POT, R, zero, zero, vc, zero, method=STAR)
    assert np.all(np.asarray(res.flag) == 0)
    assert np.all(np.asarray(res.J_R) < 1e-9 * R * vc)
    assert np.all(np.asarray(res.J_z) == 0.0)  # planar: exactly zero
    np.testing.assert_allclose(np.asarray(res.J_phi), R * vc, rtol=1e-14)
    # The fudge is exact in the plane, so the radial and azimuthal limits are kappa and Omega.
    np.testing.assert_allclose(np.asarray(res.Omega_R), np.asarray(POT.kappa(R)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(res.Omega_phi), np.asarray(POT.omega(R)), rtol=1e-6)
    # Vertically the fudged potential V(v) is read along the u = u_x ellipse, whose
    # curvature adds a Delta-dependent O(R Phi_R / Delta^2 cosh^2 u) term: nu only to ~0.5%.
    np.testing.assert_allclose(np.asarray(res.Omega_z), np.asarray(POT.nu(R)), rtol=1e-2)
    # ... and the default (orbit-consistent) Delta, large for circular orbits, works too
    loc = compute_actions(POT, R, zero, zero, vc, zero, method=StaeckelFudge())
    assert np.all(np.asarray(loc.flag) == 0)
    np.testing.assert_allclose(np.asarray(loc.Omega_R), np.asarray(POT.kappa(R)), rtol=1e-6)


def test_near_circular_frequencies_tend_to_kappa_nu():
    R = np.full(4, 8.0)
    vc = float(POT.circular_velocity(8.0))
    amp = np.array([0.0, 0.01, 0.1, 1.0]) * KMS
    res = compute_actions(POT, R, 0.0, amp, vc, amp, method=STAR)
    assert np.all(np.asarray(res.flag) == 0)
    kap = float(POT.kappa(8.0))
    err_R = np.abs(np.asarray(res.Omega_R) / kap - 1)
    # deviations shrink with amplitude towards kappa (the radial fudge is exact in the plane)
    assert np.all(np.diff(err_R[1:]) > 0) and err_R[0] < 1e-6 and err_R[1] < 1e-5
    # vertically, continuity towards the circular-orbit limit of the fudge (nu to ~0.2%)
    Oz = np.asarray(res.Omega_z)
    assert abs(Oz[1] / Oz[0] - 1) < 1e-6 and abs(Oz[3] / Oz[0] - 1) < 1e-3
    assert abs(Oz[0] / float(POT.nu(8.0)) - 1) < 5e-3


def _leapfrog(pot, w0, dt, nsteps, every):
    """Kick-drift-kick in Cartesian coordinates; returns every `every`-th state."""

    def step(w, _):
        x, v = w
        v = v + 0.5 * dt * pot.acceleration(x)
        x = x + dt * v
        v = v + 0.5 * dt * pot.acceleration(x)
        return (x, v), None

    def block(w, _):
        w, _ = jax.lax.scan(step, w, None, length=every)
        return w, w

    _, (xs, vs) = jax.jit(lambda w: jax.lax.scan(block, w, None, length=nsteps // every))(w0)
    return np.asarray(xs), np.asarray(vs)


@pytest.fixture(scope="module")
def orbit():
    x0 = jnp.array([8.0, 0.0, 0.2])
    v0 = jnp.array([25.0, 205.0, 15.0]) * KMS
    dt, every, nblocks = 0.05, 40, 400  # 800 Myr, ~4 radial periods, samples every 2 Myr
    xs, vs = _leapfrog(POT, (x0, v0), dt, every * nblocks, every)
    t = dt * every * np.arange(1, nblocks + 1)
    R = np.hypot(xs[:, 0], xs[:, 1])
    phi = np.arctan2(xs[:, 1], xs[:, 0])
    vR = (xs[:, 0] * vs[:, 0] + xs[:, 1] * vs[:, 1]) / R
    vphi = (xs[:, 0] * vs[:, 1] - xs[:, 1] * vs[:, 0]) / R
    # per-star orbit-consistent Delta (the default), estimated afresh at each point of the orbit
    res = compute_actions(POT, R, xs[:, 2], vR, vphi, vs[:, 2], phi, method=StaeckelFudge())
    assert np.all(np.asarray(res.flag) == 0)
    return t, res


def test_actions_constant_along_orbit(orbit):
    _, res = orbit
    for key, tol in (("J_R", 0.02), ("J_z", 0.01), ("J_phi", 1e-6)):
        J = np.asarray(getattr(res, key))
        # the fudge is approximate: a few per cent for J_R (Binney 2012 Fig. 2 level)
        assert np.std(J) / np.mean(J) < tol, key
    for key in ("Omega_R", "Omega_z", "Omega_phi"):
        Om = np.asarray(getattr(res, key))
        assert np.std(Om) / np.mean(Om) < 0.01, key


def test_angles_advance_linearly_at_the_frequencies(orbit):
    t, res = orbit
    for th, Om in (("theta_R", "Omega_R"), ("theta_z", "Omega_z"), ("theta_phi", "Omega_phi")):
        theta = np.unwrap(np.asarray(getattr(res, th)))
        Om_mean = np.mean(np.asarray(getattr(res, Om)))
        slope = np.polyfit(t, theta, 1)[0]
        # the fudge's frequencies wobble by ~0.3% around the orbit (Omega_z most)
        assert abs(slope / Om_mean - 1) < 1e-2, th
        resid = theta - (theta[0] + Om_mean * (t - t[0]))
        assert np.max(np.abs(resid - np.mean(resid))) < 0.15, th


def test_angle_zero_points():
    """theta_z = 0 at the upward midplane crossing, pi/2 at z_max; theta_R = 0 at pericentre."""
    vc = float(POT.circular_velocity(8.0))
    up = compute_actions(POT, 8.0, 0.0, 0.0, vc, 20 * KMS, method=STAR)
    down = compute_actions(POT, 8.0, 0.0, 0.0, vc, -20 * KMS, method=STAR)
    # z = 0 moving up / down; the small radial oscillation (J_R ~ 0) shifts theta_z by O(J_R)
    assert np.cos(float(up.theta_z)) == pytest.approx(1.0, abs=1e-6)
    assert np.sin(float(up.theta_z + 1e-3)) > 0  # just after the crossing, z ~ sin(theta_z) > 0
    assert float(down.theta_z) == pytest.approx(np.pi, abs=1e-3)
    peri = compute_actions(POT, 8.0, 0.0, 0.0, 1.1 * vc, 0.0, method=STAR)  # faster than circular: pericentre
    apo = compute_actions(POT, 8.0, 0.0, 0.0, 0.9 * vc, 0.0, method=STAR)
    assert np.cos(float(peri.theta_R)) == pytest.approx(1.0, abs=1e-10)
    assert float(apo.theta_R) == pytest.approx(np.pi, abs=1e-8)
    assert float(peri.r_peri) == pytest.approx(8.0, rel=1e-10)
    assert float(apo.r_apo) == pytest.approx(8.0, rel=1e-10)


# ----------------------------------------------------------------------------- edge cases
def test_midplane_and_turning_point_edge_cases_are_finite_and_continuous():
    vc = float(POT.circular_velocity(8.0))
    kw = dict(method=STAR)
    at0 = compute_actions(POT, 8.0, 0.0, 20 * KMS, vc, 15 * KMS, **kw)
    near = compute_actions(POT, 8.0, 1e-9, 20 * KMS, vc, 15 * KMS, **kw)
    for key in ("J_R", "J_z", "Omega_R", "Omega_z", "theta_R", "theta_z"):
        a, b = float(getattr(at0, key)), float(getattr(near, key))
        assert np.isfinite(a) and a == pytest.approx(b, rel=1e-6, abs=1e-6), key
    # v_z = 0 away from the plane: the star sits at z_max
    top = compute_actions(POT, 8.0, 0.3, 0.0, vc, 0.0, **kw)
    assert float(top.flag) == 0 and float(top.theta_z) == pytest.approx(np.pi / 2, abs=1e-2)
    # planar orbit: J_z = 0 exactly and Omega_z is the limit of tiny vertical amplitudes
    planar = compute_actions(POT, 8.0, 0.0, 20 * KMS, vc, 0.0, **kw)
    tiny = compute_actions(POT, 8.0, 0.0, 20 * KMS, vc, 1e-4 * KMS, **kw)
    assert float(planar.J_z) == 0.0 and float(planar.flag) == 0
    assert float(planar.Omega_z) == pytest.approx(float(tiny.Omega_z), rel=1e-6)


def test_stars_at_a_radial_turning_point_converge_and_are_continuous():
    """v_R = 0 exactly (P_u ~ 0: the star is a root of S_R) must not be flagged NOT_CONVERGED.

    Regression: the chord start of the u_max iteration collapsed onto the lower root,
    where Newton points out of the bracket; 7 steps of bisection did not converge.
    """
    rng = np.random.default_rng(1)
    n = 2000  # the stars 332 and 857 of this sample used to be flagged at v_R = 0
    R, z = rng.uniform(4.0, 12.0, n), rng.uniform(-1.0, 1.0, n)
    vphi, vz = 220.0 + rng.normal(0.0, 25.0, n), rng.normal(0.0, 20.0, n)
    pick = np.concatenate([[332, 857], rng.choice(n, 254, replace=False)])  # 4 x 256 = one 1024 batch
    vR = np.repeat([0.0, 1e-3, -1e-3, 1e-4], pick.size)  # km/s; the last block is the reference
    sel = np.tile(pick, 4)
    res = compute_actions(do.MWPotential2014(), R[sel], z[sel], vR * KMS, vphi[sel] * KMS, vz[sel] * KMS)
    assert np.all(np.asarray(res.flag) == 0)
    JR = np.asarray(res.J_R).reshape(4, pick.size)
    assert np.all(np.isfinite(JR)) and np.all(JR > 0.0)
    # Off the plane p_u mixes v_R and v_z, so J_R is linear in small v_R (not even):
    # continuity is checked against the symmetric mean and the linear interpolant.
    slope = 0.5 * (JR[1] - JR[2]) / 1e-3
    tol = dict(rtol=1e-6, atol=1e-6 * np.median(JR[3]))  # near-circular J_R: curvature in v_R
    np.testing.assert_allclose(JR[0], 0.5 * (JR[1] + JR[2]), **tol)
    np.testing.assert_allclose(JR[3], JR[0] + 1e-4 * slope, **tol)


def test_bad_stars_are_flagged_nan_and_warned():
    vc = float(POT.circular_velocity(8.0))
    R = np.array([8.0, 8.0, np.nan, 8.0, 0.0, 8.0])
    vphi = np.array([vc, 3.0 * vc, vc, 0.0, vc, vc])
    with pytest.warns(ActionWarning, match="5 of 6 stars flagged"):
        res = compute_actions(POT, R, 0.1, 10 * KMS, vphi, 10 * KMS, method=StaeckelFudge(delta=[2.5] * 5 + [-1.0]))
    flag = np.asarray(res.flag)
    assert flag[0] == 0
    assert flag[1] == ActionFlag.UNBOUND
    assert flag[2] == ActionFlag.NONFINITE_INPUT
    assert flag[3] == ActionFlag.ON_AXIS and flag[4] == ActionFlag.ON_AXIS
    assert flag[5] & ActionFlag.BAD_DELTA
    for key in ("J_R", "J_z", "J_phi", "Omega_R", "theta_z", "r_apo"):
        vals = np.asarray(getattr(res, key))
        assert np.isfinite(vals[0]) and np.all(np.isnan(vals[1:])), key


# ----------------------------------------------------------------------------- API
def test_broadcasting_quantities_and_float64():
    vc = float(POT.circular_velocity(8.0))
    R = np.array([[7.0], [8.0], [9.0]])
    vz = np.array([5.0, 10.0, 20.0, 30.0]) * KMS
    res = compute_actions(POT, R, 0.2, 10 * KMS, vc, vz, method=STAR)
    assert res.J_R.shape == (3, 4) and res.flag.shape == (3, 4)
    assert res.J_z.dtype == jnp.float64
    q = compute_actions(
        POT, R * u.kpc, 200 * u.pc, 10 * u.km / u.s, (vc / KMS) * u.km / u.s, (vz / KMS) * u.km / u.s,
        method=STAR,
    )
    np.testing.assert_allclose(np.asarray(q.J_z), np.asarray(res.J_z), rtol=1e-12)
    assert q.to_quantities()["J_z"].unit == units.ACTION
    with pytest.raises(u.UnitConversionError, match="'R'"):
        compute_actions(POT, 8 * u.km / u.s, 0.0, 0.0, vc, 0.0, method=STAR)
    with pytest.raises(ValueError, match="jr_line"):
        StaeckelFudge(jr_line="disk")


def test_gradients_match_finite_differences():
    """d/d(phase space, potential parameters) of actions and frequencies, also at z = 0.

    One compiled value-and-gradient function (traced path of compute_actions);
    the finite differences reuse its value output.
    """
    method = StaeckelFudge(delta=2.5)

    def scalar(xp):
        x, pot = xp
        r = compute_actions(pot, x[0], x[1], x[2], x[3], x[4], 0.0, method=method)
        # normalised mixture: each term O(1), so an error in any one shows up
        return r.J_R / 0.09 + r.J_z / 0.02 + r.Omega_R / 0.04 + r.Omega_z / 0.07 + r.Omega_phi / 0.03

    val_grad = eqx.filter_jit(eqx.filter_value_and_grad(scalar))
    f = lambda x, pot: float(val_grad((x, pot))[0])  # noqa: E731
    disk = POT.components[0]

    def with_param(name, dv):
        comps = list(POT.components)
        comps[0] = eqx.tree_at(lambda p: getattr(p, name), disk, getattr(disk, name) + dv)
        return do.CompositePotential(comps)

    for z0 in (0.3, 0.0):
        x0 = jnp.array([8.0, z0, 30 * KMS, 210 * KMS, 20 * KMS])
        val, (gx, gpot) = val_grad((x0, POT))
        plain = compute_actions(POT, *np.asarray(x0), 0.0, method=method)  # untraced path
        expect = plain.J_R / 0.09 + plain.J_z / 0.02 + plain.Omega_R / 0.04 + plain.Omega_z / 0.07
        assert float(val) == pytest.approx(float(expect + plain.Omega_phi / 0.03), rel=1e-12)
        # steps balance truncation (~eps^2) against rounding of the O(10) objective (~1e-12/eps)
        eps = np.array([3e-5, 3e-5, 3e-6, 3e-6, 3e-6])
        for k in range(5):
            fd = (f(x0.at[k].add(eps[k]), POT) - f(x0.at[k].add(-eps[k]), POT)) / (2 * eps[k])
            assert float(gx[k]) == pytest.approx(fd, rel=2e-5, abs=1e-6), (z0, k)
        # potential parameters: disk mass and scale height
        for name, h in (("m", 1e7), ("b", 1e-5)):
            fd = (f(x0, with_param(name, h)) - f(x0, with_param(name, -h))) / (2 * h)
            assert float(getattr(gpot.components[0], name)) == pytest.approx(fd, rel=1e-5), (z0, name)
