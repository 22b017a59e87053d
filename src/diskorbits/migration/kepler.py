"""The Kepler-field giants of Miglio et al. (2021) as a catalogue for the Frankel et al. (2020) likelihood.

Miglio et al. (2021, A&A 645, A85; VizieR J/A+A/645/A85) published 3315
Kepler-field red giants with asteroseismic ages, masses and distances, APOGEE
[Fe/H] and [alpha/M], an evolutionary state, and Galactocentric positions and
velocities ``(GalR, Galphi, GalZ, vR, vT, vZ)`` that they computed from Gaia
astrometry and APOGEE line-of-sight velocities. The file has **no proper
motions or line-of-sight velocities**, which
:func:`~diskorbits.migration.likelihood.build_likelihood` needs (it samples
the measurement noise in the observed quantities). :func:`read_kepler_miglio2021`
rebuilds them.

The authors' frame (found from the file)
----------------------------------------
Their positions are reproduced by an astropy-like Galactocentric frame
(:class:`~diskorbits.frames.SolarParameters`) with

* ``R_sun = 8.125 kpc`` and ``z_sun = 20 pc``: a least-squares fit of
  ``(GalR, GalZ)`` against the positions computed from ``(_RA, _DE, Dist)``
  gives 8.1251 kpc and 20.0 pc, with a median residual of 0.3 pc in R and z
  (the catalogue rounds them to 1 pc; 8.122 kpc or 20.8 pc leave residuals
  several times larger);
* ``v_sun = (10.9, 245.6, 7.8) km/s`` (astropy's ``galcen_v_sun``): 48 of the
  stars are also in the APOGEE DR17 rows of Montalban et al. (2021) shipped
  with this project; their Gaia EDR3 proper motions and DR17 line-of-sight
  velocities give the catalogue's ``vR, vT, vZ`` back with this solar motion
  (robust fit; the median residual is below 0.3 km/s, the remaining scatter
  comes from Gaia DR2 versus EDR3 and DR16 versus DR17 differences).

Conventions (checked on those 48 stars): ``Galphi`` grows in the direction of
Galactic rotation from the Sun-centre line (the Kepler field, at l ~ 76 deg,
has ``Galphi > 0``), ``vR > 0`` points away from the centre and ``vT > 0`` is
the direction of rotation -- the cylindrical convention of
:mod:`diskorbits.frames`. The solar motion cancels between
:func:`read_kepler_miglio2021` and the likelihood as long as both use the
same frame; the Sun's position does not (the selection sees ``(l, b, D)``).
:data:`MIGLIO2021_FRAME` holds these values; use it as the ``sun`` of the
:class:`~diskorbits.migration.samples.SurveySetup`.

How the observables are rebuilt
-------------------------------
Positions are the **observed** ones, ``(_RA, _DE, Dist)``, converted to
``(l, b)``; they are not recomputed from ``(GalR, Galphi, GalZ)``, which the
file rounds to 1 pc and 1 mrad: 0.5 mrad of azimuth is 4 pc, i.e. up to a
degree on the sky for the nearest stars. The catalogue's ``(vR, vT, vZ)`` are
taken along the cylindrical axes at that position, turned into a Cartesian
Galactocentric velocity, and the solar motion of the frame is removed to give
``(pmra, pmdec, rv)``. Converting back with the same frame (what the
likelihood does) returns ``vR, vT, vZ`` to round-off and ``GalR, GalZ`` to
the file's precision: the median difference is 0.3 pc, the largest 5 pc (the
authors' values are presumably medians over their distance samples).

Uncertainties
-------------
* distance: half the quoted interval, ``(b_dist_lc - b_Dist) / 2`` [kpc]
  (the file's ``b_`` columns are the lower and the ``*_lc`` columns the upper
  bounds of the VizieR ``b_``/``B_`` pairs: every value lies between them);
* age: half the width of the interval in dex, ``0.5 log10(upper/lower)``,
  with a floor of :data:`AGE_ERR_FLOOR_DEX` (20 young, massive clump stars
  have a zero-width interval, the ages being rounded to 0.1 Gyr);
* [Fe/H]: no column; :data:`FEH_ERR_DEX` = 0.05 dex, the value Frankel et al.
  (2020, Sec. 2.2) quote for ASPCAP and that the package's mocks use;
* proper motions: :data:`PM_ERR_MASYR` = 0.05 mas/yr per component (Gaia DR2
  for G ~ 10-13 giants); line-of-sight velocity: :data:`RV_ERR_KMS` = 0.3 km/s
  (APOGEE, including its zero-point). Both are assumptions: at the median
  distance of 1.4 kpc they amount to ~0.3 km/s, below the ~1 km/s scatter
  between the Gaia DR2- and EDR3-based velocities of the 48 cross-matched
  stars, and far below the velocity dispersions the model fits.

Cuts (arguments of :func:`read_kepler_miglio2021`, applied in this order)
-------------------------------------------------------------------------
1. finite values of everything used (drops 22 stars without an age and 1
   without a distance);
2. ``red_clump_only`` (default True): ``evstate == 2`` -- core-helium-burning
   stars (radius ~11 Rsun, against a median of 7.6 Rsun for ``evstate == 1``,
   the red-giant branch). The selection function (red-clump standard
   candles) and ``f_RC(tau)`` of the model describe clump stars only;
3. ``low_alpha`` (default True): ``[alpha/M] < a + s [Fe/H]`` with
   ``(a, s) =`` :data:`LOW_ALPHA_CUT` ``= (0.085, -0.08)``, a line through
   the trough between the two sequences of this sample (0.117 at [Fe/H] =
   -0.4, 0.085 at 0, 0.061 at +0.3; a two-component Gaussian mixture puts the
   equal-probability line within 0.02 dex of it). The model describes the
   low-alpha disk only;
4. ``h_range`` (default (7, 11), that of
   :func:`~diskorbits.migration.selection.kepler_field`): the apparent H
   magnitude inside the selection's window, so that the data obey the
   selection the likelihood assumes;
5. ``age_max`` (default None, no cut): see below;
6. ``selection`` (default None): drop stars where ``S(l, b, D) = 0``.

Why no age cut by default: the model has no stars older than its fixed
``tau_m`` (6 Gyr), and the likelihood truncates every star's age samples to
``(0, tau_m]``, so an older star enters as a star of about ``tau_m``. A cut on
the *observed* age would be a selection on age that ``S f_RC`` does not
contain: it removes stars scattered above the limit but keeps those scattered
below, so the model, which expects every age up to ``tau_m`` in the survey
volume, would see too few old stars near the limit. Frankel et al. (2020)
did not cut on age either (their low-alpha sample is mostly younger than about
8 Gyr). ``age_max`` is there to test how much the old stars matter. For the
default cuts the point is nearly moot: 2 of the clump stars are older than
6 Gyr (next paragraph).

The sample's own age selection
------------------------------
The clump stars of the file were selected in mass (none below 1.20 Msun),
which is a selection in age, and they include the secondary clump down to
0.5 Gyr; every star also has a radius of at most 11 Rsun.
:func:`miglio2021_red_clump_fraction` builds an ``f_RC(tau)`` that carries
the first two (pass it as ``SurveySetup(..., red_clump=...)``); the radius
cut cannot be reconstructed from the file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Table

from .. import frames, units
from .redclump import TabulatedRedClumpFraction

__all__ = [
    "AGE_ERR_FLOOR_DEX",
    "FEH_ERR_DEX",
    "KEPLER_RC_ONSET_MYR",
    "LOW_ALPHA_CUT",
    "MIGLIO2021_FILE",
    "MIGLIO2021_FRAME",
    "MIGLIO2021_REQUIRED_COLUMNS",
    "PM_ERR_MASYR",
    "RED_CLUMP_EVSTATE",
    "RV_ERR_KMS",
    "miglio2021_red_clump_fraction",
    "read_kepler_miglio2021",
]

#: File name of the catalogue in the project's shared data folder.
MIGLIO2021_FILE = "kepler_apogee_miglio2021.fit"

#: Galactocentric frame of Miglio et al. (2021), determined from their file (module notes):
#: R_sun = 8.125 kpc, z_sun = 20 pc, galcen_v_sun = (10.9, 245.6, 7.8) km/s.
MIGLIO2021_FRAME = frames.SolarParameters(
    galcen_distance=8.125 * u.kpc,
    z_sun=20.0 * u.pc,
    v_sun=[10.9, 245.6, 7.8] * u.km / u.s,
)

#: ``evstate`` code of core-helium-burning (red-clump) stars in the file; 1 is the red-giant branch.
RED_CLUMP_EVSTATE: int = 2
#: Low-alpha boundary ``(a, s)``: a star is low-alpha when ``[alpha/M] < a + s [Fe/H]`` (dex).
LOW_ALPHA_CUT: tuple[float, float] = (0.085, -0.08)
#: Assumed [Fe/H] uncertainty, dex (ASPCAP; Frankel et al. 2020, Sec. 2.2).
FEH_ERR_DEX: float = 0.05
#: Assumed proper-motion uncertainty per component, mas/yr (Gaia DR2 giants).
PM_ERR_MASYR: float = 0.05
#: Assumed line-of-sight velocity uncertainty, km/s (APOGEE).
RV_ERR_KMS: float = 0.3
#: Smallest age uncertainty, dex (~10%): the file rounds ages to 0.1 Gyr and some intervals have zero width.
AGE_ERR_FLOOR_DEX: float = 0.04

# rows per block of the frame transforms (padded, so each jitted transform compiles once)
_BLOCK = 4096

# our name -> accepted column names (first found wins); upper bounds as the FITS file spells them
# ('*_lc') or as VizieR's ReadMe does ('B_*').
_SOURCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "apogee": ("APOGEE",),
    "kic": ("KIC",),
    "ra": ("_RA", "RAdeg"),
    "dec": ("_DE", "DEdeg"),
    "hmag": ("Hmag",),
    "feh": ("__Fe_H_", "[Fe/H]"),
    "alpha_m": ("__alpha_M_", "[alpha/M]"),
    "age": ("Age",),
    "age_lo": ("b_Age",),
    "age_hi": ("b_age_lc", "B_Age"),
    "dist": ("Dist",),
    "dist_lo": ("b_Dist",),
    "dist_hi": ("b_dist_lc", "B_Dist"),
    "evstate": ("evstate",),
    "GalR": ("GalR",),
    "Galphi": ("Galphi",),
    "GalZ": ("GalZ",),
    "vR": ("vR",),
    "vT": ("vT",),
    "vZ": ("vZ",),
}
#: Columns the file must have (first name of each group; the alternatives are accepted too).
MIGLIO2021_REQUIRED_COLUMNS: tuple[str, ...] = tuple(v[0] for v in _SOURCE_COLUMNS.values())

# unit assumed when a column carries none
_UNITS = {"ra": u.deg, "dec": u.deg, "hmag": u.mag, "age": u.Gyr, "age_lo": u.Gyr, "age_hi": u.Gyr,
          "dist": u.kpc, "dist_lo": u.kpc, "dist_hi": u.kpc, "GalR": u.kpc, "Galphi": u.rad, "GalZ": u.kpc,
          "vR": u.km / u.s, "vT": u.km / u.s, "vZ": u.km / u.s}  # fmt: skip


def _default_path() -> Path:
    from ..demo import find_demo_data

    return find_demo_data(None)


def _values(table, key: str, name: str) -> np.ndarray:
    """A column as float64 in the unit of ``_UNITS`` (masked -> NaN)."""
    col = table[key]
    data = np.ma.filled(np.ma.asarray(col, dtype=np.float64), np.nan)
    unit = _UNITS.get(name)
    col_unit = getattr(col, "unit", None)
    if unit is not None and col_unit is not None and str(col_unit) != "":
        try:
            data = u.Quantity(data, col_unit).to_value(unit)
        except u.UnitConversionError:
            raise ValueError(f"column {key!r} has unit {col_unit!s}, which cannot be converted to {unit!s}") from None
    return data


def _read(path) -> tuple[Table, str]:
    if isinstance(path, Table):
        return path, "<Table>"
    p = _default_path() if path is None else Path(path)
    if not p.exists():
        raise FileNotFoundError(f"catalogue file {str(p)!r} does not exist")
    from ..io import read_table

    return read_table(p), str(p.resolve())


def _columns(table) -> dict[str, str]:
    found, missing = {}, []
    for name, options in _SOURCE_COLUMNS.items():
        key = next((k for k in options if k in table.colnames), None)
        if key is None:
            missing.append(" or ".join(repr(k) for k in options))
        else:
            found[name] = key
    if missing:
        raise ValueError(
            f"not the Miglio et al. (2021) catalogue: missing column(s) {', '.join(missing)}; "
            f"available columns: {list(table.colnames)}"
        )
    return found


def _positive(name: str, value) -> float:
    v = float(value)
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name!r} must be finite and >= 0, got {value!r}")
    return v


def _scalar_in(value, unit, name: str) -> float:
    if isinstance(value, u.Quantity):
        try:
            return float(value.to_value(unit))
        except u.UnitConversionError:
            raise u.UnitConversionError(f"{name!r} has unit {value.unit!s}, which cannot be converted to {unit!s}") from None
    return float(value)


def read_kepler_miglio2021(
    path=None,
    *,
    red_clump_only: bool = True,
    low_alpha: bool = True,
    alpha_cut: tuple[float, float] = LOW_ALPHA_CUT,
    h_range: tuple[float, float] | None = (7.0, 11.0),
    age_max=None,
    selection=None,
    feh_err=FEH_ERR_DEX,
    pm_err=PM_ERR_MASYR,
    rv_err=RV_ERR_KMS,
    age_err_floor_dex: float = AGE_ERR_FLOOR_DEX,
    sun: frames.SolarParameters | None = None,
) -> Table:
    """Read the Miglio et al. (2021) Kepler giants as a catalogue for :func:`~diskorbits.migration.build_likelihood`.

    The module notes say how the proper motions and line-of-sight velocities
    are rebuilt from the authors' Galactocentric velocities, which frame
    reproduces their numbers, where the uncertainties come from and what each
    cut does.

    Parameters
    ----------
    path : str, Path or astropy Table, optional
        The catalogue (VizieR J/A+A/645/A85 as FITS); default
        ``shared/data/kepler_apogee_miglio2021.fit`` next to the checkout
        (:func:`diskorbits.demo.find_demo_data`).
    red_clump_only : bool
        Keep core-helium-burning stars only (``evstate == 2``; default True).
    low_alpha : bool
        Keep low-alpha stars only (default True): ``[alpha/M] < a + s [Fe/H]``.
    alpha_cut : (float, float)
        ``(a, s)`` of that line, dex and dex/dex (default :data:`LOW_ALPHA_CUT`).
    h_range : (float, float) or None
        Keep ``h_min <= H <= h_max`` (mag; default (7, 11), the window of
        :func:`~diskorbits.migration.selection.kepler_field`); None: no cut.
    age_max : float [Gyr] or time Quantity, optional
        Keep stars with observed age ``<= age_max``; default None (no cut;
        the module notes explain why).
    selection : Selection, optional
        When given, drop stars with ``S(l, b, D) = 0`` (outside its footprint
        or distance window) and add its value as column ``selection``.
    feh_err : float [dex]
        [Fe/H] uncertainty given to every star (default :data:`FEH_ERR_DEX`).
    pm_err : float [mas/yr] or Quantity
        Proper-motion uncertainty per component (default :data:`PM_ERR_MASYR`).
    rv_err : float [km/s] or velocity Quantity
        Line-of-sight velocity uncertainty (default :data:`RV_ERR_KMS`).
    age_err_floor_dex : float [dex]
        Smallest age uncertainty (default :data:`AGE_ERR_FLOOR_DEX`).
    sun : SolarParameters, optional
        Frame in which the observables are rebuilt; default
        :data:`MIGLIO2021_FRAME` (the authors'). The same frame must be the
        ``sun`` of the :class:`~diskorbits.migration.samples.SurveySetup`
        for the likelihood to see the authors' velocities.

    Returns
    -------
    astropy.table.Table
        One row per kept star with the columns of
        :data:`~diskorbits.migration.likelihood.CATALOGUE_COLUMNS` -- ``l, b``
        [deg], ``distance, distance_err`` [kpc], ``pmra, pmra_err, pmdec,
        pmdec_err`` [mas/yr, ICRS, pmra = mu_alpha*], ``rv, rv_err`` [km/s],
        ``age`` [Gyr], ``age_err_dex`` [dex], ``feh, feh_err`` [dex] -- and
        ``APOGEE, KIC, ra, dec`` [deg], ``Hmag`` [mag], ``evstate``,
        ``alpha_m`` [dex], the authors' ``GalR, Galphi, GalZ`` [kpc, rad] and
        ``vR, vT, vZ`` [km/s] (unchanged), and ``selection`` when a selection
        was given. ``meta`` holds ``reference``, ``source``, and JSON strings
        ``frame`` (:meth:`SolarParameters.describe`), ``cuts`` (the settings
        and the number of stars after each cut, ``cutflow``) and ``errors``
        (the assumed uncertainties and how well the rebuilt positions agree
        with ``GalR, Galphi, GalZ``).

    Raises
    ------
    ValueError
        If a required column is missing (naming it), a setting is invalid,
        or no star survives the cuts.
    FileNotFoundError
        If ``path`` does not exist.

    Examples
    --------
    >>> cat = read_kepler_miglio2021()  # doctest: +SKIP
    >>> from diskorbits.migration import SurveySetup, kepler_field, build_likelihood
    >>> setup = SurveySetup(kepler_field(), sun=MIGLIO2021_FRAME)  # doctest: +SKIP
    >>> lik = build_likelihood(cat, setup, n_mc=40, n_volume=50_000)  # doctest: +SKIP
    """
    sun = MIGLIO2021_FRAME if sun is None else sun
    if not isinstance(sun, frames.SolarParameters):
        raise TypeError(f"'sun' must be a diskorbits.frames.SolarParameters, got {type(sun).__name__}")
    a_cut, s_cut = (float(v) for v in alpha_cut)
    if not (math.isfinite(a_cut) and math.isfinite(s_cut)):
        raise ValueError(f"'alpha_cut' must be two finite numbers (a, s), got {alpha_cut!r}")
    if h_range is not None:
        h_min, h_max = (float(v) for v in h_range)
        if not h_min < h_max:
            raise ValueError(f"'h_range' must be (h_min, h_max) with h_min < h_max, got {h_range!r}")
    if age_max is not None:
        age_max = _scalar_in(age_max, u.Gyr, "age_max")
        if not age_max > 0:
            raise ValueError(f"'age_max' must be positive (Gyr), got {age_max!r}")
    feh_e = _positive("feh_err", feh_err)
    pm_e = _positive("pm_err", _scalar_in(pm_err, u.mas / u.yr, "pm_err"))
    rv_e = _positive("rv_err", _scalar_in(rv_err, u.km / u.s, "rv_err"))
    floor = _positive("age_err_floor_dex", age_err_floor_dex)

    table, source = _read(path)
    keys = _columns(table)
    v = {name: _values(table, key, name) for name, key in keys.items() if name not in ("apogee", "kic")}

    cutflow = {"file": len(table)}
    used = ("ra", "dec", "hmag", "feh", "alpha_m", "age", "age_lo", "age_hi", "dist", "dist_lo", "dist_hi",
            "evstate", "GalR", "Galphi", "GalZ", "vR", "vT", "vZ")  # fmt: skip
    keep = np.all([np.isfinite(v[k]) for k in used], axis=0) & (v["dist"] > 0) & (v["age"] > 0)
    keep &= (v["dist_lo"] > 0) & (v["age_lo"] > 0)
    cutflow["finite"] = int(keep.sum())
    if red_clump_only:
        keep &= v["evstate"] == RED_CLUMP_EVSTATE
        cutflow["red_clump"] = int(keep.sum())
    if low_alpha:
        keep &= v["alpha_m"] < a_cut + s_cut * v["feh"]
        cutflow["low_alpha"] = int(keep.sum())
    if h_range is not None:
        keep &= (v["hmag"] >= h_min) & (v["hmag"] <= h_max)
        cutflow["h_range"] = int(keep.sum())
    if age_max is not None:
        keep &= v["age"] <= age_max
        cutflow["age_max"] = int(keep.sum())

    idx = np.flatnonzero(keep)
    w = {k: x[idx] for k, x in v.items()}
    obs = _observables(w, sun)
    sel_values = None
    if selection is not None:
        sel_values = np.asarray(selection(obs["l"], obs["b"], w["dist"]), dtype=np.float64)
        inside = sel_values > 0
        idx, sel_values = idx[inside], sel_values[inside]
        w = {k: x[inside] for k, x in w.items()}
        obs = {k: x[inside] for k, x in obs.items()}
        cutflow["selection"] = int(idx.size)
    if idx.size == 0:
        raise ValueError(f"no star survives the cuts (stars left after each cut: {cutflow})")

    out = Table()
    out["l"] = obs["l"] * u.deg
    out["b"] = obs["b"] * u.deg
    out["distance"] = w["dist"] * u.kpc
    out["distance_err"] = 0.5 * (w["dist_hi"] - w["dist_lo"]) * u.kpc
    out["pmra"] = obs["pmra"] * (u.mas / u.yr)
    out["pmra_err"] = np.full(idx.size, pm_e) * (u.mas / u.yr)
    out["pmdec"] = obs["pmdec"] * (u.mas / u.yr)
    out["pmdec_err"] = np.full(idx.size, pm_e) * (u.mas / u.yr)
    out["rv"] = obs["rv"] * (u.km / u.s)
    out["rv_err"] = np.full(idx.size, rv_e) * (u.km / u.s)
    out["age"] = w["age"] * u.Gyr
    out["age_err_dex"] = np.maximum(0.5 * np.log10(w["age_hi"] / w["age_lo"]), floor)
    out["feh"] = w["feh"]
    out["feh_err"] = np.full(idx.size, feh_e)
    out["APOGEE"] = np.char.strip(np.asarray(table[keys["apogee"]])[idx].astype(str))
    out["KIC"] = np.asarray(table[keys["kic"]])[idx].astype(np.int64)
    out["ra"] = w["ra"] * u.deg
    out["dec"] = w["dec"] * u.deg
    out["Hmag"] = w["hmag"] * u.mag
    out["evstate"] = w["evstate"].astype(np.int16)
    out["alpha_m"] = w["alpha_m"]
    for k, unit in (("GalR", u.kpc), ("Galphi", u.rad), ("GalZ", u.kpc), ("vR", u.km / u.s), ("vT", u.km / u.s), ("vZ", u.km / u.s)):
        out[k] = w[k] * unit
    if sel_values is not None:
        out["selection"] = sel_values

    # how well the rebuilt positions agree with the authors' (rounded) Galactocentric ones
    dR, dz = obs["R"] - w["GalR"], obs["z"] - w["GalZ"]
    dphi = np.angle(np.exp(1j * (obs["phi"] - w["Galphi"])))
    age_outside = int(np.count_nonzero((w["age"] < w["age_lo"]) | (w["age"] > w["age_hi"])))
    out.meta["reference"] = "Miglio et al. (2021), A&A 645, A85 (VizieR J/A+A/645/A85)"
    out.meta["source"] = source
    out.meta["frame"] = json.dumps(sun.describe())
    out.meta["cuts"] = json.dumps({
        "red_clump_only": bool(red_clump_only), "red_clump_evstate": RED_CLUMP_EVSTATE,
        "low_alpha": bool(low_alpha), "alpha_cut": [a_cut, s_cut],
        "h_range": None if h_range is None else [h_min, h_max], "age_max_gyr": age_max,
        "selection": None if selection is None else getattr(selection, "name", type(selection).__name__),
        "cutflow": cutflow,
    })  # fmt: skip
    out.meta["errors"] = json.dumps({
        "feh_err_dex": feh_e, "pm_err_masyr": pm_e, "rv_err_kms": rv_e, "age_err_floor_dex": floor,
        "n_age_outside_interval": age_outside,
        "position_vs_catalogue": {
            "median_abs_dR_kpc": float(np.median(np.abs(dR))), "max_abs_dR_kpc": float(np.max(np.abs(dR))),
            "median_abs_dz_kpc": float(np.median(np.abs(dz))), "max_abs_dz_kpc": float(np.max(np.abs(dz))),
            "max_abs_dphi_rad": float(np.max(np.abs(dphi))),
        },
    })  # fmt: skip
    return out


def _observables(w: dict, sun: frames.SolarParameters) -> dict:
    """``(l, b, pmra, pmdec, rv)`` and our ``(R, phi, z)`` of stars at the observed ``(ra, dec, Dist)``
    moving with the catalogue's ``(vR, vT, vZ)`` along the cylindrical axes at that position."""
    from astropy.coordinates import SkyCoord

    # pad to whole blocks so that the jitted frame transforms compile once per process, whatever the cuts
    n = w["dist"].size
    n_pad = max(_BLOCK, -(-n // _BLOCK) * _BLOCK)
    pad = lambda x, fill: np.concatenate([np.asarray(x, dtype=np.float64), np.full(n_pad - n, fill)])
    ra, dec, D = pad(w["ra"], 0.0), pad(w["dec"], 0.0), pad(w["dist"], 1.0)
    vR, vT, vZ = (pad(w[k], 0.0) * units.KMS for k in ("vR", "vT", "vZ"))
    zero = np.zeros(n_pad)
    pos = frames.observed_to_galactocentric(ra, dec, D, zero, zero, zero, sun=sun)
    x, y, z = (np.asarray(c) for c in pos[:3])
    R = np.hypot(x, y)
    phi = np.arctan2(y, -x)
    vel = frames.cylindrical_to_cartesian(R, phi, z, vR, vT, vZ)
    o = frames.galactocentric_to_observed(x, y, z, vel.v_x, vel.v_y, vel.v_z, sun=sun)
    o = {k: np.asarray(getattr(o, k))[:n] for k in ("pmra", "pmdec", "rv")}
    R, phi, z = R[:n], phi[:n], z[:n]
    ra, dec = w["ra"], w["dec"]
    g = SkyCoord(ra=np.asarray(ra) * u.deg, dec=np.asarray(dec) * u.deg, frame="icrs").galactic
    return {
        "l": np.asarray(g.l.deg), "b": np.asarray(g.b.deg),
        "pmra": o["pmra"], "pmdec": o["pmdec"], "rv": o["rv"],
        "R": R, "phi": phi, "z": z,
    }  # fmt: skip


#: Onset age of the core-helium-burning fraction for the Kepler sample, Myr: below its youngest star
#: (0.5 Gyr, ~2.5 Msun), because the asteroseismic classification keeps the secondary clump.
KEPLER_RC_ONSET_MYR: float = 400.0


def miglio2021_red_clump_fraction(
    path=None,
    *,
    mass_min: float | None = None,
    tau_on=KEPLER_RC_ONSET_MYR,
    ages=None,
) -> TabulatedRedClumpFraction:
    """An ``f_RC(tau)`` for the clump stars of Miglio et al. (2021): the sample's own age selection.

    The clump stars of the file are not a random draw of core-helium-burning
    stars of each age: none has a mass below 1.20 Msun (186 lie between 1.2
    and 1.3 Msun), i.e. the sample was cut in mass, which for clump stars is
    a cut in age; and it keeps secondary-clump stars down to 0.5 Gyr, which
    the colour-gravity red-clump selection behind the default
    :class:`~diskorbits.migration.redclump.RedClumpFraction` (Bovy et al.
    2014) excludes. Both are selections on age that ``S(l, b, D)`` cannot
    describe, so they go into ``f_RC``::

        f(tau) = RedClumpFraction(tau_on)(tau) x P(M_obs >= mass_min | tau),

        P(M_obs >= mass_min | tau) = (1/N) sum_i Phi[(ln tau_cut([Fe/H]_i) - ln tau) / s],

    with ``ln tau_cut = c0 + c1 ln(mass_min) + c2 [Fe/H]`` from a least-squares
    fit of ``ln Age`` on ``ln Mass`` and [Fe/H] for the clump stars below
    1.8 Msun (the catalogue's ages are model ages from mass and [Fe/H]:
    ``c1 ~ -3.1``, ``c2 ~ 0.51``, scatter ~0.024), the sum over the clump stars'
    [Fe/H], and ``s`` the fit's scatter combined with the median mass
    uncertainty times ``|c1|``. The 50% point is near 5.5 Gyr. The file's other
    cut, ``Rad <= 11 Rsun`` for every star, also removes clump stars in a
    mass-dependent way that the file cannot tell; it is not corrected.

    Parameters
    ----------
    path : str, Path or astropy Table, optional
        The catalogue (default as :func:`read_kepler_miglio2021`).
    mass_min : float [Msun], optional
        Mass limit of the cut (default: the smallest clump mass in the file).
    tau_on : float [Myr] or time Quantity
        Onset age of :class:`~diskorbits.migration.redclump.RedClumpFraction`
        (default :data:`KEPLER_RC_ONSET_MYR`).
    ages : array_like [Myr] or time Quantity, optional
        Nodes of the table (default 0 to 14 Gyr every 10 Myr).

    Returns
    -------
    TabulatedRedClumpFraction
        Pass it as ``SurveySetup(..., red_clump=...)``.

    Raises
    ------
    ValueError
        If the catalogue lacks ``Mass`` or the columns of :func:`read_kepler_miglio2021`,
        or has too few clump stars to fit the relation.
    """
    from scipy.special import ndtr

    from .redclump import RedClumpFraction

    table, _ = _read(path)
    keys = _columns(table)
    for name in ("Mass", "b_Mass"):
        if name not in table.colnames:
            raise ValueError(f"not the Miglio et al. (2021) catalogue: missing column {name!r}")
    hi_key = next((k for k in ("b_mass_lc", "B_Mass") if k in table.colnames), None)
    if hi_key is None:
        raise ValueError("not the Miglio et al. (2021) catalogue: missing column 'b_mass_lc' or 'B_Mass'")
    col = lambda k: np.ma.filled(np.ma.asarray(table[k], dtype=np.float64), np.nan)
    age, feh, ev = col(keys["age"]), col(keys["feh"]), col(keys["evstate"])
    mass, m_lo, m_hi = col("Mass"), col("b_Mass"), col(hi_key)
    rc = (ev == RED_CLUMP_EVSTATE) & np.isfinite(age) & (age > 0) & np.isfinite(feh) & (mass > 0)
    if mass_min is None:
        mass_min = float(np.min(mass[rc]))
    mass_min = float(mass_min)
    if not mass_min > 0:
        raise ValueError(f"'mass_min' must be positive (Msun), got {mass_min!r}")
    fit_rows = rc & (mass < 1.8)
    if np.count_nonzero(fit_rows) < 10:
        raise ValueError(f"too few clump stars below 1.8 Msun ({np.count_nonzero(fit_rows)}) to fit the age-mass relation")
    X = np.stack([np.ones(np.count_nonzero(fit_rows)), np.log(mass[fit_rows]), feh[fit_rows]], axis=1)
    coef, *_ = np.linalg.lstsq(X, np.log(age[fit_rows]), rcond=None)
    scatter = float(np.std(np.log(age[fit_rows]) - X @ coef))
    with np.errstate(divide="ignore", invalid="ignore"):
        sig_lnm = np.nanmedian(0.5 * np.log(m_hi[rc] / m_lo[rc]))
    s = math.hypot(scatter, abs(coef[1]) * float(sig_lnm))
    ln_cut = coef[0] + coef[1] * math.log(mass_min) + coef[2] * feh[rc]
    grid = np.arange(0.0, 14000.0 + 5.0, 10.0) if ages is None else np.asarray(units.to_internal(ages, "time", "ages"), dtype=np.float64)
    tau_on_myr = float(units.to_internal(tau_on, "time", "tau_on")) if isinstance(tau_on, u.Quantity) else float(tau_on)
    base = np.asarray(RedClumpFraction(tau_on=tau_on_myr)(grid))
    with np.errstate(divide="ignore"):
        ln_tau = np.log(grid / units.GYR)
    p = np.mean(ndtr((ln_cut[None, :] - ln_tau[:, None]) / s), axis=1)
    return TabulatedRedClumpFraction(grid, np.clip(base * p, 0.0, 1.0))
