"""TOML configuration of Frankel et al. (2020) mock surveys, and selection specifications.

A mock configuration (see ``configs/migration/``) has the tables::

    name = "..."                                   (optional)
    [mock]        seed, n_stars, batch_size, safety, max_batches
    [parameters]  preset ("table1" or "text"), then any of the eleven
                  parameters in display units (R_d0 = 2.8, sigma_Lz = 582.0, ...)
    [selection]   kind = "apogee-dr17" | "kepler" | "none" | "fields", and its keys
    [noise]       preset ("paper" or "none"), distance_frac, age_dex, feh_dex,
                  pm_masyr, rv_kms_min, rv_kms_max              (Sec. 2.2)
    [proposal]    the simple galaxy of Appendix B (ProposalConfig fields)
    [setup]       vz_dispersion_kms

Every table is optional; every value is checked by the shared validators of
:mod:`diskorbits._tomlconfig`, and an error names the ``table.key`` at
fault (unknown keys are errors, never ignored). :meth:`MockConfig.make`
maps the document onto :func:`~diskorbits.migration.mock.make_mock`.

Selections
----------
The same ``[selection]`` table describes the survey of a fit, so a mock is
analysed with the selection it was drawn from. Keys per ``kind``:

* ``apogee-dr17`` -- :func:`~diskorbits.migration.selection.apogee_dr17`:
  ``cohort`` ("short"), ``h_min`` (7), ``h_max`` (12), ``b_max`` (25 deg),
  ``dust`` ("double_exponential" or "none"), ``n_dust_directions`` (8),
  ``include_ak_fraction`` (true);
* ``kepler`` -- :func:`~diskorbits.migration.selection.kepler_field`:
  ``radius`` (8 deg), ``h_min`` (7), ``h_max`` (11), ``dust``, ``n_dust_directions``;
* ``none`` -- :class:`~diskorbits.migration.selection.NoSelection`, S = 1 in
  ``d_min <= D <= d_max`` and ``|b| <= b_max``: ``d_max`` (5 kpc, the distance
  of a red-clump star at H = 12 without dust), ``d_min`` (0), ``b_max`` (25 deg);
* ``fields`` -- user fields: ``path`` to a TOML file in the layout of
  :meth:`~diskorbits.migration.selection.SurveySelection.from_toml`
  (relative paths resolve against the configuration's folder).

:func:`selection_from_spec` turns a command-line ``--selection SPEC`` into a
selection: ``apogee-dr17``, ``kepler``, ``none`` (the defaults above), or a
TOML file holding a ``[selection]`` table (e.g. a mock configuration), a
top-level ``kind``, or ``[[fields]]``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

from .._tomlconfig import (
    ConfigError,
    _bool,
    _check_keys,
    _choice,
    _number,
    dump_toml,
    read_toml,
)
from .parameters import NAMES, ModelParameters, table1, text_values

__all__ = [
    "DEFAULTS",
    "MOCK_CONFIG_KEY",
    "SELECTION_DEFAULTS",
    "SELECTION_KINDS",
    "ConfigError",
    "MockConfig",
    "load_mock_config",
    "mock_config_of",
    "selection_from_spec",
    "selection_from_table",
]

#: Catalogue ``meta`` key under which :meth:`MockConfig.make` stores the resolved configuration (JSON).
MOCK_CONFIG_KEY = "MOCK_CONFIG"

#: Values of ``[selection] kind``.
SELECTION_KINDS: tuple[str, ...] = ("apogee-dr17", "kepler", "none", "fields")

#: Defaults of each selection kind (``fields`` needs ``path``).
SELECTION_DEFAULTS: dict[str, dict] = {
    "apogee-dr17": {"cohort": "short", "h_min": 7.0, "h_max": 12.0, "b_max": 25.0, "dust": "double_exponential",
                    "n_dust_directions": 8, "include_ak_fraction": True},
    "kepler": {"radius": 8.0, "h_min": 7.0, "h_max": 11.0, "dust": "double_exponential", "n_dust_directions": 8},
    "none": {"d_max": 5.0, "d_min": 0.0, "b_max": 25.0},
    "fields": {},
}  # fmt: skip

#: Defaults of every optional key of a mock configuration.
DEFAULTS: dict[str, dict] = {
    "mock": {"seed": 0, "n_stars": 1000, "batch_size": 8192, "safety": 2.0, "max_batches": 1000},
    "parameters": {"preset": "table1"},
    "selection": {"kind": "apogee-dr17"},
    "noise": {"preset": "paper"},
    "proposal": {"disk_scale_length": 3.0, "disk_scale_height": 0.6, "sigma_vR": 70.0, "sigma_vphi": 60.0,
                 "sigma_lz0": 800.0, "lz0_shift": -400.0, "age_rate": 0.5, "n_grid": 512},
    "setup": {"vz_dispersion_kms": 20.0},
}  # fmt: skip

_NOISE_KEYS = ("distance_frac", "age_dex", "feh_dex", "pm_masyr", "rv_kms_min", "rv_kms_max")
# Parameters that must be positive / non-negative / negative (ModelParameters' ranges).
_RANGES = {"R_d0": "positive", "tau_SFR": "positive", "sigma_Lz": "positive", "sigma_vR0": "positive",
           "R_sigmaR": "positive", "a_z": "positive", "beta": "non-negative", "gamma_FeH": "non-negative",
           "grad_FeH": "negative"}  # fmt: skip


# ----------------------------------------------------------------------------- selections


def _dust(table: str, value):
    from .dust import DoubleExponentialDust, NoDust

    kind = _choice(table, "dust", value, ("double_exponential", "none"))
    return DoubleExponentialDust() if kind == "double_exponential" else NoDust()


def _validate_selection(sel: dict, base_dir: Path | None, table: str = "selection") -> dict:
    """Resolved selection table: kind, its keys with defaults, values checked."""
    if not isinstance(sel, dict):
        raise ConfigError(f"[{table}] must be a table; got {sel!r}")
    kind = _choice(table, "kind", sel.get("kind", "apogee-dr17"), SELECTION_KINDS)
    allowed = {"kind"} | set(SELECTION_DEFAULTS[kind]) | ({"path"} if kind == "fields" else set())
    _check_keys(table, sel, allowed)
    out = {"kind": kind, **SELECTION_DEFAULTS[kind], **{k: v for k, v in sel.items() if k != "kind"}}
    if kind == "apogee-dr17":
        out["cohort"] = _choice(table, "cohort", out["cohort"], ("short", "medium", "long"))
        out["h_min"] = _number(table, "h_min", out["h_min"])
        out["h_max"] = _number(table, "h_max", out["h_max"], lo=out["h_min"], lo_open=True)
        out["b_max"] = _number(table, "b_max", out["b_max"], lo=0, lo_open=True, hi=90)
        _dust(table, out["dust"])
        out["dust"] = out["dust"].lower()
        out["n_dust_directions"] = _number(table, "n_dust_directions", out["n_dust_directions"], lo=1, integer=True)
        out["include_ak_fraction"] = _bool(table, "include_ak_fraction", out["include_ak_fraction"])
    elif kind == "kepler":
        out["radius"] = _number(table, "radius", out["radius"], lo=0, lo_open=True, hi=90)
        out["h_min"] = _number(table, "h_min", out["h_min"])
        out["h_max"] = _number(table, "h_max", out["h_max"], lo=out["h_min"], lo_open=True)
        _dust(table, out["dust"])
        out["dust"] = out["dust"].lower()
        out["n_dust_directions"] = _number(table, "n_dust_directions", out["n_dust_directions"], lo=1, integer=True)
    elif kind == "none":
        out["d_min"] = _number(table, "d_min", out["d_min"], lo=0)
        out["d_max"] = _number(table, "d_max", out["d_max"], lo=out["d_min"], lo_open=True)
        out["b_max"] = _number(table, "b_max", out["b_max"], lo=0, lo_open=True, hi=90)
    else:
        if "path" not in out or not isinstance(out["path"], str) or not out["path"]:
            raise ConfigError(f"{table}.path is required for kind = 'fields': a TOML file of [[fields]]")
        p = Path(out["path"])
        if not p.is_absolute() and base_dir is not None:
            p = base_dir / p
        if not p.exists():
            raise ConfigError(f"{table}.path: field file not found: {p}")
        out["path"] = str(p)
    return out


def selection_from_table(table: dict, base_dir: str | Path | None = None):
    """A selection from a ``[selection]`` table (module docstring).

    Parameters
    ----------
    table : dict
        ``kind`` and the keys of that kind.
    base_dir : str or Path, optional
        Folder that a relative ``path`` (kind ``fields``) resolves against.

    Returns
    -------
    Selection

    Raises
    ------
    ConfigError
        Naming the ``selection.key`` at fault.
    """
    from .selection import NoSelection, SurveySelection, apogee_dr17, kepler_field

    s = _validate_selection(table, None if base_dir is None else Path(base_dir))
    kind = s["kind"]
    try:
        if kind == "apogee-dr17":
            return apogee_dr17(cohort=s["cohort"], h_range=(s["h_min"], s["h_max"]), b_max=s["b_max"],
                               dust=_dust("selection", s["dust"]), n_dust_directions=s["n_dust_directions"],
                               include_ak_fraction=s["include_ak_fraction"])  # fmt: skip
        if kind == "kepler":
            return kepler_field(radius=s["radius"], h_range=(s["h_min"], s["h_max"]), dust=_dust("selection", s["dust"]),
                                n_dust_directions=s["n_dust_directions"])  # fmt: skip
        if kind == "none":
            return NoSelection(d_max=s["d_max"], d_min=s["d_min"], b_max=s["b_max"])
        return SurveySelection.from_toml(Path(s["path"]))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[selection] ({kind}): {exc}") from None


def selection_from_spec(spec):
    """A selection from a command-line specification.

    Parameters
    ----------
    spec : str, Path or dict
        ``"apogee-dr17"`` (also ``"apogee"``), ``"kepler"``, ``"none"`` -- each with the
        defaults of :data:`SELECTION_DEFAULTS` --, a ``[selection]``-style dict, or a TOML
        file holding a ``[selection]`` table (a mock configuration), a top-level ``kind``,
        or ``[[fields]]`` (:meth:`~diskorbits.migration.selection.SurveySelection.from_toml`).

    Returns
    -------
    (Selection, dict)
        The selection and its resolved ``[selection]`` table (for the fit's metadata).

    Raises
    ------
    ConfigError
        For an unknown name, a file without a selection, or an invalid value.
    FileNotFoundError
        For a path that does not exist.
    """
    from .selection import SurveySelection

    if isinstance(spec, dict):
        return selection_from_table(spec), _validate_selection(spec, None)
    text = str(spec)
    named = {"apogee-dr17": "apogee-dr17", "apogee": "apogee-dr17", "kepler": "kepler", "none": "none"}
    if text.lower() in named:
        table = {"kind": named[text.lower()]}
        return selection_from_table(table), _validate_selection(table, None)
    if not text.endswith(".toml"):
        raise ConfigError(f"--selection must be apogee-dr17, kepler, none or a .toml file; got {text!r}")
    doc, base = read_toml(Path(text))
    if "selection" in doc:
        return selection_from_table(doc["selection"], base), _validate_selection(doc["selection"], base)
    if "kind" in doc:
        return selection_from_table(doc, base), _validate_selection(doc, base)
    if "fields" in doc:
        return SurveySelection.from_toml(Path(text)), {"kind": "fields", "path": str(Path(text).resolve())}
    raise ConfigError(f"{text}: no [selection] table, 'kind' key or [[fields]] tables found")


# ----------------------------------------------------------------------------- mock configuration


def _validate(doc: dict, base_dir: Path | None) -> dict:
    doc = copy.deepcopy(doc)
    name = doc.pop("name", None)
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"name must be a string; got {name!r}")
    extra = sorted(set(doc) - set(DEFAULTS))
    if extra:
        raise ConfigError(f"unknown table(s) {', '.join(extra)}; allowed: {', '.join(DEFAULTS)}")
    for table, value in doc.items():
        if not isinstance(value, dict):
            raise ConfigError(f"[{table}] must be a table; got {value!r}")
    out: dict = {} if name is None else {"name": name}

    m = {**DEFAULTS["mock"], **doc.get("mock", {})}
    _check_keys("mock", m, DEFAULTS["mock"])
    m["seed"] = _number("mock", "seed", m["seed"], lo=0, integer=True)
    m["n_stars"] = _number("mock", "n_stars", m["n_stars"], lo=1, integer=True)
    m["batch_size"] = _number("mock", "batch_size", m["batch_size"], lo=1, integer=True)
    m["safety"] = _number("mock", "safety", m["safety"], lo=1, lo_open=True)
    m["max_batches"] = _number("mock", "max_batches", m["max_batches"], lo=1, integer=True)
    out["mock"] = m

    p = {**DEFAULTS["parameters"], **doc.get("parameters", {})}
    _check_keys("parameters", p, {"preset", *NAMES})
    p["preset"] = _choice("parameters", "preset", p["preset"], ("table1", "text"))
    for n in NAMES:
        if n in p:
            cond = _RANGES.get(n)
            lo = 0 if cond in ("positive", "non-negative") else None
            p[n] = _number("parameters", n, p[n], lo=lo, lo_open=cond == "positive")
            if cond == "negative" and not p[n] < 0:
                raise ConfigError(f"parameters.{n} must be < 0; got {p[n]!r}")
    out["parameters"] = p

    out["selection"] = _validate_selection(doc.get("selection", DEFAULTS["selection"]), base_dir)

    nz = {**DEFAULTS["noise"], **doc.get("noise", {})}
    _check_keys("noise", nz, {"preset", *_NOISE_KEYS})
    nz["preset"] = _choice("noise", "preset", nz["preset"], ("paper", "none"))
    for k in _NOISE_KEYS:
        if k in nz:
            nz[k] = _number("noise", k, nz[k], lo=0)
    out["noise"] = nz

    pr = {**DEFAULTS["proposal"], **doc.get("proposal", {})}
    _check_keys("proposal", pr, DEFAULTS["proposal"])
    for k, v in pr.items():
        if k == "n_grid":
            pr[k] = _number("proposal", k, v, lo=2, integer=True)
        elif k in ("lz0_shift", "age_rate"):
            pr[k] = _number("proposal", k, v)
        else:
            pr[k] = _number("proposal", k, v, lo=0, lo_open=True)
    out["proposal"] = pr

    st = {**DEFAULTS["setup"], **doc.get("setup", {})}
    _check_keys("setup", st, DEFAULTS["setup"])
    st["vz_dispersion_kms"] = _number("setup", "vz_dispersion_kms", st["vz_dispersion_kms"], lo=0, lo_open=True)
    out["setup"] = st
    return out


@dataclasses.dataclass(frozen=True)
class MockConfig:
    """A validated mock configuration (module docstring); build one with :func:`load_mock_config`.

    Attributes
    ----------
    doc : dict
        The resolved document: every table with every key, defaults filled in.
    base_dir : str or None
        Folder of the configuration file (relative field-file paths resolve against it).
    """

    doc: dict
    base_dir: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "doc", _validate(self.doc, None if self.base_dir is None else Path(self.base_dir)))

    @property
    def seed(self) -> int:
        return self.doc["mock"]["seed"]

    @property
    def n_stars(self) -> int:
        return self.doc["mock"]["n_stars"]

    def replace(self, **tables: dict) -> MockConfig:
        """A copy with some keys changed: ``cfg.replace(mock={"seed": 3})``.

        Raises
        ------
        ConfigError
            For an unknown table or key, or an invalid value.
        """
        doc = copy.deepcopy(self.doc)
        for table, values in tables.items():
            if table not in DEFAULTS:
                raise ConfigError(f"unknown table {table!r}; allowed: {', '.join(DEFAULTS)}")
            doc[table] = {**doc[table], **values}
        return MockConfig(doc, self.base_dir)

    def to_toml(self) -> str:
        """TOML text of the resolved configuration (reads back to an equal config)."""
        return dump_toml(self.doc)

    def to_json(self) -> str:
        """The resolved configuration as one line of JSON (stored in the catalogue's ``meta``)."""
        return json.dumps(self.doc, sort_keys=True)

    # ------------------------------------------------------------------ objects
    def parameters(self) -> ModelParameters:
        """The true parameters: the preset with the overrides of ``[parameters]``."""
        p = self.doc["parameters"]
        over = {n: p[n] for n in NAMES if n in p}
        try:
            return (table1 if p["preset"] == "table1" else text_values)(**over)
        except ValueError as exc:
            raise ConfigError(f"[parameters]: {exc}") from None

    def selection(self):
        """The survey selection of ``[selection]``."""
        return selection_from_table(self.doc["selection"], self.base_dir)

    def noise(self):
        """The :class:`~diskorbits.migration.mock.NoiseModel` of ``[noise]``."""
        from .mock import NoiseModel

        nz = self.doc["noise"]
        base = NoiseModel() if nz["preset"] == "paper" else NoiseModel.none()
        try:
            return dataclasses.replace(base, **{k: nz[k] for k in _NOISE_KEYS if k in nz})
        except ValueError as exc:
            raise ConfigError(f"[noise]: {exc}") from None

    def proposal(self):
        """The :class:`~diskorbits.migration.samples.ProposalConfig` of ``[proposal]``."""
        from .samples import ProposalConfig

        return ProposalConfig(**self.doc["proposal"])

    def setup(self, selection=None):
        """The :class:`~diskorbits.migration.samples.SurveySetup` (paper potential, Staeckel actions)."""
        from .samples import SurveySetup

        return SurveySetup(self.selection() if selection is None else selection,
                           vz_dispersion=self.doc["setup"]["vz_dispersion_kms"])  # fmt: skip

    def make(self, *, executor=None):
        """Draw the mock (:func:`~diskorbits.migration.mock.make_mock`) with the configured seed.

        The resolved configuration is stored in the table's ``meta`` under
        :data:`MOCK_CONFIG_KEY` (JSON), so a fit can recover the selection.

        Returns
        -------
        astropy.table.Table
        """
        from .mock import make_mock

        m = self.doc["mock"]
        table = make_mock(
            m["n_stars"], self.setup(), params=self.parameters(), noise=self.noise(), rng=m["seed"],
            proposal=self.proposal(), batch_size=m["batch_size"], safety=m["safety"], max_batches=m["max_batches"],
            executor=executor,
        )  # fmt: skip
        table.meta[MOCK_CONFIG_KEY] = self.to_json()
        return table


def load_mock_config(source) -> MockConfig:
    """Read and validate a mock configuration from a ``.toml`` path, TOML text or a dict.

    Raises
    ------
    FileNotFoundError
        If a path does not exist.
    ConfigError
        If the TOML is invalid or a value is missing, misspelt or out of range
        (the message names ``table.key``).

    Examples
    --------
    >>> cfg = load_mock_config('[mock]\\nn_stars = 300\\n[selection]\\nkind = "none"\\nd_max = 3.0\\n')
    >>> cfg.n_stars, cfg.doc["selection"]["d_max"], cfg.doc["parameters"]["preset"]
    (300, 3.0, 'table1')
    """
    doc, base = read_toml(source)
    return MockConfig(doc, None if base is None else str(base))


def mock_config_of(meta) -> MockConfig | None:
    """The :class:`MockConfig` stored in a catalogue's ``meta`` by :meth:`MockConfig.make`, or None."""
    for k, v in dict(meta or {}).items():
        if str(k).upper() == MOCK_CONFIG_KEY:
            try:
                return MockConfig(json.loads(str(v)))
            except (ValueError, ConfigError):
                return None
    return None
