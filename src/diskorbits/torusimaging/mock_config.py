"""TOML configuration of Orbital Torus Imaging mocks, and their APOGEE/Gaia-like FITS catalogues.

A configuration (see ``configs/oti/``) has the tables::

    [mock]        seed, n_stars, n_steps, t_min_myr, t_max_myr
    [potential]   disk_mass_factor, h_z_kpc              (MilkyWayPotential, PW2021 Sec. 4)
    [sun]         z_sun_pc, v_z_sun_kms, galcen_distance_kpc, v_x_sun_kms, v_y_sun_kms
    [selection]   radius_kpc, pencil_beams, n_fields, radius_deg, complete_within_kpc
    [initial]     scale_length_kpc, sigma_R_kms, sigma_z_kms, scale_height_kpc   (optional)
    [abundances]  ratios, offsets, gradient_jr, gradient_jphi, gradient_jz, noise
    [angles]      cos1, sin1, cos2, sin2                  (optional; violate phase mixing)

Abundance gradients are dex per kpc km/s; every per-ratio entry is a list with
one value per ratio or a single number used for all. Every value is checked
by the shared validators of :mod:`diskorbits._tomlconfig`: an error names
the ``table.key`` at fault, and unknown keys are errors, never ignored.

:func:`write_mock_catalogue` writes a mock as an APOGEE DR17 allStar-like FITS
table (``RA``, ``DEC``, ``GAIAEDR3_PARALLAX``, ``GAIAEDR3_PMRA``,
``GAIAEDR3_PMDEC``, ``VHELIO_AVG``, ``FE_H``, ``O_FE``, ... with ``_ERR``
columns), which :func:`diskorbits.io.read_catalogue` reads with its built-in
``apogee_dr17`` schema, plus the truth (``TRUE_*`` columns) and the
configuration, seed and version in the header.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import astropy.units as u
import jax
import numpy as np
from astropy.io import fits
from astropy.table import Table

from .. import units
from .._tomlconfig import ConfigError, _bool, _check_keys, _number, dump_toml, read_toml
from ..io.atomic import atomic_path
from .apogee import element_column
from .mock import (
    DiskInitialConditions,
    LinearAbundanceModel,
    MockCatalogue,
    PencilBeams,
    SphereSelection,
    make_mock,
)

__all__ = [
    "DEFAULTS",
    "MockConfig",
    "load_mock_config",
    "read_mock_header",
    "write_mock_catalogue",
]

#: Defaults of every optional key; ``[abundances] ratios`` is required.
DEFAULTS: dict[str, dict] = {
    "mock": {"seed": 0, "n_stars": 10000, "n_steps": 4000, "t_min_myr": 1000.0, "t_max_myr": 5000.0},
    "potential": {"disk_mass_factor": 1.0, "h_z_kpc": 0.28},
    "sun": {
        "z_sun_pc": 20.8,
        "v_z_sun_kms": 7.78,
        "galcen_distance_kpc": 8.122,
        "v_x_sun_kms": 12.9,
        "v_y_sun_kms": 245.6,
    },
    "selection": {"radius_kpc": 3.0, "pencil_beams": False, "n_fields": 400, "radius_deg": 3.0, "complete_within_kpc": 0.0},
    "initial": {"scale_length_kpc": 2.6, "sigma_R_kms": 35.0, "sigma_z_kms": 20.0, "scale_height_kpc": 0.3},
    "abundances": {"offsets": 0.0, "gradient_jr": 0.0, "gradient_jphi": 0.0, "gradient_jz": 0.0, "noise": 0.02},
    "angles": {"cos1": 0.0, "sin1": 0.0, "cos2": 0.0, "sin2": 0.0},
}

_PER_RATIO = {"abundances": ("offsets", "gradient_jr", "gradient_jphi", "gradient_jz", "noise"),
              "angles": ("cos1", "sin1", "cos2", "sin2")}

#: Mock column -> (column name, unit) of the observed astrometry and radial velocity.
_OBSERVED = (
    ("ra", "RA", "deg"),
    ("dec", "DEC", "deg"),
    ("parallax", "GAIAEDR3_PARALLAX", "mas"),
    ("pmra", "GAIAEDR3_PMRA", "mas / yr"),
    ("pmdec", "GAIAEDR3_PMDEC", "mas / yr"),
    ("rv", "VHELIO_AVG", "km / s"),
)
_ERROR_NAMES = {
    "GAIAEDR3_PARALLAX": "GAIAEDR3_PARALLAX_ERROR",
    "GAIAEDR3_PMRA": "GAIAEDR3_PMRA_ERROR",
    "GAIAEDR3_PMDEC": "GAIAEDR3_PMDEC_ERROR",
    "VHELIO_AVG": "VERR",
}


def _per_ratio(table: str, key: str, value, n: int, *, lo=None) -> list[float]:
    if isinstance(value, list):
        if len(value) != n:
            raise ConfigError(f"{table}.{key} must have one value per ratio ({n}); got {len(value)}")
        return [_number(table, f"{key}[{i}]", v, lo=lo) for i, v in enumerate(value)]
    return [_number(table, key, value, lo=lo)] * n


def _validate(doc: dict) -> dict:
    doc = copy.deepcopy(doc)
    extra = sorted(set(doc) - set(DEFAULTS))
    if extra:
        raise ConfigError(f"unknown table(s) {', '.join(extra)}; allowed: {', '.join(DEFAULTS)}")
    for table, value in doc.items():
        if not isinstance(value, dict):
            raise ConfigError(f"[{table}] must be a table; got {value!r}")
    out: dict[str, dict] = {}
    for table, defaults in DEFAULTS.items():
        given = doc.get(table, {})
        allowed = set(defaults) | ({"ratios"} if table == "abundances" else set())
        _check_keys(table, given, allowed)
        out[table] = {**defaults, **given}

    m = out["mock"]
    m["seed"] = _number("mock", "seed", m["seed"], lo=0, integer=True)
    m["n_stars"] = _number("mock", "n_stars", m["n_stars"], lo=1, integer=True)
    m["n_steps"] = _number("mock", "n_steps", m["n_steps"], lo=1, integer=True)
    m["t_min_myr"] = _number("mock", "t_min_myr", m["t_min_myr"], lo=0)
    m["t_max_myr"] = _number("mock", "t_max_myr", m["t_max_myr"], lo=m["t_min_myr"], lo_open=True)

    p = out["potential"]
    p["disk_mass_factor"] = _number("potential", "disk_mass_factor", p["disk_mass_factor"], lo=0, lo_open=True)
    p["h_z_kpc"] = _number("potential", "h_z_kpc", p["h_z_kpc"], lo=0, lo_open=True)

    s = out["sun"]
    s["galcen_distance_kpc"] = _number("sun", "galcen_distance_kpc", s["galcen_distance_kpc"], lo=0, lo_open=True)
    s["z_sun_pc"] = _number("sun", "z_sun_pc", s["z_sun_pc"], lo=-1000, hi=1000)
    for k in ("v_x_sun_kms", "v_y_sun_kms", "v_z_sun_kms"):
        s[k] = _number("sun", k, s[k])

    sel = out["selection"]
    sel["radius_kpc"] = _number("selection", "radius_kpc", sel["radius_kpc"], lo=0, lo_open=True)
    sel["pencil_beams"] = _bool("selection", "pencil_beams", sel["pencil_beams"])
    sel["n_fields"] = _number("selection", "n_fields", sel["n_fields"], lo=1, integer=True)
    sel["radius_deg"] = _number("selection", "radius_deg", sel["radius_deg"], lo=0, lo_open=True, hi=90)
    sel["complete_within_kpc"] = _number("selection", "complete_within_kpc", sel["complete_within_kpc"], lo=0)

    ini = out["initial"]
    for k in ini:
        ini[k] = _number("initial", k, ini[k], lo=0, lo_open=True)

    ab = out["abundances"]
    if "ratios" not in ab:
        raise ConfigError("abundances.ratios is required: a list of ratio names such as [\"FE_H\", \"O_FE\"]")
    ratios = ab["ratios"]
    if not isinstance(ratios, list) or not ratios or not all(isinstance(r, str) for r in ratios):
        raise ConfigError(f"abundances.ratios must be a non-empty list of names; got {ratios!r}")
    try:
        ab["ratios"] = [element_column(r) for r in ratios]
    except ValueError as exc:
        raise ConfigError(f"abundances.ratios: {exc}") from None
    if len(set(ab["ratios"])) != len(ab["ratios"]):
        raise ConfigError(f"abundances.ratios has duplicates: {ab['ratios']}")
    n = len(ab["ratios"])
    for table, keys in _PER_RATIO.items():
        for k in keys:
            out[table][k] = _per_ratio(table, k, out[table][k], n, lo=0 if k == "noise" else None)
    return out


@dataclasses.dataclass(frozen=True)
class MockConfig:
    """A validated mock configuration (module docstring); build one with :func:`load_mock_config`.

    Attributes
    ----------
    doc : dict
        The resolved document: every table with every key, defaults filled in.
    """

    doc: dict

    def __post_init__(self):
        object.__setattr__(self, "doc", _validate(self.doc))

    # ------------------------------------------------------------------ access
    @property
    def seed(self) -> int:
        return self.doc["mock"]["seed"]

    @property
    def n_stars(self) -> int:
        return self.doc["mock"]["n_stars"]

    @property
    def ratios(self) -> tuple[str, ...]:
        """Abundance-ratio column names (``FE_H``, ``O_FE``, ...)."""
        return tuple(self.doc["abundances"]["ratios"])

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
        return MockConfig(doc)

    def to_toml(self) -> str:
        """TOML text of the resolved configuration (reads back to an equal config)."""
        return dump_toml(self.doc)

    # ------------------------------------------------------------------ objects
    def potential(self):
        """The true :class:`~diskorbits.potentials.MilkyWayPotential` (halo re-solved, PW2021 Sec. 4)."""
        from ..potentials import MilkyWayPotential

        p = self.doc["potential"]
        return MilkyWayPotential(p["disk_mass_factor"], p["h_z_kpc"])

    def sun(self):
        """The :class:`~diskorbits.frames.SolarParameters` the mock is observed from."""
        from ..frames import SolarParameters

        s = self.doc["sun"]
        return SolarParameters(
            galcen_distance=s["galcen_distance_kpc"] * u.kpc,
            z_sun=s["z_sun_pc"] * u.pc,
            v_sun=[s["v_x_sun_kms"], s["v_y_sun_kms"], s["v_z_sun_kms"]] * u.km / u.s,
        )

    def selection(self) -> SphereSelection:
        s = self.doc["selection"]
        beams = None
        if s["pencil_beams"]:
            beams = PencilBeams(s["n_fields"], s["radius_deg"], s["complete_within_kpc"])
        return SphereSelection(s["radius_kpc"], beams=beams)

    def initial(self) -> DiskInitialConditions:
        i = self.doc["initial"]
        return DiskInitialConditions(
            scale_length=i["scale_length_kpc"],
            sigma_R=i["sigma_R_kms"] * units.KMS,
            sigma_z=i["sigma_z_kms"] * units.KMS,
            scale_height=i["scale_height_kpc"],
            dispersion_scale_length=2.0 * i["scale_length_kpc"],
        )

    def abundance_model(self) -> LinearAbundanceModel:
        a, g = self.doc["abundances"], self.doc["angles"]
        grad = np.stack([a["gradient_jr"], a["gradient_jphi"], a["gradient_jz"]], axis=-1) / units.KPC_KMS
        angle_terms = np.stack([g["cos1"], g["sin1"], g["cos2"], g["sin2"]], axis=-1)
        return LinearAbundanceModel(a["offsets"], grad, noise=a["noise"], angle_terms=angle_terms)

    def make(self) -> MockCatalogue:
        """Draw the mock (:func:`~diskorbits.torusimaging.make_mock`) with ``jax.random.key(seed)``."""
        m = self.doc["mock"]
        return make_mock(
            jax.random.key(m["seed"]),
            self.potential(),
            m["n_stars"],
            abundance_model=self.abundance_model(),
            initial=self.initial(),
            selection=self.selection(),
            sun=self.sun(),
            time_range=(m["t_min_myr"], m["t_max_myr"]),
            n_steps=m["n_steps"],
        )


def load_mock_config(source: str | Path | dict) -> MockConfig:
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
    >>> cfg = load_mock_config('[abundances]\\nratios = ["[O/Fe]"]\\n')
    >>> cfg.ratios, cfg.doc["potential"]["h_z_kpc"]
    (('O_FE',), 0.28)
    """
    doc, _ = read_toml(source)
    return MockConfig(doc)


