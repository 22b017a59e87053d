"""Adaptive Dormand–Prince integration: accuracy, per-star codes, batching modes.

Compiling a diffrax solve takes seconds, so these tests share one batch shape
(the eight ``disk_stars``, 11 save times) and vary only the tolerances, which
are traced values and do not trigger recompilation.
"""

import numpy as np
import pytest

from diskorbits.orbits import Adaptive, OrbitResult, integrate_orbits

T11 = np.linspace(0.0, 2000.0, 11)


def test_energy_and_Lz_at_tight_tolerance(mw, disk_stars):
    xyz, vxyz = disk_stars
    o = integrate_orbits(mw, xyz, vxyz, T11, method=Adaptive(rtol=1e-12, atol=1e-12))
    assert np.all(o.successful)
    E = np.asarray(o.energy(mw))
    assert np.abs(E / E[:, :1] - 1).max() < 1e-10
    Lz = np.asarray(o.L_z)
    assert np.abs(Lz / Lz[:, :1] - 1).max() < 1e-10


def test_looser_tolerance_gives_larger_but_controlled_error(mw, disk_stars):
    xyz, vxyz = disk_stars
    errs = []
    for tol in (1e-7, 1e-10):
        o = integrate_orbits(mw, xyz, vxyz, T11, method=Adaptive(rtol=tol, atol=tol))
        E = np.asarray(o.energy(mw))
        errs.append(np.abs(E / E[:, :1] - 1).max())
    assert errs[1] < errs[0] < 1e-5


def test_backward_integration_returns_to_start(mw, disk_stars):
    xyz, vxyz = disk_stars
    m = Adaptive(rtol=1e-12, atol=1e-12)
    fwd = integrate_orbits(mw, xyz, vxyz, T11, method=m)
    back = integrate_orbits(mw, fwd.xyz[:, -1], fwd.vxyz[:, -1], T11[::-1], method=m)
    np.testing.assert_allclose(back.t, T11[::-1])
    np.testing.assert_allclose(back.xyz[:, ::-1], fwd.xyz, atol=1e-8)
    np.testing.assert_allclose(back.vxyz[:, -1], vxyz, atol=1e-10)


def test_bad_star_is_flagged_not_fatal_and_per_star_mode_agrees(mw, disk_stars):
    xyz, vxyz = (np.array(a) for a in disk_stars)
    xyz[3, 0] = np.nan
    good = np.delete(np.arange(len(xyz)), 3)
    expected = np.full(len(xyz), OrbitResult.SUCCESS)
    expected[3] = OrbitResult.NONFINITE
    runs = {}
    for per_star in (False, True):
        m = Adaptive(rtol=1e-11, atol=1e-11, per_star_steps=per_star)
        o = integrate_orbits(mw, xyz, vxyz, T11, method=m)
        np.testing.assert_array_equal(o.result, expected)
        E = np.asarray(o.energy(mw))[good]
        assert np.abs(E / E[:, :1] - 1).max() < 1e-9
        runs[per_star] = o
    # Independent step sizes agree with the shared ones to the tolerance level,
    # and the shared step is set by the most demanding star.
    np.testing.assert_allclose(runs[True].xyz[good], runs[False].xyz[good], atol=1e-7)
    assert np.all(np.asarray(runs[True].n_steps)[good] <= np.asarray(runs[False].n_steps)[good])


def test_step_limit_is_reported(mw, disk_stars):
    xyz, vxyz = disk_stars
    o = integrate_orbits(mw, xyz, vxyz, T11, method=Adaptive(rtol=1e-12, atol=1e-12, solver="tsit5", max_steps=10))
    np.testing.assert_array_equal(o.result, OrbitResult.MAX_STEPS_REACHED)
    assert not np.any(o.successful)


def test_rejects_bad_options():
    with pytest.raises(ValueError, match="'solver'"):
        Adaptive(solver="rk4")
    with pytest.raises(ValueError, match="'rtol'"):
        Adaptive(rtol=-1.0)
    with pytest.raises(ValueError, match="'max_steps'"):
        Adaptive(max_steps=0)
    with pytest.raises(ValueError, match="'dtmax'"):
        Adaptive(dtmax=0.0)
