"""Frames against astropy's Galactocentric (the independent reference)."""

import astropy.coordinates as coord
import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diskorbits import frames as fr
from diskorbits import units

KMS_UNIT = u.km / u.s
INTERNAL_V = u.kpc / u.Myr

SUNS = {
    "frankel2020": fr.FRANKEL2020,
    "pw2021": fr.PW2021,
    "custom-roll": fr.SolarParameters(8.0 * u.kpc, 0.1 * u.kpc, [10.0, 240.0, 8.0] * KMS_UNIT, roll=0.3 * u.rad),
}


@pytest.fixture(scope="module")
def stars():
    rng = np.random.default_rng(42)
    n = 500
    return dict(
        ra=rng.uniform(0, 360, n),
        dec=np.degrees(np.arcsin(rng.uniform(-1, 1, n))),
        distance=rng.uniform(0.05, 25.0, n),
        pmra=rng.normal(0, 30, n),
        pmdec=rng.normal(0, 30, n),
        rv=rng.normal(0, 150, n),
    )


def _astropy_gc(s, sun):
    c = coord.SkyCoord(
        ra=s["ra"] * u.deg,
        dec=s["dec"] * u.deg,
        distance=s["distance"] * u.kpc,
        pm_ra_cosdec=s["pmra"] * u.mas / u.yr,
        pm_dec=s["pmdec"] * u.mas / u.yr,
        radial_velocity=s["rv"] * KMS_UNIT,
    )
    g = c.transform_to(sun.to_astropy())
    return [g.x.to_value(u.kpc), g.y.to_value(u.kpc), g.z.to_value(u.kpc)] + [
        getattr(g, k).to_value(INTERNAL_V) for k in ("v_x", "v_y", "v_z")
    ]


def _rel(a, b):
    # relative to the scale of the reference column (components can pass through 0)
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("name", list(SUNS))
def test_observed_to_galactocentric_matches_astropy(stars, name):
    sun = SUNS[name]
    ours = fr.observed_to_galactocentric(**stars, sun=sun)
    ref = _astropy_gc(stars, sun)
    for o, r in zip(ours, ref):
        assert np.asarray(o).dtype == np.float64
        assert _rel(o, r) <= 1e-9


@pytest.mark.parametrize("name", list(SUNS))
def test_galactocentric_to_observed_matches_astropy(stars, name):
    sun = SUNS[name]
    rng = np.random.default_rng(3)
    n = 300
    xyz = rng.normal(0, 8, (3, n))
    vxyz = rng.normal(0, 0.2, (3, n))
    g = coord.Galactocentric(
        x=xyz[0] * u.kpc,
        y=xyz[1] * u.kpc,
        z=xyz[2] * u.kpc,
        v_x=vxyz[0] * INTERNAL_V,
        v_y=vxyz[1] * INTERNAL_V,
        v_z=vxyz[2] * INTERNAL_V,
        **{k: getattr(sun.to_astropy(), k) for k in ("galcen_coord", "galcen_distance", "galcen_v_sun", "z_sun", "roll")},
    )
    icrs = g.transform_to(coord.ICRS())
    ref = [
        icrs.ra.deg,
        icrs.dec.deg,
        icrs.distance.to_value(u.kpc),
        icrs.pm_ra_cosdec.to_value(u.mas / u.yr),
        icrs.pm_dec.to_value(u.mas / u.yr),
        icrs.radial_velocity.to_value(KMS_UNIT),
    ]
    ours = fr.galactocentric_to_observed(*xyz, *vxyz, sun=sun)
    for o, r in zip(ours, ref):
        assert _rel(o, r) <= 1e-9


@pytest.mark.parametrize("name", list(SUNS))
def test_round_trip(stars, name):
    sun = SUNS[name]
    back = fr.galactocentric_to_observed(*fr.observed_to_galactocentric(**stars, sun=sun), sun=sun)
    for key, b in zip(fr.ObservedCoordinates._fields, back):
        np.testing.assert_allclose(b, stars[key], rtol=1e-9, atol=1e-9 * np.max(np.abs(stars[key])))


@pytest.mark.parametrize("name", ["frankel2020", "pw2021"])
def test_sun_maps_to_preset(name):
    sun = SUNS[name]
    # the Sun sits at distance 0; a point 1 pc away with the Sun's own motion
    # (zero heliocentric velocity) must map to the Sun's galactocentric state
    c = fr.observed_to_galactocentric(10.0, 20.0, 1e-12, 0.0, 0.0, 0.0, sun=sun)
    R0, zs = float(sun.galcen_distance), float(sun.z_sun)
    np.testing.assert_allclose([c.x, c.y, c.z], [-np.sqrt(R0**2 - zs**2), 0.0, zs], atol=1e-11)
    np.testing.assert_allclose([c.v_x, c.v_y, c.v_z], np.asarray(sun.v_sun), atol=1e-14)
    np.testing.assert_allclose(np.asarray(sun.position), [c.x, c.y, c.z], atol=1e-11)


