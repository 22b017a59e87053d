"""Fitting the Frankel et al. (2020) model end to end: prior box, MLE, posterior sampling, fit files.

Frankel et al. (2020), Sec. 4.3, put uniform priors with wide ranges on the
eleven parameters (distances, spatial scales and time scales positive),
maximised the likelihood with Nelder-Mead from several starting points and
then sampled the posterior with emcee, the walkers started in a hypercube
around the maximum-likelihood point. :func:`fit` does the same on top of
:mod:`diskorbits.sampling`:

1. :func:`make_problem` -- the log-likelihood (any JAX callable of a
   display-unit vector in :data:`~diskorbits.migration.parameters.NAMES`
   order, e.g. a ``migration.likelihood.Likelihood``) and the prior box
   :data:`PRIOR_BOUNDS`, whose centre is the Table 1 point;
2. :func:`~diskorbits.sampling.maximize_likelihood` -- multi-start
   L-BFGS-B with the JAX gradient (default) or the paper's Nelder-Mead;
3. :func:`~diskorbits.sampling.run_nuts` (default; started at the MLE) or
   :func:`~diskorbits.sampling.run_emcee` (the paper's sampler; hypercube
   around the MLE), or no sampling at all;
4. a frozen :class:`MigrationFit` -- MLE, posterior samples, configuration,
   seed, selection and catalogue descriptions, version -- written
   atomically to one HDF5 file (:func:`write_fit`, :func:`read_fit`).

Vectors are in **display units** throughout (those of Table 1: kpc, Gyr,
kpc km/s, km/s, dex/kpc, dex; :data:`~diskorbits.migration.parameters.UNITS`),
so posterior samples go straight into :mod:`~diskorbits.migration.derived`.

Long runs and resuming
----------------------
With ``path=FIT.h5`` the fit file is written after the MLE (``complete =
False``) and the sampler checkpoints into a side file ``FIT.h5.sampling.h5``
after every chunk (the sampler's own bit-identical resume). ``resume=True``
continues an unfinished fit: it reuses the stored MLE and the sampler's
checkpoint, and refuses when the configuration (prior box, sampler settings,
seed) or the log-likelihood at the box centre (a fingerprint of the data and
model) differ. When the sampler finishes, the final file replaces the stage
file and the side file is removed.

File layout (format ``diskorbits.migration.fit/1``)::

    /                attrs: format, diskorbits_version, created, unit_system, complete,
                            sampler, seed, names_json, units_json, config_json,
                            selection_json, catalogue_json, meta_json
    /prior/lower, /prior/upper     box in display units [11]
    /mle             the OptimizeResult (datasets x, starts, ends, values, ...; attrs)
    /sampling        the SamplingResult, in the layout of diskorbits.sampling.result/1
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import inspect
import json
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import equinox as eqx
import h5py
import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)
from ..io.atomic import atomic_path
from ..io.runfiles import open_run_file
from ..progress import as_progress
from ..sampling import (
    ConvergenceWarning,
    OptimizeResult,
    Problem,
    SamplingResult,
    laplace_covariance,
    maximize_likelihood,
    read_result,
    run_emcee,
    run_nuts,
)
from .parameters import _TABLE1, NAMES, UNITS, ModelParameters

__all__ = [
    "EMCEE_FALLBACK_WIDTH",
    "FIT_FORMAT",
    "LaplaceErrors",
    "PRIOR_BOUNDS",
    "SAMPLERS",
    "NUTS_DEFAULTS",
    "MigrationFit",
    "describe_selection",
    "fit",
    "laplace_errors",
    "make_problem",
    "prior_bounds",
    "read_fit",
    "sampling_path",
    "write_fit",
]

#: Identifier and version of the fit-file layout.
FIT_FORMAT = "diskorbits.migration.fit/1"
#: Accepted values of ``fit(..., sampler=)``.
SAMPLERS: tuple[str, ...] = ("nuts", "emcee", "none")
#: NUTS settings of :func:`fit` where ``sampler_options`` does not give them: two chains
#: (one per core of a laptop-class CPU) and the dense Laplace covariance of the MLE as
#: the metric, kept through warmup (``adapt_mass="auto"``; the parameters are strongly
#: correlated, e.g. R_d0 and x_io, and a dense matrix re-estimated from Stan's short
#: windows was much worse), so that the warmup only tunes the step size.
NUTS_DEFAULTS: dict[str, Any] = {"n_warmup": 100, "n_draws": 300, "n_chains": 2, "dense_mass": True, "adapt_mass": "auto"}
#: Side of emcee's starting hypercube, as a share of the prior box, when the MLE has no Laplace error bars.
EMCEE_FALLBACK_WIDTH: float = 0.1

_UNIT_SYSTEM = "display units of Frankel et al. (2020) Table 1: " + ", ".join(
    f"{n} [{u or '1'}]" for n, u in zip(NAMES, UNITS)
)

# Half-widths of the prior box around Table 1, in display units. Parameters the
# model needs positive (R_d0, tau_SFR, sigma_Lz, sigma_vR0, R_sigmaR, a_z) or
# non-negative (beta, gamma_FeH) get 90% of their Table 1 value, so the box spans
# a factor 19 while its lower edge stays on the physical side; grad_FeH must stay
# negative (the birth [Fe/H] relation is inverted in L_z0), likewise 90%. The
# two unconstrained ones get wide absolute ranges: x_io +- 1 (from an SFH that
# rises outwards to one that is flat inside 5 kpc) and [Fe/H]_max +- 0.7 dex.
_HALF_WIDTH = dict(
    R_d0=0.9 * _TABLE1["R_d0"],  # kpc
    x_io=1.0,  # dimensionless
    tau_SFR=0.9 * _TABLE1["tau_SFR"],  # Gyr
    sigma_Lz=0.9 * _TABLE1["sigma_Lz"],  # kpc km/s
    beta=0.9 * _TABLE1["beta"],  # dimensionless
    sigma_vR0=0.9 * _TABLE1["sigma_vR0"],  # km/s
    R_sigmaR=0.9 * _TABLE1["R_sigmaR"],  # kpc
    a_z=0.9 * _TABLE1["a_z"],  # dimensionless
    gamma_FeH=0.9 * _TABLE1["gamma_FeH"],  # dimensionless
    grad_FeH=0.9 * abs(_TABLE1["grad_FeH"]),  # dex/kpc
    FeH_max=0.7,  # dex
)

#: Default uniform prior box ``{name: (lower, upper)}`` in display units (:data:`UNITS`),
#: centred on the Table 1 values of Frankel et al. (2020):
#:
#: ============  ==================  ===========
#: name          box                 unit
#: ============  ==================  ===========
#: R_d0          (0.28, 5.32)        kpc
#: x_io          (-0.35, 1.65)
#: tau_SFR       (0.1, 1.9)          Gyr
#: sigma_Lz      (58.2, 1105.8)      kpc km/s
#: beta          (0.03, 0.57)
#: sigma_vR0     (4.9, 93.1)         km/s
#: R_sigmaR      (1.9, 36.1)         kpc
#: a_z           (0.116, 2.204)
#: gamma_FeH     (0.0456, 0.8664)
#: grad_FeH      (-0.1778, -0.00936) dex/kpc
#: FeH_max       (0.0, 1.4)          dex
#: ============  ==================  ===========
PRIOR_BOUNDS: dict[str, tuple[float, float]] = {
    # rounded so that the printed box reads as the table above (no 0.28000000000000025)
    n: (round(_TABLE1[n] - _HALF_WIDTH[n], 10), round(_TABLE1[n] + _HALF_WIDTH[n], 10)) for n in NAMES
}

# Conditions of ModelParameters that the box must respect (checked for user boxes).
_POSITIVE = ("R_d0", "tau_SFR", "sigma_Lz", "sigma_vR0", "R_sigmaR", "a_z")
_NON_NEGATIVE = ("beta", "gamma_FeH")
_NEGATIVE = ("grad_FeH",)

# Arguments of the drivers that fit() sets itself.
_RESERVED = {"problem", "key", "init", "center", "path", "resume", "overwrite", "stop_after_chunks", "progress"}


def prior_bounds(**overrides) -> dict[str, tuple[float, float]]:
    """The prior box in display units, :data:`PRIOR_BOUNDS` with some entries replaced.

    Parameters
    ----------
    **overrides : (float, float)
        ``name=(lower, upper)`` in the display unit of ``name`` (:data:`UNITS`),
        e.g. ``prior_bounds(tau_SFR=(0.1, 10.0))``.

    Returns
    -------
    dict of str to (float, float), in :data:`NAMES` order.

    Raises
    ------
    TypeError
        For an unknown parameter name.
    ValueError
        For a non-finite or inverted pair, or a box that leaves the physical
        range of a parameter (positive scales, non-negative exponents, a
        negative outer [Fe/H] gradient).

    Examples
    --------
    >>> b = prior_bounds(tau_SFR=(0.1, 10.0))
    >>> b["tau_SFR"], b["R_d0"]
    ((0.1, 10.0), (0.28, 5.32))
    """
    unknown = sorted(set(overrides) - set(NAMES))
    if unknown:
        raise TypeError(f"unknown parameter(s) {unknown} in the prior box; expected names from {NAMES}")
    out = {}
    for n in NAMES:
        pair = overrides.get(n, PRIOR_BOUNDS[n])
        try:
            lo, hi = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise ValueError(f"prior bound of {n!r} must be a pair of numbers (lower, upper), got {pair!r}") from None
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"prior bound of {n!r} must be finite with lower < upper, got ({lo!r}, {hi!r})")
        if n in _POSITIVE and lo < 0:
            raise ValueError(f"prior bound of {n!r} must be >= 0 (a positive scale), got lower = {lo!r}")
        if n in _NON_NEGATIVE and lo < 0:
            raise ValueError(f"prior bound of {n!r} must be >= 0, got lower = {lo!r}")
        if n in _NEGATIVE and hi > 0:
            raise ValueError(f"prior bound of {n!r} must be <= 0 (a negative gradient), got upper = {hi!r}")
        out[n] = (lo, hi)
    return out


def make_problem(loglike: Callable, bounds: Mapping | None = None) -> Problem:
    """A :class:`~diskorbits.sampling.Problem` for the eleven parameters of Frankel et al. (2020).

    Parameters
    ----------
    loglike : callable
        ``theta [11] -> scalar`` ln L, ``theta`` in display units and :data:`NAMES`
        order; traceable by JAX (differentiable for NUTS). An ``equinox.Module``
        that holds the data (such as ``migration.likelihood.Likelihood``) keeps the
        data out of the compiled code as constants.
    bounds : mapping, optional
        Prior box ``{name: (lower, upper)}`` in display units; missing names take
        :data:`PRIOR_BOUNDS`.

    Returns
    -------
    Problem
        Names :data:`NAMES`; the box in display units (the problem's kinds are all
        ``"dimensionless"``: its numbers are display-unit numbers).

    Raises
    ------
    TypeError
        ``loglike`` is not callable, or ``bounds`` names an unknown parameter.
    ValueError
        A bound is invalid (:func:`prior_bounds`).
    """
    if not callable(loglike):
        raise TypeError(f"'loglike' must be callable (theta [11] -> ln L), got {type(loglike).__name__}")
    b = prior_bounds(**dict(bounds or {}))
    lo = [b[n][0] for n in NAMES]
    hi = [b[n][1] for n in NAMES]
    return Problem(loglike, NAMES, lo, hi)


@dataclasses.dataclass(frozen=True)
class LaplaceErrors:
    """The Gaussian (Laplace) approximation of the posterior at a maximum of ln L, display units.

    Attributes
    ----------
    hessian : array (11, 11)
        Autodiff Hessian of ln L (symmetrised).
    covariance : array (11, 11)
        ``(-H_ff)^-1`` over the free parameters ``f``; NaN rows and columns for
        parameters held fixed, all NaN where ``-H_ff`` is singular.
    sd : array (11,)
        ``sqrt(diag covariance)``; NaN where that is not positive or the parameter is held.
    free : bool array (11,)
    negative_definite : bool
        Whether ``H_ff`` is negative definite (the point is a maximum over the free parameters).
    """

    hessian: np.ndarray
    covariance: np.ndarray
    sd: np.ndarray
    free: np.ndarray
    negative_definite: bool


def laplace_errors(loglike: Callable, vector, *, free=None) -> LaplaceErrors:
    """Laplace errors of the parameters at a maximum of ln L (flat priors), in display units.

    One forward-over-reverse Hessian (11 gradient evaluations): cheap next to sampling.

    Parameters
    ----------
    loglike : callable
        ``theta [11] -> ln L``, JAX-traceable (e.g. a ``Likelihood``).
    vector : array_like (11,), mapping or ModelParameters
        The maximum, display units.
    free : bool array_like (11,), optional
        Parameters to treat as free (default all). Hold a parameter that sits on a face
        of the prior box: the gradient need not vanish there, and the others' errors are
        then conditional on it.
    """
    x = jnp.asarray(_display_vector(vector, "vector"), dtype=jnp.float64)
    n = x.shape[0]
    free = np.ones(n, dtype=bool) if free is None else np.asarray(free, dtype=bool)
    if free.shape != (n,):
        raise ValueError(f"'free' must be a boolean vector of length {n}, got shape {free.shape}")
    h = np.asarray(jax.hessian(lambda v: loglike(v))(x))
    h = 0.5 * (h + h.T)
    f = np.ix_(free, free)
    cov = np.full((n, n), np.nan)
    definite = False
    if np.all(np.isfinite(h[f])):
        definite = bool(np.all(np.linalg.eigvalsh(-h[f]) > 0))
        try:
            cov[f] = np.linalg.inv(-h[f])
        except np.linalg.LinAlgError:
            pass
    var = np.diag(cov)
    sd = np.sqrt(np.where(var > 0, var, np.nan))
    return LaplaceErrors(hessian=h, covariance=cov, sd=sd, free=free, negative_definite=definite)


def describe_selection(selection) -> dict | None:
    """A JSON-ready description of a selection (or anything else) for a fit file's metadata.

    Uses the object's ``describe()`` when it has one (e.g.
    :class:`~diskorbits.migration.selection.SurveySelection`), a dataclass's
    plain fields otherwise (e.g. ``NoSelection``); mappings pass through.
    """
    if selection is None:
        return None
    if isinstance(selection, Mapping):
        return json.loads(_dumps(dict(selection)))
    out: dict[str, Any] = {"type": type(selection).__name__}
    describe = getattr(selection, "describe", None)
    if callable(describe):
        out.update(describe())
    elif dataclasses.is_dataclass(selection):
        for f in dataclasses.fields(selection):
            v = getattr(selection, f.name)
            if v is None or isinstance(v, (bool, int, float, str)):
                out[f.name] = v
    else:
        out["repr"] = repr(selection)[:500]
    return json.loads(_dumps(out))


# ----------------------------------------------------------------------------- the fit


@dataclasses.dataclass(frozen=True)
class MigrationFit:
    """A fit of the Frankel et al. (2020) model: MLE, posterior samples, and how they were made.

    Attributes
    ----------
    names, units : tuple of str [11]
        :data:`NAMES` and their display units :data:`UNITS`.
    lower, upper : ndarray [11]
        Prior box, display units.
    mle : OptimizeResult or None
        Multi-start Nelder-Mead result (vectors in display units).
    sampling : SamplingResult or None
        Posterior samples (display units) and diagnostics; None for ``sampler="none"``
        or before sampling started.
    sampler : str
        ``"nuts"``, ``"emcee"`` or ``"none"``.
    config : dict
        Everything that determines the numbers (JSON-ready): prior box, MLE and sampler
        settings, seed.
    seed : int
        Integer seed; the MLE uses ``fold_in(key(seed), 0)``, the sampler ``fold_in(key(seed), 1)``.
    selection, catalogue : dict or None
        Descriptions of the selection function and of the catalogue.
    version : str
        diskorbits version that wrote the fit.
    complete : bool
        False for a stage file (MLE done, sampling unfinished).
    meta : dict
        ``loglike_at_center``, ``mle_wall_time_s``, ``likelihood`` (the likelihood's own
        description, when it has one), ``created``.
    """

    names: tuple[str, ...]
    units: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    mle: OptimizeResult | None
    sampling: SamplingResult | None
    sampler: str
    config: dict
    seed: int
    selection: dict | None = None
    catalogue: dict | None = None
    version: str = ""
    complete: bool = True
    meta: dict = dataclasses.field(default_factory=dict)

    @property
    def mle_vector(self) -> np.ndarray | None:
        """Maximum-likelihood point ``[11]`` in display units (None without an MLE)."""
        return None if self.mle is None else np.asarray(self.mle.x, dtype=np.float64)

    def mle_parameters(self) -> ModelParameters:
        """The MLE as :class:`~diskorbits.migration.parameters.ModelParameters` (internal units)."""
        if self.mle is None:
            raise ValueError("this fit has no maximum-likelihood point")
        return ModelParameters.from_vector(self.mle_vector)

    @property
    def has_samples(self) -> bool:
        """True when posterior draws are stored."""
        return self.sampling is not None and self.sampling.posterior.shape[1] > 0

    def samples(self, *, max_samples: int | None = None) -> np.ndarray:
        """Posterior draws of all chains pooled, ``[n, 11]`` in display units.

        Parameters
        ----------
        max_samples : int, optional
            Thin evenly (deterministically) to at most this many draws.

        Raises
        ------
        ValueError
            Without posterior samples, or for ``max_samples < 1``.
        """
        if not self.has_samples:
            raise ValueError(f"this fit has no posterior samples (sampler {self.sampler!r}, complete={self.complete})")
        x = self.sampling.flat()
        if max_samples is not None:
            if int(max_samples) < 1:
                raise ValueError(f"'max_samples' must be a positive integer, got {max_samples!r}")
            if x.shape[0] > int(max_samples):
                x = x[np.linspace(0, x.shape[0] - 1, int(max_samples)).round().astype(int)]
        return x

    def write(self, path: str | Path) -> Path:
        """Write the fit to ``path`` atomically (:func:`write_fit`)."""
        return write_fit(path, self)

    @classmethod
    def read(cls, path: str | Path) -> MigrationFit:
        """Read a fit file (:func:`read_fit`)."""
        return read_fit(path)


def sampling_path(path: str | Path) -> Path:
    """The sampler's checkpoint file that belongs to fit file ``path`` (``FIT.h5.sampling.h5``)."""
    path = Path(path)
    return path.with_name(path.name + ".sampling.h5")


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise ValueError(f"'{name}' must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _options(name: str, options: Mapping | None, driver: Callable) -> dict:
    """Validate keyword options for ``driver`` against its signature, leaving out those fit() sets."""
    options = dict(options or {})
    allowed = set(inspect.signature(driver).parameters) - _RESERVED
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(f"unknown {name} option(s) {unknown}; allowed: {sorted(allowed)}")
    return options


@eqx.filter_jit
def _evaluate(f, theta):
    return f(theta)


def _fingerprint(problem: Problem) -> float:
    """ln L at the box centre: what a resumed fit must reproduce (a cheap hash of data and model)."""
    return float(_evaluate(problem.log_likelihood, jnp.asarray(problem.center())))


def _nudge_inside(problem: Problem, x: np.ndarray) -> np.ndarray:
    # Nelder-Mead may stop on a face of the box; the samplers start strictly inside
    lo, hi = np.asarray(problem.lower), np.asarray(problem.upper)
    eps = 1e-6 * (hi - lo)
    return np.clip(x, lo + eps, hi - eps)


def fit(
    loglike,
    *,
    sampler: str = "nuts",
    bounds: Mapping | None = None,
    mle_starts: int = 8,
    mle_options: Mapping | None = None,
    sampler_options: Mapping | None = None,
    seed: int = 0,
    path: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    stop_after_chunks: int | None = None,
    progress=None,
    selection=None,
    catalogue: Mapping | None = None,
) -> MigrationFit:
    """Fit the Frankel et al. (2020) model: multi-start MLE, then NUTS or emcee (Sec. 4.3).

    Parameters
    ----------
    loglike : callable or Likelihood
        ``theta [11] -> ln L`` in display units, :data:`NAMES` order, JAX-traceable
        (and differentiable for NUTS). If it has a ``describe()`` method its output is
        stored in ``meta["likelihood"]``.
    sampler : {"nuts", "emcee", "none"}
        ``"nuts"`` starts its chains around the MLE (Laplace spread); ``"emcee"`` starts
        its walkers in a hypercube of 8 Laplace standard deviations around it, as in the
        paper (52 walkers x 12,000 steps by default; :data:`EMCEE_FALLBACK_WIDTH` of the
        box, with a warning, where the MLE has no Laplace error bars); ``"none"`` stops
        after the MLE.
    bounds : mapping, optional
        Prior box overrides ``{name: (lower, upper)}`` (display units; :func:`prior_bounds`).
    mle_starts : int
        Maximum-likelihood starts (random in the box, or around ``mle_options["guess"]``).
    mle_options : mapping, optional
        More keywords of :func:`~diskorbits.sampling.maximize_likelihood` (``method``,
        ``guess``, ``scale``, ``xatol``, ``fatol``, ``max_iterations``, ``restarts``, ...).
        ``method`` defaults to ``"l-bfgs-b"`` (the JAX gradient); ``"nelder-mead"`` is
        the paper's simplex, same result at ~50x the number of evaluations.
    sampler_options : mapping, optional
        Keywords of :func:`~diskorbits.sampling.run_nuts` (``n_warmup``, ``n_draws``,
        ``n_chains``, ...; defaults :data:`NUTS_DEFAULTS`) or :func:`~diskorbits.sampling.run_emcee` (``n_walkers``,
        ``n_steps``, ``n_burn``, ...).
    seed : int
        Non-negative integer; all randomness derives from ``jax.random.key(seed)``.
    path : str or Path, optional
        Fit file (HDF5). Written after the MLE and at the end; the sampler checkpoints
        into :func:`sampling_path` meanwhile.
    resume : bool
        Continue the unfinished fit in ``path`` (same configuration and likelihood).
    overwrite : bool
        Replace an existing ``path``.
    stop_after_chunks : int, optional
        Stop the sampler after this many chunks in this call, leaving a checkpoint
        (the returned fit has ``complete=False``); not part of the configuration.
    progress : bool or AbstractProgress
        Progress bars for the MLE starts and the sampler steps (silent by default).
    selection : Selection or mapping, optional
        Stored as a description (:func:`describe_selection`).
    catalogue : mapping, optional
        A JSON-ready description of the catalogue (path, number of stars, ...).

    Returns
    -------
    MigrationFit

    Raises
    ------
    ValueError
        Unknown sampler or options, a bad seed, a resume on another configuration or
        likelihood.
    FileExistsError
        ``path`` exists and neither ``resume`` (unfinished fit) nor ``overwrite`` applies.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from diskorbits.migration import table1
    >>> centre = table1().to_vector()
    >>> toy = lambda t: -0.5 * jnp.sum(((t - centre) / (0.01 * jnp.abs(centre))) ** 2)
    >>> f = fit(toy, sampler="none", mle_starts=2, mle_options={"guess": centre})
    >>> bool(np.allclose(f.mle_vector, centre, rtol=1e-3))
    True
    """
    from .. import __version__

    if sampler not in SAMPLERS:
        raise ValueError(f"'sampler' must be one of {SAMPLERS}, got {sampler!r}")
    seed = _check_int("seed", seed, 0)
    mle_starts = _check_int("mle_starts", mle_starts, 1)
    if stop_after_chunks is not None:
        stop_after_chunks = _check_int("stop_after_chunks", stop_after_chunks, 1)
    problem = make_problem(loglike, bounds)
    mle_opts = _options("mle", mle_options, maximize_likelihood)
    if "n_starts" in mle_opts:
        raise ValueError("give the number of maximum-likelihood starts as mle_starts=, not in mle_options")
    # the gradient is there (the likelihood is JAX): L-BFGS-B needs ~50x fewer evaluations than the simplex
    mle_opts.setdefault("method", "l-bfgs-b")
    if sampler == "none" and sampler_options:
        raise ValueError("'sampler_options' were given but sampler='none' runs no sampler")
    driver = {"nuts": run_nuts, "emcee": run_emcee}.get(sampler)
    samp_opts = {} if driver is None else _options(sampler, sampler_options, driver)
    if sampler == "nuts":
        samp_opts = {**NUTS_DEFAULTS, **samp_opts}
    if "guess" in mle_opts and mle_opts["guess"] is not None:
        mle_opts["guess"] = problem.point(_display_vector(mle_opts["guess"], "mle_options['guess']"), "guess")
    config = json.loads(_dumps({
        "bounds": {n: [float(a), float(b)] for n, a, b in zip(NAMES, np.asarray(problem.lower), np.asarray(problem.upper))},
        "sampler": sampler, "mle": {"n_starts": mle_starts, **mle_opts}, "sampler_options": samp_opts, "seed": seed,
    }))  # fmt: skip
    center_ll = _fingerprint(problem)
    describe = getattr(loglike, "describe", None)
    meta: dict[str, Any] = {"loglike_at_center": center_ll}
    if callable(describe):
        meta["likelihood"] = json.loads(_dumps(describe()))
    base = dict(
        names=NAMES, units=UNITS, lower=np.asarray(problem.lower), upper=np.asarray(problem.upper), sampler=sampler,
        config=config, seed=seed, selection=describe_selection(selection),
        catalogue=None if catalogue is None else json.loads(_dumps(dict(catalogue))), version=__version__,
    )  # fmt: skip

    path = None if path is None else Path(path)
    side = None if path is None else sampling_path(path)
    stage = _stage(path, config, center_ll, resume=resume, overwrite=overwrite)
    key = jax.random.key(seed)
    bar = as_progress(progress)

    # ---- 1. maximum likelihood (reused from the stage file on resume)
    if stage is not None and stage.mle is not None:
        mle, meta = stage.mle, {**meta, **{k: v for k, v in stage.meta.items() if k != "loglike_at_center"}}
    else:
        t0 = time.perf_counter()
        mle = maximize_likelihood(problem, jax.random.fold_in(key, 0), n_starts=mle_starts, progress=bar, **mle_opts)
        meta["mle_wall_time_s"] = time.perf_counter() - t0
        meta["created"] = _now()
    if driver is None:
        out = MigrationFit(mle=mle, sampling=None, complete=True, meta=meta, **base)
        if path is not None:
            write_fit(path, out)
        return out
    start = _nudge_inside(problem, np.asarray(mle.x))
    if sampler == "emcee" and "width" not in samp_opts:
        if "emcee_hypercube" not in meta:
            # run_emcee sizes the hypercube from the curvature at the MLE; where there is none
            # (an MLE that stopped short of the optimum) fall back to a fixed share of the box
            concave = laplace_covariance(problem, start) is not None
            meta["emcee_hypercube"] = "laplace" if concave else f"{EMCEE_FALLBACK_WIDTH:g} of the prior box"
            if not concave:
                warnings.warn(
                    "the log-likelihood is not concave at the MLE (no Laplace error bars); emcee's walkers start in a "
                    f"hypercube {EMCEE_FALLBACK_WIDTH:g} of the prior box wide instead", ConvergenceWarning, stacklevel=2,
                )  # fmt: skip
        if meta["emcee_hypercube"] != "laplace":
            samp_opts = dict(samp_opts, width=EMCEE_FALLBACK_WIDTH * (np.asarray(problem.upper) - np.asarray(problem.lower)))
    if path is not None and stage is None:
        write_fit(path, MigrationFit(mle=mle, sampling=None, complete=False, meta=meta, **base))

    # ---- 2. posterior sampling, checkpointed in the side file
    where = {"init": start} if sampler == "nuts" else {"center": start}
    resuming = stage is not None
    finished = _finished_sampling(side) if resuming else None
    result = finished or driver(
        problem, jax.random.fold_in(key, 1), **samp_opts, **where, path=side, resume=resuming,
        overwrite=not resuming, stop_after_chunks=stop_after_chunks, progress=bar,
    )  # fmt: skip
    out = MigrationFit(mle=mle, sampling=result, complete=bool(result.complete), meta=meta, **base)
    if path is not None and result.complete:
        write_fit(path, out)
        side.unlink(missing_ok=True)
    return out


def _finished_sampling(side: Path | None) -> SamplingResult | None:
    # a crash between the sampler's last write and the final fit file leaves a finished side file
    if side is None or not side.exists():
        return None
    try:
        r = read_result(side)
    except (OSError, ValueError, KeyError):
        return None
    return r if r.complete else None


def _display_vector(value, name: str) -> np.ndarray:
    if isinstance(value, ModelParameters):
        return np.asarray(value.to_vector(), dtype=np.float64)
    if isinstance(value, Mapping):
        missing = [n for n in NAMES if n not in value]
        if missing:
            raise ValueError(f"{name} is missing parameters {missing}")
        return np.array([float(value[n]) for n in NAMES])
    return np.asarray(value, dtype=np.float64)


def _stage(path: Path | None, config: dict, center_ll: float, *, resume: bool, overwrite: bool) -> MigrationFit | None:
    """The unfinished fit to continue, or None for a fresh start (after checking what ``path`` holds)."""
    if path is None or not path.exists():
        return None
    if not resume:
        if overwrite:
            return None
        raise FileExistsError(f"{path} exists; pass resume=True to continue an unfinished fit or overwrite=True")
    old = read_fit(path)
    if old.complete:
        if overwrite:
            return None
        raise FileExistsError(f"{path} already holds a finished fit; read it with read_fit or pass overwrite=True")
    if _dumps(old.config) != _dumps(config):
        changed = sorted(k for k in set(old.config) | set(config) if old.config.get(k) != config.get(k))
        raise ValueError(f"{path} was written by a different configuration (changed: {changed}); refusing to resume")
    ll_old = old.meta.get("loglike_at_center")
    if ll_old is None or not np.isclose(float(ll_old), center_ll, rtol=1e-10, atol=0.0):
        raise ValueError(
            f"{path}: ln L at the box centre was {ll_old!r} and is now {center_ll!r}; "
            "the data or the model changed, refusing to resume"
        )
    return old


# ----------------------------------------------------------------------------- storage


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"cannot store {type(o).__name__} in a fit file's JSON metadata")