# ----------------------------------------------------------------------------- FITS output
def _mock_table(mock: MockCatalogue, ratios: tuple[str, ...]) -> Table:
    obs = mock.observed()
    n = mock.n_stars
    t = Table()
    t["APOGEE_ID"] = np.array([f"MOCK{i:09d}" for i in range(n)])
    values = {
        "ra": np.asarray(obs.ra),
        "dec": np.asarray(obs.dec),
        "parallax": 1.0 / np.asarray(obs.distance),  # kpc -> mas
        "pmra": np.asarray(obs.pmra),
        "pmdec": np.asarray(obs.pmdec),
        "rv": np.asarray(obs.rv),
    }
    for key, name, unit in _OBSERVED:
        t[name] = np.asarray(values[key], dtype=np.float64)
        t[name].unit = unit
        if name in _ERROR_NAMES:
            # the astrometry and radial velocities of the mock are exact
            t[_ERROR_NAMES[name]] = np.zeros(n)
            t[_ERROR_NAMES[name]].unit = unit
    ab, err, mean = (np.asarray(a) for a in (mock.abundances, mock.abundance_errors, mock.abundance_means))
    for r, name in enumerate(ratios):
        t[name] = ab[:, r]
        t[name + "_ERR"] = err[:, r]
        t[name + "_TRUE"] = mean[:, r]
    J = np.asarray(mock.actions) / units.KPC_KMS
    for i, name in enumerate(("TRUE_JR", "TRUE_JPHI", "TRUE_JZ")):
        t[name] = J[:, i]
        t[name].unit = "kpc km / s"
    t["TRUE_THETA_Z"] = np.asarray(mock.theta_z)
    t["TRUE_THETA_Z"].unit = "rad"
    for name, arr, unit, scale in (
        ("TRUE_R", mock.R, "kpc", 1.0),
        ("TRUE_PHI", mock.phi, "rad", 1.0),
        ("TRUE_Z", mock.z, "kpc", 1.0),
        ("TRUE_VR", mock.v_R, "km / s", 1.0 / units.KMS),
        ("TRUE_VPHI", mock.v_phi, "km / s", 1.0 / units.KMS),
        ("TRUE_VZ", mock.v_z, "km / s", 1.0 / units.KMS),
        ("TRUE_AGE_MIX", mock.time, "Myr", 1.0),
    ):
        t[name] = np.asarray(arr, dtype=np.float64) * scale
        t[name].unit = unit
    return t


