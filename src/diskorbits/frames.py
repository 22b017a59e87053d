"""Observed heliocentric coordinates <-> Galactocentric Cartesian and cylindrical.

The Galactocentric Cartesian frame is exactly astropy's
:class:`~astropy.coordinates.Galactocentric` (right-handed, Galactic centre at
the origin, the Sun at ``x < 0`` slightly above the plane, ``+y`` towards
Galactic longitude 90 deg, so the disc rotates towards ``+y`` at the Sun).
The transformation is a fixed rotation of the ICRS axes onto the direction of
the Galactic centre, a roll about that axis, a translation by the Sun-centre
distance and a tilt that puts the Sun at height ``z_sun``; velocities are
rotated the same way and the solar velocity added.

The **cylindrical** coordinates follow the convention of galactic-dynamics
codes (galpy; Bovy 2015) rather than a literal right-handed cylinder around
astropy's ``+z``: the azimuth is measured from the Galactic centre-Sun line
and grows in the direction of Galactic rotation,

    phi = atan2(y, -x),                 (Sun at phi ~ 0)
    v_phi = -(x v_y - y v_x) / R,       (Sun: v_phi ~ +245 km/s)

so that disc stars have ``v_phi > 0`` and ``J_phi = L_z = R v_phi > 0``.
``R``, ``z``, ``v_R`` and ``v_z`` are the usual ones. The same convention
is used by published catalogues such as Miglio et al. (2021).

Units: inputs given as plain numbers are read as deg (ra, dec), kpc
(distance), mas (parallax), mas/yr (pmra = mu_alpha* = mu_alpha cos dec,
pmdec) and km/s (rv); Galactocentric quantities are in internal units (kpc,
kpc/Myr, rad). Quantities are accepted everywhere at the public boundary.
All functions are elementwise, broadcast over any array shape, and are pure
JAX (they can be jitted, vmapped and differentiated when given arrays).

>>> import diskorbits.frames as fr
>>> sun = fr.FRANKEL2020
>>> c = fr.observed_to_galactocentric(266.4051, -28.936175, 8.2, 0.0, 0.0, 0.0, sun=sun)
>>> abs(float(c.x)) < 1e-3     # a star at rest at the Galactic centre's position
True
"""

from __future__ import annotations

from typing import NamedTuple

import astropy.units as u
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _config  # noqa: F401  (float64)
from . import units

__all__ = [
    "SolarParameters",
    "FRANKEL2020",
    "PW2021",
    "PRESETS",
    "get_solar_parameters",
    "ObservedCoordinates",
    "CartesianCoordinates",
    "CylindricalCoordinates",
    "observed_to_galactocentric",
    "galactocentric_to_observed",
    "cartesian_to_cylindrical",
    "cylindrical_to_cartesian",
    "observed_to_cylindrical",
    "parallax_to_distance",
]

# ICRS position of the Galactic centre (Sgr A*; Reid & Brunthaler 2004), the
# value astropy's Galactocentric frame uses by default.
GC_RA_DEG = 266.4051
GC_DEC_DEG = -28.936175
# Roll about the Sun-centre axis that makes the Galactocentric x-z plane
# contain Galactic longitude l = 0 (astropy fits this number numerically).
ROLL0_DEG = 58.5986320306

_DEG = np.pi / 180.0
#: 1 mas/yr in rad/Myr.
MASYR_RADMYR: float = float((1.0 * u.mas / u.yr).to_value(u.rad / u.Myr))


# --------------------------------------------------------------------------- #
# Solar parameters
# --------------------------------------------------------------------------- #
def _scalar(value, kind: str, name: str):
    # Quantities are converted with astropy; plain numbers may be JAX tracers,
    # so they must not go through numpy.
    if isinstance(value, u.Quantity):
        return jnp.asarray(units.to_internal(value, kind, name))
    return jnp.asarray(value, dtype=jnp.float64)


def _is_concrete(*xs) -> bool:
    return not any(isinstance(x, jax.core.Tracer) for x in xs)


