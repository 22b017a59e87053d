"""Agreement with galpy's and gala's own orbit integrators in the same potential."""

import warnings

import astropy.units as u
import numpy as np
import pytest

from diskorbits import units
from diskorbits.orbits import Adaptive, Leapfrog, integrate_orbits

T11 = np.linspace(0.0, 2000.0, 11)


def test_trajectories_match_gala_dop853(mw, disk_stars, gala_mw_v1):
    gp = pytest.importorskip("gala.potential")
    gd = pytest.importorskip("gala.dynamics")
    gi = pytest.importorskip("gala.integrate")
    p = gala_mw_v1
    gpot = gp.CCompositePotential(
        disk=gp.MiyamotoNagaiPotential(*p["disk"], units=units_galactic()),
        bulge=gp.HernquistPotential(*p["bulge"], units=units_galactic()),
        nucleus=gp.HernquistPotential(*p["nucleus"], units=units_galactic()),
        halo=gp.NFWPotential(*p["halo"], units=units_galactic()),
    )
    xyz, vxyz = disk_stars
    # Same potential, checked at the start point before comparing orbits.
    np.testing.assert_allclose(gpot.energy(xyz.T * u.kpc).to_value(units.ENERGY), mw.potential_xyz(xyz), rtol=1e-13)
    w0 = gd.PhaseSpacePosition(pos=xyz.T * u.kpc, vel=vxyz.T * u.kpc / u.Myr)
    ref = gp.Hamiltonian(gpot).integrate_orbit(
        w0, t=T11 * u.Myr, Integrator=gi.DOPRI853Integrator, Integrator_kwargs=dict(rtol=1e-13, atol=1e-13)
    )
    ref_xyz = np.moveaxis(ref.xyz.to_value(u.kpc), 0, -1).swapaxes(0, 1)  # (3, T, N) -> (N, T, 3)
    o = integrate_orbits(mw, xyz, vxyz, T11, method=Adaptive(rtol=1e-12, atol=1e-12))
    # Both are 8th-order Dormand-Prince at ~1e-12: after ~10 orbits they agree
    # to ~1e-8 kpc (0.002 AU), far below any astrophysical need.
    np.testing.assert_allclose(o.xyz, ref_xyz, atol=1e-7)


def units_galactic():
    from gala.units import galactic

    return galactic


def _galpy_mw(p, ro, vo):
    gpp = pytest.importorskip("galpy.potential")
    return [
        gpp.MiyamotoNagaiPotential(amp=p["disk"][0] * u.Msun, a=p["disk"][1] * u.kpc, b=p["disk"][2] * u.kpc, ro=ro, vo=vo),
        # galpy's Hernquist amplitude is twice the total mass
        gpp.HernquistPotential(amp=2 * p["bulge"][0] * u.Msun, a=p["bulge"][1] * u.kpc, ro=ro, vo=vo),
        gpp.HernquistPotential(amp=2 * p["nucleus"][0] * u.Msun, a=p["nucleus"][1] * u.kpc, ro=ro, vo=vo),
        gpp.NFWPotential(amp=p["halo"][0] * u.Msun, a=p["halo"][1] * u.kpc, ro=ro, vo=vo),
    ]


def test_orbit_parameters_match_galpy(mw, disk_stars, gala_mw_v1):
    gpp = pytest.importorskip("galpy.potential")
    from galpy.orbit import Orbit

    ro, vo = 8.0, 220.0
    gpot = _galpy_mw(gala_mw_v1, ro, vo)
    xyz, vxyz = disk_stars
    R = np.hypot(xyz[:, 0], xyz[:, 1])
    np.testing.assert_allclose(
        gpp.evaluatePotentials(gpot, R * u.kpc, xyz[:, 2] * u.kpc, ro=ro, vo=vo, quantity=True).to_value(units.ENERGY),
        mw.potential_xyz(xyz),
        rtol=1e-12,
    )
    phi = np.arctan2(xyz[:, 1], xyz[:, 0])
    vR = (xyz[:, 0] * vxyz[:, 0] + xyz[:, 1] * vxyz[:, 1]) / R
    vT = (xyz[:, 0] * vxyz[:, 1] - xyz[:, 1] * vxyz[:, 0]) / R
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # An array initialises galpy in its natural units: lengths / ro, velocities / vo.
        go = Orbit(
            np.stack([R / ro, vR / units.KMS / vo, vT / units.KMS / vo, xyz[:, 2] / ro, vxyz[:, 2] / units.KMS / vo, phi], -1),
            ro=ro,
            vo=vo,
        )
        # galpy takes min/max over samples: sample densely (0.1 Myr) so its
        # own sampling error (~(Omega dt)^2 / 8 ~ 1e-6) is negligible.
        go.integrate(np.linspace(0.0, 2000.0, 20001) * u.Myr, gpot, method="dop853_c")
        ref = dict(r_peri=go.rperi(), r_apo=go.rap(), z_max=go.zmax(), e=go.e())
    # Ours: leapfrog at 0.05 Myr, sampled only every 10 Myr; the Hermite
    # refinement recovers the extrema between samples.
    o = integrate_orbits(mw, xyz, vxyz, np.linspace(0.0, 2000.0, 201), method=Leapfrog(dt=0.05))
    par = o.orbit_parameters()
    np.testing.assert_allclose(par.r_peri, ref["r_peri"], rtol=1e-4)
    np.testing.assert_allclose(par.r_apo, ref["r_apo"], rtol=1e-4)
    np.testing.assert_allclose(par.z_max, ref["z_max"], rtol=1e-3)
    np.testing.assert_allclose(par.eccentricity, ref["e"], atol=1e-4)