def _dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=_json_default)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


_MLE_ARRAYS = ("x", "starts", "ends", "values", "converged", "n_evaluations", "spread")


def _write_mle(g, mle: OptimizeResult) -> None:
    for k in _MLE_ARRAYS:
        g.create_dataset(k, data=np.asarray(getattr(mle, k)))
    g.attrs["log_likelihood"] = float(mle.log_likelihood)
    g.attrs["agree"] = bool(mle.agree)
    g.attrs["tolerance"] = float(mle.tolerance)
    g.attrs["wall_time_s"] = float(mle.wall_time_s)
    for k in ("names", "kinds", "display_units", "warnings"):
        g.attrs[f"{k}_json"] = json.dumps(list(getattr(mle, k)))


def _read_mle(g) -> OptimizeResult:
    arrays = {k: np.asarray(g[k]) for k in _MLE_ARRAYS}
    return OptimizeResult(
        **arrays, log_likelihood=float(g.attrs["log_likelihood"]), agree=bool(g.attrs["agree"]),
        tolerance=float(g.attrs["tolerance"]), wall_time_s=float(g.attrs["wall_time_s"]),
        **{k: tuple(json.loads(g.attrs[f"{k}_json"])) for k in ("names", "kinds", "display_units", "warnings")},
    )  # fmt: skip


