"""Entry-point contract: shapes, units, errors, transforms, orbit-parameter refinement."""

import astropy.units as u
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diskorbits as do
from diskorbits import units
from diskorbits.orbits import Leapfrog, Orbits, integrate_orbits, phase_space_from_cylindrical, refined_extrema

LF = Leapfrog(dt=0.5)


def test_batch_shapes_broadcast_and_float64(mw, disk_stars):
    xyz, vxyz = disk_stars
    o = integrate_orbits(mw, xyz.reshape(2, 4, 3), vxyz[0], [0.0, 10.0, 20.0], method=LF)
    assert isinstance(o, Orbits)
    assert o.xyz.shape == o.vxyz.shape == (2, 4, 3, 3)
    assert o.result.shape == o.n_steps.shape == o.batch_shape == (2, 4)
    assert o.R.shape == o.L_z.shape == o.energy(mw).shape == (2, 4, 3)
    assert o.orbit_parameters().r_peri.shape == (2, 4)
    assert o.xyz.dtype == jnp.float64
    # the first sample is the initial condition, exactly
    np.testing.assert_array_equal(o.xyz[..., 0, :], xyz.reshape(2, 4, 3))


def test_single_star_and_quantities(mw):
    o = integrate_orbits(mw, [8.0, 0.0, 0.0] * u.kpc, [0.0, 230.0, 10.0] * u.km / u.s, [0.0, 0.02] * u.Gyr, method=LF)
    assert o.xyz.shape == (2, 3) and o.batch_shape == ()
    np.testing.assert_allclose(o.t, [0.0, 20.0])
    np.testing.assert_allclose(o.vxyz[0, 1], 230.0 * units.KMS)


def test_cylindrical_round_trip(mw):
    R, phi, z, vR, vphi, vz = 7.5, 2.5, -0.2, 0.01, 0.22, -0.005
    xyz, vxyz = phase_space_from_cylindrical(R, phi * u.rad, z, vR, vphi, vz)
    o = integrate_orbits(mw, xyz, vxyz, [0.0, 1.0], method=LF)
    got = [float(a[0]) for a in (o.R, o.phi, o.z, o.v_R, o.v_phi, o.v_z)]
    np.testing.assert_allclose(got, [R, phi, z, vR, vphi, vz], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(o.L_z[0], R * vphi, rtol=1e-14)
    np.testing.assert_allclose(o.angular_momentum[0, 2], o.L_z[0], rtol=1e-14)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(xyz0=[8.0, 0.0]), ValueError, "'xyz0' must have shape"),
        (dict(vxyz0=np.zeros((5, 3))), ValueError, "do not broadcast"),
        (dict(t=[0.0, 10.0, 5.0]), ValueError, "strictly increasing or strictly decreasing"),
        (dict(t=[0.0]), ValueError, "at least two"),
        (dict(t=[0.0, 1.0] * u.kpc), u.UnitConversionError, "'t'"),
        (dict(vxyz0=[0.0, 1.0, 0.0] * u.kpc), u.UnitConversionError, "'vxyz0'"),
        (dict(method="leapfrog"), TypeError, "'method'"),
        (dict(potential=42), TypeError, "'potential'"),
    ],
)
def test_misuse_names_the_argument(mw, kwargs, exc, match):
    args = dict(potential=mw, xyz0=np.ones((4, 3)), vxyz0=[0.0, 0.2, 0.0], t=[0.0, 10.0], method=LF)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        integrate_orbits(args.pop("potential"), args.pop("xyz0"), args.pop("vxyz0"), args.pop("t"), **args)


def test_gradient_wrt_potential_parameter_matches_finite_difference():
    pot = do.MiyamotoNagaiPotential(6.8e10, 3.0, 0.28) + do.NFWPotential(5.4e11, 15.62)
    x0, v0, t = np.array([8.0, 0.0, 0.1]), np.array([0.01, 0.22, 0.0]), np.linspace(0.0, 50.0, 3)

    def final_R(m_disk):
        p = eqx.tree_at(lambda q: q.components[0].m, pot, m_disk)
        return integrate_orbits(p, x0, v0, t, method=LF).R[-1]

    m = pot.components[0].m
    g = jax.grad(final_R)(m)
    h = 1e-4 * m
    fd = (final_R(m + h) - final_R(m - h)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6)


def test_refined_extrema_converge_at_fourth_order():
    # f = cos(t), minimum at t = pi placed mid-interval, the worst case; the
    # cubic Hermite error there is h^4 max|f^(4)| / 384.
    errs = []
    for h in (0.4, 0.2):
        t = np.pi + h * (np.arange(-6, 6) + 0.5)
        lo, _ = refined_extrema(t, np.cos(t), -np.sin(t))
        errs.append(abs(float(lo) + 1.0))
        # The raw sample minimum would be off by ~h^2 / 8 = 2e-2 at h = 0.4.
        np.testing.assert_allclose(errs[-1], h**4 / 384, rtol=0.05)
    np.testing.assert_allclose(errs[0] / errs[1], 16.0, rtol=0.05)


def test_orbit_parameters_barely_depend_on_cadence(mw, disk_stars):
    """Sampling every 5 Myr (~10 samples per vertical period at 5 kpc) vs every 1 Myr."""
    xyz, vxyz = disk_stars
    fine = integrate_orbits(mw, xyz, vxyz, np.linspace(0.0, 500.0, 501), method=LF)
    coarse = integrate_orbits(mw, xyz, vxyz, np.linspace(0.0, 500.0, 101), method=LF)
    pf, pc = fine.orbit_parameters(), coarse.orbit_parameters()
    for name in ("r_peri", "r_apo", "R_min", "R_max"):
        np.testing.assert_allclose(getattr(pc, name), getattr(pf, name), rtol=1e-5, err_msg=name)
    np.testing.assert_allclose(pc.z_max, pf.z_max, rtol=5e-4)  # (nu h)^4 / 384 ~ 5e-4 at 5 kpc
    # without refinement the coarse pericentres would be off by ~1e-4
    raw_peri = np.asarray(coarse.r).min(axis=-1)
    assert np.abs(raw_peri / pf.r_peri - 1).max() > 10 * np.abs(pc.r_peri / pf.r_peri - 1).max()
    e = pc.eccentricity
    assert np.all((e > 0) & (e < 1))
