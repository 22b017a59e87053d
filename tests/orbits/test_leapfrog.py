"""Leapfrog: symplectic energy behaviour, order, reversibility, save-grid independence."""

import numpy as np
import pytest

from diskorbits.orbits import Adaptive, Leapfrog, OrbitResult, integrate_orbits

T_END = 1000.0  # Myr: ~4-5 orbits at the solar radius


def _max_rel_energy_error(orbits, pot):
    E = np.asarray(orbits.energy(pot))
    return np.max(np.abs(E / E[..., :1] - 1.0), axis=-1)


def test_energy_bounded_and_Lz_conserved(mw, disk_stars):
    xyz, vxyz = disk_stars
    t = np.linspace(0.0, 4 * T_END, 401)
    o = integrate_orbits(mw, xyz, vxyz, t, method=Leapfrog(dt=1.0))
    assert np.all(o.result == OrbitResult.SUCCESS)
    dE = np.abs(np.asarray(o.energy(mw)) / np.asarray(o.energy(mw))[:, :1] - 1.0)
    # Bounded: the error over the last quarter is no larger than over the first
    # quarter (no secular drift), and small in absolute terms.
    first, last = dE[:, :100].max(axis=1), dE[:, -100:].max(axis=1)
    assert np.all(last < 1.5 * first + 1e-12)
    assert dE.max() < 1e-4
    # L_z is conserved exactly by the leapfrog map in an axisymmetric potential
    # (each kick is radial + vertical), up to roundoff.
    Lz = np.asarray(o.L_z)
    np.testing.assert_allclose(Lz, np.broadcast_to(Lz[:, :1], Lz.shape), rtol=1e-12)


def test_second_order_convergence(mw, disk_stars):
    xyz, vxyz = disk_stars
    t = np.linspace(0.0, 2 * T_END, 11)  # same shape as the adaptive tests: one compilation
    ref = integrate_orbits(mw, xyz, vxyz, t, method=Adaptive(rtol=1e-12, atol=1e-12))
    pos_err, e_err = [], []
    for dt in (2.0, 1.0, 0.5):
        o = integrate_orbits(mw, xyz, vxyz, t, method=Leapfrog(dt=dt))
        pos_err.append(np.abs(np.asarray(o.xyz - ref.xyz)).max())
        e_err.append(_max_rel_energy_error(o, mw).max())
    pos_ratio = np.array(pos_err[:-1]) / np.array(pos_err[1:])
    e_ratio = np.array(e_err[:-1]) / np.array(e_err[1:])
    # Halving dt must divide both errors by 2^2 = 4.
    np.testing.assert_allclose(pos_ratio, 4.0, rtol=0.05)
    np.testing.assert_allclose(e_ratio, 4.0, rtol=0.05)


def test_time_reversible(mw, disk_stars):
    xyz, vxyz = disk_stars
    t = np.linspace(0.0, T_END, 6)
    fwd = integrate_orbits(mw, xyz, vxyz, t, method=Leapfrog(dt=0.7))
    back = integrate_orbits(mw, fwd.xyz[:, -1], fwd.vxyz[:, -1], t[::-1], method=Leapfrog(dt=0.7))
    # KDK is exactly symmetric: stepping back retraces the discrete orbit; only
    # roundoff (~1e-16 per step, ~1400 steps) separates them.
    np.testing.assert_allclose(back.xyz[:, ::-1], fwd.xyz, atol=1e-11)
    np.testing.assert_allclose(back.vxyz[:, ::-1], fwd.vxyz, atol=1e-13)


def test_save_grid_does_not_change_the_orbit(mw, disk_stars):
    """Extra save times that fall on step boundaries must not alter the trajectory."""
    xyz, vxyz = disk_stars
    coarse = integrate_orbits(mw, xyz, vxyz, [0.0, 300.0], method=Leapfrog(dt=0.5))
    # non-uniform grid: intervals of 50, 100, 150 Myr, all multiples of dt
    fine = integrate_orbits(mw, xyz, vxyz, [0.0, 50.0, 150.0, 300.0], method=Leapfrog(dt=0.5))
    np.testing.assert_allclose(fine.xyz[:, -1], coarse.xyz[:, -1], atol=1e-12)
    assert int(fine.n_steps[0]) == int(coarse.n_steps[0]) == 600


def test_step_shrinks_to_hit_save_times(mw, disk_stars):
    xyz, vxyz = disk_stars
    # 0.3 Myr intervals with dt = 0.25 -> 2 steps of 0.15 per interval.
    o = integrate_orbits(mw, xyz[0], vxyz[0], [0.0, 0.3, 0.6], method=Leapfrog(dt=0.25))
    assert int(o.n_steps) == 4
    np.testing.assert_allclose(o.t, [0.0, 0.3, 0.6])


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_rejects_bad_dt(bad):
    with pytest.raises(ValueError, match="'dt'"):
        Leapfrog(dt=bad)
