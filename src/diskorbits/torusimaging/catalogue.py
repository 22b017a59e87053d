"""Catalogue files -> :class:`~diskorbits.torusimaging.OTIData`, and the extras of ``oti fit`` result files.

:func:`load_oti_catalogue` reads either layout the ``diskorbits oti`` commands
produce or consume:

* a mock written by :func:`~diskorbits.torusimaging.write_mock_catalogue`
  (``diskorbits oti mock``): APOGEE/Gaia-like columns plus the truth and the
  configuration in the header, which is returned as ``truth``;
* an APOGEE DR17 x Gaia allStar-like table, typically the output of
  ``diskorbits oti select`` (which adds ``DISTANCE`` = 1 / parallax, kpc).

The phase-space columns are found by :func:`diskorbits.io.catalogue_from_table`
(its built-in Gaia / APOGEE schemas; a ``DISTANCE`` column is preferred over
the parallax); the abundance ratios by their allStar names (``FE_H``,
``O_FE``, ... or ``[O/Fe]``, case-insensitive) with ``X_ERR`` errors.
Rows with incomplete phase space, non-positive parallax or a missing
(NaN, masked or APOGEE's -9999 sentinel) abundance or error are dropped and
counted; a missing *column* is a :class:`ValueError` naming it.

:func:`write_oti_fit` / :func:`read_oti_fit_extras` store what the CLI adds to
:func:`~diskorbits.torusimaging.write_oti_result` -- the catalogue path, the
elements, the mock truth and an optional :class:`~diskorbits.torusimaging.A2Scan`
-- in a separate ``cli`` group of the same HDF5 file, written atomically.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "PW2021_TABLE1",
    "OTICatalogue",
    "load_oti_catalogue",
    "oti_data_from_catalogue",
    "read_oti_fit_extras",
    "write_oti_fit",
]

_SENTINEL = -9000.0

#: PW2021 Table 1 (joint estimates), in the paper's units: (value, error); disk mass in Msun.
PW2021_TABLE1: dict[str, dict[str, tuple[float, float]]] = {
    "all eight ratios": {
        "disk_mass_factor": (1.21, 0.04),
        "h_z": (0.27, 0.01),
        "z_sun": (16.9, 0.8),
        "v_z_sun": (8.8, 0.2),
        "disk_mass": (7.89e10, 0.26e10),
        "disk_to_halo_mass_ratio": (2.11, 0.21),
    },
    "without [Mg/Fe], [Si/Fe]": {
        "disk_mass_factor": (1.07, 0.05),
        "h_z": (0.28, 0.01),
        "z_sun": (20.6, 0.9),
        "v_z_sun": (8.4, 0.3),
        "disk_mass": (6.98e10, 0.32e10),
        "disk_to_halo_mass_ratio": (1.51, 0.16),
    },
}


@dataclasses.dataclass(frozen=True, eq=False)
class OTICatalogue:
    """A catalogue ready for OTI.

    Attributes
    ----------
    data : OTIData
        The complete rows (ratio names are the allStar column names).
    path : str
    layout : str
        ``'mock'`` (a ``diskorbits oti mock`` file) or the phase-space schema
        name (``'apogee_dr17'``, ``'gaia'``, ...).
    n_input, n_dropped : int
        Rows read and rows dropped as incomplete.
    truth : dict or None
        For mocks: ``disk_mass_factor``, ``h_z_kpc``, ``z_sun_pc``, ``v_z_sun_kms``.
    """

    data: object
    path: str
    layout: str
    n_input: int
    n_dropped: int
    truth: dict | None = None

    def describe(self) -> dict:
        return {
            "path": self.path,
            "layout": self.layout,
            "n_input": self.n_input,
            "n_dropped": self.n_dropped,
            "n_stars": int(self.data.n_stars),
            "elements": list(self.data.ratio_names),
            "truth": self.truth,
        }


def _find(table, name: str) -> str | None:
    if name in table.colnames:
        return name
    low = {c.lower(): c for c in table.colnames}
    return low.get(name.lower())


def _float(table, col: str) -> np.ndarray:
    data = np.ma.filled(np.ma.asarray(table[col]).astype(np.float64), np.nan)
    data = np.asarray(data, dtype=np.float64)
    return np.where(data <= _SENTINEL, np.nan, data)


def _mock_truth(path: Path) -> dict | None:
    from .mock_config import read_mock_header

    try:
        cfg, _ = read_mock_header(path)
    except (ValueError, OSError, KeyError, IndexError):  # not a mock (no header, other format): no truth
        return None
    d = cfg.doc
    return {
        "disk_mass_factor": float(d["potential"]["disk_mass_factor"]),
        "h_z_kpc": float(d["potential"]["h_z_kpc"]),
        "z_sun_pc": float(d["sun"]["z_sun_pc"]),
        "v_z_sun_kms": float(d["sun"]["v_z_sun_kms"]),
    }


def load_oti_catalogue(path: str | Path, elements: Sequence[str]) -> OTICatalogue:
    """Read a mock or APOGEE-like catalogue into :class:`OTICatalogue`.

    Parameters
    ----------
    path : str or Path
        FITS, CSV, ECSV or Parquet file.
    elements : sequence of str
        Abundance ratios (``'FE_H'``, ``'O_FE'``, ``'[Mg/Fe]'``, ...); each needs
        a value column and an ``_ERR`` column.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``elements`` is empty or malformed, an element or error column or
        a phase-space column is missing (the message names them and the
        file), the phase space is not observed (RA/Dec/...), or fewer than two
        complete rows remain.
    """
    from ..io.catalogues import catalogue_from_table, read_table
    from .apogee import element_column
    from .objective import OTIData

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"catalogue {str(path)!r} does not exist")
    names = [element_column(e) for e in elements]
    if not names:
        raise ValueError("no elements given; e.g. --elements FE_H,O_FE")
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate elements in {list(elements)!r}")
    table = read_table(path)
    missing, cols = [], []
    for n in names:
        c, ce = _find(table, n), _find(table, n + "_ERR")
        if c is None:
            missing.append(n)
        if ce is None:
            missing.append(n + "_ERR")
        cols.append((c, ce))
    if missing:
        have = [c for c in table.colnames if c.upper().endswith("_FE") or c.upper() == "FE_H"]
        raise ValueError(
            f"{str(path)!r} lacks the abundance column(s) {', '.join(missing)}"
            + (f"; abundance columns present: {', '.join(have)}" if have else "")
        )
    cat = catalogue_from_table(table)
    if cat.kind != "observed":
        raise ValueError(
            f"{str(path)!r} has {cat.kind} phase-space columns ({cat.schema}); OTI needs observed "
            "RA, DEC, parallax or distance, proper motions and a radial velocity"
        )
    v = cat.values
    if "distance" in v:
        dist = v["distance"].to_value("kpc")
    else:
        plx = v["parallax"].to_value("mas")
        dist = np.where(plx > 0, 1.0 / np.where(plx > 0, plx, 1.0), np.nan)
    y = np.stack([_float(table, c) for c, _ in cols], axis=1)
    e = np.stack([_float(table, ce) for _, ce in cols], axis=1)
    obs = [v["ra"].to_value("deg"), v["dec"].to_value("deg"), dist, v["pmra"].to_value("mas/yr"),
           v["pmdec"].to_value("mas/yr"), v["rv"].to_value("km/s")]
    good = (cat.flag == 0) & np.all(np.isfinite(np.stack(obs)), axis=0) & (dist > 0)
    good &= np.all(np.isfinite(y), axis=1) & np.all(np.isfinite(e) & (e >= 0), axis=1)
    n_good = int(good.sum())
    if n_good < 2:
        raise ValueError(
            f"{str(path)!r}: only {n_good} of {len(table)} rows have complete phase space and "
            f"finite {', '.join(names)} with errors"
        )
    data = OTIData.from_observed(*(o[good] for o in obs), y[good], e[good], ratio_names=names)
    truth = _mock_truth(path) if path.suffix.lower() in (".fits", ".fit", ".fts") else None
    return OTICatalogue(
        data=data,
        path=str(path.resolve()),
        layout="mock" if truth is not None else cat.schema,
        n_input=len(table),
        n_dropped=len(table) - n_good,
        truth=truth,
    )


def oti_data_from_catalogue(path: str | Path, elements: Sequence[str]):
    """Just the :class:`~diskorbits.torusimaging.OTIData` of :func:`load_oti_catalogue`."""
    return load_oti_catalogue(path, elements).data


# ----------------------------------------------------------------------------- result files
def write_oti_fit(path: str | Path, result, *, extras: dict | None = None, scan=None, scan_info: dict | None = None):
    """:func:`write_oti_result` plus a ``cli`` group (JSON ``extras``; optional a2 scan), atomically.

    ``scan`` is an :class:`~diskorbits.torusimaging.A2Scan`; ``scan_info``
    (e.g. ``{"ratio": "FE_H", "theta": [...]}``) is stored with it.
    """
    import h5py

    from ..io.atomic import atomic_path
    from .inference import write_oti_result

    with atomic_path(path) as tmp:
        write_oti_result(tmp, result)
        with h5py.File(tmp, "a") as h:
            g = h.create_group("cli")
            g.attrs["format"] = "diskorbits.oti_cli/1"
            g.attrs["extras"] = json.dumps(extras or {}, default=str)
            if scan is not None:
                s = g.create_group("a2_scan")
                s.create_dataset("mass_factors", data=np.asarray(scan.mass_factors))
                s.create_dataset("coefficients", data=np.asarray(scan.coefficients))
                s.attrs["crossing"] = float(scan.crossing)
                s.attrs["crossing_error"] = float(scan.crossing_error)
                s.attrs["info"] = json.dumps(scan_info or {}, default=str)
    return Path(path)


def read_oti_fit_extras(path: str | Path) -> tuple[dict, dict, object | None, dict]:
    """``(summary, extras, scan, scan_info)`` of a result file without touching JAX.

    ``summary`` is the stored :meth:`OTIInference.to_dict`; ``extras`` and the
    scan are empty/``None`` for files written by :func:`write_oti_result` alone.

    Raises
    ------
    FileNotFoundError, ValueError
        For a missing file or one that is not an OTI result.
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"result file {str(path)!r} does not exist")
    try:
        h = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{str(path)!r} is not an HDF5 file ({exc})") from None
    with h:
        if h.attrs.get("format") != "diskorbits.oti_inference/1":
            raise ValueError(f"{str(path)!r} is not a diskorbits OTI result (write one with 'diskorbits oti fit')")
        summary = json.loads(h.attrs["summary"])
        extras, scan, info = {}, None, {}
        if "cli" in h:
            g = h["cli"]
            extras = json.loads(g.attrs.get("extras", "{}"))
            if "a2_scan" in g:
                from .inference import A2Scan

                s = g["a2_scan"]
                scan = A2Scan(
                    mass_factors=s["mass_factors"][()],
                    coefficients=s["coefficients"][()],
                    crossing=float(s.attrs["crossing"]),
                    crossing_error=float(s.attrs["crossing_error"]),
                )
                info = json.loads(s.attrs.get("info", "{}"))
    return summary, extras, scan, info
