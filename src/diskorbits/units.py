"""The internal unit system and conversions at the public boundary.

Everything inside diskorbits works in **kpc, Myr and Msun**; velocities are
therefore in kpc/Myr, specific angular momenta and actions in kpc^2/Myr,
frequencies in 1/Myr and potentials in kpc^2/Myr^2. The core only ever sees
float64 arrays in these units.

Public functions accept either plain numbers (taken to be in the documented
internal unit) or :class:`astropy.units.Quantity` objects of the right physical
type, which are converted here. User-facing output (tables, CLI summaries)
uses the field's habits: km/s, kpc km/s, km/s/kpc and Gyr.

>>> from diskorbits import units
>>> round(float(units.KMS), 6)   # 1 km/s in kpc/Myr
0.001023
"""

from __future__ import annotations

import astropy.constants as const
import astropy.units as u
import numpy as np

__all__ = [
    "LENGTH",
    "TIME",
    "MASS",
    "VELOCITY",
    "ACTION",
    "FREQUENCY",
    "ENERGY",
    "G",
    "KMS",
    "KPC_KMS",
    "KMS_KPC",
    "GYR",
    "to_internal",
    "to_quantity",
]

LENGTH = u.kpc
TIME = u.Myr
MASS = u.Msun
VELOCITY = u.kpc / u.Myr
ACTION = u.kpc**2 / u.Myr
FREQUENCY = 1 / u.Myr
ENERGY = (u.kpc / u.Myr) ** 2

#: Newton's constant in kpc^3 / (Msun Myr^2) (CODATA value shipped with astropy).
G: float = float(const.G.to_value(u.kpc**3 / (u.Msun * u.Myr**2)))

#: 1 km/s expressed in kpc/Myr.
KMS: float = float((1 * u.km / u.s).to_value(VELOCITY))
#: 1 kpc km/s expressed in kpc^2/Myr.
KPC_KMS: float = float((1 * u.kpc * u.km / u.s).to_value(ACTION))
#: 1 km/s/kpc expressed in 1/Myr.
KMS_KPC: float = float((1 * u.km / u.s / u.kpc).to_value(FREQUENCY))
#: 1 Gyr in Myr.
GYR: float = 1000.0

_INTERNAL = {
    "length": LENGTH,
    "time": TIME,
    "mass": MASS,
    "velocity": VELOCITY,
    "action": ACTION,
    "frequency": FREQUENCY,
    "energy": ENERGY,
    "angle": u.rad,
    "dimensionless": u.dimensionless_unscaled,
}

# What a user may hand us in place of an internal-unit number: angles in
# degrees are common in catalogues, angular frequencies in km/s/kpc, etc.
_EQUIVALENCIES = {"frequency": u.dimensionless_angles()}


def to_internal(value, kind: str, name: str = "value") -> np.ndarray:
    """Convert ``value`` to a float64 array in the internal unit of ``kind``.

    Parameters
    ----------
    value : float, array_like or astropy.units.Quantity
        Plain numbers are assumed to already be in the internal unit.
    kind : str
        One of ``length, time, mass, velocity, action, frequency, energy,
        angle, dimensionless``.
    name : str
        Argument name used in error messages.

    Raises
    ------
    astropy.units.UnitConversionError
        If a Quantity of the wrong physical type is given; the message names
        the argument and the expected unit.
    """
    try:
        target = _INTERNAL[kind]
    except KeyError:
        raise ValueError(f"unknown unit kind {kind!r}; expected one of {sorted(_INTERNAL)}") from None
    if isinstance(value, u.Quantity):
        try:
            out = value.to_value(target, equivalencies=_EQUIVALENCIES.get(kind, []))
        except u.UnitConversionError:
            raise u.UnitConversionError(
                f"{name!r} has unit {value.unit!s}, which cannot be converted to {kind} ({target!s})"
            ) from None
        return np.asarray(out, dtype=np.float64)
    return np.asarray(value, dtype=np.float64)


def to_quantity(value, kind: str) -> u.Quantity:
    """Attach the internal unit of ``kind`` to an internal-unit array."""
    return np.asarray(value, dtype=np.float64) * _INTERNAL[kind]
