"""Catalogue -> actions table: the pipeline behind ``diskorbits actions`` and the demo.

Pipeline: :func:`diskorbits.io.read_catalogue` -> Galactocentric cylinder
(:mod:`diskorbits.frames`, with the chosen solar parameters for observed
catalogues) -> :func:`diskorbits.actions.compute_actions` in chunks through
:class:`diskorbits.parallel.Executor` -> :func:`diskorbits.io.write_table`.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

__all__ = ["run_actions", "build_potential", "build_method", "POTENTIALS", "OUTPUT_UNITS"]

#: Output columns and the units they are written in (the field's habits).
OUTPUT_UNITS: dict[str, str] = {
    "J_R": "kpc km / s",
    "J_phi": "kpc km / s",
    "J_z": "kpc km / s",
    "theta_R": "rad",
    "theta_phi": "rad",
    "theta_z": "rad",
    "Omega_R": "km / (kpc s)",
    "Omega_phi": "km / (kpc s)",
    "Omega_z": "km / (kpc s)",
    "r_peri": "kpc",
    "r_apo": "kpc",
    "z_max": "kpc",
    "eccentricity": "",
}

#: Output flag bits (ORed): catalogue problems, then the action engine's verdict.
FLAG_MISSING_INPUT = 1
FLAG_BAD_PARALLAX = 2
FLAG_ACTIONS_FAILED = 4

#: Potential presets by CLI name; built lazily (they are someone else's module).
POTENTIALS = ("mw2014", "milkyway")
#: The potential each frame preset was used with in its paper.
_FRAME_POTENTIAL = {"frankel2020": "mw2014", "pw2021": "milkyway"}


def build_potential(name: str):
    """The potential preset ``name`` (``mw2014`` or ``milkyway``).

    ``mw2014``: galpy's MWPotential2014 scaled to R0 = 8.2 kpc, v0 = 235 km/s
    as in Frankel et al. (2020); ``milkyway``: gala's MilkyWayPotential
    (v1.2) as in Price-Whelan et al. (2021).
    """
    from . import potentials

    if name == "mw2014":
        factory, kwargs = getattr(potentials, "MWPotential2014", None), {"ro": 8.2, "vo": 235.0}
    elif name == "milkyway":
        factory, kwargs = getattr(potentials, "MilkyWayPotential", None), {}
    else:
        raise ValueError(f"unknown potential {name!r}; choose one of {list(POTENTIALS)}")
    if factory is None:
        raise ValueError(f"potential preset {name!r} is not available in this build of diskorbits.potentials")
    return factory(**kwargs)


def build_method(name: str):
    from .actions import Epicycle, StaeckelFudge

    methods = {"staeckel": StaeckelFudge, "epicycle": Epicycle}
    if name not in methods:
        raise ValueError(f"unknown action method {name!r}; choose one of {list(methods)}")
    return methods[name]()


def _actions_chunk(payload):
    """Worker: actions of one chunk (module level so it pickles for processes/Dask)."""
    from . import units
    from .actions import ActionWarning, compute_actions

    potential, method, cols = payload
    with warnings.catch_warnings():
        # flagged stars are summarised once for the whole catalogue
        warnings.simplefilter("ignore", ActionWarning)
        res = compute_actions(
            potential, cols["R"], cols["z"], cols["v_R"], cols["v_phi"], cols["v_z"], phi=cols["phi"], method=method
        )
    scale = {"J_R": units.KPC_KMS, "J_phi": units.KPC_KMS, "J_z": units.KPC_KMS}
    scale.update({k: units.KMS_KPC for k in ("Omega_R", "Omega_phi", "Omega_z")})
    out = {k: np.asarray(getattr(res, k), dtype=np.float64) / scale.get(k, 1.0) for k in OUTPUT_UNITS}
    out["actions_flag"] = np.asarray(res.flag, dtype=np.int32)
    return out


def _summary(table, n_flagged_input: int, meta: dict) -> dict:
    ok = np.asarray(table["flag"]) == 0
    med = {}
    for k in ("J_R", "J_phi", "J_z", "Omega_R", "Omega_phi", "Omega_z", "r_peri", "r_apo", "z_max", "eccentricity"):
        v = np.asarray(table[k], dtype=float)[ok]
        med[k] = float(np.median(v)) if v.size else None
    return {
        "N": len(table),
        "N_flagged": int(np.count_nonzero(~ok)),
        "N_flagged_input": int(n_flagged_input),
        "medians": med,
        "units": {k: OUTPUT_UNITS[k] for k in med},
        **meta,
    }


def run_actions(
    input: Path,
    output: Path,
    *,
    potential: str | None = None,
    frame: str = "frankel2020",
    columns: list[str] | None = None,
    method: str = "staeckel",
    chunk_size: int = 2000,
    workers: int = 1,
    scheduler: str | None = None,
    progress=None,
    overwrite: bool = False,
) -> dict:
    """The work behind ``diskorbits actions``; returns the summary dict.

    Raises ``ValueError``/``FileNotFoundError``/``FileExistsError`` with
    messages meant for the user (the CLI prints them without a traceback).
    """
    from . import __version__, frames
    from .io import ColumnMapping, read_catalogue, read_column_mapping, write_table
    from .parallel import Executor

    sun = frames.get_solar_parameters(frame)
    potential = potential or _FRAME_POTENTIAL[frame.lower()]
    pot = build_potential(potential)
    meth = build_method(method)
    if Path(output).exists() and not overwrite:
        raise FileExistsError(f"output file {str(output)!r} exists; pass --overwrite")

    mapping = ColumnMapping()
    options = []
    for item in columns or []:
        if "=" not in item and Path(item).suffix.lower() == ".toml":
            if not Path(item).exists():
                raise FileNotFoundError(f"column mapping file {item!r} does not exist")
            mapping = mapping.merged(read_column_mapping(item))
        else:
            options.append(item)
    if options:
        mapping = mapping.merged(ColumnMapping.from_options(options))

    cat = read_catalogue(input, mapping if (mapping.columns or mapping.kind or mapping.units) else None)
    cyl = cat.galactocentric(sun)
    cols = {k: np.asarray(v, dtype=np.float64) for k, v in cyl._asdict().items()}

    n = len(cat)
    slices = [slice(i, min(i + chunk_size, n)) for i in range(0, n, chunk_size)]
    payloads = [(pot, meth, {k: v[s] for k, v in cols.items()}) for s in slices]
    executor = Executor(n_workers=workers, scheduler=scheduler, progress=progress)
    parts = executor.map(_actions_chunk, payloads, description=f"actions ({n} stars)")
    result = {k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0) for k in list(OUTPUT_UNITS) + ["actions_flag"]}

    from astropy.table import Table

    table = Table(cat.table, copy=False)
    clashes = [c for c in table.colnames if c in OUTPUT_UNITS or c in ("flag", "actions_flag")]
    table = Table(table, copy=True) if clashes else table
    for c in clashes:
        table.rename_column(c, f"{c}_input")
    flag = np.asarray(cat.flag, dtype=np.int32).copy()
    flag |= np.where(result["actions_flag"] != 0, FLAG_ACTIONS_FAILED, 0).astype(np.int32)
    for k, unit in OUTPUT_UNITS.items():
        table[k] = result[k]
        table[k].unit = unit or None
    table["flag"] = flag
    table["actions_flag"] = result["actions_flag"]
    # keep run provenance in the file itself
    meta = {
        "diskorbits_version": __version__,
        "command": "actions",
        "frame": frame.lower(),
        "potential": potential,
        "method": method,
        "input": str(input),
        "input_layout": f"{cat.kind}:{cat.schema}",
        "input_columns": json.dumps(cat.columns),
        "flag_bits": "1=missing input, 2=parallax<=0, 4=actions failed (see actions_flag)",
    }
    table.meta = {k: v for k, v in table.meta.items() if isinstance(v, (str, int, float))}
    table.meta.update(meta)
    table.meta["solar_parameters"] = json.dumps(sun.describe())
    write_table(table, output, overwrite=overwrite)
    summary = _summary(table, cat.n_flagged, {**meta, "output": str(output), "renamed_input_columns": clashes})
    summary["solar_parameters"] = sun.describe()
    return summary


