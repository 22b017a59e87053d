"""Action changes of an ensemble: the input of the coefficient fits (Modak et al. 2026, Sec. II.4).

:class:`ActionChanges` holds per-star changes ``dJ_R``, ``dJ_phi`` since t = 0
at a few times -- from a shearing-box run file (:meth:`ActionChanges.from_run`)
or a plain table (:meth:`ActionChanges.from_table`) -- or only the rms curves.
Internal units: t in Myr, actions in kpc^2/Myr.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import units
from .coefficients import PAPER_ACTION, j_star

__all__ = ["ActionChanges"]

# ============================================================================ data container


@dataclasses.dataclass(frozen=True)
class ActionChanges:
    """Action changes of an ensemble at a few times, per star or as rms curves only.

    Attributes
    ----------
    t_myr : ndarray [m]
        Times, Myr, strictly increasing and >= 0 (rows at t = 0 are ignored by fits).
    dJ_R, dJ_phi : ndarray [m, N] or None
        Per-star changes of the radial and azimuthal actions since t = 0, kpc^2/Myr.
        None for an rms-only data set.
    rms_dJR_given, rms_dJphi_given : ndarray [m] or None
        rms curves (kpc^2/Myr) of an rms-only data set; None when per-star data exist.
    mean_JR : ndarray [m] or None
        Ensemble-mean radial action <J_R>(t), kpc^2/Myr, if known (run files store it).
        Otherwise :meth:`mean_radial_action` estimates it.
    mean_JR0 : float
        Initial <J_R>, kpc^2/Myr (0 for a cold ensemble).
    J_star : float or None
        ``kappa / (2 k_*^2)`` (Eq. 42), kpc^2/Myr; needed by the automatic windows.
    tau_star : float or None
        Correlation time of the dominant fluctuations (Eq. 32), Myr.
    kappa : float or None
        Epicyclic frequency, 1/Myr (informational).
    label : str
    meta : dict
        Provenance (run name, seed, ISM preset, ...).
    """

    t_myr: np.ndarray
    dJ_R: np.ndarray | None = None
    dJ_phi: np.ndarray | None = None
    rms_dJR_given: np.ndarray | None = None
    rms_dJphi_given: np.ndarray | None = None
    mean_JR: np.ndarray | None = None
    mean_JR0: float = 0.0
    J_star: float | None = None
    tau_star: float | None = None
    kappa: float | None = None
    label: str = ""
    meta: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        t = np.asarray(self.t_myr, dtype=np.float64)
        if t.ndim != 1 or t.size == 0:
            raise ValueError(f"'t_myr' must be a non-empty 1-d array, got shape {t.shape}")
        if not np.all(np.isfinite(t)) or np.any(t < 0) or np.any(np.diff(t) <= 0):
            raise ValueError("'t_myr' must be finite, >= 0 and strictly increasing")
        object.__setattr__(self, "t_myr", t)
        per_star = self.dJ_R is not None or self.dJ_phi is not None
        rms_only = self.rms_dJR_given is not None or self.rms_dJphi_given is not None
        if per_star == rms_only:
            raise ValueError("give either per-star 'dJ_R' and 'dJ_phi' or rms curves 'rms_dJR_given' and "
                             "'rms_dJphi_given', not both or neither")
        names = ("dJ_R", "dJ_phi") if per_star else ("rms_dJR_given", "rms_dJphi_given")
        shape = (t.size, -1) if per_star else (t.size,)
        for name in names:
            v = getattr(self, name)
            if v is None:
                raise ValueError(f"{names[0]!r} and {names[1]!r} must be given together; {name!r} is missing")
            a = np.asarray(v, dtype=np.float64)
            if a.ndim != len(shape) or a.shape[0] != t.size:
                want = "[m, N]" if per_star else "[m]"
                raise ValueError(f"{name!r} must have shape {want} with m = len(t_myr) = {t.size}, got {a.shape}")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{name!r} holds {int(np.sum(~np.isfinite(a)))} NaN or infinite values")
            object.__setattr__(self, name, a)
        if per_star and self.dJ_R.shape != self.dJ_phi.shape:
            raise ValueError(f"'dJ_R' {self.dJ_R.shape} and 'dJ_phi' {self.dJ_phi.shape} differ in shape")
        if per_star and self.dJ_R.shape[1] < 2:
            raise ValueError("per-star data need at least 2 stars")
        if self.mean_JR is not None:
            m = np.asarray(self.mean_JR, dtype=np.float64)
            if m.shape != t.shape or not np.all(np.isfinite(m)):
                raise ValueError(f"'mean_JR' must be finite with shape {t.shape}, got {m.shape}")
            object.__setattr__(self, "mean_JR", m)
        if not (math.isfinite(float(self.mean_JR0)) and float(self.mean_JR0) >= 0):
            raise ValueError(f"'mean_JR0' must be finite and >= 0 (kpc^2/Myr), got {self.mean_JR0!r}")
        for name in ("J_star", "tau_star", "kappa"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(float(v)) and float(v) > 0):
                raise ValueError(f"{name!r} must be positive, got {v!r}")

    # ------------------------------------------------------------------ views

    @property
    def per_star(self) -> bool:
        """True when per-star changes are available (bootstrap possible)."""
        return self.dJ_R is not None

    @property
    def n_stars(self) -> int | None:
        return None if self.dJ_R is None else int(self.dJ_R.shape[1])

    def rms(self) -> tuple[np.ndarray, np.ndarray]:
        """``(rms dJ_R, rms dJ_phi)`` at :attr:`t_myr` (Eq. 25), kpc^2/Myr."""
        if self.per_star:
            return np.sqrt(np.mean(self.dJ_R**2, axis=1)), np.sqrt(np.mean(self.dJ_phi**2, axis=1))
        return self.rms_dJR_given, self.rms_dJphi_given

    def mean_radial_action(self) -> np.ndarray:
        """<J_R>(t), kpc^2/Myr: stored, else ``<J_R>_0 + <dJ_R>``, else ``<J_R>_0 + rms dJ_R / sqrt 2``.

        The last form (rms-only data) uses rms dJ_R = sqrt(2) <dJ_R> of an
        exponential distribution (the relation below Eq. 25), exact for a cold start.
        """
        if self.mean_JR is not None:
            return self.mean_JR
        if self.per_star:
            return self.mean_JR0 + np.mean(self.dJ_R, axis=1)
        return self.mean_JR0 + self.rms_dJR_given / math.sqrt(2.0)

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_run(cls, run, *, label: str | None = None) -> ActionChanges:
        """From a :class:`~diskorbits.shearingbox.run.ShearingBoxRun` or the path of its run file.

        Uses the per-star records (``run.stars``); ``<J_R>(t)`` comes from the
        run's ensemble curves. ``J_*`` is ``j_star(kappa, k_*)`` (Eq. 42) with
        kappa from the run's box and k_* (and tau_*, Eq. 32) from its ISM
        preset (the box preset's for a user snapshot field).

        Raises
        ------
        ValueError
            If the run has no per-star records yet.
        """
        # Imported here: diskorbits.shearingbox itself imports diskorbits.diffusion.
        from ..ism import ism_preset
        from ..shearingbox.run import read_run

        if isinstance(run, (str, os.PathLike)):
            run = read_run(run)
        t = np.asarray(run.star_t_myr, dtype=np.float64)
        if t.size == 0:
            raise ValueError(f"run {run.config.name!r} has no per-star records yet (too short or just started)")
        box = run.config.box.build()
        field = run.config.field
        preset = field.preset if field.kind == "mock" else run.config.box.preset
        model = ism_preset(preset)
        kappa = float(box.kappa)
        k_star = float(model.spectrum.k_star)
        stats_t = np.asarray(run.t_myr, dtype=np.float64)
        mean_JR = np.interp(t, stats_t, np.asarray(run.stats["mean_JR"], dtype=np.float64))
        return cls(
            t_myr=t,
            dJ_R=np.asarray(run.stars["dJ_R"]),
            dJ_phi=np.asarray(run.stars["dJ_phi"]),
            mean_JR=mean_JR,
            mean_JR0=float(run.stats["mean_JR"][0]),
            J_star=float(j_star(kappa, k_star)),
            tau_star=float(model.spectrum.tau_star),
            kappa=kappa,
            label=label if label is not None else (run.config.name or "run"),
            meta={
                "source": "shearing-box run",
                "run": run.config.name,
                "seed": int(run.config.run.seed),
                "ism_preset": preset,
                "field_kind": field.kind,
                "k_star_per_kpc": k_star,
                "sigma_R0_kms": float(run.config.stars.sigma_R0_kms),
                "sigma_z0_kms": float(run.config.stars.sigma_z0_kms),
                "complete": bool(run.complete),
            },
        )

    @classmethod
    def from_table(
        cls,
        table,
        *,
        columns: Mapping[str, str] | None = None,
        time_unit: str = "Gyr",
        action_unit: str = "kpc km/s",
        J_star=None,
        tau_star=None,
        mean_JR0=0.0,
        label: str | None = None,
        format: str | None = None,
    ) -> ActionChanges:
        """From a plain table: long format (one row per star and time) or rms curves only.

        Long format needs the columns ``star`` (any id), ``t``, ``dJ_R`` and
        ``dJ_phi``, with every star present at every time. An rms-only table
        needs ``t``, ``rms_dJR`` and ``rms_dJphi``; it can be fitted but has
        no per-star information, hence no bootstrap. An optional ``mean_JR``
        column (<J_R>(t)) helps the automatic windows of a warm ensemble.
        Column names are matched case-insensitively; common aliases are
        accepted (``star_id``/``id``, ``time``/``t_gyr``/``t_myr``,
        ``dJR``/``delta_J_R``, ``rms_dJ_R``, ...) and ``columns`` maps any of
        the standard names above to your own.

        Units: a column's astropy unit (ECSV, FITS, Parquet) wins; else a
        ``_gyr``/``_myr`` suffix on the time column's name; else
        ``time_unit`` (default Gyr) and ``action_unit`` (default kpc km/s,
        the paper's unit) for all action columns.

        Parameters
        ----------
        table : path, astropy.table.Table or mapping of column arrays
            Files: CSV, ECSV, FITS, Parquet (read with :func:`diskorbits.io.read_table`).
        columns : mapping, optional
            Standard name -> column name in the table, e.g. ``{"dJ_R": "DJR_kpckms"}``.
        time_unit, action_unit : str or astropy unit
            Units of unit-less time and action columns.
        J_star : float (kpc^2/Myr) or Quantity, optional
            ``kappa / (2 k_*^2)``; needed by ``windows="auto"`` in :func:`fit_diffusion`.
        tau_star : float (Myr) or Quantity, optional
            Fluctuation correlation time; the automatic windows assume
            :data:`DEFAULT_TAU_STAR_MYR` without it.
        mean_JR0 : float (kpc^2/Myr) or Quantity
            Initial <J_R> of the ensemble (0: cold).
        label : str, optional
        format : str, optional
            Table format when the extension does not tell it.

        Raises
        ------
        ValueError
            If a needed column is missing (the message lists the table's
            columns), holds NaN or masked values, or the long format is
            incomplete.
        """
        import astropy.units as u
        from astropy.table import Table

        source = "table"
        if isinstance(table, (str, os.PathLike)):
            from ..io import read_table

            source = str(table)
            table = read_table(table, format=format)
        elif isinstance(table, Mapping):
            table = Table(dict(table))
        elif not isinstance(table, Table):
            raise TypeError(f"'table' must be a path, an astropy Table or a mapping of columns, got {type(table)}")
        colnames = list(table.colnames)
        lower = {c.lower(): c for c in colnames}
        aliases = {
            "star": ("star", "star_id", "id", "source_id", "particle", "index"),
            "t": ("t", "time", "t_gyr", "t_myr", "time_gyr", "time_myr"),
            "dJ_R": ("dj_r", "djr", "delta_j_r", "delta_jr", "dj_r_kpckms"),
            "dJ_phi": ("dj_phi", "djphi", "delta_j_phi", "delta_jphi", "dj_phi_kpckms"),
            "rms_dJR": ("rms_djr", "rms_dj_r", "rms_delta_j_r"),
            "rms_dJphi": ("rms_djphi", "rms_dj_phi", "rms_delta_j_phi"),
            "mean_JR": ("mean_jr", "mean_j_r"),
        }
        user = dict(columns or {})
        unknown = sorted(set(user) - set(aliases))
        if unknown:
            raise ValueError(f"'columns' keys must be among {sorted(aliases)}, got {unknown}")

        def find(std):
            if std in user:
                if user[std] not in colnames:
                    raise ValueError(f"column {user[std]!r} (given for {std!r}) is not in the table; "
                                     f"available columns: {colnames}")
                return user[std]
            for a in aliases[std]:
                if a in lower:
                    return lower[a]
            return None

        found = {std: find(std) for std in aliases}
        per_star = found["dJ_R"] is not None or found["dJ_phi"] is not None
        needed = ("star", "t", "dJ_R", "dJ_phi") if per_star else ("t", "rms_dJR", "rms_dJphi")
        if not per_star and found["rms_dJR"] is None and found["rms_dJphi"] is None:
            raise ValueError(
                "the table has neither per-star columns (star, t, dJ_R, dJ_phi) nor rms columns "
                f"(t, rms_dJR, rms_dJphi); available columns: {colnames} (map yours with columns={{...}})"
            )
        for std in needed:
            if found[std] is None:
                raise ValueError(
                    f"column {std!r} not found (looked for {list(aliases[std])}); available columns: {colnames}"
                )

        def values(std, unit=None, default_unit=None):
            name = found[std]
            col = table[name]
            mask = np.asarray(getattr(col, "mask", np.zeros(len(col), bool)), dtype=bool)
            if std == "star":
                if mask.any():
                    raise ValueError(f"column {name!r} ({std}) has {int(mask.sum())} masked values")
                return np.asarray(col)
            raw = np.asarray(col, dtype=np.float64)
            bad = mask | ~np.isfinite(raw)
            if bad.any():
                raise ValueError(f"column {name!r} ({std}) has {int(bad.sum())} NaN, infinite or masked values")
            if getattr(col, "unit", None) is not None and str(col.unit) != "":
                try:
                    return (raw * col.unit).to_value(unit)
                except u.UnitConversionError:
                    raise ValueError(f"column {name!r} has unit {col.unit}, not convertible to {unit}") from None
            return (raw * u.Unit(default_unit)).to_value(unit)

        tname = found["t"].lower()
        t_default = "Gyr" if tname.endswith("gyr") else "Myr" if tname.endswith("myr") else time_unit
        t_all = values("t", u.Myr, t_default)
        act = u.kpc * u.km / u.s

        def action(std):
            return values(std, act, action_unit) * PAPER_ACTION

        kw: dict[str, Any] = {}
        if per_star:
            star = values("star")
            dJR, dJp = action("dJ_R"), action("dJ_phi")
            times, ti = np.unique(t_all, return_inverse=True)
            ids, si = np.unique(star, return_inverse=True)
            m, n = times.size, ids.size
            count = np.zeros((m, n), dtype=np.int64)
            np.add.at(count, (ti, si), 1)
            if np.any(count != 1):
                missing, dup = int(np.sum(count == 0)), int(np.sum(count > 1))
                raise ValueError(
                    f"long-format table must hold every star at every time exactly once: {n} stars x {m} times, "
                    f"{missing} (star, time) pairs missing and {dup} duplicated"
                )
            grid_R = np.empty((m, n))
            grid_p = np.empty((m, n))
            grid_R[ti, si] = dJR
            grid_p[ti, si] = dJp
            kw.update(dJ_R=grid_R, dJ_phi=grid_p)
        else:
            order = np.argsort(t_all)
            times = t_all[order]
            if np.any(np.diff(times) <= 0):
                raise ValueError(f"rms-only table has repeated times in column {found['t']!r}")
            kw.update(rms_dJR_given=action("rms_dJR")[order], rms_dJphi_given=action("rms_dJphi")[order])
        if found["mean_JR"] is not None:
            mj = action("mean_JR")
            if per_star:
                # one value per time: take the first row of each time
                first = np.unique(ti, return_index=True)[1]
                mj = mj[first]
            else:
                mj = mj[order]
            kw["mean_JR"] = mj
        return cls(
            t_myr=times,
            mean_JR0=float(units.to_internal(mean_JR0, "action", "mean_JR0")),
            J_star=None if J_star is None else float(units.to_internal(J_star, "action", "J_star")),
            tau_star=None if tau_star is None else float(units.to_internal(tau_star, "time", "tau_star")),
            label=label if label is not None else (Path(source).stem if source != "table" else "table"),
            meta={"source": source, "columns": {k: v for k, v in found.items() if v is not None}},
            **kw,
        )


