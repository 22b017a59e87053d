"""Read survey catalogues into a standard phase-space container.

:func:`read_catalogue` opens FITS, CSV, ECSV or Parquet files (through
astropy's :class:`~astropy.table.Table`; Parquet via pyarrow), finds the six
phase-space columns using the built-in :data:`~diskorbits.io.columns.SCHEMAS`
or a user :class:`~diskorbits.io.columns.ColumnMapping`, attaches units
(from the file, else the documented defaults) and returns a
:class:`Catalogue`. Stars with masked, NaN or otherwise unusable values are
*flagged*, not dropped and not fatal, so that outputs stay row-aligned with
the input.

Per-star flag bits (:data:`FLAG_MISSING`, :data:`FLAG_BAD_PARALLAX`) are
ORed; 0 means the star's phase-space coordinates are complete.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import astropy.units as u
import jax.numpy as jnp
import numpy as np
from astropy.table import Table

from .. import frames, units
from .columns import ALTERNATIVES, COORDINATES, DEFAULT_UNITS, SCHEMAS, ColumnMapping, Schema

__all__ = [
    "FLAG_OK",
    "FLAG_MISSING",
    "FLAG_BAD_PARALLAX",
    "Catalogue",
    "read_table",
    "read_catalogue",
    "catalogue_from_table",
    "table_format",
]

FLAG_OK = 0
#: A phase-space value is masked, NaN or infinite.
FLAG_MISSING = 1
#: Distance had to come from a parallax that is <= 0.
FLAG_BAD_PARALLAX = 2

_FORMATS = {
    ".fits": "fits",
    ".fit": "fits",
    ".fts": "fits",
    ".fits.gz": "fits",
    ".fit.gz": "fits",
    ".csv": "csv",
    ".ecsv": "ascii.ecsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def table_format(path: str | Path) -> str:
    """Format name for ``path`` from its extension (fits, csv, ascii.ecsv, parquet).

    Raises
    ------
    ValueError
        For an unsupported extension, listing the supported ones.
    """
    name = str(path).lower()
    for ext in sorted(_FORMATS, key=len, reverse=True):
        if name.endswith(ext):
            return _FORMATS[ext]
    raise ValueError(f"cannot tell the table format of {str(path)!r}; supported extensions: {sorted(_FORMATS)}")


def read_table(path: str | Path, format: str | None = None) -> Table:
    """Read a table file with astropy, quietly.

    CSV files written by :func:`diskorbits.io.write_table` carry an ECSV
    header (``# %ECSV``) with units; those are read as ECSV so units survive.
    Unit strings the file declares but astropy cannot parse are kept as
    unrecognised units (an error is raised only if such a column is used).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"catalogue file {str(path)!r} does not exist")
    fmt = format or table_format(path)
    if fmt == "csv":
        with open(path) as fh:
            first = fh.readline()
        fmt = "ascii.ecsv" if first.startswith("# %ECSV") else "ascii.csv"
    with warnings.catch_warnings():
        # real VizieR/APOGEE files carry non-standard unit strings (muHz,
        # log(cm.s**-2)) and over-long TNULL keywords; irrelevant to us
        warnings.simplefilter("ignore", u.UnitsWarning)
        warnings.filterwarnings("ignore", module="astropy.io.fits")
        warnings.filterwarnings("ignore", category=UserWarning, message=".*hdu=.*")
        if fmt == "parquet":
            # astropy's Parquet reader needs pandas; ours needs only pyarrow
            from .parquet import read_parquet

            return read_parquet(path)
        table = Table.read(path, format=fmt)
    return table