def write_fit(path: str | Path, result: MigrationFit) -> Path:
    """Write a :class:`MigrationFit` to an HDF5 file atomically (layout in the module docstring).

    The sampling result is stored with the public
    :meth:`~diskorbits.sampling.SamplingResult.write` layout in the group ``/sampling``.

    Raises
    ------
    TypeError
        If ``result`` is not a MigrationFit.
    """
    if not isinstance(result, MigrationFit):
        raise TypeError(f"'result' must be a MigrationFit, got {type(result).__name__}")
    path = Path(path)
    with tempfile.TemporaryDirectory(dir=path.parent if path.parent.exists() else None) as scratch:
        inner = None
        if result.sampling is not None:
            inner = Path(scratch) / "sampling.h5"
            result.sampling.write(inner)
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as h:
            h.attrs["format"] = FIT_FORMAT
            h.attrs["diskorbits_version"] = result.version
            h.attrs["created"] = _now()
            h.attrs["unit_system"] = _UNIT_SYSTEM
            h.attrs["complete"] = bool(result.complete)
            h.attrs["sampler"] = result.sampler
            h.attrs["seed"] = int(result.seed)
            h.attrs["names_json"] = json.dumps(list(result.names))
            h.attrs["units_json"] = json.dumps(list(result.units))
            h.attrs["config_json"] = _dumps(result.config)
            h.attrs["selection_json"] = _dumps(result.selection)
            h.attrs["catalogue_json"] = _dumps(result.catalogue)
            h.attrs["meta_json"] = _dumps(result.meta)
            g = h.create_group("prior")
            g.create_dataset("lower", data=np.asarray(result.lower, dtype=np.float64))
            g.create_dataset("upper", data=np.asarray(result.upper, dtype=np.float64))
            if result.mle is not None:
                _write_mle(h.create_group("mle"), result.mle)
            if inner is not None:
                with h5py.File(inner, "r") as src:
                    src.copy(src["/"], h, name="sampling")
    return path