class SolarParameters(eqx.Module):
    """Position and velocity of the Sun that define the Galactocentric frame.

    Mirrors :class:`astropy.coordinates.Galactocentric`.

    Parameters
    ----------
    galcen_distance : float or Quantity [length]
        Sun-Galactic centre distance (kpc when a plain number).
    z_sun : float or Quantity [length]
        Height of the Sun above the Galactic mid-plane (kpc when a plain number).
    v_sun : array_like (3,) or Quantity [velocity]
        Cartesian velocity of the Sun in the Galactocentric frame, astropy's
        ``galcen_v_sun`` (kpc/Myr when plain numbers; e.g. ``[12.9, 245.6,
        7.78] * u.km/u.s``): ``v_x > 0`` points from the Sun to the centre.
    roll : float or Quantity [angle], optional
        Extra roll about the Sun-centre axis (rad when a plain number).
    gc_ra, gc_dec : float or Quantity [angle], optional
        ICRS position of the Galactic centre (rad when plain numbers).
        Default: Reid & Brunthaler (2004), as in astropy.

    Raises
    ------
    ValueError
        If ``galcen_distance <= 0``, ``|z_sun| >= galcen_distance`` or
        ``v_sun`` does not have 3 components.
    """

    galcen_distance: jax.Array
    z_sun: jax.Array
    v_sun: jax.Array
    roll: jax.Array
    gc_ra: jax.Array
    gc_dec: jax.Array

    def __init__(
        self,
        galcen_distance,
        z_sun,
        v_sun,
        roll=0.0,
        gc_ra=GC_RA_DEG * _DEG,
        gc_dec=GC_DEC_DEG * _DEG,
    ):
        self.galcen_distance = _scalar(galcen_distance, "length", "galcen_distance")
        self.z_sun = _scalar(z_sun, "length", "z_sun")
        self.v_sun = _scalar(v_sun, "velocity", "v_sun")
        self.roll = _scalar(roll, "angle", "roll")
        self.gc_ra = _scalar(gc_ra, "angle", "gc_ra")
        self.gc_dec = _scalar(gc_dec, "angle", "gc_dec")
        if self.v_sun.shape != (3,):
            raise ValueError(f"v_sun must have 3 components (v_x, v_y, v_z); got shape {self.v_sun.shape}")
        if _is_concrete(self.galcen_distance, self.z_sun):
            d, zs = float(self.galcen_distance), float(self.z_sun)
            if not d > 0:
                raise ValueError(f"galcen_distance must be > 0 kpc; got {d!r}")
            if not abs(zs) < d:
                raise ValueError(f"|z_sun| must be smaller than galcen_distance; got z_sun={zs!r} kpc, galcen_distance={d!r} kpc")

    # Derived quantities are properties, recomputed on use (never cached).
    @property
    def rotation(self) -> jax.Array:
        """3x3 matrix taking ICRS Cartesian vectors to Galactocentric axes."""
        return _rotation_matrix(self)

    @property
    def position(self) -> jax.Array:
        """Galactocentric Cartesian position of the Sun, kpc, shape (3,)."""
        return _sun_offset(self)

    def to_astropy(self):
        """The equivalent :class:`astropy.coordinates.Galactocentric` frame."""
        import astropy.coordinates as coord

        return coord.Galactocentric(
            galcen_coord=coord.ICRS(ra=float(self.gc_ra) * u.rad, dec=float(self.gc_dec) * u.rad),
            galcen_distance=float(self.galcen_distance) * u.kpc,
            z_sun=float(self.z_sun) * u.kpc,
            galcen_v_sun=coord.CartesianDifferential(np.asarray(self.v_sun) * units.VELOCITY),
            roll=float(self.roll) * u.rad,
        )

    def describe(self) -> dict:
        """Plain-number summary in the field's units (kpc, pc, km/s, deg) for run metadata."""
        return {
            "galcen_distance_kpc": float(self.galcen_distance),
            "z_sun_pc": float(self.z_sun) * 1e3,
            "v_sun_kms": [float(v) / units.KMS for v in np.asarray(self.v_sun)],
            "roll_deg": float(self.roll) / _DEG,
            "gc_ra_deg": float(self.gc_ra) / _DEG,
            "gc_dec_deg": float(self.gc_dec) / _DEG,
        }