@dataclasses.dataclass(frozen=True)
class Catalogue:
    """Phase-space coordinates of a set of stars, with the source table.

    Attributes
    ----------
    table : astropy.table.Table
        The table as read (all columns, for pass-through to outputs).
    kind : {'observed', 'cylindrical', 'cartesian'}
    schema : str
        Name of the matched schema, or ``'user'`` when a mapping decided.
    columns : dict
        Standard coordinate name -> source column name actually used.
    values : dict of Quantity
        Standard coordinate name -> float64 Quantity (NaN where flagged).
    flag : numpy.ndarray of int
        Per-star bitmask (0 = complete; see module constants).
    cartesian_convention : str
        For ``kind='cartesian'``: ``'astropy'`` or ``'sun_at_plus_x'``.
    """

    table: Table
    kind: str
    schema: str
    columns: dict
    values: dict
    flag: np.ndarray
    cartesian_convention: str = "astropy"

    def __len__(self) -> int:
        return len(self.flag)

    @property
    def n_flagged(self) -> int:
        return int(np.count_nonzero(self.flag))

    def galactocentric(self, sun: frames.SolarParameters = frames.PW2021) -> frames.CylindricalCoordinates:
        """Galactocentric cylindrical coordinates in internal units (kpc, rad, kpc/Myr).

        ``sun`` is used only for observed catalogues; Galactocentric columns
        are taken as given (they already fix their own frame). Every
        coordinate of a flagged star is NaN, so partial rows cannot leak
        into downstream statistics.
        """
        cyl = self._galactocentric(sun)
        bad = jnp.asarray(self.flag != 0)
        return frames.CylindricalCoordinates(*(jnp.where(bad, jnp.nan, c) for c in cyl))

    def _galactocentric(self, sun):
        v = self.values
        if self.kind == "observed":
            dist = v.get("distance")
            if dist is None:
                # bad parallaxes were flagged and set to NaN on reading
                plx = v["parallax"].to_value(u.mas)
                dist = np.where(plx > 0, 1.0 / np.where(plx > 0, plx, 1.0), np.nan) * u.kpc
            return frames.observed_to_cylindrical(v["ra"], v["dec"], dist, v["pmra"], v["pmdec"], v["rv"], sun=sun)
        if self.kind == "cylindrical":
            kinds = ("length", "angle", "length", "velocity", "velocity", "velocity")
            return frames.CylindricalCoordinates(
                *(jnp.asarray(units.to_internal(v[k], kd, k)) for k, kd in zip(COORDINATES["cylindrical"], kinds))
            )
        x, y, z, vx, vy, vz = (v[k] for k in COORDINATES["cartesian"])
        if self.cartesian_convention == "sun_at_plus_x":
            # left-handed frame with the Sun at +x: flip x to reach astropy's
            x, vx = -x, -vx
        return frames.cartesian_to_cylindrical(x, y, z, vx, vy, vz)


def _find(table: Table, name: str) -> str | None:
    if name in table.colnames:
        return name
    lower = {c.lower(): c for c in table.colnames}
    return lower.get(name.lower())


def _resolve(table: Table, schema: Schema | None, mapping: ColumnMapping, kind: str):
    """Return ({std: (column, default unit)}, missing std names) for one kind."""
    found, missing = {}, []
    for std in COORDINATES[kind]:
        options = [std, ALTERNATIVES[std]] if std in ALTERNATIVES else [std]
        hit = None
        for opt in options:
            cands = []
            if opt in mapping.columns:
                cands = [mapping.columns[opt]]
            elif schema is not None:
                cands = list(schema.candidates.get(opt, ()))
            for cand in cands:
                col = _find(table, cand) if opt not in mapping.columns else (cand if cand in table.colnames else None)
                if col is not None:
                    unit = mapping.units.get(opt) or (schema.units.get(cand) if schema else None) or DEFAULT_UNITS[opt]
                    hit = (opt, col, unit)
                    break
            if hit:
                break
        if hit:
            found[hit[0]] = (hit[1], hit[2])
        else:
            wanted = [mapping.columns[o] for o in options if o in mapping.columns]
            missing.append(f"{std}" + (f" (column {wanted[0]!r})" if wanted else ""))
    return found, missing


def _column_quantity(table: Table, std: str, col: str, default_unit: str, forced_unit: str | None):
    column = table[col]
    if column.ndim != 1:
        raise ValueError(f"column {col!r} (used as {std!r}) is not one-dimensional: shape {column.shape}")
    if forced_unit is not None:
        unit = u.Unit(forced_unit)
    elif column.unit is not None:
        unit = column.unit
        if isinstance(unit, u.UnrecognizedUnit):
            raise ValueError(
                f"column {col!r} (used as {std!r}) has unit {str(unit)!r}, which astropy cannot parse; "
                f"set units {{{std!r}: ...}} in the column mapping"
            )
    else:
        unit = u.Unit(default_unit)
    target = u.Unit(DEFAULT_UNITS[std])
    if not unit.is_equivalent(target):
        raise ValueError(f"column {col!r} (used as {std!r}) has unit {unit!s}, which is not convertible to {target!s}")
    # masked entries become NaN here and are flagged by the caller
    data = np.ma.filled(np.ma.asarray(column).astype(np.float64), np.nan)
    return np.asarray(data, dtype=np.float64) * unit