def write_mock_catalogue(mock: MockCatalogue, path: str | Path, config: MockConfig, *, overwrite: bool = False) -> Path:
    """Write ``mock`` as an APOGEE/Gaia-like FITS catalogue with its truth, atomically.

    Columns: ``APOGEE_ID``, ``RA``, ``DEC`` (deg), ``GAIAEDR3_PARALLAX`` (mas,
    = 1 / distance), ``GAIAEDR3_PMRA``, ``GAIAEDR3_PMDEC`` (mas/yr),
    ``VHELIO_AVG`` (km/s), their (zero: the mock is noise-free) errors, one
    ``X`` / ``X_ERR`` / ``X_TRUE`` triple per ratio (noisy, error, noise-free),
    and the truth: ``TRUE_JR``, ``TRUE_JPHI``, ``TRUE_JZ`` (kpc km/s),
    ``TRUE_THETA_Z`` (rad; NaN without angle terms), Galactocentric
    ``TRUE_R`` ... ``TRUE_VZ`` and the phase-mixing time. The header holds
    ``SEED``, ``NSTARS``, ``DOVERSN`` and the resolved configuration
    (``CFGLINES`` cards ``CFG00000`` ...; read back with :func:`read_mock_header`).

    Parameters
    ----------
    mock : MockCatalogue
    path : str or Path
        Destination ``.fits`` file.
    config : MockConfig
        The configuration the mock was drawn from (its ratios name the columns).
    overwrite : bool
        Replace an existing file (default: refuse).

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    ValueError
        If the mock's number of ratios differs from the configuration's.
    """
    path = Path(path)
    if not isinstance(config, MockConfig):
        raise TypeError(f"'config' must be a MockConfig; got {type(config).__name__}")
    if mock.abundances.shape[1] != len(config.ratios):
        raise ValueError(f"mock has {mock.abundances.shape[1]} ratios but the configuration names {len(config.ratios)}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"output file {str(path)!r} exists; pass overwrite=True (CLI: --overwrite)")
    hdu = fits.table_to_hdu(_mock_table(mock, config.ratios))
    hdr = hdu.header
    hdr["EXTNAME"] = "MOCK"
    hdr["SEED"] = (config.seed, "jax.random.key seed of the mock")
    hdr["NSTARS"] = (mock.n_stars, "stars in the catalogue")
    from .. import (
        __version__,  # here, not at import: the package imports this module while initialising
    )

    hdr["DOVERSN"] = (__version__, "diskorbits version")
    lines = config.to_toml().splitlines()
    hdr["CFGLINES"] = (len(lines), "lines of the TOML configuration in CFGnnnnn")
    for i, line in enumerate(lines):
        hdr[f"CFG{i:05d}"] = line
    with atomic_path(path) as tmp:
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(tmp, overwrite=True)
    return path


def read_mock_header(path: str | Path) -> tuple[MockConfig, int]:
    """``(config, seed)`` stored by :func:`write_mock_catalogue`.

    Raises
    ------
    ValueError
        If the file carries no mock configuration.
    """
    with fits.open(path) as hdul:
        hdr = hdul[1].header
        if "CFGLINES" not in hdr:
            raise ValueError(f"{str(path)!r} has no mock configuration (no CFGLINES card)")
        text = "\n".join(str(hdr[f"CFG{i:05d}"]) for i in range(int(hdr["CFGLINES"])))
        return load_mock_config(text + "\n"), int(hdr["SEED"])