#: Frankel et al. (2020), Sec. 2.3: R_sun = 8.2 kpc (Gravity Collaboration
#: 2019), z_sun = 20.8 pc (Bennett & Bovy 2019), peculiar motion
#: (U, V, W) = (11.1, 12.24, 7.25) km/s (Schoenrich et al. 2010; written
#: [-11.1, 12.24, 7.25] in galpy's [-U, V, W] convention) and total
#: tangential velocity 247.4 km/s, i.e. astropy galcen_v_sun = (11.1, 247.4, 7.25) km/s.
FRANKEL2020 = SolarParameters(
    galcen_distance=8.2 * u.kpc,
    z_sun=20.8 * u.pc,
    v_sun=[11.1, 247.4, 7.25] * u.km / u.s,
)

#: Price-Whelan et al. (2021): R_sun = 8.122 kpc, z_sun = 20.8 pc,
#: v_sun = (12.9, 245.6, 7.78) km/s -- astropy's v4.0 Galactocentric defaults.
PW2021 = SolarParameters(
    galcen_distance=8.122 * u.kpc,
    z_sun=20.8 * u.pc,
    v_sun=[12.9, 245.6, 7.78] * u.km / u.s,
)

PRESETS: dict[str, SolarParameters] = {"frankel2020": FRANKEL2020, "pw2021": PW2021}


def get_solar_parameters(name: str) -> SolarParameters:
    """Look up a preset by name (``'frankel2020'`` or ``'pw2021'``, case-insensitive)."""
    try:
        return PRESETS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown solar-parameter preset {name!r}; available: {sorted(PRESETS)}") from None


# --------------------------------------------------------------------------- #
# Rotation algebra (passive rotations, as in astropy.coordinates.matrix_utilities)
# --------------------------------------------------------------------------- #
def _rot(angle, axis: int):
    """Matrix that rotates the *coordinate axes* by ``angle`` about ``axis``."""
    c, s = jnp.cos(angle), jnp.sin(angle)
    one, zero = jnp.ones_like(c), jnp.zeros_like(c)
    if axis == 0:
        rows = [[one, zero, zero], [zero, c, s], [zero, -s, c]]
    elif axis == 1:
        rows = [[c, zero, -s], [zero, one, zero], [s, zero, c]]
    else:
        rows = [[c, s, zero], [-s, c, zero], [zero, zero, one]]
    return jnp.stack([jnp.stack(r) for r in rows])


def _rotation_matrix(sun: SolarParameters):
    # ICRS x -> direction of the Galactic centre, then the roll that puts the
    # Galactic pole in the x-z plane, then the tilt for the Sun's height.
    align = _rot(-sun.gc_dec, 1) @ _rot(sun.gc_ra, 2)
    roll = _rot(ROLL0_DEG * _DEG - sun.roll, 0)
    tilt = _rot(-jnp.arcsin(sun.z_sun / sun.galcen_distance), 1)
    return tilt @ roll @ align


def _sun_offset(sun: SolarParameters):
    tilt = _rot(-jnp.arcsin(sun.z_sun / sun.galcen_distance), 1)
    return -(tilt @ jnp.stack([sun.galcen_distance, 0.0, 0.0]))


def _apply(m, x, y, z):
    return (
        m[0, 0] * x + m[0, 1] * y + m[0, 2] * z,
        m[1, 0] * x + m[1, 1] * y + m[1, 2] * z,
        m[2, 0] * x + m[2, 1] * y + m[2, 2] * z,
    )


