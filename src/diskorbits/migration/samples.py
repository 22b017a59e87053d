"""Proposal samples shared by the mock survey and the likelihood (Frankel et al. 2020, Appendix B).

Both the mock survey (:mod:`~diskorbits.migration.mock`) and the survey
volume of the likelihood (:mod:`~diskorbits.migration.likelihood`, Eqs. 15-16
and B8) need stars drawn from a simple, exactly normalised "proposal" galaxy
inside the survey's selection, with their actions computed once:

* positions ``(l, b, D)`` from the selection's own sampler
  (:meth:`~diskorbits.migration.selection.Selection.sample_positions`,
  Appendix B steps 1-2) under the simple disk of Eq. B4,
  ``rho_s ~ exp(-R / R_ds) sech^2(z / h_zs)``;
* ages ``tau`` from ``f_RC(tau) exp(c tau)`` on ``(0, tau_m]`` (exact
  rejection, the fraction being a probability <= 1; the tilt ``c`` follows
  the inside-out history, Eq. 2, step 3 draws uniform ages);
* velocities ``v_R ~ N(0, sigma_vR(tau))``, ``v_phi ~ N(v_c(R), sigma_vphi(tau))``
  (widths growing slowly with age) and ``v_z ~ g(v_z) = N(0, sigma_vz)`` (step 3);
* a birth angular momentum ``L_z0 ~ N(L_z + s tau / tau_m, sigma_Lz0 sqrt(tau / tau_m))``
  around the star's present ``L_z = R v_phi`` (step 3 centres it on
  ``R x 235 km/s``; centring on ``L_z`` follows the migration kernel, Eq. 4,
  more closely).

Every draw carries its exact log density, so the importance weight of the
model at any parameters is available without re-drawing (Eq. B8).

Measure and conventions
-----------------------
The data model of Eq. A3 is a density over
``(l, b, D, v_x, v_y, v_z, tau, [Fe/H])`` (``l``, ``b`` in radians):

    p_MW(tau, [Fe/H], J_R, L_z, z) / (2 pi)^2 x D^2 cos b x g(v_z) x S(l, b, D) f_RC(tau).

``p_MW`` (:func:`~diskorbits.migration.model.log_p_mw`) is a density in
``(tau, [Fe/H], J_R, L_z, z)``; ``1 / (2 pi)^2`` spreads it uniformly over the
two in-plane angles, and ``(J_R, L_z, theta_R, theta_phi)`` has unit
Jacobian with respect to in-plane phase space ``(x, y, v_x, v_y)`` (canonical
coordinates; exactly so for :class:`~diskorbits.actions.Epicycle` actions,
approximately for the Stäckel fudge, whose J_R also depends on ``z`` and
``v_z`` -- the inconsistency the paper notes under Eq. A3). ``D^2 cos b``
turns ``(x, y, z)`` into ``(l, b, D)``. The model says nothing about the
vertical velocity, so :class:`SurveySetup` fixes it to a parameter-
independent Gaussian ``g(v_z)`` (default 20 km/s): it normalises the phase-
space density (needed because the Stäckel J_R depends on ``v_z``), cancels
between the survey volume and its proposal, and is a constant per star in
the data term. Because the selection does not depend on [Fe/H], the
[Fe/H] integral of the survey volume is done analytically: there the
density is written with ``L_z0`` in place of [Fe/H] (:func:`log_p_birth`,
Eq. 16), which makes the survey volume exactly independent of the three
enrichment parameters.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings

import astropy.units as u
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from .. import (
    _config,  # noqa: F401  (float64)
    frames,
    units,
)
from ..actions import ActionWarning, StaeckelFudge, compute_actions
from ..actions._method import AbstractActionMethod
from ..actions.compute import CHUNK
from ..potentials.base import AbstractPotential
from .model import (
    DEFAULT_CONSTANTS,
    DEFAULT_VERTICAL,
    GuidingTable,
    StarInputs,
    default_guiding_table,
    prepare_inputs,
)
from .model import log_p_birth as _log_p_birth
from .parameters import ModelConstants, ModelParameters
from .redclump import AbstractRedClumpFraction, RedClumpFraction
from .selection import Selection
from .vertical import AbstractVerticalAction

__all__ = [
    "VZ_DISPERSION_KMS",
    "ProposalConfig",
    "ProposalSample",
    "SurveySetup",
    "VolumeEstimate",
    "VolumeSample",
    "draw_proposal",
    "draw_volume_sample",
    "galactic_to_icrs",
    "log_p_birth",
]

#: Default dispersion of the fixed vertical-velocity law g(v_z), km/s (thin-disk red clump).
VZ_DISPERSION_KMS: float = 20.0

_LOG_2PI = math.log(2.0 * math.pi)
_DEG = math.pi / 180.0


# --------------------------------------------------------------------------- #
# The fixed ingredients of the data model
# --------------------------------------------------------------------------- #
@functools.lru_cache(maxsize=1)
def _default_potential():
    # MWPotential2014 as Frankel et al. (2020) scale it (Sec. 3.3); memoised
    # because building it tabulates the bulge (seconds).
    from ..potentials import MWPotential2014

    return MWPotential2014(ro=8.2, vo=235.0)


@dataclasses.dataclass(frozen=True)
class SurveySetup:
    """Everything the data model of Eq. 14 fixes: survey, potential, actions, frame, f_RC.

    One setup is shared by :func:`~diskorbits.migration.mock.make_mock` and
    :func:`~diskorbits.migration.likelihood.build_likelihood`, so that a
    mock is analysed with exactly the model it was drawn from.

    Parameters
    ----------
    selection : Selection
        ``S(l, b, D)`` (:mod:`~diskorbits.migration.selection`).
    potential : AbstractPotential, optional
        Default: MWPotential2014 with ``ro = 8.2 kpc``, ``vo = 235 km/s`` (Sec. 3.3).
    method : action method, optional
        Default :class:`~diskorbits.actions.StaeckelFudge` (Sec. 2.3, Binney 2012).
    table : GuidingTable, optional
        Guiding radius, kappa and nu of ``potential``; built from it when not
        given (:func:`~diskorbits.migration.model.default_guiding_table` for
        the default potential).
    red_clump : AbstractRedClumpFraction, optional
        ``f_RC(tau)``; default :class:`~diskorbits.migration.redclump.RedClumpFraction`.
    constants : ModelConstants
    vertical : AbstractVerticalAction
    sun : SolarParameters
        Galactocentric frame; default :data:`diskorbits.frames.FRANKEL2020`
        (R_sun = 8.2 kpc, z_sun = 20.8 pc, v_sun = (11.1, 247.4, 7.25) km/s).
    vz_dispersion : float or velocity Quantity
        Dispersion of the fixed vertical-velocity law ``g(v_z)``, km/s for
        plain numbers (default :data:`VZ_DISPERSION_KMS`). Stored in kpc/Myr.

    Raises
    ------
    TypeError
        If ``selection``, ``potential``, ``method``, ``table`` or ``red_clump`` has the wrong type.
    ValueError
        If ``vz_dispersion`` is not positive and finite.
    """

    selection: Selection
    potential: AbstractPotential | None = None
    method: AbstractActionMethod | None = None
    table: GuidingTable | None = None
    red_clump: AbstractRedClumpFraction | None = None
    constants: ModelConstants = DEFAULT_CONSTANTS
    vertical: AbstractVerticalAction = DEFAULT_VERTICAL
    sun: frames.SolarParameters = frames.FRANKEL2020
    vz_dispersion: float = VZ_DISPERSION_KMS

    def __post_init__(self):
        set_ = object.__setattr__
        if not isinstance(self.selection, Selection):
            raise TypeError(f"'selection' must be a Selection (e.g. apogee_dr17(), NoSelection(d_max=3)), got {type(self.selection).__name__}")
        if self.potential is None:
            set_(self, "potential", _default_potential())
            if self.table is None:
                set_(self, "table", default_guiding_table())
        elif not isinstance(self.potential, AbstractPotential):
            raise TypeError(f"'potential' must be an AbstractPotential, got {type(self.potential).__name__}")
        if self.table is None:
            set_(self, "table", GuidingTable.from_potential(self.potential))
        elif not isinstance(self.table, GuidingTable):
            raise TypeError(f"'table' must be a GuidingTable, got {type(self.table).__name__}")
        if self.method is None:
            set_(self, "method", StaeckelFudge())
        elif not isinstance(self.method, AbstractActionMethod):
            raise TypeError(f"'method' must be an action method such as StaeckelFudge(), got {type(self.method).__name__}")
        if self.red_clump is None:
            set_(self, "red_clump", RedClumpFraction())
        elif not isinstance(self.red_clump, AbstractRedClumpFraction):
            raise TypeError(f"'red_clump' must be an AbstractRedClumpFraction, got {type(self.red_clump).__name__}")
        if not isinstance(self.constants, ModelConstants):
            raise TypeError(f"'constants' must be ModelConstants, got {type(self.constants).__name__}")
        if not isinstance(self.vertical, AbstractVerticalAction):
            raise TypeError(f"'vertical' must be an AbstractVerticalAction, got {type(self.vertical).__name__}")
        if isinstance(self.vz_dispersion, u.Quantity):
            sz = float(units.to_internal(self.vz_dispersion, "velocity", "vz_dispersion"))
        else:
            sz = float(self.vz_dispersion) * units.KMS
        if not (math.isfinite(sz) and sz > 0):
            raise ValueError(f"'vz_dispersion' must be positive and finite, got {self.vz_dispersion!r}")
        set_(self, "vz_dispersion", sz)

    @property
    def tau_m(self) -> float:
        """Maximum age of the model, Myr."""
        return float(self.constants.tau_m)

    def circular_velocity(self, R) -> np.ndarray:
        """``v_c(R)`` in kpc/Myr from the guiding table (``R`` in kpc)."""
        R = np.asarray(R, dtype=np.float64)
        return np.exp(np.interp(np.log(R), np.asarray(self.table.ln_R), np.asarray(self.table.ln_lz))) / R

    def log_vz_density(self, v_z) -> np.ndarray:
        """``ln g(v_z)`` (v_z in kpc/Myr): the fixed vertical-velocity law, ln(Myr/kpc)."""
        s = self.vz_dispersion
        return -0.5 * (np.asarray(v_z) / s) ** 2 - math.log(s) - 0.5 * _LOG_2PI

    def red_clump_norm(self, rate: float = 0.0) -> float:
        """``I = int_0^tau_m f_RC(tau) exp(rate tau) dtau`` in Myr (``rate`` in 1/Myr; Simpson's rule, 24,001 nodes)."""
        t = np.linspace(0.0, self.tau_m, 24001)
        f = np.asarray(self.red_clump(jnp.asarray(t)), dtype=np.float64) * np.exp(rate * t)
        h = t[1] - t[0]
        return float(h / 3.0 * (f[0] + f[-1] + 4.0 * f[1:-1:2].sum() + 2.0 * f[2:-1:2].sum()))

    def describe(self) -> dict:
        """Plain-number summary for catalogue and run metadata."""
        sel = self.selection.describe() if hasattr(self.selection, "describe") else repr(self.selection)
        return {
            "selection": sel,
            "potential": type(self.potential).__name__,
            "method": type(self.method).__name__,
            "red_clump": repr(self.red_clump),
            "solar_parameters": self.sun.describe(),
            "vz_dispersion_kms": self.vz_dispersion / units.KMS,
            "tau_m_gyr": self.tau_m / units.GYR,
        }


@dataclasses.dataclass(frozen=True)
class ProposalConfig:
    """The simple galaxy ``p_s`` of Frankel et al. (2020), Appendix B, from which proposals are drawn.

    Its only job is to envelope the model: the closer it is, the larger the
    effective sample size; any choice gives the same answer in expectation.

    Attributes
    ----------
    disk_scale_length : float, kpc
        ``R_ds`` of Eq. B4 (default 3.0).
    disk_scale_height : float, kpc
        ``h_zs`` of Eq. B4 (default 0.6; larger than the model's scale height
        of 6 Gyr old stars, ~0.6 kpc at the Sun, so that the weights stay bounded).
    sigma_vR, sigma_vphi : float, km/s
        Widths of the Gaussian in-plane velocities of the oldest stars
        (defaults 60 and 45 km/s, wider than the model's sigma_R = 49 km/s
        at 8 kpc and tau_m, Table 1).
    velocity_exponent : float
        The widths scale with age as ``((tau + tau_1) / (tau_m + tau_1))^velocity_exponent``
        (default 0.25; below the heating exponent beta = 0.3 so that young
        stars stay enveloped too). Non-negative. Surveys reaching deep into
        the inner disk, where the model's sigma_R grows as
        ``exp((8 kpc - R) / R_sigmaR)``, may want a larger ``sigma_vR``.
    sigma_lz0 : float, kpc km/s
        Width of the birth angular momentum around ``L_z + lz0_shift tau / tau_m``
        at ``tau_m``; it scales as ``sqrt(tau / tau_m)`` (default 700, wider than
        sigma_Lz = 582).
    lz0_shift : float, kpc km/s
        Mean of ``L_z0 - L_z`` at ``tau_m`` (default -400: old stars in a
        falling exponential disk with an inside-out history were mostly born
        inside their present orbit). Any finite value.
    age_rate : float, 1/Gyr
        Ages are drawn from ``f_RC(tau) exp(age_rate tau)`` on (0, tau_m]
        (default 0.5, about the rate of the inside-out history of Eq. 2
        near the Sun). Any finite value.
    n_grid : int
        Distance nodes per field for the position sampler (default 512).

    Raises
    ------
    ValueError
        Naming the first attribute that is not positive and finite.
    """

    disk_scale_length: float = 3.0
    disk_scale_height: float = 0.6
    sigma_vR: float = 60.0
    sigma_vphi: float = 45.0
    velocity_exponent: float = 0.25
    sigma_lz0: float = 700.0
    lz0_shift: float = -400.0
    age_rate: float = 0.5
    n_grid: int = 512

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if not (isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(float(v))):
                raise ValueError(f"ProposalConfig.{f.name} must be a finite number, got {v!r}")
            if f.name not in ("lz0_shift", "age_rate", "velocity_exponent") and not v > 0:
                raise ValueError(f"ProposalConfig.{f.name} must be positive, got {v!r}")
        if self.velocity_exponent < 0:
            raise ValueError(f"ProposalConfig.velocity_exponent must be >= 0, got {self.velocity_exponent!r}")
        if int(self.n_grid) != self.n_grid or self.n_grid < 2:
            raise ValueError(f"ProposalConfig.n_grid must be an integer >= 2, got {self.n_grid!r}")

    def describe(self) -> dict:
        return dataclasses.asdict(self)

    def log_disk_density(self, sun: frames.SolarParameters):
        """``ln rho_s(l, b, D) = -R / R_ds + ln sech^2(z / h_zs)`` (Eq. B4) as a NumPy callable (deg, deg, kpc).

        The geometry uses the Sun at ``(R, z) = (R_sun, z_sun)`` in the plane
        of the sky, which is all a proposal needs: the sampler returns the
        exact density of what it drew, whatever this function is.
        """
        r_sun, z_sun = float(sun.galcen_distance), float(sun.z_sun)
        R_d, h_z = float(self.disk_scale_length), float(self.disk_scale_height)

        def log_rho(l_deg, b_deg, D):
            l, b = np.asarray(l_deg) * _DEG, np.asarray(b_deg) * _DEG
            x = r_sun - D * np.cos(b) * np.cos(l)
            y = D * np.cos(b) * np.sin(l)
            az = np.abs(z_sun + D * np.sin(b)) / h_z
            # ln sech^2(a) = 2 (ln 2 - a - ln(1 + e^{-2a})), no overflow
            return -np.hypot(x, y) / R_d + 2.0 * (math.log(2.0) - az - np.log1p(np.exp(-2.0 * az)))

        return log_rho


# --------------------------------------------------------------------------- #
# Helpers at the edge: sky coordinates, frames and actions in fixed-size chunks
# --------------------------------------------------------------------------- #
def galactic_to_icrs(l, b) -> tuple[np.ndarray, np.ndarray]:
    """ICRS ``(ra, dec)`` in deg of Galactic ``(l, b)`` in deg (astropy's Galactic frame)."""
    from astropy.coordinates import SkyCoord

    c = SkyCoord(l=np.asarray(l, dtype=np.float64) * u.deg, b=np.asarray(b, dtype=np.float64) * u.deg, frame="galactic").icrs
    return np.asarray(c.ra.deg), np.asarray(c.dec.deg)


def _chunked(fn, arrays: dict, fill: dict, chunk: int = CHUNK) -> dict:
    """Apply ``fn(**chunk_arrays) -> dict`` to flat arrays padded to whole chunks of ``chunk``.

    Every call then has the same shape, so each JAX program is compiled once
    per process however many stars or samples are processed.
    """
    n = next(iter(arrays.values())).size
    n_pad = max(chunk, -(-n // chunk) * chunk)
    flat = {}
    for k, v in arrays.items():
        a = np.full(n_pad, fill[k], dtype=np.float64)
        a[:n] = np.ravel(v)
        flat[k] = a
    parts = [fn(**{k: v[s : s + chunk] for k, v in flat.items()}) for s in range(0, n_pad, chunk)]
    return {k: np.concatenate([np.asarray(p[k]) for p in parts])[:n] for k in parts[0]}


def _cylindrical(ra, dec, D, pmra, pmdec, rv, sun) -> dict:
    """Galactocentric cylinder (internal units) of observables (deg, deg, kpc, mas/yr, mas/yr, km/s)."""
    shape = np.shape(D)

    def f(ra, dec, D, pmra, pmdec, rv):
        c = frames.observed_to_cylindrical(ra, dec, D, pmra, pmdec, rv, sun=sun)
        return c._asdict()

    arrays = {k: np.broadcast_to(v, shape) for k, v in {"ra": ra, "dec": dec, "D": D, "pmra": pmra, "pmdec": pmdec, "rv": rv}.items()}
    fill = {"ra": 0.0, "dec": 0.0, "D": 1.0, "pmra": 0.0, "pmdec": 0.0, "rv": 0.0}
    return {k: v.reshape(shape) for k, v in _chunked(f, arrays, fill).items()}


def _cartesian_to_observed(R, phi, z, v_R, v_phi, v_z, sun) -> dict:
    """Heliocentric observables (deg, kpc, mas/yr, km/s) of Galactocentric cylindrical coordinates."""

    def f(R, phi, z, v_R, v_phi, v_z):
        c = frames.cylindrical_to_cartesian(R, phi, z, v_R, v_phi, v_z)
        return frames.galactocentric_to_observed(*c, sun=sun)._asdict()

    fill = {"R": 8.0, "phi": 0.0, "z": 0.0, "v_R": 0.0, "v_phi": 0.2, "v_z": 0.0}
    return _chunked(f, {"R": R, "phi": phi, "z": z, "v_R": v_R, "v_phi": v_phi, "v_z": v_z}, fill)


def _actions_worker(payload):
    """Actions of one fixed-size chunk (module level so it pickles for process/Dask executors)."""
    potential, method, cols = payload
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ActionWarning)  # flagged samples are counted by the caller
        res = compute_actions(potential, cols["R"], cols["z"], cols["v_R"], cols["v_phi"], cols["v_z"], method=method)
    return {
        "J_R": np.asarray(res.J_R),
        "L_z": np.asarray(res.J_phi),
        "J_z": np.asarray(res.J_z),
        "flag": np.asarray(res.flag, dtype=np.int32),
    }


def sample_actions(setup: SurveySetup, R, z, v_R, v_phi, v_z, *, executor=None) -> dict:
    """``J_R``, ``L_z``, ``J_z`` (kpc^2/Myr) and the action flag of many samples, in chunks of fixed size.

    Inputs are internal units, any (common) shape; chunks of
    :data:`diskorbits.actions.compute.CHUNK` samples go through
    ``executor.map`` (:class:`diskorbits.parallel.Executor`) when one is given,
    else are computed here one after another.
    """
    shape = np.shape(R)
    cols = {k: np.ravel(np.broadcast_to(v, shape)).astype(np.float64) for k, v in {"R": R, "z": z, "v_R": v_R, "v_phi": v_phi, "v_z": v_z}.items()}
    n = cols["R"].size
    n_pad = max(CHUNK, -(-n // CHUNK) * CHUNK)
    fill = {"R": 8.0, "z": 0.0, "v_R": 0.0, "v_phi": 0.2, "v_z": 0.0}
    padded = {k: np.concatenate([v, np.full(n_pad - n, fill[k])]) for k, v in cols.items()}
    payloads = [(setup.potential, setup.method, {k: v[s : s + CHUNK] for k, v in padded.items()}) for s in range(0, n_pad, CHUNK)]
    if executor is None:
        parts = [_actions_worker(p) for p in payloads]
    else:
        parts = executor.map(_actions_worker, payloads, description=f"actions ({n} samples)")
    return {k: np.concatenate([p[k] for p in parts])[:n].reshape(shape) for k in parts[0]}


_INPUT_FIELDS = ("tau", "feh", "J_R", "L_z", "z", "kappa", "R_circ", "nu")


def _safe_inputs(setup, tau, feh, J_R, L_z, z, R, bad) -> StarInputs:
    """:func:`prepare_inputs` (any shape, fixed-size chunks) with harmless stand-ins where ``bad``.

    The stand-ins only keep the arrays finite: those samples get weight 0.
    """
    shape = np.shape(tau)
    sub = lambda x, x0: np.where(bad, x0, np.broadcast_to(x, shape))
    lz_sun = 8.0 * 235.0 * units.KPC_KMS
    arrays = {"tau": sub(tau, 0.5 * setup.tau_m), "feh": sub(feh, 0.0), "J_R": sub(J_R, 0.0), "L_z": sub(L_z, lz_sun), "z": sub(z, 0.0), "R": sub(R, 8.0)}

    def f(tau, feh, J_R, L_z, z, R):
        s = prepare_inputs(tau, feh, J_R, L_z, z, R, table=setup.table)
        return {k: getattr(s, k) for k in _INPUT_FIELDS}

    fill = {"tau": 0.5 * setup.tau_m, "feh": 0.0, "J_R": 0.0, "L_z": lz_sun, "z": 0.0, "R": 8.0}
    out = _chunked(f, arrays, fill)
    return StarInputs(**{k: jnp.asarray(out[k].reshape(shape)) for k in _INPUT_FIELDS})


def _f_rc(setup: SurveySetup, tau) -> np.ndarray:
    """``f_RC(tau)`` (tau in Myr, any shape) evaluated in fixed-size chunks."""
    tau = np.asarray(tau, dtype=np.float64)
    out = _chunked(lambda tau: {"f": setup.red_clump(tau)}, {"tau": tau}, {"tau": 1000.0})
    return out["f"].reshape(tau.shape)


def _rng(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"'rng' must be a numpy.random.Generator or an integer seed, got {type(rng).__name__}")


def _draw_ages(gen: np.random.Generator, n: int, setup: SurveySetup, rate: float) -> np.ndarray:
    """``n`` ages from ``f_RC(tau) exp(rate tau) / I`` on (0, tau_m] (rate in 1/Myr).

    Exact: ages from the normalised ``exp(rate tau)`` by its inverse CDF,
    kept with probability ``f_RC(tau)`` (a probability, so <= 1).
    """
    out = np.empty(0)
    tau_m = setup.tau_m
    while out.size < n:
        v = 1.0 - gen.uniform(0.0, 1.0, max(2 * (n - out.size), 1024))  # (0, 1]
        if abs(rate * tau_m) < 1e-12:
            t = tau_m * v
        else:
            t = np.log1p(v * np.expm1(rate * tau_m)) / rate
        t = np.clip(t, 1e-300, tau_m)
        f = _f_rc(setup, t)
        out = np.concatenate([out, t[gen.uniform(0.0, 1.0, t.size) < f]])
    return out[:n]


#: :func:`diskorbits.migration.model.log_p_birth` (Eq. 16), compiled: the proposal
#: weights call it outside any jit.
log_p_birth = jax.jit(_log_p_birth)


# --------------------------------------------------------------------------- #
# Proposal draws
# --------------------------------------------------------------------------- #
@dataclasses.dataclass(frozen=True)
class ProposalSample:
    """Stars drawn from the simple galaxy ``p_s`` inside the selection, with actions (Appendix B, steps 1-3).

    Arrays have shape ``(n,)``, internal units (kpc, Myr, kpc/Myr, kpc^2/Myr)
    except ``l, b, ra, dec`` (deg).

    Attributes
    ----------
    l, b, ra, dec, D : Galactic and ICRS direction (deg), distance (kpc).
    field : region of the selection the position was drawn in.
    R, phi, z, v_R, v_phi, v_z : Galactocentric cylinder (:mod:`diskorbits.frames` convention).
    tau, lz0 : age (Myr) and birth angular momentum.
    J_R, L_z, J_z, flag : actions and the action engine's flag (0 = valid).
    selection : ``S(l, b, D)``.
    log_weight : ``ln[ D^2 S f_RC / ((2 pi)^2 q) ]`` with ``q`` the proposal density
        (``g(v_z)`` cancels): the parameter-independent part of the
        importance weight of Eq. B8; ``-inf`` for flagged samples.
    inputs : StarInputs for :func:`log_p_birth` (``feh`` = 0, unused).
    """

    l: np.ndarray
    b: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    D: np.ndarray
    field: np.ndarray
    R: np.ndarray
    phi: np.ndarray
    z: np.ndarray
    v_R: np.ndarray
    v_phi: np.ndarray
    v_z: np.ndarray
    tau: np.ndarray
    lz0: np.ndarray
    J_R: np.ndarray
    L_z: np.ndarray
    J_z: np.ndarray
    flag: np.ndarray
    selection: np.ndarray
    log_weight: np.ndarray
    inputs: StarInputs

    def __len__(self) -> int:
        return int(self.D.shape[0])

    def log_target_weight(self, params: ModelParameters, setup: SurveySetup) -> np.ndarray:
        """``ln w = log_weight + ln p(L_z0, tau, J_R, L_z, z | params)``: target over proposal density."""
        lp = log_p_birth(params, jnp.asarray(self.lz0), self.inputs, setup.constants, setup.vertical)
        return np.asarray(lp) + self.log_weight

    def subset(self, index) -> ProposalSample:
        """The samples at ``index`` (boolean mask or integer array)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "inputs"}
        fields = {k: v[index] for k, v in fields.items()}
        inputs = jax.tree_util.tree_map(lambda a: a[np.asarray(index)], self.inputs)
        return ProposalSample(**fields, inputs=inputs)


def draw_proposal(rng, n: int, setup: SurveySetup, proposal: ProposalConfig = ProposalConfig(), *, executor=None) -> ProposalSample:
    """Draw ``n`` stars from the simple galaxy of Appendix B inside ``setup.selection`` and compute their actions.

    Steps 1-2 (positions from ``rho_s D^2 S``, field by field) are the
    selection's sampler; step 3 draws ages from ``f_RC``, velocities from
    Gaussians around ``(v_R, v_phi) = (0, v_c(R))``, ``v_z`` from ``g``, and
    ``L_z0`` around the present ``L_z``. Step 4 (down-sampling to a proposal
    model) is left to the caller: the mock rejects with the target weight,
    the survey volume keeps every draw with its weight.

    Parameters
    ----------
    rng : numpy.random.Generator or int
    n : int
        Number of draws.
    setup : SurveySetup
    proposal : ProposalConfig
    executor : diskorbits.parallel.Executor, optional
        For the action computation (chunks of 8192 samples).

    Returns
    -------
    ProposalSample

    Raises
    ------
    ValueError
        If ``n < 1`` (and as the selection's sampler does).
    """
    if not isinstance(setup, SurveySetup):
        raise TypeError(f"'setup' must be a SurveySetup, got {type(setup).__name__}")
    if not isinstance(proposal, ProposalConfig):
        raise TypeError(f"'proposal' must be a ProposalConfig, got {type(proposal).__name__}")
    if int(n) != n or n < 1:
        raise ValueError(f"'n' must be a positive integer, got {n!r}")
    n = int(n)
    gen = _rng(rng)
    pos = setup.selection.sample_positions(gen, n, proposal.log_disk_density(setup.sun), n_grid=proposal.n_grid)
    ra, dec = galactic_to_icrs(pos.l, pos.b)
    cyl = _cylindrical(ra, dec, pos.D, 0.0, 0.0, 0.0, setup.sun)
    R, phi, z = cyl["R"], cyl["phi"], cyl["z"]

    rate = proposal.age_rate / units.GYR
    tau = _draw_ages(gen, n, setup, rate)
    C = setup.constants
    heat = ((tau + float(C.tau_1)) / (setup.tau_m + float(C.tau_1))) ** proposal.velocity_exponent
    s_R = proposal.sigma_vR * units.KMS * heat
    s_phi = proposal.sigma_vphi * units.KMS * heat
    vc = setup.circular_velocity(R)
    v_R = gen.normal(0.0, 1.0, n) * s_R
    v_phi = vc + gen.normal(0.0, 1.0, n) * s_phi
    v_z = gen.normal(0.0, setup.vz_dispersion, n)
    L_z = R * v_phi
    t = tau / setup.tau_m
    width = proposal.sigma_lz0 * units.KPC_KMS * np.sqrt(t)
    centre = L_z + proposal.lz0_shift * units.KPC_KMS * t
    lz0 = centre + width * gen.normal(0.0, 1.0, n)

    act = sample_actions(setup, R, z, v_R, v_phi, v_z, executor=executor)
    sel = np.asarray(setup.selection(pos.l, pos.b, pos.D), dtype=np.float64)

    def log_normal(x, mu, s):
        return -0.5 * ((x - mu) / s) ** 2 - np.log(s) - 0.5 * _LOG_2PI

    # ln q without g(v_z) and without f_RC (both cancel against the target):
    # positions (per sr per kpc), in-plane velocities, age (f_RC e^{rate tau} / I), L_z0.
    log_q_rest = (
        pos.log_density + log_normal(v_R, 0.0, s_R) + log_normal(v_phi, vc, s_phi)
        + rate * tau - math.log(setup.red_clump_norm(rate)) + log_normal(lz0, centre, width)
    )  # fmt: skip
    bad = act["flag"] != 0
    with np.errstate(divide="ignore"):
        log_w = -2.0 * _LOG_2PI + 2.0 * np.log(pos.D) + np.log(sel) - log_q_rest
    log_w = np.where(bad, -np.inf, log_w)
    inputs = _safe_inputs(setup, tau, np.zeros(n), act["J_R"], act["L_z"], z, R, bad)
    return ProposalSample(
        l=pos.l, b=pos.b, ra=ra, dec=dec, D=pos.D, field=pos.field, R=R, phi=phi, z=z,
        v_R=v_R, v_phi=v_phi, v_z=v_z, tau=tau, lz0=lz0,
        J_R=act["J_R"], L_z=act["L_z"], J_z=act["J_z"], flag=act["flag"],
        selection=sel, log_weight=log_w, inputs=inputs,
    )  # fmt: skip


# --------------------------------------------------------------------------- #
# Survey volume (Eqs. 15-16, B8)
# --------------------------------------------------------------------------- #
class VolumeEstimate(eqx.Module):
    """Survey volume at one parameter set with its Monte Carlo diagnostics.

    Attributes
    ----------
    log_volume : float
        ``ln V_S`` (the density's measure: rad^2 x kpc x (kpc/Myr)^3 x Myr x dex, i.e. dimensionless
        for a normalised ``p_MW``; ``V_S`` is the fraction of the model's stars the survey selects,
        times the mean ``f_RC``).
    relative_error : float
        Standard error of ``V_S`` over ``V_S``: ``std(w) / (mean(w) sqrt(n))``.
    ess : float
        Effective sample size of the weights, ``(sum w)^2 / sum w^2``.
    n : int
        Number of proposal samples.
    """

    log_volume: jax.Array
    relative_error: jax.Array
    ess: jax.Array
    n: int = eqx.field(static=True)


class VolumeSample(eqx.Module):
    """Fixed proposal samples for the survey volume ``V_S(params)`` (Frankel et al. 2020, Eqs. 15-16, B8).

    Drawn once (:func:`draw_volume_sample`), actions computed once, then

        V_S(params) = (1/n) sum_j exp(log_weight_j) p(L_z0, tau, J_R, L_z, z | params)_j

    is a smooth, differentiable function of the parameters (fixed samples,
    McMillan & Binney 2013). Every draw is kept with its exact importance
    weight instead of being down-sampled to a proposal model (Appendix B,
    step 4): equal in expectation, and never fewer effective samples.

    Attributes
    ----------
    inputs : StarInputs (n,)
    lz0 : array (n,), kpc^2/Myr
    log_weight : array (n,)
        See :attr:`ProposalSample.log_weight`.
    constants : ModelConstants
    vertical : AbstractVerticalAction
    """

    inputs: StarInputs
    lz0: jax.Array
    log_weight: jax.Array
    constants: ModelConstants
    vertical: AbstractVerticalAction

    @property
    def n(self) -> int:
        return int(self.lz0.shape[0])

    def _log_terms(self, params):
        return log_p_birth(params, self.lz0, self.inputs, self.constants, self.vertical) + self.log_weight

    def log_volume(self, params: ModelParameters) -> jax.Array:
        """``ln V_S(params)``; traceable and differentiable."""
        return logsumexp(self._log_terms(params)) - math.log(self.n)

    def ess(self, params: ModelParameters) -> jax.Array:
        """Effective sample size ``(sum w)^2 / sum w^2`` of the weights at ``params``; traceable."""
        a = self._log_terms(params)
        return jnp.exp(2.0 * logsumexp(a) - logsumexp(2.0 * a))

    @eqx.filter_jit
    def estimate(self, params: ModelParameters) -> VolumeEstimate:
        """``ln V_S`` with its relative standard error and effective sample size."""
        a = self._log_terms(params)
        lse, lse2 = logsumexp(a), logsumexp(2.0 * a)
        n = self.n
        # var(w)/mean(w)^2 = n sum w^2 / (sum w)^2 - 1
        rel_var = jnp.maximum(n * jnp.exp(lse2 - 2.0 * lse) - 1.0, 0.0)
        return VolumeEstimate(lse - math.log(n), jnp.sqrt(rel_var / n), jnp.exp(2.0 * lse - lse2), n)


def draw_volume_sample(
    rng, n: int, setup: SurveySetup, proposal: ProposalConfig = ProposalConfig(), *, executor=None
) -> VolumeSample:
    """Draw the fixed proposal set of the survey volume (Appendix B) and compute its actions once.

    Parameters
    ----------
    rng : numpy.random.Generator or int
    n : int
        Number of proposal samples (the paper-scale default of
        :func:`~diskorbits.migration.likelihood.build_likelihood` is 10^5).
    setup : SurveySetup
    proposal : ProposalConfig
    executor : diskorbits.parallel.Executor, optional

    Returns
    -------
    VolumeSample

    Warns
    -----
    UserWarning
        If some samples were flagged by the action engine (they get zero weight).
    """
    s = draw_proposal(rng, n, setup, proposal, executor=executor)
    nbad = int(np.count_nonzero(s.flag))
    if nbad:
        warnings.warn(f"{nbad} of {n} survey-volume samples were flagged by the action engine and get zero weight", stacklevel=2)
    return VolumeSample(
        inputs=s.inputs, lz0=jnp.asarray(s.lz0), log_weight=jnp.asarray(s.log_weight),
        constants=setup.constants, vertical=setup.vertical,
    )  # fmt: skip