def test_preset_values():
    f, p = fr.FRANKEL2020, fr.PW2021
    assert float(f.galcen_distance) == pytest.approx(8.2)
    assert float(f.z_sun) == pytest.approx(0.0208)
    np.testing.assert_allclose(np.asarray(f.v_sun) / units.KMS, [11.1, 247.4, 7.25], rtol=1e-12)
    # Frankel+2020 quote galpy's [-U, V, W] = [-11.1, 12.24, 7.25]: U > 0 points to the centre = astropy +x
    assert float(f.v_sun[0]) > 0
    with coord.galactocentric_frame_defaults.set("v4.0"):
        default = coord.Galactocentric()
    ours = p.to_astropy()
    assert ours.galcen_distance.to_value(u.kpc) == pytest.approx(default.galcen_distance.to_value(u.kpc))
    assert ours.z_sun.to_value(u.pc) == pytest.approx(default.z_sun.to_value(u.pc))
    np.testing.assert_allclose(ours.galcen_v_sun.xyz.to_value(KMS_UNIT), default.galcen_v_sun.xyz.to_value(KMS_UNIT), rtol=1e-12)
    assert ours.galcen_coord.ra.deg == pytest.approx(default.galcen_coord.ra.deg, abs=1e-12)
    assert ours.galcen_coord.dec.deg == pytest.approx(default.galcen_coord.dec.deg, abs=1e-12)
    assert fr.get_solar_parameters("PW2021") is fr.PW2021
    with pytest.raises(ValueError, match="unknown solar-parameter preset 'bogus'"):
        fr.get_solar_parameters("bogus")


def test_cylindrical_convention_disk_star_positive_vphi():
    # the Sun itself: phi ~ 0, v_phi ~ +v_T, L_z > 0
    for sun in (fr.FRANKEL2020, fr.PW2021):
        x, y, z = np.asarray(sun.position)
        cyl = fr.cartesian_to_cylindrical(x, y, z, *np.asarray(sun.v_sun))
        assert abs(float(cyl.phi)) < 1e-12
        np.testing.assert_allclose(float(cyl.v_phi), float(sun.v_sun[1]), rtol=1e-12)
        np.testing.assert_allclose(float(cyl.v_R), -float(sun.v_sun[0]), rtol=1e-3)  # U>0 moves inwards
        lz = float(cyl.R * cyl.v_phi)
        assert lz == pytest.approx(-(x * float(sun.v_sun[1]) - y * float(sun.v_sun[0])))
        assert lz / units.KPC_KMS > 1900
    # a star towards l = 90 deg (astropy +y) is ahead of the Sun in rotation: phi > 0
    cyl = fr.cartesian_to_cylindrical(-8.0, 0.5, 0.0, 0.0, 0.2, 0.0)
    assert float(cyl.phi) > 0 and float(cyl.v_phi) > 0


def test_cylindrical_matches_astropy_representation():
    rng = np.random.default_rng(7)
    xyz = rng.normal(0, 8, (3, 200))
    vxyz = rng.normal(0, 0.2, (3, 200))
    cyl = fr.cartesian_to_cylindrical(*xyz, *vxyz)
    rep = coord.CartesianRepresentation(xyz * u.kpc, differentials=coord.CartesianDifferential(vxyz * INTERNAL_V))
    # astropy's right-handed cylinder, mapped to ours: phi_ours = pi - phi_astropy, v_phi_ours = -v_phi_astropy
    c = rep.represent_as(coord.CylindricalRepresentation, coord.CylindricalDifferential)
    d = c.differentials["s"]
    phi_ap = c.phi.to_value(u.rad)
    np.testing.assert_allclose(np.asarray(cyl.R), c.rho.to_value(u.kpc), rtol=1e-13)
    np.testing.assert_allclose(np.cos(np.asarray(cyl.phi)), np.cos(np.pi - phi_ap), atol=1e-13)
    np.testing.assert_allclose(np.sin(np.asarray(cyl.phi)), np.sin(np.pi - phi_ap), atol=1e-13)
    np.testing.assert_allclose(np.asarray(cyl.v_R), d.d_rho.to_value(INTERNAL_V), rtol=1e-12, atol=1e-15)
    vphi_ap = (d.d_phi * c.rho).to_value(INTERNAL_V, u.dimensionless_angles())
    np.testing.assert_allclose(np.asarray(cyl.v_phi), -vphi_ap, rtol=1e-12, atol=1e-15)
    back = fr.cylindrical_to_cartesian(*cyl)
    np.testing.assert_allclose(np.stack(back), np.concatenate([xyz, vxyz]), rtol=1e-12, atol=1e-13)


