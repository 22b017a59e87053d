"""Configuration of a shearing-box transport run, read from TOML and validated.

A run is described by four tables; every key is optional except where noted
and is given in the units its name says (the habits of the field: km/s, pc,
Myr, Gyr). Example (the paper's fiducial cold R8 experiment)::

    [run]
    seed = 1
    n_stars = 50000
    duration_gyr = 10.0
    dt_myr = 0.25              # kick step; rounded down to divide the snapshot interval

    [box]
    preset = "R8"              # R8 | LGR4; any box field may be overridden below

    [stars]
    sigma_R0_kms = 0.0
    sigma_z0_kms = 0.0

    [field]
    kind = "mock"              # mock | snapshots | none
    preset = "R8"
    temporal = "sharp"         # sharp | lorentzian | white

Unknown keys, wrong types and out-of-range values are rejected with a message
naming the offending ``table.key`` -- a typo must never silently fall back to
a default. :meth:`RunConfig.to_toml` writes the fully resolved configuration
that every run file stores next to its seed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from .._tomlconfig import ConfigError, _bool, _check_keys, _choice, _number, dump_toml, read_toml

__all__ = ["ConfigError", "RunSettings", "BoxSettings", "StarSettings", "FieldSettings", "RunConfig", "load_config"]


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """Length, resolution, size and bookkeeping of the run.

    Attributes
    ----------
    seed : int
        Seeds both the initial conditions and the mock field.
    n_stars : int
        Number of test stars.
    duration_gyr : float
        Simulated time, Gyr.
    dt_myr : float
        Requested kick step, Myr (the paper used 1e-4 x 2 pi/Omega ~ 0.022 Myr; 0.25 Myr
        is converged for exact epicycle drifts -- see docs/validation/ism.md).
    chunk_myr : float
        Length of one compiled integration chunk, Myr; progress, per-star outputs and
        checkpoints happen at chunk boundaries.
    checkpoint_every_myr : float
        Simulated time between checkpoints written into the run file, Myr.
    n_star_snapshots : int
        Number of (roughly log-spaced) times at which per-star action changes are stored.
    """

    seed: int = 0
    n_stars: int = 10_000
    duration_gyr: float = 10.0
    dt_myr: float = 0.25
    chunk_myr: float = 10.0
    checkpoint_every_myr: float = 500.0
    n_star_snapshots: int = 40

    @classmethod
    def from_dict(cls, d: dict) -> "RunSettings":
        t = "run"
        _check_keys(t, d, {f.name for f in dataclasses.fields(cls)})
        out = {}
        if "seed" in d:
            out["seed"] = _number(t, "seed", d["seed"], lo=0, integer=True)
        if "n_stars" in d:
            out["n_stars"] = _number(t, "n_stars", d["n_stars"], lo=1, integer=True)
        if "duration_gyr" in d:
            out["duration_gyr"] = _number(t, "duration_gyr", d["duration_gyr"], lo=0, lo_open=True, hi=100)
        if "dt_myr" in d:
            out["dt_myr"] = _number(t, "dt_myr", d["dt_myr"], lo=0, lo_open=True, hi=10)
        if "chunk_myr" in d:
            out["chunk_myr"] = _number(t, "chunk_myr", d["chunk_myr"], lo=0, lo_open=True)
        if "checkpoint_every_myr" in d:
            out["checkpoint_every_myr"] = _number(t, "checkpoint_every_myr", d["checkpoint_every_myr"], lo=0, lo_open=True)
        if "n_star_snapshots" in d:
            out["n_star_snapshots"] = _number(t, "n_star_snapshots", d["n_star_snapshots"], lo=1, hi=1000, integer=True)
        return cls(**out)


_BOX_OVERRIDES = ("R0_kpc", "Omega_kms_kpc", "q", "L_pc", "sigma_star_msun_pc2", "z_star_pc", "rho_dm_msun_pc3")


@dataclasses.dataclass(frozen=True)
class BoxSettings:
    """The shearing box: a preset (R8, LGR4) plus optional overrides of its parameters.

    Overrides use the names of :data:`diskorbits.shearingbox.box.BOX_PRESETS`
    (``R0_kpc``, ``Omega_kms_kpc``, ``q``, ``L_pc``, ``sigma_star_msun_pc2``,
    ``z_star_pc``, ``rho_dm_msun_pc3``).
    """

    preset: str = "R8"
    overrides: tuple[tuple[str, float], ...] = ()

    @classmethod
    def from_dict(cls, d: dict) -> "BoxSettings":
        t = "box"
        _check_keys(t, d, {"preset", *_BOX_OVERRIDES})
        preset = _choice(t, "preset", d.get("preset", "R8"), ("r8", "lgr4")).upper()
        over = []
        for k in _BOX_OVERRIDES:
            if k in d:
                lo_open = k != "rho_dm_msun_pc3" and k != "sigma_star_msun_pc2"
                v = _number(t, k, d[k], lo=0, lo_open=lo_open)
                if k == "q" and not 0 < v < 2:
                    raise ConfigError(f"box.q must satisfy 0 < q < 2; got {v!r}")
                over.append((k, v))
        return cls(preset=preset, overrides=tuple(over))

    def parameters(self) -> dict[str, float]:
        """Physical parameters of the box (preset values with overrides applied)."""
        from .box import BOX_PRESETS

        params = dict(BOX_PRESETS[self.preset])
        params.update(dict(self.overrides))
        return params

    def build(self):
        """The :class:`~diskorbits.shearingbox.box.ShearingBox`."""
        from .box import ShearingBox

        return ShearingBox.from_physical(**self.parameters())


@dataclasses.dataclass(frozen=True)
class StarSettings:
    """Initial Schwarzschild distribution (Modak et al. 2026 Eqs. 19-21).

    Attributes
    ----------
    sigma_R0_kms, sigma_z0_kms : float
        Initial radial and vertical velocity dispersions, km/s (0: perfectly cold).
    """

    sigma_R0_kms: float = 0.0
    sigma_z0_kms: float = 0.0

    @classmethod
    def from_dict(cls, d: dict) -> "StarSettings":
        t = "stars"
        _check_keys(t, d, {f.name for f in dataclasses.fields(cls)})
        out = {k: _number(t, k, d[k], lo=0, hi=200) for k in ("sigma_R0_kms", "sigma_z0_kms") if k in d}
        return cls(**out)


_FIELD_KINDS = ("mock", "snapshots", "none")
_TEMPORAL = ("sharp", "lorentzian", "white")


@dataclasses.dataclass(frozen=True)
class FieldSettings:
    """The ISM potential fluctuations.

    Attributes
    ----------
    kind : str
        ``mock`` (Gaussian random field, :mod:`diskorbits.ism.fields`), ``snapshots``
        (a user-supplied potential file, :mod:`diskorbits.ism.snapshots`) or ``none``.
    preset : str
        ISM model for ``mock``: R8 or LGR4 (:mod:`diskorbits.ism.presets`).
    temporal : str
        ``sharp`` (spectral synthesis, cut-off ``1/[1+(w/w_c)^(2p)]``), ``lorentzian``
        (Ornstein-Uhlenbeck) or ``white`` (a new realisation every snapshot).
    p : int
        Sharpness of the ``sharp`` temporal cut-off.
    amplitude : float
        Factor A multiplying the potential fluctuation (paper Sec. III.1, Fig. 5).
    k_max_per_pc : float or None
        Sharp planar filter: modes with k > k_max are removed (paper Fig. 9).
    vertical_forcing : bool
        False switches off the vertical ISM force (the paper's ``g_z = 0`` run).
    grid_spacing_pc : float
        Planar grid spacing of the mock field, pc.
    window_myr : float
        Length of the looped spectral-synthesis window, Myr.
    dt_snap_myr : float
        Interval between field snapshots, Myr (time interpolation is linear in between).
    path : str or None
        Potential snapshot file for ``kind = "snapshots"`` (HDF5 or .npz).
    """

    kind: str = "mock"
    preset: str = "R8"
    temporal: str = "sharp"
    p: int = 4
    amplitude: float = 1.0
    k_max_per_pc: float | None = None
    vertical_forcing: bool = True
    grid_spacing_pc: float = 16.0
    window_myr: float = 800.0
    dt_snap_myr: float = 1.0
    path: str | None = None

    @classmethod
    def from_dict(cls, d: dict, base_dir: Path | None = None) -> "FieldSettings":
        t = "field"
        _check_keys(t, d, {f.name for f in dataclasses.fields(cls)})
        out: dict[str, Any] = {}
        if "kind" in d:
            out["kind"] = _choice(t, "kind", d["kind"], _FIELD_KINDS)
        if "preset" in d:
            out["preset"] = _choice(t, "preset", d["preset"], ("r8", "lgr4")).upper()
        if "temporal" in d:
            out["temporal"] = _choice(t, "temporal", d["temporal"], _TEMPORAL)
        if "p" in d:
            out["p"] = _number(t, "p", d["p"], lo=1, hi=16, integer=True)
        if "amplitude" in d:
            out["amplitude"] = _number(t, "amplitude", d["amplitude"], lo=0)
        if "k_max_per_pc" in d:
            out["k_max_per_pc"] = _number(t, "k_max_per_pc", d["k_max_per_pc"], lo=0, lo_open=True)
        if "vertical_forcing" in d:
            out["vertical_forcing"] = _bool(t, "vertical_forcing", d["vertical_forcing"])
        if "grid_spacing_pc" in d:
            out["grid_spacing_pc"] = _number(t, "grid_spacing_pc", d["grid_spacing_pc"], lo=0.5, hi=256)
        if "window_myr" in d:
            out["window_myr"] = _number(t, "window_myr", d["window_myr"], lo=400)
        if "dt_snap_myr" in d:
            out["dt_snap_myr"] = _number(t, "dt_snap_myr", d["dt_snap_myr"], lo=0, lo_open=True, hi=100)
        if "path" in d:
            if not isinstance(d["path"], str) or not d["path"]:
                raise ConfigError(f"field.path must be a file name; got {d['path']!r}")
            p = Path(d["path"]).expanduser()
            if not p.is_absolute() and base_dir is not None:
                p = base_dir / p
            out["path"] = str(p)
        s = cls(**out)
        if s.kind == "snapshots":
            if s.path is None:
                raise ConfigError("field.path is required when field.kind = \"snapshots\"")
            if not Path(s.path).exists():
                raise ConfigError(f"field.path: file not found: {s.path}")
        if s.window_myr < 2 * s.dt_snap_myr:
            raise ConfigError(f"field.window_myr ({s.window_myr}) must cover at least two snapshots of {s.dt_snap_myr} Myr")
        return s


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """A complete, validated shearing-box run configuration."""

    run: RunSettings = RunSettings()
    box: BoxSettings = BoxSettings()
    stars: StarSettings = StarSettings()
    field: FieldSettings = FieldSettings()
    name: str = ""

    @classmethod
    def from_dict(cls, d: dict, base_dir: Path | None = None) -> "RunConfig":
        """Validate a parsed TOML document."""
        if not isinstance(d, dict):
            raise ConfigError("a run configuration must be a table")
        _check_keys("top level", d, {"name", "run", "box", "stars", "field"})
        for table in ("run", "box", "stars", "field"):
            if table in d and not isinstance(d[table], dict):
                raise ConfigError(f"[{table}] must be a table")
        name = d.get("name", "")
        if not isinstance(name, str):
            raise ConfigError(f"name must be a string; got {name!r}")
        cfg = cls(
            run=RunSettings.from_dict(d.get("run", {})),
            box=BoxSettings.from_dict(d.get("box", {})),
            stars=StarSettings.from_dict(d.get("stars", {})),
            field=FieldSettings.from_dict(d.get("field", {}), base_dir=base_dir),
            name=name,
        )
        cfg.check_consistency()
        return cfg

    def check_consistency(self) -> None:
        """Cross-field checks (chunking must tile the snapshot grid)."""
        dt_snap = self.field.dt_snap_myr
        ratio = self.run.chunk_myr / dt_snap
        if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
            raise ConfigError(
                f"run.chunk_myr ({self.run.chunk_myr}) must be a positive multiple of field.dt_snap_myr ({dt_snap})"
            )
        if self.run.dt_myr > dt_snap:
            raise ConfigError(f"run.dt_myr ({self.run.dt_myr}) must not exceed field.dt_snap_myr ({dt_snap})")

    def replace(self, **tables) -> "RunConfig":
        """A copy with whole tables or fields replaced, e.g. ``cfg.replace(run={'n_stars': 100})``."""
        d = self.to_dict()
        for table, updates in tables.items():
            if isinstance(updates, dict) and isinstance(d.get(table), dict):
                d[table].update(updates)
            else:
                d[table] = updates
        return RunConfig.from_dict(d)

    def to_dict(self) -> dict:
        """Plain nested dictionary (what :meth:`to_toml` writes)."""
        box = {"preset": self.box.preset, **dict(self.box.overrides)}
        field = {k: v for k, v in dataclasses.asdict(self.field).items() if v is not None}
        out = {
            "run": dataclasses.asdict(self.run),
            "box": box,
            "stars": dataclasses.asdict(self.stars),
            "field": field,
        }
        if self.name:
            out = {"name": self.name, **out}
        return out

    def to_toml(self) -> str:
        """The fully resolved configuration as TOML text."""
        return dump_toml(self.to_dict())


def load_config(source: str | Path | dict) -> RunConfig:
    """Read and validate a run configuration from a TOML file, TOML text or a dict.

    Raises
    ------
    FileNotFoundError
        If a path is given and does not exist.
    ConfigError
        (a ``ValueError``) naming the offending ``table.key``.
    """
    doc, base_dir = read_toml(source)
    return RunConfig.from_dict(doc, base_dir=base_dir)
