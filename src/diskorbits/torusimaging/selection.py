"""APOGEE-like positional selections for Orbital Torus Imaging mocks (Price-Whelan et al. 2021, Sec. 3).

A sphere around the Sun (:class:`SphereSelection`) with optional pencil-beam
fields (:class:`PencilBeams`) that leave gaps on the sky, as the survey's
field plan does. Positions in internal units (kpc).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.spatial import cKDTree

from .. import units
from ..frames import PW2021, SolarParameters

__all__ = ["PencilBeams", "SphereSelection"]


def _num(value, kind, name, *, positive=True) -> float:
    v = units.to_internal(value, kind, name)
    if v.shape != () or not np.isfinite(v) or (positive and not v > 0):
        raise ValueError(f"{name!r} must be a finite{' positive' if positive else ''} number; got {value!r}")
    return float(v)


def _sun_geometry(sun: SolarParameters):
    x, y, z = (float(c) for c in np.asarray(sun.position))
    return float(np.hypot(x, y)), z, np.array([x, y, z])


@dataclasses.dataclass(frozen=True)
class PencilBeams:
    """Survey fields: circular fields on the sky around quasi-uniform centres.

    The ``n_fields`` centres lie on a Fibonacci lattice of the heliocentric
    sphere, so the fields (radius ``radius_deg``) leave gaps between them, as
    an APOGEE-like plate layout does. Stars nearer than ``complete_within``
    are kept in any direction.

    Parameters
    ----------
    n_fields : int
        Number of fields (default 400: ~27% of the sky at 3 deg radius).
    radius_deg : float
        Field radius, deg.
    complete_within : float or Quantity (length)
        Distance (kpc) inside which the sky coverage is complete (default 0).

    Raises
    ------
    ValueError
        For non-positive ``n_fields``/``radius_deg`` or negative ``complete_within``.
    """

    n_fields: int = 400
    radius_deg: float = 3.0
    complete_within: float = 0.0

    def __post_init__(self):
        if not isinstance(self.n_fields, (int, np.integer)) or self.n_fields < 1:
            raise ValueError(f"'n_fields' must be a positive integer; got {self.n_fields!r}")
        if not 0 < float(self.radius_deg) < 180:
            raise ValueError(f"'radius_deg' must be in (0, 180); got {self.radius_deg!r}")
        cw = float(units.to_internal(self.complete_within, "length", "complete_within"))
        if not cw >= 0:
            raise ValueError(f"'complete_within' must be >= 0 kpc; got {self.complete_within!r}")
        object.__setattr__(self, "complete_within", cw)

    @property
    def centres(self) -> np.ndarray:
        """Unit vectors (n_fields, 3) of the field centres (heliocentric, Galactocentric axes)."""
        i = np.arange(self.n_fields) + 0.5
        sin_b = 1.0 - 2.0 * i / self.n_fields
        lon = np.pi * (1.0 + 5.0**0.5) * i
        cos_b = np.sqrt(1.0 - sin_b**2)
        return np.stack([cos_b * np.cos(lon), cos_b * np.sin(lon), sin_b], axis=-1)

    @property
    def sky_fraction(self) -> float:
        """Fraction of the sky inside the fields, ignoring overlaps."""
        return min(1.0, self.n_fields * 0.5 * (1.0 - np.cos(np.radians(self.radius_deg))))

    def contains(self, dx, dy, dz) -> np.ndarray:
        """Whether heliocentric offsets (kpc, Galactocentric axes) fall in a field (or nearby)."""
        d = np.sqrt(dx * dx + dy * dy + dz * dz)
        unit = np.stack([dx, dy, dz], axis=-1) / np.where(d > 0, d, 1.0)[..., None]
        chord = 2.0 * np.sin(0.5 * np.radians(self.radius_deg))
        dist, _ = cKDTree(self.centres).query(unit.reshape(-1, 3), k=1)
        return (dist.reshape(d.shape) <= chord) | (d < self.complete_within)


@dataclasses.dataclass(frozen=True)
class SphereSelection:
    """Stars within ``radius`` of the Sun, optionally only inside pencil beams.

    ``SphereSelection(3.0, beams=PencilBeams())`` is an APOGEE-like positional
    selection. Selections depend on position only, never on abundances
    (PW2021's "properly selected" assumption).

    Parameters
    ----------
    radius : float or Quantity (length)
        Heliocentric radius, kpc (default 3).
    beams : PencilBeams, optional
        Survey fields; ``None`` keeps the whole sphere.

    Raises
    ------
    ValueError
        If ``radius`` is not positive.
    """

    radius: float = 3.0
    beams: PencilBeams | None = None

    def __post_init__(self):
        object.__setattr__(self, "radius", _num(self.radius, "length", "radius"))
        if self.beams is not None and not isinstance(self.beams, PencilBeams):
            raise TypeError(f"'beams' must be a PencilBeams or None; got {type(self.beams).__name__}")

    def half_arc(self, R, z, sun: SolarParameters = PW2021):
        """Half-width (rad) of the azimuth arc that puts ``(R, z)`` inside the sphere (0 if none)."""
        R_sun, z_sun, _ = _sun_geometry(sun)
        R = np.asarray(R, np.float64)
        c = (R * R + R_sun * R_sun + (np.asarray(z) - z_sun) ** 2 - self.radius**2) / (2.0 * R * R_sun)
        return np.arccos(np.clip(c, -1.0, 1.0))

    def max_half_arc(self, sun: SolarParameters = PW2021) -> float:
        """Largest possible :meth:`half_arc`: arcsin(r / R_sun), or pi for r >= R_sun."""
        R_sun, _, _ = _sun_geometry(sun)
        return float(np.arcsin(self.radius / R_sun)) if self.radius < R_sun else float(np.pi)

    def __call__(self, x, y, z, sun: SolarParameters = PW2021) -> np.ndarray:
        """Boolean mask of Galactocentric Cartesian positions (kpc) that are selected."""
        _, _, pos = _sun_geometry(sun)
        dx, dy, dz = (np.asarray(a, np.float64) - p for a, p in zip((x, y, z), pos))
        keep = dx * dx + dy * dy + dz * dz <= self.radius**2
        if self.beams is not None:
            keep &= self.beams.contains(dx, dy, dz)
        return keep


# ----------------------------------------------------------------------------- abundances
