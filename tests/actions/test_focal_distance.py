"""Tests of the Stäckel focal-distance estimates (diskorbits.actions.focal_distance)."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diskorbits as do
from diskorbits import units
from diskorbits.actions.focal_distance import (
    DELTA_MIN,
    Z_LIMIT,
    estimate_delta,
    estimate_delta_local,
)
from diskorbits.potentials import AbstractPotential


class StaeckelTestPotential(AbstractPotential):
    """A Stäckel potential in prolate spheroidal coordinates with focal distance ``delta``.

    With lambda = (d1 + d2)^2 / 4 + c^2, nu = (d1 - d2)^2 / 4 + c^2 (d1, d2 the
    distances to the foci at z = +-delta), Phi = -G m / (sqrt(lambda) + sqrt(nu))
    = -G m (sqrt(lambda) - sqrt(nu)) / (lambda - nu) is of Stäckel form
    (F(lambda) - F(nu)) / (lambda - nu): the Kuzmin-Kutuzov model (Dejonghe &
    de Zeeuw 1988) with axis lengths c and sqrt(c^2 + delta^2).
    """

    m: jax.Array
    c: jax.Array
    delta: jax.Array

    def __init__(self, m, c, delta):
        # arrays, not Python floats, so that one compilation serves every delta
        self.m, self.c, self.delta = (jnp.asarray(x, float) for x in (m, c, delta))

    def _phi(self, R, z):
        d1 = jnp.sqrt(R * R + (z + self.delta) ** 2)
        d2 = jnp.sqrt(R * R + (z - self.delta) ** 2)
        lam = 0.25 * (d1 + d2) ** 2 + self.c**2
        nu = 0.25 * (d1 - d2) ** 2 + self.c**2
        return -units.G * self.m / (jnp.sqrt(lam) + jnp.sqrt(nu))




@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(42)
    R = rng.uniform(2.0, 15.0, 40)
    z = rng.uniform(-2.0, 2.0, 40)
    z[np.abs(z) < 0.01] = 0.3  # public codes are 0/0 at the plane
    return R, z


@pytest.fixture(scope="module")
def disk():
    # A single component keeps compile times of the autodiff-heavy tests short.
    return do.MiyamotoNagaiPotential(6.8e10, 3.0, 0.28)


@pytest.mark.parametrize("delta", [0.5, 2.0, 4.0])
def test_exact_staeckel_potential_returns_its_delta(delta):
    pot = StaeckelTestPotential(m=1e11, c=0.5, delta=delta)
    R = np.array([0.5, 2.0, 5.0, 8.0, 8.0, 12.0, 3.0, 8.0])
    z = np.array([0.3, -1.0, 0.1, 0.0, 2.5, 0.7, 1e-9, -4.0])
    d = np.asarray(estimate_delta_local(pot, R, z))
    np.testing.assert_allclose(d, delta, rtol=1e-7)


def test_spherical_potential_gives_floor():
    pot = do.HernquistPotential(1e11, 2.0)
    d = np.asarray(estimate_delta_local(pot, [3.0, 8.0, 8.0], [0.5, 0.0, 2.0]))
    # Delta^2 = 0 analytically; rounding may land either side before the floor.
    assert np.all(d <= 1e-3 * 8.0) and np.all(d >= DELTA_MIN)


def test_matches_gala(mw, sample):
    gp = pytest.importorskip("gala.potential")
    gd = pytest.importorskip("gala.dynamics")
    from gala.dynamics.actionangle import get_staeckel_fudge_delta
    import astropy.units as u

    R, z = sample
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gmw = gp.MilkyWayPotential(version="v1") if _gala_accepts_version(gp) else gp.MilkyWayPotential()
    w = gd.PhaseSpacePosition(pos=np.array([R, 0 * R, z]) * u.kpc, vel=np.zeros((3, R.size)) * u.km / u.s)
    ref = get_staeckel_fudge_delta(gmw, w).to_value(u.kpc)
    np.testing.assert_allclose(np.asarray(estimate_delta_local(mw, R, z)), ref, rtol=1e-8)


def _gala_accepts_version(gp):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp.MilkyWayPotential(version="v1")
        return True
    except TypeError:
        return False


def test_matches_galpy(mw, sample):
    pytest.importorskip("galpy")
    import astropy.units as u
    from galpy.actionAngle import estimateDeltaStaeckel
    from galpy.potential import HernquistPotential, MiyamotoNagaiPotential, NFWPotential

    ro, vo = 8.0, 220.0
    # galpy's Hernquist amplitude is twice the mass.
    gpot = [
        MiyamotoNagaiPotential(amp=6.8e10 * u.Msun, a=3 * u.kpc, b=0.28 * u.kpc, ro=ro, vo=vo),
        HernquistPotential(amp=2 * 5e9 * u.Msun, a=1 * u.kpc, ro=ro, vo=vo),
        HernquistPotential(amp=2 * 1.71e9 * u.Msun, a=0.07 * u.kpc, ro=ro, vo=vo),
        NFWPotential(amp=5.4e11 * u.Msun, a=15.62 * u.kpc, ro=ro, vo=vo),
    ]
    R, z = sample
    ref = np.array([np.ravel(estimateDeltaStaeckel(gpot, r / ro, zz / ro, no_median=True))[0] for r, zz in zip(R, z)])
    np.testing.assert_allclose(np.asarray(estimate_delta_local(mw, R, z)), ref * ro, rtol=1e-8)


def test_finite_and_continuous_through_the_plane(disk):
    R = 8.0
    z = np.array([0.0, -0.0, 1e-300, 0.5 * Z_LIMIT, Z_LIMIT * (1 - 1e-12), Z_LIMIT, 2 * Z_LIMIT, 1e-5, 1e-4, 1e-3])
    z = np.concatenate([z, -z])
    d = np.asarray(estimate_delta_local(disk, R, z))
    assert d.dtype == np.float64
    assert np.all(np.isfinite(d))
    # Delta^2 is even and smooth in z: changes are O(z^2 / b^2) with b = 0.28 kpc.
    np.testing.assert_allclose(d, d[0], rtol=5e-5)
    np.testing.assert_allclose(d[:8], d[0], rtol=1e-9)
    np.testing.assert_allclose(d[10:], d[:10], rtol=1e-12)  # z -> -z symmetry


def test_jit_vmap_grad(disk):
    R = jnp.linspace(4.0, 12.0, 5)
    z = jnp.array([0.0, 0.2, -0.5, 1.0, 1e-8])
    d = estimate_delta_local(disk, R, z)
    dv = jax.jit(jax.vmap(lambda r, zz: estimate_delta_local(disk, r, zz)))(R, z)
    np.testing.assert_allclose(dv, d, rtol=1e-13)

    # gradients with respect to position and to a potential parameter (the scale
    # height b), finite everywhere including the plane, and equal to finite differences
    import equinox as eqx

    def f(r, zz, b):
        return estimate_delta_local(eqx.tree_at(lambda p: p.b, disk, b), r, zz)

    grad = jax.jit(jax.vmap(jax.grad(f, argnums=(0, 1, 2)), in_axes=(0, 0, None)))
    b0 = jnp.asarray(0.28)
    gR, gz, gb = grad(R, z, b0)
    assert np.all(np.isfinite(gR)) and np.all(np.isfinite(gz)) and np.all(np.isfinite(gb))
    h = 1e-5
    off = np.array([1, 2, 3])  # off-plane points
    fdR = (f(R + h, z, b0) - f(R - h, z, b0)) / (2 * h)
    fdz = (f(R, z + h, b0) - f(R, z - h, b0)) / (2 * h)
    fdb = (f(R, z, b0 + h) - f(R, z, b0 - h)) / (2 * h)
    np.testing.assert_allclose(gR, fdR, rtol=1e-6)
    np.testing.assert_allclose(gz[off], fdz[off], rtol=1e-5)
    np.testing.assert_allclose(gb, fdb, rtol=1e-6)
    # even in z: the derivative vanishes in the plane
    assert abs(gz[0]) < 1e-12


def test_estimate_delta_dispatch(disk):
    z = np.array([0.0, 0.2, -0.5, 1.0, 1e-8])
    np.testing.assert_array_equal(estimate_delta(disk, 8.0, z), estimate_delta_local(disk, 8.0, z))
    with pytest.raises(ValueError, match="unknown method"):
        estimate_delta(disk, 8.0, 0.3, method="nonsense")


def test_orbit_median_in_staeckel_potential_is_exact():
    pot = StaeckelTestPotential(m=1e11, c=0.5, delta=3.0)
    kms = units.KMS
    R, z = np.array([8.0, 5.0]), np.array([0.3, -0.1])
    vR, vphi, vz = np.array([30.0, -20.0]) * kms, np.array([200.0, 180.0]) * kms, np.array([20.0, 10.0]) * kms
    d = np.asarray(estimate_delta(pot, R, z, vR, vphi, vz, method="orbit-median"))
    np.testing.assert_allclose(d, 3.0, rtol=1e-7)


def test_orbit_methods_need_velocities(disk):
    with pytest.raises(ValueError, match="needs the velocities"):
        estimate_delta(disk, 8.0, 0.3, method="orbit-consistent")
    with pytest.raises(ValueError, match="n_iter"):
        from diskorbits.actions.focal_distance import estimate_delta_orbit_consistent

        estimate_delta_orbit_consistent(disk, 8.0, 0.3, 0.0, 0.2, 0.01, n_iter=0)
