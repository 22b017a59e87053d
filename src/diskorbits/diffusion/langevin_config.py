"""Configuration of a Langevin diffusion run, read from TOML and validated.

A run is described by three tables; keys are in the units their names say
(km/s, km/s/kpc, Myr, Gyr; diffusion coefficients in the paper's
(kpc km/s)^2/Gyr with ``J_R`` in kpc km/s). Example (the paper's R8
coefficients acting on a cold population)::

    name = "r8_langevin"

    [run]
    seed = 1
    n_stars = 1000000
    duration_gyr = 10.0
    dt_myr = "auto"              # or a number; "auto" = tau_b / 4 (22 Myr for R8)
    n_outputs = 40               # log-spaced output times ...
    t_min_myr = 1.0              # ... from t_min_myr to duration_gyr
    n_store = 1000               # stars whose action changes are kept at every output
    checkpoint_every_gyr = 1.0

    [coefficients]
    preset = "R8"                # R8 | LGR4 | LGR4-predicted (Eqs. 40-41, A1-A4)
    scale = 1.0                  # multiplies both coefficients (A^2, Sec. III.2)

    [stars]
    sigma_R0_kms = 0.0           # Schwarzschild DF, <J_R>_0 = sigma_R0^2 / kappa (Eq. 19)
    box = "R8"                   # kappa (and nu) from the shearing-box preset ...
    # kappa_kms_kpc = 39.6       # ... or given directly
    # sigma_z_kms = 10.0         # fixed J_z ~ exp(mean sigma_z^2 / nu); per-star xi(J_z), Eq. 46
    # ism = "R8"                 # gas layer (k_*, H, profile) for Eq. 46

Coefficients come from exactly one of ``preset``; the five explicit numbers
``rr_long, rr_short, pp_long, pp_short, J_star`` (Eqs. 40-42: D_RR and
D_phiphi in the long/short-wavelength regimes, ``J_star`` in kpc km/s,
optional ``alpha_R = [1.0, -0.5]``, ``alpha_phi = [0.0, -0.5]``); or
``fit = "path.json"``. A fit file is JSON whose top level -- or whose
``"coefficients"`` entry, as written by the fit helper -- has the layout of
:meth:`~diskorbits.diffusion.coefficients.DiffusionCoefficients.to_paper_units`::

    {"J_star_kpc_kms": 0.2,
     "D_RR":     {"long":  {"coefficient": 9.3,    "alpha": 1.0},
                  "short": {"coefficient": 6.9,    "alpha": -0.5}},
     "D_phiphi": {"long":  {"coefficient": 6900.0, "alpha": 0.0},
                  "short": {"coefficient": 4600.0, "alpha": -0.5}}}

(``alpha`` may be omitted: 1, -1/2 for D_RR and 0, -1/2 for D_phiphi; a
relative path is taken from the configuration file's directory.)

Unknown keys, wrong types and out-of-range values raise
:class:`~diskorbits.shearingbox.config.ConfigError` naming ``table.key``.
:meth:`LangevinConfig.to_toml` writes the resolved configuration stored in
every run file.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from .._tomlconfig import ConfigError, _check_keys, _number, dump_toml, read_toml

__all__ = [
    "ConfigError",
    "LangevinRunSettings",
    "CoefficientSettings",
    "LangevinStarSettings",
    "LangevinConfig",
    "load_langevin_config",
    "coefficients_from_fit_json",
]

_PRESETS = ("R8", "LGR4", "LGR4-predicted")
_EXPLICIT = ("rr_long", "rr_short", "pp_long", "pp_short", "J_star")


def _preset_name(table: str, key: str, value: Any, choices) -> str:
    if isinstance(value, str):
        for c in choices:
            if value.upper() == c.upper():
                return c
    raise ConfigError(f"{table}.{key} must be one of {', '.join(choices)}; got {value!r}")


@dataclasses.dataclass(frozen=True)
class LangevinRunSettings:
    """Length, resolution, size and bookkeeping of a Langevin run.

    Attributes
    ----------
    seed : int
        Seeds the initial actions, the vertical actions and the noise.
    n_stars : int
    duration_gyr : float
    dt_myr : float or "auto"
        Nominal step; "auto" -> :func:`~diskorbits.diffusion.langevin.default_dt`.
    n_outputs : int
        Number of log-spaced output times.
    t_min_myr : float
        First output time, Myr.
    n_store : int
        Number of stars whose action changes are stored at every output.
    checkpoint_every_gyr : float
        Simulated time between checkpoints (taken at output times), Gyr.
    """

    seed: int = 0
    n_stars: int = 100_000
    duration_gyr: float = 10.0
    dt_myr: float | str = "auto"
    n_outputs: int = 40
    t_min_myr: float = 1.0
    n_store: int = 1000
    checkpoint_every_gyr: float = 1.0

    @classmethod
    def from_dict(cls, d: dict) -> "LangevinRunSettings":
        t = "run"
        _check_keys(t, d, {f.name for f in dataclasses.fields(cls)})
        out: dict[str, Any] = {}
        if "seed" in d:
            out["seed"] = _number(t, "seed", d["seed"], lo=0, hi=2**32 - 1, integer=True)
        if "n_stars" in d:
            out["n_stars"] = _number(t, "n_stars", d["n_stars"], lo=1, hi=10**9, integer=True)
        if "duration_gyr" in d:
            out["duration_gyr"] = _number(t, "duration_gyr", d["duration_gyr"], lo=0, lo_open=True, hi=100)
        if "dt_myr" in d:
            v = d["dt_myr"]
            if isinstance(v, str):
                if v.lower() != "auto":
                    raise ConfigError(f'run.dt_myr must be a positive number or "auto"; got {v!r}')
                out["dt_myr"] = "auto"
            else:
                out["dt_myr"] = _number(t, "dt_myr", v, lo=0, lo_open=True, hi=10_000)
        if "n_outputs" in d:
            out["n_outputs"] = _number(t, "n_outputs", d["n_outputs"], lo=1, hi=10_000, integer=True)
        if "t_min_myr" in d:
            out["t_min_myr"] = _number(t, "t_min_myr", d["t_min_myr"], lo=0, lo_open=True)
        if "n_store" in d:
            out["n_store"] = _number(t, "n_store", d["n_store"], lo=0, hi=10**7, integer=True)
        if "checkpoint_every_gyr" in d:
            out["checkpoint_every_gyr"] = _number(
                t, "checkpoint_every_gyr", d["checkpoint_every_gyr"], lo=0, lo_open=True
            )
        s = cls(**out)
        if s.t_min_myr > 1e3 * s.duration_gyr:
            raise ConfigError(
                f"run.t_min_myr ({s.t_min_myr}) must not exceed the duration ({1e3 * s.duration_gyr} Myr)"
            )
        return s

    def output_times(self):
        """The output times in Myr (log-spaced, end included)."""
        from .langevin import log_output_times

        return log_output_times(1e3 * self.duration_gyr, self.n_outputs, self.t_min_myr)


@dataclasses.dataclass(frozen=True)
class CoefficientSettings:
    """Where the diffusion coefficients come from (one of ``preset``, explicit values, ``fit``)."""

    preset: str | None = "R8"
    explicit: tuple[tuple[str, Any], ...] = ()
    fit: str | None = None
    scale: float = 1.0

    @classmethod
    def from_dict(cls, d: dict, base_dir: Path | None = None) -> "CoefficientSettings":
        t = "coefficients"
        _check_keys(t, d, {"preset", "fit", "scale", "alpha_R", "alpha_phi", *_EXPLICIT})
        given_explicit = [k for k in (*_EXPLICIT, "alpha_R", "alpha_phi") if k in d]
        sources = [name for name, present in (("preset", "preset" in d), ("fit", "fit" in d),
                                              ("explicit values", bool(given_explicit))) if present]  # fmt: skip
        if len(sources) > 1:
            raise ConfigError(f"[coefficients] takes one of preset, fit or explicit values; got {' and '.join(sources)}")
        scale = _number(t, "scale", d["scale"], lo=0, lo_open=True) if "scale" in d else 1.0
        if "fit" in d:
            v = d["fit"]
            if not isinstance(v, str) or not v:
                raise ConfigError(f"coefficients.fit must be a file name; got {v!r}")
            p = Path(v).expanduser()
            if not p.is_absolute() and base_dir is not None:
                p = base_dir / p
            if not p.exists():
                raise ConfigError(f"coefficients.fit: file not found: {p}")
            coefficients_from_fit_json(p)  # validate now, with the key in the message
            return cls(preset=None, fit=str(p), scale=scale)
        if given_explicit:
            missing = [k for k in _EXPLICIT if k not in d]
            if missing:
                raise ConfigError(f"coefficients.{missing[0]} is required with explicit coefficients (need {', '.join(_EXPLICIT)})")
            vals: list[tuple[str, Any]] = [(k, _number(t, k, d[k], lo=0, lo_open=True)) for k in _EXPLICIT]
            for k in ("alpha_R", "alpha_phi"):
                if k in d:
                    v = d[k]
                    if not isinstance(v, list) or len(v) != 2:
                        raise ConfigError(f"coefficients.{k} must be a pair [long, short]; got {v!r}")
                    pair = tuple(_number(t, k, x, lo=-1, lo_open=True, hi=1.999) for x in v)
                    if not pair[0] > pair[1]:
                        raise ConfigError(f"coefficients.{k} must have long > short index; got {v!r}")
                    vals.append((k, pair))
            s = cls(preset=None, explicit=tuple(vals), scale=scale)
            try:
                s.build()
            except ValueError as exc:
                raise ConfigError(f"coefficients: {exc}") from None
            return s
        preset = _preset_name(t, "preset", d.get("preset", "R8"), _PRESETS)
        return cls(preset=preset, scale=scale)

    def build(self):
        """The :class:`~diskorbits.diffusion.coefficients.DiffusionCoefficients` (internal units), scaled."""
        from .coefficients import DiffusionCoefficients, diffusion_preset

        if self.fit is not None:
            D = coefficients_from_fit_json(self.fit)
        elif self.explicit:
            kw = dict(self.explicit)
            D = DiffusionCoefficients.from_paper_units(name="explicit", **kw)
        else:
            D = diffusion_preset(self.preset)
        return D if self.scale == 1.0 else D.scaled(self.scale)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {}
        if self.fit is not None:
            out["fit"] = self.fit
        elif self.explicit:
            for k, v in self.explicit:
                out[k] = list(v) if isinstance(v, tuple) else v
        else:
            out["preset"] = self.preset
        out["scale"] = self.scale
        return out


def coefficients_from_fit_json(path):
    """Coefficients from a fit JSON (see :func:`~diskorbits.diffusion.fit.load_fit_coefficients`);
    errors name ``coefficients.fit``."""
    from .fit import load_fit_coefficients

    try:
        return load_fit_coefficients(Path(path))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"coefficients.fit ({path}): {exc}") from None


@dataclasses.dataclass(frozen=True)
class LangevinStarSettings:
    """Initial radial actions and the (fixed) vertical actions of the population.

    Attributes
    ----------
    sigma_R0_kms : float
        Initial radial dispersion; ``J_R`` exponential with mean ``sigma_R0^2 / kappa`` (Eq. 19).
    box : str or None
        Shearing-box preset (R8, LGR4) supplying kappa and nu; the default when
        ``kappa_kms_kpc`` is not given.
    kappa_kms_kpc, nu_kms_kpc : float or None
        Epicyclic and vertical frequencies given directly (instead of ``box``).
    sigma_z_kms : float or None
        Vertical dispersion: ``J_z`` exponential with mean ``sigma_z^2 / nu``
        (Eqs. 15, 20), fixed in time, and each star's coefficients multiplied
        by ``xi(J_z)`` of Eq. 46 (Eq. 44). None: vertically cold (xi = 1).
    ism : str
        ISM preset whose gas layer (``k_*``, ``H``, profile) enters Eq. 46.
    """

    sigma_R0_kms: float = 0.0
    box: str | None = "R8"
    kappa_kms_kpc: float | None = None
    nu_kms_kpc: float | None = None
    sigma_z_kms: float | None = None
    ism: str = "R8"

    @classmethod
    def from_dict(cls, d: dict) -> "LangevinStarSettings":
        t = "stars"
        _check_keys(t, d, {f.name for f in dataclasses.fields(cls)})
        out: dict[str, Any] = {}
        if "sigma_R0_kms" in d:
            out["sigma_R0_kms"] = _number(t, "sigma_R0_kms", d["sigma_R0_kms"], lo=0, hi=300)
        if "kappa_kms_kpc" in d:
            if "box" in d:
                raise ConfigError("stars.kappa_kms_kpc and stars.box are exclusive: kappa comes from one of them")
            out["kappa_kms_kpc"] = _number(t, "kappa_kms_kpc", d["kappa_kms_kpc"], lo=0, lo_open=True, hi=10_000)
            out["box"] = None
        elif "box" in d:
            out["box"] = _preset_name(t, "box", d["box"], ("R8", "LGR4"))
        if "nu_kms_kpc" in d:
            out["nu_kms_kpc"] = _number(t, "nu_kms_kpc", d["nu_kms_kpc"], lo=0, lo_open=True, hi=10_000)
        if "sigma_z_kms" in d:
            out["sigma_z_kms"] = _number(t, "sigma_z_kms", d["sigma_z_kms"], lo=0, hi=300)
        if "ism" in d:
            out["ism"] = _preset_name(t, "ism", d["ism"], ("R8", "LGR4"))
        s = cls(**out)
        if s.sigma_z_kms is not None and s.box is None and s.nu_kms_kpc is None:
            raise ConfigError("stars.nu_kms_kpc is required with stars.sigma_z_kms when kappa is given directly (no box)")
        return s

    def frequencies(self) -> tuple[float, float]:
        """``(kappa, nu)`` in 1/Myr (nu is nan when neither the box nor nu_kms_kpc gives it)."""
        from .. import units

        if self.box is not None:
            from ..shearingbox.box import box_preset

            b = box_preset(self.box)
            kappa, nu = float(b.kappa), float(b.nu)
        else:
            kappa, nu = self.kappa_kms_kpc * units.KMS_KPC, math.nan
        if self.nu_kms_kpc is not None:
            nu = self.nu_kms_kpc * units.KMS_KPC
        return kappa, nu

    def to_dict(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclasses.dataclass(frozen=True)
class LangevinConfig:
    """A complete, validated Langevin run configuration."""

    run: LangevinRunSettings = LangevinRunSettings()
    coefficients: CoefficientSettings = CoefficientSettings()
    stars: LangevinStarSettings = LangevinStarSettings()
    name: str = ""

    @classmethod
    def from_dict(cls, d: dict, base_dir: Path | None = None) -> "LangevinConfig":
        """Validate a parsed TOML document."""
        if not isinstance(d, dict):
            raise ConfigError("a Langevin configuration must be a table")
        _check_keys("top level", d, {"name", "run", "coefficients", "stars"})
        for table in ("run", "coefficients", "stars"):
            if table in d and not isinstance(d[table], dict):
                raise ConfigError(f"[{table}] must be a table")
        name = d.get("name", "")
        if not isinstance(name, str):
            raise ConfigError(f"name must be a string; got {name!r}")
        return cls(
            run=LangevinRunSettings.from_dict(d.get("run", {})),
            coefficients=CoefficientSettings.from_dict(d.get("coefficients", {}), base_dir=base_dir),
            stars=LangevinStarSettings.from_dict(d.get("stars", {})),
            name=name,
        )

    def replace(self, **tables) -> "LangevinConfig":
        """A copy with tables or fields replaced, e.g. ``cfg.replace(run={"n_stars": 100})``."""
        d = self.to_dict()
        for table, updates in tables.items():
            if isinstance(updates, dict) and isinstance(d.get(table), dict):
                if table == "coefficients" and set(updates) & {"preset", "fit", *_EXPLICIT}:
                    d[table] = {k: v for k, v in d[table].items() if k == "scale"}
                if table == "stars" and "kappa_kms_kpc" in updates:
                    d[table].pop("box", None)
                if table == "stars" and "box" in updates:
                    d[table].pop("kappa_kms_kpc", None)
                d[table].update(updates)
            else:
                d[table] = updates
        return LangevinConfig.from_dict(d)

    def to_dict(self) -> dict:
        """Plain nested dictionary (what :meth:`to_toml` writes)."""
        out = {
            "run": dataclasses.asdict(self.run),
            "coefficients": self.coefficients.to_dict(),
            "stars": self.stars.to_dict(),
        }
        return {"name": self.name, **out} if self.name else out

    def to_toml(self) -> str:
        """The fully resolved configuration as TOML text."""
        return dump_toml(self.to_dict())


def load_langevin_config(source: str | Path | dict) -> LangevinConfig:
    """Read and validate a Langevin configuration from a TOML file, TOML text or a dict.

    Raises
    ------
    FileNotFoundError
        If a path is given and does not exist.
    ConfigError
        (a ``ValueError``) naming the offending ``table.key``.
    """
    if isinstance(source, LangevinConfig):
        return source
    doc, base_dir = read_toml(source)
    return LangevinConfig.from_dict(doc, base_dir=base_dir)
