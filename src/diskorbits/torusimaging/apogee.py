"""APOGEE DR17 x Gaia parent sample for Orbital Torus Imaging (Price-Whelan et al. 2021, Sec. 3).

:func:`load_apogee_gaia` reads an allStar-like file (through
:func:`diskorbits.io.read_table`), applies the quality and targeting cuts of
PW2021 Sec. 3 in a fixed, documented order (:data:`CUT_ORDER`) and returns the
surviving rows together with a per-cut report: how many stars each cut
removed from those that survived the cuts before it.

Every cut is a setting of the frozen :class:`APOGEESelection`; setting a cut
to ``None`` (or an empty tuple of bits) disables it and the report records it
as ``skipped (disabled)``. A column that an enabled cut needs but the file
lacks raises a :class:`ValueError` naming the column and the cut, unless
``on_missing='skip'``, in which case the cut is recorded as skipped with the
missing column -- never a silent pass.

Decisions (see also ``/work/shared/reference/paper-numbers.md``):

* log g: the paper's text says 1.5 < log g < 3.4; the authors' own scripts
  used 1.0 < log g < 3.4 (:data:`LOGG_RANGE_SCRIPTS`). The default follows the
  paper's text.
* low-alpha sequence: PW2021 draw a dashed polygon in ([Fe/H], [Mg/Fe]) in
  their Fig. 1 without listing its vertices. :data:`LOW_ALPHA_POLYGON` is our
  own approximation: below the line [Mg/Fe] = 0.12 - 0.13 [Fe/H] for
  [Fe/H] < 0 and [Mg/Fe] = 0.12 above (the two-population division of
  Weinberg et al. 2019), for -1 < [Fe/H] < 0.6 and [Mg/Fe] > -0.3.
* duplicates (same ``APOGEE_ID``) are resolved *after* all other cuts, keeping
  the surviving entry with the highest ``SNR``, so a duplicate can never
  remove a star whose other entry passed.
* stars must also have finite values (and errors) of the requested abundance
  ratios and complete observed phase space (RA, DEC, proper motions,
  ``VHELIO_AVG``): the OTI analysis needs both. These two cuts are ours.
* distances are naive ``1 / parallax`` (PW2021 Sec. 3); the returned table
  carries them in a ``DISTANCE`` column (kpc), which
  :func:`diskorbits.io.read_catalogue` uses in preference to the Bailer-Jones
  columns, so that a written sample feeds :mod:`diskorbits.frames` with the
  paper's distances. An input ``DISTANCE`` column is kept as ``DISTANCE_INPUT``.

Bit numbers are those of the APOGEE DR17 datamodel (Abdurro'uf et al. 2022):
``ASPCAPFLAG`` bit 7 is STAR_WARN, bit 23 STAR_BAD.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from astropy.table import Table

from .. import frames
from ..io.catalogues import read_table

__all__ = [
    "ASPCAP_STAR_BAD",
    "ASPCAP_STAR_WARN",
    "CUT_ORDER",
    "LOGG_RANGE_SCRIPTS",
    "LOW_ALPHA_POLYGON",
    "PW2021_ELEMENTS",
    "APOGEESample",
    "APOGEESelection",
    "CutResult",
    "element_column",
    "load_apogee_gaia",
    "sample_galactocentric",
    "select_apogee_gaia",
]

#: ASPCAPFLAG bit numbers (APOGEE DR17 datamodel).
ASPCAP_STAR_WARN: int = 7
ASPCAP_STAR_BAD: int = 23

#: The eight abundance ratios of PW2021 Sec. 3, as allStar column names.
PW2021_ELEMENTS: tuple[str, ...] = ("FE_H", "C_FE", "N_FE", "O_FE", "MG_FE", "SI_FE", "MN_FE", "NI_FE")

#: Targeting bits whose stars PW2021 exclude (clusters, dwarf galaxies, M31, streams, moving groups).
PW2021_EXCLUDED_TARGET_BITS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("APOGEE_TARGET1", (9, 18, 24, 26)),
    ("APOGEE_TARGET2", (10, 18)),
    ("APOGEE2_TARGET1", (9, 18, 20, 21, 22, 23, 24, 26)),
    ("APOGEE2_TARGET2", (10,)),
    ("APOGEE2_TARGET3", (5, 14, 15)),
)

#: Our approximation of PW2021 Fig. 1's low-alpha boundary: vertices ([Fe/H], [Mg/Fe]) in dex,
#: counter-clockwise. Upper edge: [Mg/Fe] = 0.12 - 0.13 [Fe/H] for [Fe/H] < 0, 0.12 above
#: (Weinberg et al. 2019's division of the two sequences).
LOW_ALPHA_POLYGON: tuple[tuple[float, float], ...] = (
    (-1.0, -0.3),
    (0.6, -0.3),
    (0.6, 0.12),
    (0.0, 0.12),
    (-1.0, 0.25),
)

#: The log g range of the authors' analysis scripts (the paper's text says (1.5, 3.4)).
LOGG_RANGE_SCRIPTS: tuple[float, float] = (1.0, 3.4)

#: Values at or below this are APOGEE's "no measurement" sentinel (-9999).
_SENTINEL = -9000.0

#: The cuts in the order they are applied.
CUT_ORDER: tuple[str, ...] = (
    "aspcapflag",
    "teff",
    "logg",
    "snr",
    "targeting",
    "low_alpha",
    "elements",
    "parallax",
    "parallax_snr",
    "phase_space",
    "distance_sphere",
    "duplicates",
)


def element_column(name: str) -> str:
    """allStar column of an abundance ratio: ``'[O/Fe]'``, ``'o_fe'`` or ``'O_FE'`` -> ``'O_FE'``.

    Raises
    ------
    ValueError
        If ``name`` is not of the form ``[X/Fe]``, ``[Fe/H]`` or ``X_FE`` / ``FE_H``.

    Examples
    --------
    >>> element_column("[Mg/Fe]"), element_column("fe_h")
    ('MG_FE', 'FE_H')
    """
    s = str(name).strip()
    if s.startswith("[") and s.endswith("]") and "/" in s:
        num, den = s[1:-1].split("/", 1)
        s = f"{num.strip()}_{den.strip()}"
    s = s.upper()
    parts = s.split("_")
    if len(parts) != 2 or not all(p.isalpha() for p in parts) or not (parts[1] == "FE" or s == "FE_H"):
        raise ValueError(f"abundance ratio {name!r} is not of the form '[X/Fe]', '[Fe/H]', 'X_FE' or 'FE_H'")
    return s


@dataclasses.dataclass(frozen=True)
class APOGEESelection:
    """The PW2021 Sec. 3 parent-sample cuts, each configurable (``None`` disables a cut).

    Parameters
    ----------
    aspcapflag_bad_bits : tuple of int
        ``ASPCAPFLAG`` bits that reject a star (default STAR_BAD, STAR_WARN).
    teff_range : (float, float) or None
        Open interval in ``TEFF``, K (default 3500-6500).
    logg_range : (float, float) or None
        Open interval in ``LOGG`` (default 1.5-3.4, the paper's text; the
        authors' scripts used :data:`LOGG_RANGE_SCRIPTS`).
    snr_min : float or None
        ``SNR`` must exceed this (default 20).
    excluded_target_bits : tuple of (column, tuple of int)
        Targeting bits that reject a star (default :data:`PW2021_EXCLUDED_TARGET_BITS`).
    low_alpha_polygon : tuple of ([Fe/H], [alpha/Fe]) vertices or None
        Stars must lie inside (default :data:`LOW_ALPHA_POLYGON`).
    metallicity_column, alpha_column : str
        Axes of the polygon (``FE_H``, ``MG_FE``).
    parallax_min : float or None
        Parallax must exceed this, mas (default 0.5).
    parallax_snr_min : float or None
        ``parallax / parallax_error`` must exceed this (default 8).
    max_distance : float or None
        Optional sphere: ``1 / parallax`` below this, kpc (default None: off).
    deduplicate : bool
        Keep one entry per ``APOGEE_ID``, the one with the highest ``SNR``.
    require_phase_space : bool
        RA, DEC, proper motions and ``VHELIO_AVG`` must be finite.
    on_missing : {'error', 'skip'}
        What a missing column does to an enabled cut.
    parallax_column, parallax_error_column, pmra_column, pmdec_column, rv_column : str
        Gaia / APOGEE column names (DR17 defaults).

    Raises
    ------
    ValueError
        For inverted ranges, a polygon with fewer than 3 vertices, bits outside
        0-63 or an unknown ``on_missing``.
    """

    aspcapflag_bad_bits: tuple[int, ...] = (ASPCAP_STAR_BAD, ASPCAP_STAR_WARN)
    teff_range: tuple[float, float] | None = (3500.0, 6500.0)
    logg_range: tuple[float, float] | None = (1.5, 3.4)
    snr_min: float | None = 20.0
    excluded_target_bits: tuple[tuple[str, tuple[int, ...]], ...] = PW2021_EXCLUDED_TARGET_BITS
    low_alpha_polygon: tuple[tuple[float, float], ...] | None = LOW_ALPHA_POLYGON
    metallicity_column: str = "FE_H"
    alpha_column: str = "MG_FE"
    parallax_min: float | None = 0.5
    parallax_snr_min: float | None = 8.0
    max_distance: float | None = None
    deduplicate: bool = True
    require_phase_space: bool = True
    on_missing: str = "error"
    parallax_column: str = "GAIAEDR3_PARALLAX"
    parallax_error_column: str = "GAIAEDR3_PARALLAX_ERROR"
    pmra_column: str = "GAIAEDR3_PMRA"
    pmdec_column: str = "GAIAEDR3_PMDEC"
    rv_column: str = "VHELIO_AVG"

    def __post_init__(self):
        for name in ("teff_range", "logg_range"):
            rng = getattr(self, name)
            if rng is not None:
                lo, hi = (float(v) for v in rng)
                if not lo < hi:
                    raise ValueError(f"{name!r} must be (low, high) with low < high; got {rng!r}")
                object.__setattr__(self, name, (lo, hi))
        bits = tuple(int(b) for b in self.aspcapflag_bad_bits)
        tbits = tuple((str(c), tuple(int(b) for b in bs)) for c, bs in (dict(self.excluded_target_bits).items()
                      if isinstance(self.excluded_target_bits, Mapping) else self.excluded_target_bits))
        for b in bits + tuple(b for _, bs in tbits for b in bs):
            if not 0 <= b < 64:
                raise ValueError(f"bit numbers must be in 0-63; got {b!r}")
        object.__setattr__(self, "aspcapflag_bad_bits", bits)
        object.__setattr__(self, "excluded_target_bits", tbits)
        if self.low_alpha_polygon is not None:
            poly = tuple((float(x), float(y)) for x, y in self.low_alpha_polygon)
            if len(poly) < 3:
                raise ValueError(f"'low_alpha_polygon' needs at least 3 vertices; got {len(poly)}")
            object.__setattr__(self, "low_alpha_polygon", poly)
        for name in ("snr_min", "parallax_min", "parallax_snr_min", "max_distance"):
            v = getattr(self, name)
            if v is not None:
                if not np.isfinite(float(v)):
                    raise ValueError(f"{name!r} must be finite or None; got {v!r}")
                object.__setattr__(self, name, float(v))
        if self.max_distance is not None and not self.max_distance > 0:
            raise ValueError(f"'max_distance' must be > 0 kpc or None; got {self.max_distance!r}")
        if self.on_missing not in ("error", "skip"):
            raise ValueError(f"'on_missing' must be 'error' or 'skip'; got {self.on_missing!r}")

    def replace(self, **changes) -> APOGEESelection:
        """A copy with some settings changed."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> dict:
        """Plain-data settings (for run metadata and ``--json``)."""
        d = dataclasses.asdict(self)
        d["excluded_target_bits"] = {c: list(b) for c, b in self.excluded_target_bits}
        return d


@dataclasses.dataclass(frozen=True)
class CutResult:
    """One line of the per-cut report.

    Attributes
    ----------
    name : str
        Cut name (one of :data:`CUT_ORDER`).
    description : str
        What the cut keeps, with its settings.
    columns : tuple of str
        Columns the cut reads.
    n_before, n_removed, n_after : int
        Stars before the cut, removed by it, and after.
    status : {'applied', 'skipped'}
    reason : str
        Why a cut was skipped (``'disabled'`` or ``'missing column X'``).
    """

    name: str
    description: str
    columns: tuple[str, ...]
    n_before: int
    n_removed: int
    n_after: int
    status: str = "applied"
    reason: str = ""

    def as_dict(self) -> dict:
        return dataclasses.asdict(self) | {"columns": list(self.columns)}


@dataclasses.dataclass(frozen=True)
class APOGEESample:
    """The selected stars and how they were selected.

    Attributes
    ----------
    table : astropy.table.Table
        Surviving rows (all input columns) plus ``DISTANCE`` = 1 / parallax, kpc.
    mask : numpy.ndarray of bool (N_input,)
        Which input rows survived.
    report : tuple of CutResult
        One entry per cut of :data:`CUT_ORDER`, in order.
    selection : APOGEESelection
    elements : tuple of str
        Abundance-ratio columns required to be finite.
    source : str
        The input file (or ``'<table>'``).
    """

    table: Table
    mask: np.ndarray
    report: tuple[CutResult, ...]
    selection: APOGEESelection
    elements: tuple[str, ...]
    source: str = "<table>"

    def __len__(self) -> int:
        return len(self.table)

    @property
    def n_input(self) -> int:
        return int(self.mask.size)

    def counts(self) -> dict[str, int]:
        """``{cut name: stars removed}`` in order (0 for skipped cuts)."""
        return {c.name: c.n_removed for c in self.report}

    def summary(self) -> dict:
        """Plain-data summary for ``--json`` output and file headers."""
        return {
            "source": self.source,
            "n_input": self.n_input,
            "n_selected": len(self),
            "elements": list(self.elements),
            "cuts": [c.as_dict() for c in self.report],
            "selection": self.selection.describe(),
        }


# ----------------------------------------------------------------------------- helpers
def _float(table: Table, col: str) -> np.ndarray:
    data = np.ma.filled(np.ma.asarray(table[col]).astype(np.float64), np.nan)
    data = np.asarray(data, dtype=np.float64)
    return np.where(data <= _SENTINEL, np.nan, data)


def _bits_set(table: Table, col: str, bits: Sequence[int]) -> np.ndarray:
    """Whether any of ``bits`` is set; masked entries count as set (unknown flags never pass)."""
    column = np.ma.asarray(table[col])
    if column.dtype.kind not in "iu":
        raise ValueError(f"column {col!r} must hold integer bit flags; got dtype {column.dtype}")
    # two's-complement view: the bit pattern of signed 32-bit FITS columns is kept
    raw = np.asarray(np.ma.getdata(column)).astype(np.int64).view(np.uint64)
    mask = np.uint64(sum(1 << int(b) for b in bits))
    hit = (raw & mask) != 0
    return hit | np.ma.getmaskarray(column)


def _point_in_polygon(x: np.ndarray, y: np.ndarray, poly: Sequence[tuple[float, float]]) -> np.ndarray:
    """Even-odd rule; NaN points are outside."""
    inside = np.zeros(x.shape, dtype=bool)
    vx = np.array([p[0] for p in poly])
    vy = np.array([p[1] for p in poly])
    for i in range(len(poly)):
        x1, y1, x2, y2 = vx[i], vy[i], vx[i - 1], vy[i - 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            crosses = (y1 > y) != (y2 > y)
            x_at = (x2 - x1) * (y - y1) / (y2 - y1) + x1
            inside ^= crosses & (x < x_at)
    return inside & np.isfinite(x) & np.isfinite(y)


def _range_text(rng):
    return f"{rng[0]:g} < . < {rng[1]:g}"


def _cuts(selection: APOGEESelection, elements: tuple[str, ...]):
    """(name, description, columns or None if disabled, keep(table) -> bool array) in :data:`CUT_ORDER`."""
    s = selection
    plx, eplx = s.parallax_column, s.parallax_error_column

    def aspcap(t):
        return ~_bits_set(t, "ASPCAPFLAG", s.aspcapflag_bad_bits)

    def in_range(col, rng):
        def keep(t):
            v = _float(t, col)
            with np.errstate(invalid="ignore"):
                return (v > rng[0]) & (v < rng[1])

        return keep

    def snr(t):
        with np.errstate(invalid="ignore"):
            return _float(t, "SNR") > s.snr_min

    def targeting(t):
        keep = np.ones(len(t), dtype=bool)
        for col, bits in s.excluded_target_bits:
            if bits:
                keep &= ~_bits_set(t, col, bits)
        return keep

    def low_alpha(t):
        return _point_in_polygon(_float(t, s.metallicity_column), _float(t, s.alpha_column), s.low_alpha_polygon)

    def elems(t):
        keep = np.ones(len(t), dtype=bool)
        for e in elements:
            err = _float(t, e + "_ERR")
            keep &= np.isfinite(_float(t, e)) & np.isfinite(err) & (err >= 0)
        return keep

    def parallax(t):
        with np.errstate(invalid="ignore"):
            return _float(t, plx) > s.parallax_min

    def parallax_snr(t):
        with np.errstate(invalid="ignore", divide="ignore"):
            return _float(t, plx) / _float(t, eplx) > s.parallax_snr_min

    def phase_space(t):
        keep = np.ones(len(t), dtype=bool)
        for col in ("RA", "DEC", s.pmra_column, s.pmdec_column, s.rv_column):
            keep &= np.isfinite(_float(t, col))
        return keep

    def sphere(t):
        p = _float(t, plx)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (p > 0) & (1.0 / p < s.max_distance)

    on = lambda cond, cols: cols if cond else None
    target_cols = tuple(c for c, b in s.excluded_target_bits if b)
    return [
        ("aspcapflag", f"ASPCAPFLAG has none of bits {list(s.aspcapflag_bad_bits)} (STAR_BAD=23, STAR_WARN=7)",
         on(bool(s.aspcapflag_bad_bits), ("ASPCAPFLAG",)), aspcap),
        ("teff", f"TEFF: {_range_text(s.teff_range)} K" if s.teff_range else "TEFF range",
         on(s.teff_range is not None, ("TEFF",)), in_range("TEFF", s.teff_range) if s.teff_range else None),
        ("logg", f"LOGG: {_range_text(s.logg_range)}" if s.logg_range else "LOGG range",
         on(s.logg_range is not None, ("LOGG",)), in_range("LOGG", s.logg_range) if s.logg_range else None),
        ("snr", f"SNR > {s.snr_min:g}" if s.snr_min is not None else "SNR",
         on(s.snr_min is not None, ("SNR",)), snr),
        ("targeting", "no cluster / dwarf-galaxy / M31 / stream / moving-group targeting bits: "
         + "; ".join(f"{c} {list(b)}" for c, b in s.excluded_target_bits if b),
         on(bool(target_cols), target_cols), targeting),
        ("low_alpha", f"({s.metallicity_column}, {s.alpha_column}) inside the low-alpha polygon",
         on(s.low_alpha_polygon is not None, (s.metallicity_column, s.alpha_column)), low_alpha),
        ("elements", f"finite {', '.join(elements)} and their errors",
         on(bool(elements), tuple(c for e in elements for c in (e, e + "_ERR"))), elems),
        ("parallax", f"{plx} > {s.parallax_min:g} mas" if s.parallax_min is not None else "parallax",
         on(s.parallax_min is not None, (plx,)), parallax),
        ("parallax_snr", f"{plx} / {eplx} > {s.parallax_snr_min:g}" if s.parallax_snr_min is not None else "parallax S/N",
         on(s.parallax_snr_min is not None, (plx, eplx)), parallax_snr),
        ("phase_space", "finite RA, DEC, proper motions and radial velocity",
         on(s.require_phase_space, ("RA", "DEC", s.pmra_column, s.pmdec_column, s.rv_column)), phase_space),
        ("distance_sphere", f"1 / parallax < {s.max_distance:g} kpc" if s.max_distance else "distance sphere",
         on(s.max_distance is not None, (plx,)), sphere),
    ]


def _deduplicate(table: Table, alive: np.ndarray) -> np.ndarray:
    """Among ``alive`` rows keep, per APOGEE_ID, the one with the highest SNR (first on ties)."""
    ids = np.asarray(table["APOGEE_ID"]).astype(str)
    ids = np.char.strip(ids)
    snr = np.nan_to_num(_float(table, "SNR"), nan=-np.inf)
    idx = np.flatnonzero(alive)
    # sort by id, then by decreasing SNR, then by row (stable): first of each id wins
    order = np.lexsort((idx, -snr[idx], ids[idx]))
    sorted_idx = idx[order]
    first = np.ones(sorted_idx.size, dtype=bool)
    first[1:] = ids[sorted_idx[1:]] != ids[sorted_idx[:-1]]
    keep = np.zeros(len(table), dtype=bool)
    keep[sorted_idx[first]] = True
    return keep


# ----------------------------------------------------------------------------- entry points
def select_apogee_gaia(
    table: Table,
    selection: APOGEESelection = APOGEESelection(),
    elements: Sequence[str] = PW2021_ELEMENTS,
    *,
    source: str = "<table>",
) -> APOGEESample:
    """Apply the PW2021 Sec. 3 cuts to an in-memory allStar-like table; see :func:`load_apogee_gaia`."""
    if not isinstance(selection, APOGEESelection):
        raise TypeError(f"'selection' must be an APOGEESelection; got {type(selection).__name__}")
    elements = tuple(dict.fromkeys(element_column(e) for e in elements))
    n = len(table)
    alive = np.ones(n, dtype=bool)
    report = []

    def missing_of(cols):
        return [c for c in cols if c not in table.colnames]

    def skip(name, desc, cols, reason):
        k = int(alive.sum())
        report.append(CutResult(name, desc, tuple(cols or ()), k, 0, k, "skipped", reason))

    for name, desc, cols, keep_fn in _cuts(selection, elements):
        if cols is None:
            skip(name, desc, (), "disabled")
            continue
        missing = missing_of(cols)
        if missing:
            if selection.on_missing == "error":
                raise ValueError(
                    f"column(s) {missing} needed by the {name!r} cut ({desc}) are not in {source}; "
                    f"disable the cut or pass on_missing='skip'"
                )
            skip(name, desc, cols, f"missing column(s) {', '.join(missing)}")
            continue
        before = int(alive.sum())
        alive &= np.asarray(keep_fn(table), dtype=bool)
        report.append(CutResult(name, desc, tuple(cols), before, before - int(alive.sum()), int(alive.sum())))

    desc = "one entry per APOGEE_ID (highest SNR)"
    if not selection.deduplicate:
        skip("duplicates", desc, (), "disabled")
    else:
        missing = missing_of(("APOGEE_ID", "SNR"))
        if missing and selection.on_missing == "error":
            raise ValueError(
                f"column(s) {missing} needed by the 'duplicates' cut ({desc}) are not in {source}; "
                f"set deduplicate=False or pass on_missing='skip'"
            )
        if missing:
            skip("duplicates", desc, ("APOGEE_ID", "SNR"), f"missing column(s) {', '.join(missing)}")
        else:
            before = int(alive.sum())
            alive = _deduplicate(table, alive)
            report.append(CutResult("duplicates", desc, ("APOGEE_ID", "SNR"), before, before - int(alive.sum()), int(alive.sum())))

    out = table[alive]
    if "DISTANCE" in out.colnames:
        out.rename_column("DISTANCE", "DISTANCE_INPUT")
    if selection.parallax_column in out.colnames:
        p = _float(out, selection.parallax_column)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["DISTANCE"] = np.where(p > 0, 1.0 / p, np.nan)
        out["DISTANCE"].unit = "kpc"
        out["DISTANCE"].description = "1 / parallax (Price-Whelan et al. 2021, Sec. 3)"
    return APOGEESample(out, alive, tuple(report), selection, elements, source)


def load_apogee_gaia(
    path: str | Path,
    selection: APOGEESelection = APOGEESelection(),
    elements: Sequence[str] = PW2021_ELEMENTS,
) -> APOGEESample:
    """Read an APOGEE DR17 x Gaia allStar-like file and apply the PW2021 Sec. 3 cuts.

    Parameters
    ----------
    path : str or Path
        FITS/CSV/ECSV/Parquet file with allStar column names.
    selection : APOGEESelection
        The cuts (default: the paper's).
    elements : sequence of str
        Abundance ratios (``'O_FE'`` or ``'[O/Fe]'``) that must be finite, with
        finite ``_ERR`` (default the paper's eight, :data:`PW2021_ELEMENTS`).

    Returns
    -------
    APOGEESample
        Selected rows (plus ``DISTANCE`` = 1 / parallax, kpc) and the per-cut report.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If a column needed by an enabled cut is missing (the message names
        the column and the cut), or an element name is malformed.

    Examples
    --------
    >>> s = load_apogee_gaia("/work/shared/data/Montalban2021_X_APOGEE_DR17.fits")  # doctest: +SKIP
    >>> [(c.name, c.n_removed) for c in s.report][:2]                                 # doctest: +SKIP
    [('aspcapflag', ...), ('teff', ...)]
    """
    return select_apogee_gaia(read_table(path), selection, elements, source=str(path))


def sample_galactocentric(sample: APOGEESample | Table, sun: frames.SolarParameters = frames.PW2021,
                          selection: APOGEESelection | None = None) -> frames.CylindricalCoordinates:
    """Galactocentric cylindrical coordinates (internal units) from ``1 / parallax`` distances.

    Parameters
    ----------
    sample : APOGEESample or Table
        Selected stars (parallaxes must be > 0, as the parallax cut ensures).
    sun : SolarParameters
        Frame (default PW2021).
    selection : APOGEESelection, optional
        Column names (default: the sample's, else DR17 names).
    """
    table = sample.table if isinstance(sample, APOGEESample) else sample
    s = selection or (sample.selection if isinstance(sample, APOGEESample) else APOGEESelection())
    return frames.observed_to_cylindrical(
        _float(table, "RA"),
        _float(table, "DEC"),
        pmra=_float(table, s.pmra_column),
        pmdec=_float(table, s.pmdec_column),
        rv=_float(table, s.rv_column),
        parallax=_float(table, s.parallax_column),
        sun=sun,
    )
