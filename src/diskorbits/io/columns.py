"""Column schemas: which catalogue columns hold which phase-space coordinate.

A *schema* names the six columns of one phase-space representation and the
unit each column is assumed to carry when the file does not say:

- ``observed``: ra, dec, distance *or* parallax, pmra, pmdec, rv (heliocentric ICRS);
- ``cylindrical``: R, phi, z, v_R, v_phi, v_z (Galactocentric, our convention:
  phi grows with Galactic rotation, v_phi > 0 for disc stars -- see
  :mod:`diskorbits.frames`; also galpy's and Miglio et al. 2021's);
- ``cartesian``: x, y, z, v_x, v_y, v_z (Galactocentric; ``convention``
  ``'astropy'`` = right-handed with the Sun at x < 0, or ``'sun_at_plus_x'``
  = the left-handed frame with the Sun at x > 0 used by galpy and by
  Anders et al. 2017).

Built-in schemas cover Gaia archive names, APOGEE DR17 allStar names
(Abdurro'uf et al. 2022), the Miglio et al. (2021) and Anders et al. (2017)
VizieR tables, and generic lower-case names. A user mapping (a dict or a TOML
file with ``[columns]``, optional ``[units]`` and ``kind`` /
``cartesian_convention`` keys) takes precedence over all of them.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Mapping

__all__ = [
    "COORDINATES",
    "DEFAULT_UNITS",
    "Schema",
    "SCHEMAS",
    "ColumnMapping",
    "read_column_mapping",
]

#: The standard coordinate names of each representation.
COORDINATES: dict[str, tuple[str, ...]] = {
    "observed": ("ra", "dec", "distance", "pmra", "pmdec", "rv"),
    "cylindrical": ("R", "phi", "z", "v_R", "v_phi", "v_z"),
    "cartesian": ("x", "y", "z", "v_x", "v_y", "v_z"),
}
#: Alternatives: a missing ``distance`` may be replaced by ``parallax``.
ALTERNATIVES: dict[str, str] = {"distance": "parallax"}

#: Unit assumed for a column without unit metadata (the field's habits).
DEFAULT_UNITS: dict[str, str] = {
    "ra": "deg",
    "dec": "deg",
    "distance": "kpc",
    "parallax": "mas",
    "pmra": "mas / yr",
    "pmdec": "mas / yr",
    "rv": "km / s",
    "R": "kpc",
    "phi": "deg",
    "z": "kpc",
    "x": "kpc",
    "y": "kpc",
    "v_R": "km / s",
    "v_phi": "km / s",
    "v_z": "km / s",
    "v_x": "km / s",
    "v_y": "km / s",
}

CARTESIAN_CONVENTIONS = ("astropy", "sun_at_plus_x")


@dataclasses.dataclass(frozen=True)
class Schema:
    """Candidate column names for one catalogue layout.

    Parameters
    ----------
    name : str
    kind : {'observed', 'cylindrical', 'cartesian'}
    candidates : mapping of standard name -> tuple of column names, tried in order
    units : mapping of column name -> unit string used when the file has none
        (overrides :data:`DEFAULT_UNITS` for that column)
    cartesian_convention : {'astropy', 'sun_at_plus_x'}
    """

    name: str
    kind: str
    candidates: Mapping[str, tuple[str, ...]]
    units: Mapping[str, str] = dataclasses.field(default_factory=dict)
    cartesian_convention: str = "astropy"


SCHEMAS: tuple[Schema, ...] = (
    Schema(
        "gaia",
        "observed",
        {
            "ra": ("ra",),
            "dec": ("dec",),
            "distance": ("distance", "r_med_geo", "r_med_photogeo"),
            "parallax": ("parallax",),
            "pmra": ("pmra",),
            "pmdec": ("pmdec",),
            "rv": ("radial_velocity", "rv", "dr2_radial_velocity"),
        },
        # Bailer-Jones et al. (2021) distances are published in pc
        units={"r_med_geo": "pc", "r_med_photogeo": "pc"},
    ),
    Schema(
        "apogee_dr17",
        "observed",
        {
            "ra": ("RA",),
            "dec": ("DEC",),
            "distance": ("DISTANCE", "GAIAEDR3_R_MED_PHOTOGEO", "GAIAEDR3_R_MED_GEO"),
            "parallax": ("GAIAEDR3_PARALLAX",),
            "pmra": ("GAIAEDR3_PMRA",),
            "pmdec": ("GAIAEDR3_PMDEC",),
            "rv": ("VHELIO_AVG",),
        },
        # the allStar datamodel gives the Bailer-Jones distances in pc, without TUNITn
        units={"GAIAEDR3_R_MED_GEO": "pc", "GAIAEDR3_R_MED_PHOTOGEO": "pc"},
    ),
    Schema(
        "miglio2021",
        "cylindrical",
        {
            "R": ("GalR",),
            "phi": ("Galphi",),
            "z": ("GalZ",),
            "v_R": ("vR",),
            "v_phi": ("vT",),
            "v_z": ("vZ",),
        },
    ),
    Schema(
        "cylindrical",
        "cylindrical",
        {
            "R": ("R",),
            "phi": ("phi",),
            "z": ("z",),
            "v_R": ("v_R", "vR"),
            "v_phi": ("v_phi", "vphi", "vT"),
            "v_z": ("v_z", "vz", "vZ"),
        },
    ),
    Schema(
        "cartesian",
        "cartesian",
        {
            "x": ("x",),
            "y": ("y",),
            "z": ("z",),
            "v_x": ("v_x", "vx"),
            "v_y": ("v_y", "vy"),
            "v_z": ("v_z", "vz"),
        },
    ),
    Schema(
        "anders2017",
        "cartesian",
        {
            "x": ("Xg",),
            "y": ("Yg",),
            "z": ("Zg",),
            "v_x": ("vXg",),
            "v_y": ("vYg",),
            "v_z": ("vZg",),
        },
        cartesian_convention="sun_at_plus_x",
    ),
)


@dataclasses.dataclass(frozen=True)
class ColumnMapping:
    """A user's column mapping, taking precedence over the built-in schemas.

    Parameters
    ----------
    columns : mapping of standard name -> column name
        e.g. ``{"ra": "RA_ICRS", "distance": "d_pc"}``. Standard names are
        those of :data:`COORDINATES` plus ``parallax``.
    units : mapping of standard name -> unit string
        Units for those columns when the file does not declare them.
    kind : {'observed', 'cylindrical', 'cartesian'} or None
        Force a representation instead of trying them all.
    cartesian_convention : {'astropy', 'sun_at_plus_x'}
    """

    columns: Mapping[str, str] = dataclasses.field(default_factory=dict)
    units: Mapping[str, str] = dataclasses.field(default_factory=dict)
    kind: str | None = None
    cartesian_convention: str = "astropy"

    def __post_init__(self):
        known = set(ALTERNATIVES.values()).union(*COORDINATES.values())
        for field in ("columns", "units"):
            bad = sorted(set(getattr(self, field)) - known)
            if bad:
                raise ValueError(f"unknown coordinate name(s) {bad} in column mapping {field!r}; known: {sorted(known)}")
        if self.kind is not None and self.kind not in COORDINATES:
            raise ValueError(f"kind must be one of {list(COORDINATES)}; got {self.kind!r}")
        if self.cartesian_convention not in CARTESIAN_CONVENTIONS:
            raise ValueError(f"cartesian_convention must be one of {CARTESIAN_CONVENTIONS}; got {self.cartesian_convention!r}")

    @classmethod
    def from_options(cls, options: list[str] | tuple[str, ...]) -> "ColumnMapping":
        """Parse ``KEY=COLUMN`` strings (``KEY=COLUMN[unit]`` also sets the unit)."""
        cols, uns = {}, {}
        for opt in options:
            key, sep, value = opt.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise ValueError(f"column option {opt!r} is not of the form KEY=COLUMN")
            value = value.strip()
            if value.endswith("]") and "[" in value:
                value, _, unit = value[:-1].partition("[")
                uns[key.strip()] = unit.strip()
            cols[key.strip()] = value.strip()
        return cls(columns=cols, units=uns)

    def merged(self, other: "ColumnMapping") -> "ColumnMapping":
        """``other`` overriding ``self``."""
        return ColumnMapping(
            columns={**self.columns, **other.columns},
            units={**self.units, **other.units},
            kind=other.kind or self.kind,
            cartesian_convention=(
                other.cartesian_convention if other.cartesian_convention != "astropy" else self.cartesian_convention
            ),
        )


def read_column_mapping(path: str | Path) -> ColumnMapping:
    """Read a :class:`ColumnMapping` from a TOML file.

    The file looks like::

        kind = "observed"            # optional
        [columns]
        ra = "RA_ICRS"
        distance = "dist"
        [units]
        distance = "pc"

    Raises
    ------
    FileNotFoundError, ValueError
        If the file is missing, not TOML, or has unknown keys.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"column mapping {str(path)!r} is not valid TOML: {exc}") from None
    extra = sorted(set(data) - {"columns", "units", "kind", "cartesian_convention"})
    if extra:
        raise ValueError(
            f"unknown key(s) {extra} in column mapping {str(path)!r}; expected [columns], [units], kind, cartesian_convention"
        )
    return ColumnMapping(
        columns=dict(data.get("columns", {})),
        units=dict(data.get("units", {})),
        kind=data.get("kind"),
        cartesian_convention=data.get("cartesian_convention", "astropy"),
    )