def catalogue_from_table(table: Table, mapping: ColumnMapping | None = None) -> Catalogue:
    """Find the phase-space columns of an in-memory table; see :func:`read_catalogue`."""
    mapping = mapping or ColumnMapping()
    kinds = [mapping.kind] if mapping.kind else list(COORDINATES)
    attempts = []
    chosen = None
    if mapping.columns or mapping.kind:
        for kind in kinds:
            schemas = [s for s in SCHEMAS if s.kind == kind] + [None]
            for schema in schemas:
                found, missing = _resolve(table, schema, mapping, kind)
                if not missing:
                    chosen = ("user", kind, found, schema)
                    break
                attempts.append((len(found), kind, schema.name if schema else "user", missing))
            if chosen:
                break
    else:
        for schema in SCHEMAS:
            found, missing = _resolve(table, schema, mapping, schema.kind)
            if not missing:
                chosen = (schema.name, schema.kind, found, schema)
                break
            attempts.append((len(found), schema.kind, schema.name, missing))
    if chosen is None:
        best = max(attempts, key=lambda a: a[0])
        raise ValueError(
            f"cannot find phase-space columns: closest layout {best[2]!r} ({best[1]}) is missing "
            f"{', '.join(best[3])}; available columns: {', '.join(table.colnames)}. "
            "Give a column mapping (e.g. --column ra=RA_ICRS or a TOML file)."
        )
    name, kind, found, schema = chosen
    convention = mapping.cartesian_convention
    if schema is not None and not mapping.columns and kind == "cartesian":
        convention = schema.cartesian_convention
    values, flag = {}, np.zeros(len(table), dtype=np.int32)
    for std, (col, unit) in found.items():
        q = _column_quantity(table, std, col, unit, mapping.units.get(std))
        bad = ~np.isfinite(q.value)
        flag |= np.where(bad, FLAG_MISSING, 0).astype(np.int32)
        if std == "parallax":
            nonpos = np.isfinite(q.value) & (q.value <= 0)
            flag |= np.where(nonpos, FLAG_BAD_PARALLAX, 0).astype(np.int32)
            q = np.where(nonpos, np.nan, q.value) * q.unit
        if std == "distance":
            nonpos = np.isfinite(q.value) & (q.value <= 0)
            flag |= np.where(nonpos, FLAG_MISSING, 0).astype(np.int32)
            q = np.where(nonpos, np.nan, q.value) * q.unit
        values[std] = q
    return Catalogue(
        table=table,
        kind=kind,
        schema=name,
        columns={std: col for std, (col, _) in found.items()},
        values=values,
        flag=flag,
        cartesian_convention=convention,
    )


def read_catalogue(path: str | Path, columns: ColumnMapping | dict | None = None, *, format: str | None = None) -> Catalogue:
    """Read a catalogue file into a :class:`Catalogue`.

    Parameters
    ----------
    path : str or Path
        ``.fits/.fit``, ``.csv``, ``.ecsv`` or ``.parquet`` file.
    columns : ColumnMapping or dict, optional
        User column mapping (``{"ra": "RA_ICRS", ...}`` for a dict). Without
        it, built-in schemas are tried in order: Gaia, APOGEE DR17, Miglio
        et al. 2021, generic cylindrical, generic Cartesian, Anders et al. 2017.
        Observed layouts come first so that the chosen solar parameters apply.
    format : str, optional
        astropy format name, overriding the extension.

    Returns
    -------
    Catalogue

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If required columns are missing (the message names them and lists the
        available columns), or a used column's unit is unparsable or of the
        wrong physical type.

    Examples
    --------
    >>> cat = read_catalogue("../shared/data/kepler_apogee_miglio2021.fit")  # doctest: +SKIP
    >>> cat.kind, cat.schema, len(cat)                                         # doctest: +SKIP
    ('cylindrical', 'miglio2021', 3315)
    """
    if isinstance(columns, dict):
        columns = ColumnMapping(columns=columns)
    return catalogue_from_table(read_table(path, format=format), columns)