# --------------------------------------------------------------------------- #
# Result containers (NamedTuples are PyTrees and unpack like tuples)
# --------------------------------------------------------------------------- #
class ObservedCoordinates(NamedTuple):
    """Heliocentric ICRS observables: ra, dec [deg], distance [kpc], pmra (mu_alpha*), pmdec [mas/yr], rv [km/s]."""

    ra: jax.Array
    dec: jax.Array
    distance: jax.Array
    pmra: jax.Array
    pmdec: jax.Array
    rv: jax.Array


class CartesianCoordinates(NamedTuple):
    """Galactocentric Cartesian phase space (astropy frame): x, y, z [kpc], v_x, v_y, v_z [kpc/Myr]."""

    x: jax.Array
    y: jax.Array
    z: jax.Array
    v_x: jax.Array
    v_y: jax.Array
    v_z: jax.Array


class CylindricalCoordinates(NamedTuple):
    """Galactocentric cylinder: R, z [kpc], phi [rad, grows with rotation], v_R, v_phi, v_z [kpc/Myr]."""

    R: jax.Array
    phi: jax.Array
    z: jax.Array
    v_R: jax.Array
    v_phi: jax.Array
    v_z: jax.Array


# --------------------------------------------------------------------------- #
# Boundary conversions
# --------------------------------------------------------------------------- #
def _as(value, unit: u.UnitBase, name: str, equivalencies=()):
    """Plain numbers are taken in ``unit``; Quantities are converted to it."""
    if value is None:
        raise TypeError(f"argument {name!r} is required")
    if isinstance(value, u.Quantity):
        try:
            return jnp.asarray(value.to_value(unit, equivalencies=list(equivalencies)), dtype=jnp.float64)
        except u.UnitConversionError:
            raise u.UnitConversionError(f"{name!r} has unit {value.unit!s}, which cannot be converted to {unit!s}") from None
    return jnp.asarray(value, dtype=jnp.float64)


def parallax_to_distance(parallax):
    """Distance = 1 / parallax.

    Parameters
    ----------
    parallax : array_like [mas] or Quantity [angle]

    Returns
    -------
    distance : jax.Array [kpc]

    Raises
    ------
    ValueError
        For concrete inputs containing a parallax <= 0 or NaN (inversion is
        meaningless there); the message gives how many and the first indices.
        Inside ``jit`` such entries become NaN instead.
    """
    plx = _as(parallax, u.mas, "parallax")
    if _is_concrete(plx):
        arr = np.asarray(plx)
        bad = ~(arr > 0)
        if np.any(bad):
            idx = np.flatnonzero(bad)
            raise ValueError(
                f"'parallax' must be > 0 and finite to be inverted to a distance; {idx.size} bad value(s), "
                f"first at index {idx[:5].tolist()} (values {arr.ravel()[idx[:5]].tolist()}). "
                "Pass distance= instead, or flag these stars first."
            )
    # 1 / (1 mas) = 1 kpc
    return jnp.where(plx > 0, 1.0 / plx, jnp.nan)


# --------------------------------------------------------------------------- #
# Core transformations (internal units; elementwise; jittable)
# --------------------------------------------------------------------------- #
@jax.jit
def _icrs_to_gc(ra, dec, d, mu_a, mu_d, vr, sun: SolarParameters):
    # ra, dec [rad]; d [kpc]; mu_a = mu_alpha* and mu_d [rad/Myr]; vr [kpc/Myr]
    ca, sa, cd, sd = jnp.cos(ra), jnp.sin(ra), jnp.cos(dec), jnp.sin(dec)
    x, y, z = d * cd * ca, d * cd * sa, d * sd
    # velocity = vr r_hat + d mu_a e_ra + d mu_d e_dec
    ta, td = d * mu_a, d * mu_d
    vx = vr * cd * ca - ta * sa - td * sd * ca
    vy = vr * cd * sa + ta * ca - td * sd * sa
    vz = vr * sd + td * cd
    m = _rotation_matrix(sun)
    off = _sun_offset(sun)
    gx, gy, gz = _apply(m, x, y, z)
    gvx, gvy, gvz = _apply(m, vx, vy, vz)
    return CartesianCoordinates(
        gx + off[0], gy + off[1], gz + off[2], gvx + sun.v_sun[0], gvy + sun.v_sun[1], gvz + sun.v_sun[2]
    )