def test_parallax_equivalent_to_distance(stars):
    plx = 1.0 / stars["distance"]
    kw = {k: v for k, v in stars.items() if k != "distance"}
    a = fr.observed_to_galactocentric(**kw, parallax=plx)
    b = fr.observed_to_galactocentric(**stars)
    np.testing.assert_allclose(np.stack(a), np.stack(b), rtol=1e-12, atol=1e-14)
    # Quantity parallax (arcsec) converted correctly
    c = fr.observed_to_galactocentric(**kw, parallax=(plx * u.mas).to(u.arcsec))
    np.testing.assert_allclose(np.stack(c), np.stack(b), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("bad", [0.0, -0.3, np.nan])
def test_bad_parallax_raises(bad):
    with pytest.raises(ValueError, match="'parallax' must be > 0"):
        fr.observed_to_galactocentric([10.0, 20.0], [0.0, 1.0], pmra=0.0, pmdec=0.0, rv=0.0, parallax=[1.0, bad])


def test_distance_xor_parallax():
    with pytest.raises(ValueError, match="exactly one of 'distance' or 'parallax'"):
        fr.observed_to_galactocentric(1.0, 2.0, 1.0, 0.0, 0.0, 0.0, parallax=1.0)
    with pytest.raises(ValueError, match="exactly one"):
        fr.observed_to_galactocentric(1.0, 2.0, None, 0.0, 0.0, 0.0)


def test_quantities_and_units_errors(stars):
    q = fr.observed_to_galactocentric(
        stars["ra"] * u.deg,
        (stars["dec"] * u.deg).to(u.rad),
        (stars["distance"] * u.kpc).to(u.pc),
        stars["pmra"] * u.mas / u.yr,
        (stars["pmdec"] * u.mas / u.yr).to(u.rad / u.s),
        (stars["rv"] * KMS_UNIT).to(u.m / u.s),
    )
    p = fr.observed_to_galactocentric(**stars)
    np.testing.assert_allclose(np.stack(q), np.stack(p), rtol=1e-11, atol=1e-13)
    with pytest.raises(u.UnitConversionError, match="'rv'"):
        fr.observed_to_galactocentric(1.0, 2.0, 1.0, 0.0, 0.0, 5.0 * u.kpc)


def test_invalid_solar_parameters():
    with pytest.raises(ValueError, match="galcen_distance must be > 0"):
        fr.SolarParameters(-1.0, 0.0, [0.0, 0.2, 0.0])
    with pytest.raises(ValueError, match="v_sun must have 3 components"):
        fr.SolarParameters(8.0, 0.0, [0.0, 0.2])
    with pytest.raises(u.UnitConversionError, match="'z_sun'"):
        fr.SolarParameters(8.0, 20.0 * u.km / u.s, [0.0, 0.2, 0.0])


def test_jit_vmap_grad(stars):
    sun = fr.PW2021
    f = jax.jit(lambda *a: fr.observed_to_galactocentric(*a, sun=sun))
    args = [jnp.asarray(stars[k]) for k in fr.ObservedCoordinates._fields]
    np.testing.assert_allclose(np.stack(f(*args)), np.stack(fr.observed_to_galactocentric(*args, sun=sun)), rtol=1e-12, atol=1e-14)
    # derivative of R w.r.t. the Sun-centre distance for a star at the Sun's position is ~1
    def R_of_R0(R0):
        s = fr.SolarParameters(R0, sun.z_sun, sun.v_sun)
        c = fr.observed_to_galactocentric(45.0, 10.0, 1e-6, 0.0, 0.0, 0.0, sun=s)
        return fr.cartesian_to_cylindrical(*c).R

    assert float(jax.grad(R_of_R0)(8.122)) == pytest.approx(1.0, abs=1e-5)
    # traced parallax <= 0 gives NaN, not an exception
    g = jax.jit(lambda p: fr.observed_to_galactocentric(1.0, 2.0, None, 0.0, 0.0, 0.0, parallax=p, sun=sun).x)
    assert np.isnan(float(g(-1.0)))