def read_fit(path: str | Path) -> MigrationFit:
    """Read a file written by :func:`write_fit` (complete or a stage file).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If it is not a migration fit file.
    """
    path = Path(path)
    with open_run_file(path, FIT_FORMAT, "migration-fit") as h:
        mle = _read_mle(h["mle"]) if "mle" in h else None
        sampling = None
        if "sampling" in h:
            with tempfile.TemporaryDirectory() as scratch:
                inner = Path(scratch) / "sampling.h5"
                with h5py.File(inner, "w") as dst:
                    src = h["sampling"]
                    for k, v in src.attrs.items():
                        dst.attrs[k] = v
                    for k in src:
                        h.copy(src[k], dst, name=k)
                sampling = read_result(inner)
        return MigrationFit(
            names=tuple(json.loads(h.attrs["names_json"])),
            units=tuple(json.loads(h.attrs["units_json"])),
            lower=np.asarray(h["prior/lower"]),
            upper=np.asarray(h["prior/upper"]),
            mle=mle,
            sampling=sampling,
            sampler=str(h.attrs["sampler"]),
            config=json.loads(h.attrs["config_json"]),
            seed=int(h.attrs["seed"]),
            selection=json.loads(h.attrs["selection_json"]),
            catalogue=json.loads(h.attrs["catalogue_json"]),
            version=str(h.attrs["diskorbits_version"]),
            complete=bool(h.attrs["complete"]),
            meta=json.loads(h.attrs["meta_json"]),
        )