@jax.jit
def _gc_to_icrs(x, y, z, vx, vy, vz, sun: SolarParameters):
    mt = _rotation_matrix(sun).T
    off = _sun_offset(sun)
    hx, hy, hz = _apply(mt, x - off[0], y - off[1], z - off[2])
    hvx, hvy, hvz = _apply(mt, vx - sun.v_sun[0], vy - sun.v_sun[1], vz - sun.v_sun[2])
    rho = jnp.hypot(hx, hy)
    d = jnp.hypot(rho, hz)
    ra = jnp.mod(jnp.arctan2(hy, hx), 2.0 * jnp.pi)
    dec = jnp.arctan2(hz, rho)
    ca, sa, cd, sd = jnp.cos(ra), jnp.sin(ra), jnp.cos(dec), jnp.sin(dec)
    vr = hvx * cd * ca + hvy * cd * sa + hvz * sd
    mu_a = (-hvx * sa + hvy * ca) / d
    mu_d = (-hvx * sd * ca - hvy * sd * sa + hvz * cd) / d
    return ra, dec, d, mu_a, mu_d, vr


def _cart_to_cyl(x, y, z, vx, vy, vz):
    R = jnp.hypot(x, y)
    # galpy-like azimuth: from the centre-Sun line, growing with rotation
    phi = jnp.arctan2(y, -x)
    v_R = (x * vx + y * vy) / R
    v_phi = -(x * vy - y * vx) / R
    return CylindricalCoordinates(R, phi, z, v_R, v_phi, vz)


def _cyl_to_cart(R, phi, z, v_R, v_phi, v_z):
    c, s = jnp.cos(phi), jnp.sin(phi)
    x = -R * c
    y = R * s
    vx = -(v_R * c - v_phi * s)
    vy = v_R * s + v_phi * c
    return CartesianCoordinates(x, y, z, vx, vy, v_z)


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #
def observed_to_galactocentric(
    ra,
    dec,
    distance=None,
    pmra=None,
    pmdec=None,
    rv=None,
    *,
    parallax=None,
    sun: SolarParameters = PW2021,
) -> CartesianCoordinates:
    """Heliocentric ICRS observables -> Galactocentric Cartesian phase space.

    Identical (to round-off) to ``SkyCoord(...).transform_to(sun.to_astropy())``.

    Parameters
    ----------
    ra, dec : array_like [deg] or Quantity [angle]
        ICRS right ascension and declination.
    distance : array_like [kpc] or Quantity [length], optional
        Heliocentric distance. Give exactly one of ``distance`` or ``parallax``.
    pmra : array_like [mas/yr] or Quantity
        Proper motion in right ascension, mu_alpha* = mu_alpha cos(dec) (Gaia's ``pmra``).
    pmdec : array_like [mas/yr] or Quantity
        Proper motion in declination.
    rv : array_like [km/s] or Quantity [velocity]
        Heliocentric (barycentric) line-of-sight velocity.
    parallax : array_like [mas] or Quantity [angle], optional
        Used as distance = 1/parallax when ``distance`` is not given.
    sun : SolarParameters
        Frame definition; default :data:`PW2021` (= astropy's defaults).

    Returns
    -------
    CartesianCoordinates
        ``x, y, z`` [kpc], ``v_x, v_y, v_z`` [kpc/Myr], broadcast shape of the inputs.

    Raises
    ------
    ValueError
        If both or neither of ``distance``/``parallax`` are given, or a
        parallax is <= 0 / NaN (see :func:`parallax_to_distance`).
    """
    if (distance is None) == (parallax is None):
        raise ValueError("give exactly one of 'distance' or 'parallax'")
    d = _as(distance, u.kpc, "distance") if distance is not None else parallax_to_distance(parallax)
    ra_ = _as(ra, u.rad, "ra") if isinstance(ra, u.Quantity) else _as(ra, u.deg, "ra") * _DEG
    dec_ = _as(dec, u.rad, "dec") if isinstance(dec, u.Quantity) else _as(dec, u.deg, "dec") * _DEG
    mu_a = _as(pmra, u.mas / u.yr, "pmra") * MASYR_RADMYR
    mu_d = _as(pmdec, u.mas / u.yr, "pmdec") * MASYR_RADMYR
    vr = _as(rv, u.km / u.s, "rv") * units.KMS
    return _icrs_to_gc(ra_, dec_, d, mu_a, mu_d, vr, sun)


def _cartesian_internal(x, y, z, v_x, v_y, v_z):
    """Positions (kpc) and velocities (kpc/Myr) in internal units, Quantities converted."""
    return [
        _scalar(v, kind, name)
        for v, kind, name in zip(
            (x, y, z, v_x, v_y, v_z),
            ("length",) * 3 + ("velocity",) * 3,
            ("x", "y", "z", "v_x", "v_y", "v_z"),
        )
    ]


def galactocentric_to_observed(x, y, z, v_x, v_y, v_z, *, sun: SolarParameters = PW2021) -> ObservedCoordinates:
    """Galactocentric Cartesian phase space -> heliocentric ICRS observables.

    Inverse of :func:`observed_to_galactocentric`.

    Parameters
    ----------
    x, y, z : array_like [kpc] or Quantity [length]
    v_x, v_y, v_z : array_like [kpc/Myr] or Quantity [velocity]
    sun : SolarParameters

    Returns
    -------
    ObservedCoordinates
        ra in [0, 360) and dec [deg], distance [kpc], pmra (mu_alpha*) and
        pmdec [mas/yr], rv [km/s].
    """
    args = _cartesian_internal(x, y, z, v_x, v_y, v_z)
    ra, dec, d, mu_a, mu_d, vr = _gc_to_icrs(*args, sun)
    return ObservedCoordinates(ra / _DEG, dec / _DEG, d, mu_a / MASYR_RADMYR, mu_d / MASYR_RADMYR, vr / units.KMS)


def cartesian_to_cylindrical(x, y, z, v_x, v_y, v_z) -> CylindricalCoordinates:
    """Galactocentric Cartesian (astropy frame) -> cylindrical (R, phi, z, v_R, v_phi, v_z).

    ``phi = atan2(y, -x)`` (Sun at phi ~ 0, growing with Galactic rotation)
    and ``v_phi = -(x v_y - y v_x)/R``, so disc stars have ``v_phi > 0`` and
    ``L_z = R v_phi > 0``. Units follow the inputs (internal: kpc, kpc/Myr);
    Quantities are converted to internal units. ``phi`` is in (-pi, pi].
    """
    args = _cartesian_internal(x, y, z, v_x, v_y, v_z)
    return _cart_to_cyl(*args)


def cylindrical_to_cartesian(R, phi, z, v_R, v_phi, v_z) -> CartesianCoordinates:
    """Inverse of :func:`cartesian_to_cylindrical` (``x = -R cos phi``, ``y = R sin phi``)."""
    args = [
        _scalar(v, kind, name)
        for v, kind, name in zip(
            (R, phi, z, v_R, v_phi, v_z),
            ("length", "angle", "length", "velocity", "velocity", "velocity"),
            ("R", "phi", "z", "v_R", "v_phi", "v_z"),
        )
    ]
    return _cyl_to_cart(*args)


def observed_to_cylindrical(
    ra, dec, distance=None, pmra=None, pmdec=None, rv=None, *, parallax=None, sun: SolarParameters = PW2021
) -> CylindricalCoordinates:
    """:func:`observed_to_galactocentric` followed by :func:`cartesian_to_cylindrical`."""
    c = observed_to_galactocentric(ra, dec, distance, pmra, pmdec, rv, parallax=parallax, sun=sun)
    return _cart_to_cyl(*c)
