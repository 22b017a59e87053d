"""Classical OTI inference: optimise Eq. 8, bootstrap, combine ratios (PW2021 Secs. 6.1-6.2).

* :func:`fit_potential` -- minimise the objective of one abundance ratio over
  ``theta = (M_disk / M*_disk, h_z, z_sun, v_z,sun)`` (any subset free):
  ``method="nelder-mead"`` (scipy, as PW2021) or ``method="gradient"``
  (scipy L-BFGS-B with ``jax.value_and_grad`` through the frame
  transformation, the Stäckel-fudge actions, the App.-A local means and the
  Fourier fit).
* :func:`bootstrap_inference` -- ``n_bootstrap`` resamples of the stars
  (PW2021: 128), drawn independently for every ratio and trial, each
  optimised on its own -- the resampling is *outside* the optimisation --
  fanned out through :class:`diskorbits.parallel.Executor` (processes, or a
  Dask cluster); per-ratio means and covariances (:class:`RatioEstimate`).
  ``method="gauss-newton"`` (default) solves all trials of a ratio together on
  a shared finite-difference stencil (:mod:`.stencil`, with the trials as
  star weights, :mod:`.resampling`): ~10 parameter vectors per ratio instead
  of ~90 objective evaluations per trial, the same optima to within a small
  fraction of the bootstrap error (``benchmarks/compare_oti_optimisers.py``).
* :func:`combine` -- inverse-covariance (precision-weighted) joint estimate
  (:class:`JointEstimate`), with the derived total disk mass and the disk to
  halo mass ratio inside 8.1 kpc (Table 1).
* :func:`a2_scan` -- the 1-D demonstration (Figs. 5-6): bootstrap Fourier
  coefficients along a grid of disk mass factors and the ``a2 = 0`` crossing.
* :func:`write_oti_result` / :func:`read_oti_result` -- HDF5 (atomic).

Differentiability
-----------------
Everything from theta to Eq. 8 is differentiable **except the choice of
neighbours** (a k-d tree query: piecewise constant in theta). The gradient
optimiser therefore recomputes the neighbour lists at every theta it
evaluates (so the objective *value* is exactly the Nelder-Mead one) and
differentiates with those lists held fixed. The objective is thus piecewise
smooth with small jumps where a neighbour list changes; the gradient is that
of the local smooth piece. L-BFGS-B can stop early on such a surface (its
line search sees the jumps); Nelder-Mead does not care. Compare both with
:func:`fit_potential` (``n_evaluations``, ``wall_time``).

Identifiability
---------------
Eq. 8 has three terms and theta four entries: for one abundance ratio the
minimum is not a point but a curve (along which disk mass and scale height
trade off at fixed a2 = 0, and z_sun, v_z,sun follow). Every optimiser stops
somewhere on it near its start (Nelder-Mead at a point its simplex reaches,
Gauss-Newton at the point nearest the centre), and the per-ratio bootstrap
scatter does not measure the spread along the curve. Free all four only to
combine ratios whose abundances weight the orbits differently (so their
curves cross); with one ratio, or ratios with similar action dependence, fix
``h_z`` (or the disk mass): three terms, three parameters.

Optimiser units
---------------
The optimisers work in ``u = (theta - x0) / PARAMETER_STEPS`` (steps of 0.1
in disk mass factor, 30 pc in h_z, 5 pc in z_sun, 0.5 km/s in v_z,sun: about a
bootstrap error of a few thousand stars), and on the objective divided by
the summed variances of the included coefficients at x0 (a chi^2-like scale);
neither changes the minimiser.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from .. import (
    _config,  # noqa: F401  (float64)
    units,
)
from ..io.atomic import atomic_path
from ..parallel import Executor
from ..potentials.presets import MWP_FIDUCIAL_DISK_MASS, _vc2_at
from .fourier import fit_fourier
from .local_mean import abundance_deviations
from .objective import (
    PARAMETER_NAMES,
    OTIData,
    OTISetup,
    _actions,
    _objective_core,
    evaluate_objective,
    fiducial_parameters,
    neighbour_lists,
)
from .resampling import bootstrap_rows
from .stencil import stencil_bootstrap

__all__ = [
    "JOINT_METHODS",
    "METHODS",
    "PARAMETER_STEPS",
    "SINGLE_FIT_METHODS",
    "A2Scan",
    "JointEstimate",
    "OTIInference",
    "PotentialFit",
    "RatioEstimate",
    "a2_scan",
    "bootstrap_inference",
    "combine",
    "derived_quantities",
    "disk_to_halo_mass_ratio",
    "fit_potential",
    "read_oti_result",
    "write_oti_result",
]

METHODS: tuple[str, ...] = ("gauss-newton", "nelder-mead", "gradient")
#: Methods :func:`fit_potential` runs on one catalogue (Gauss-Newton works on all trials at once).
SINGLE_FIT_METHODS: tuple[str, ...] = ("nelder-mead", "gradient")
#: Optimiser unit of each parameter (internal units): 0.1, 30 pc, 5 pc, 0.5 km/s.
PARAMETER_STEPS = np.array([0.1, 0.03, 0.005, 0.5 * units.KMS])

#: Ways to combine the abundance ratios (:func:`bootstrap_inference` ``joint``).
JOINT_METHODS = ("inverse-covariance", "stacked")
#: Disk mass factors of the 1-D demonstration grid (PW2021 Sec. 6.1: 0.4-1.8).
DEFAULT_SCAN_FACTORS = np.linspace(0.4, 1.8, 15)
#: Radius of the disk-to-halo mass ratio of PW2021 Table 1, kpc.
MASS_RATIO_RADIUS = 8.1
#: Paper units for reports: multiply internal values by these.
_REPORT = {
    "disk_mass_factor": (1.0, ""),
    "h_z": (1.0, "kpc"),
    "z_sun": (1e3, "pc"),
    "v_z_sun": (1.0 / units.KMS, "km/s"),
    "disk_mass": (1.0, "Msun"),
    "disk_to_halo_mass_ratio": (1.0, ""),
}


def _objective_terms(setup: OTISetup) -> tuple[str, ...]:
    """The Fourier coefficients that Eq. 8 sums (optionally with c0 and b2)."""
    return ("a1", "b1", "a2") + (("c0",) if setup.include_c0 else ()) + (("b2",) if setup.include_b2 else ())


def _free_mask(free) -> np.ndarray:
    if free is None:
        return np.ones(4, dtype=bool)
    if isinstance(free, str):
        free = [free]
    arr = np.asarray(free)
    if arr.dtype == bool:
        if arr.shape != (4,):
            raise ValueError(f"'free' as a mask needs 4 entries; got {arr.shape}")
        mask = arr.copy()
    else:
        mask = np.zeros(4, dtype=bool)
        for name in arr.tolist():
            if name not in PARAMETER_NAMES:
                raise ValueError(
                    f"unknown parameter {name!r} in 'free'; choose from {PARAMETER_NAMES}"
                )
            mask[PARAMETER_NAMES.index(name)] = True
    if not mask.any():
        raise ValueError("'free' must leave at least one parameter free")
    return mask


# ----------------------------------------------------------------------------- one optimisation
@dataclasses.dataclass(frozen=True)
class PotentialFit:
    """Result of :func:`fit_potential` (theta in internal units, see :data:`PARAMETER_NAMES`)."""

    theta: np.ndarray
    objective: float
    coefficients: np.ndarray
    coefficient_errors: np.ndarray
    free: np.ndarray
    method: str
    n_evaluations: int
    n_iterations: int
    success: bool
    message: str
    wall_time: float


class _Problem(eqx.Module):
    """Arrays of one (resampled) catalogue for the jitted value-and-gradient."""

    obs: tuple
    y: jax.Array
    e: jax.Array | None
    idx: jax.Array
    ok: jax.Array
    scale: jax.Array
    potential: eqx.Module
    sun: eqx.Module
    weighting: str = eqx.field(static=True)
    include_c0: bool = eqx.field(static=True)
    include_b2: bool = eqx.field(static=True)
    method: object = None


def _problem_objective(theta, problem: _Problem):
    p = problem
    obj = _objective_core(
        theta,
        p.obs,
        p.y,
        p.e,
        p.idx,
        p.ok,
        p.scale,
        p.potential,
        p.sun,
        p.weighting,
        p.include_c0,
        p.include_b2,
        p.method,
    )
    return obj[0]


_value_and_grad = eqx.filter_jit(jax.value_and_grad(_problem_objective))


def fit_potential(
    data: OTIData,
    *,
    ratio=0,
    x0=None,
    method: str = "nelder-mead",
    setup: OTISetup | None = None,
    free=None,
    xatol: float = 0.01,
    fatol: float = 0.01,
    maxiter: int | None = None,
    initial_step: float = 1.0,
) -> PotentialFit:
    """Minimise the OTI objective (PW2021 Eq. 8) of one abundance ratio.

    Parameters
    ----------
    data : OTIData
        Catalogue (or a bootstrap resample of it).
    ratio : int or str
        Abundance ratio (column index or name).
    x0 : array_like (4,), optional
        Start (internal units); default :func:`fiducial_parameters`. Fixed
        parameters stay at their ``x0`` values.
    method : {"nelder-mead", "gradient"}
        scipy Nelder-Mead (PW2021) or L-BFGS-B with autodiff gradients
        (module docstring: neighbour lists fixed within an evaluation).
    setup : OTISetup, optional
        Settings; for ``metric="spread"`` the scale is fixed at ``x0`` here
        if not given (bootstrap runs fix it once on the full catalogue).
    free : sequence of parameter names or bool mask (4,), optional
        Parameters to optimise (default all four).
    xatol, fatol : float
        Nelder-Mead tolerances in optimiser units (``PARAMETER_STEPS``) and
        in the normalised objective; for ``"gradient"`` ``fatol`` is the
        relative reduction tolerance ``ftol`` and ``xatol`` scales ``gtol``.
    maxiter : int, optional
        Iteration limit (default 200 per free parameter).
    initial_step : float
        Edge of the initial Nelder-Mead simplex in optimiser units (default 1:
        one :data:`PARAMETER_STEPS` per free parameter). When ``x0`` is
        already near the optimum (a bootstrap trial warm-started at the
        full-sample fit), a simplex of about the expected bootstrap error needs
        fewer evaluations.

    Returns
    -------
    PotentialFit

    Raises
    ------
    ValueError
        For an unknown method, ratio or parameter name, or a bad ``x0``.
    """
    if method not in SINGLE_FIT_METHODS:
        raise ValueError(
            f"'method' must be one of {SINGLE_FIT_METHODS} (for 'gauss-newton' use bootstrap_inference); got {method!r}"
        )
    setup = OTISetup() if setup is None else setup
    x0 = fiducial_parameters(setup) if x0 is None else np.asarray(x0, dtype=np.float64)
    if x0.shape != (4,) or not np.all(np.isfinite(x0)):
        raise ValueError(f"'x0' must be 4 finite numbers {PARAMETER_NAMES}; got {x0!r}")
    mask = _free_mask(free)
    one = data.take(np.arange(data.n_stars), ratios=[ratio])
    setup = setup.fix_scale(one, x0)
    steps = PARAMETER_STEPS[mask]
    if not (np.isfinite(initial_step) and initial_step > 0):
        raise ValueError(f"'initial_step' must be > 0; got {initial_step!r}")
    maxiter = 200 * int(mask.sum()) if maxiter is None else int(maxiter)

    def theta_of(u):
        th = x0.copy()
        th[mask] = x0[mask] + np.asarray(u) * steps
        return th

    start = evaluate_objective(x0, one, setup)
    # the objective is deterministic in theta: the start vertex (x0) and the
    # final point (the best vertex) are served from this cache, not recomputed
    cache = {x0.tobytes(): start}

    def evaluate(th):
        key = th.tobytes()
        if key not in cache:
            cache[key] = evaluate_objective(th, one, setup)
        return cache[key]
    idx = [start.fit.names.index(n) for n in _objective_terms(setup)]
    norm = float(np.sum(np.asarray(start.fit.errors)[0, idx] ** 2))
    count = {"n": 0}
    t0 = time.perf_counter()
    u0 = np.zeros(int(mask.sum()))

    def fn(u):
        count["n"] += 1
        th = theta_of(u)
        try:
            return float(evaluate(th).objective[0]) / norm
        except (
            ValueError
        ):  # impossible disk (no positive halo mass) or too few valid stars
            return np.inf

    if method == "nelder-mead":
        simplex = np.vstack([u0, float(initial_step) * np.eye(u0.size)])
        res = scipy.optimize.minimize(
            fn,
            u0,
            method="Nelder-Mead",
            options={
                "xatol": xatol,
                "fatol": fatol,
                "maxiter": maxiter,
                "initial_simplex": simplex,
            },
        )
    else:
        static = {
            "weighting": setup.weighting,
            "include_c0": setup.include_c0,
            "include_b2": setup.include_b2,
        }
        obs = one.observed_arrays()
        e = None if one.abundance_errors is None else jnp.asarray(one.abundance_errors)

        def fg(u):
            count["n"] += 1
            th = theta_of(u)
            nb, ok = neighbour_lists(th, one, setup)
            prob = _Problem(
                obs,
                jnp.asarray(one.abundances),
                e,
                jnp.asarray(nb),
                jnp.asarray(ok),
                jnp.asarray(setup.fixed_scale),
                setup.potential,
                setup.sun,
                method=setup.action_method,
                **static,
            )
            v, g = _value_and_grad(jnp.asarray(th), prob)
            v, g = float(v), np.asarray(g)
            if not np.isfinite(v):
                return np.inf, np.zeros_like(u0)
            return v / norm, g[mask] * steps / norm

        res = scipy.optimize.minimize(
            fg,
            u0,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": maxiter, "ftol": fatol * 1e-3, "gtol": xatol * 1e-2},
        )
    wall = time.perf_counter() - t0
    theta = theta_of(res.x)
    final = evaluate(theta)
    return PotentialFit(
        theta=theta,
        objective=float(final.objective[0]),
        coefficients=np.asarray(final.fit.coefficients)[0],
        coefficient_errors=np.asarray(final.fit.errors)[0],
        free=mask,
        method=method,
        n_evaluations=int(count["n"]),
        n_iterations=int(getattr(res, "nit", 0)),
        success=bool(res.success),
        message=str(res.message),
        wall_time=wall,
    )


# ----------------------------------------------------------------------------- derived quantities
def disk_to_halo_mass_ratio(
    theta, setup: OTISetup | None = None, radius: float = MASS_RATIO_RADIUS
):
    """M_disk(< r) / M_halo(< r) as in PW2021 Table 1 (pure JAX in theta).

    Both "enclosed masses" are ``r^2 dPhi/dR (r, 0) / G`` of the component
    (gala's ``mass_enclosed`` convention, exact for the spherical halo): the
    ratio is ``v_c,disk^2 / v_c,halo^2`` at ``r`` in the midplane. This gives
    1.26 for the fiducial model, 2.08 for (1.21, 0.27 kpc) and 1.48 for
    (1.07, 0.28 kpc), matching the paper's ~1.3, 2.11 and 1.51.
    """
    setup = OTISetup() if setup is None else setup
    th = jnp.asarray(theta, dtype=jnp.float64)
    pot = setup.potential.with_disk(th[0], th[1])
    r = jnp.asarray(radius, dtype=jnp.float64)
    return _vc2_at(pot.disk, r) / _vc2_at(pot.halo, r)


def _derived(theta, setup):
    th = jnp.asarray(theta, dtype=jnp.float64)
    return jnp.stack(
        [th[0] * MWP_FIDUCIAL_DISK_MASS, disk_to_halo_mass_ratio(th, setup)]
    )


def derived_quantities(mean, covariance, setup: OTISetup | None = None) -> dict:
    """Total disk mass (Msun) and M_disk/M_halo(<8.1 kpc) with linearly propagated errors."""
    setup = OTISetup() if setup is None else setup
    mean = np.asarray(mean, dtype=np.float64)
    val = np.asarray(_derived(mean, setup))
    jac = np.asarray(jax.jacfwd(_derived)(jnp.asarray(mean), setup))
    cov = jac @ np.asarray(covariance) @ jac.T
    err = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return {
        "disk_mass": (float(val[0]), float(err[0])),
        "disk_to_halo_mass_ratio": (float(val[1]), float(err[1])),
    }


# ----------------------------------------------------------------------------- estimates
@dataclasses.dataclass(frozen=True, eq=False)
class RatioEstimate:
    """Bootstrap optimisation results of one abundance ratio.

    Attributes
    ----------
    ratio : str
    samples : numpy.ndarray (n_bootstrap, 4)
        Optimised theta of each trial (internal units).
    objective : numpy.ndarray (n_bootstrap,)
    n_evaluations : numpy.ndarray of int (n_bootstrap,)
    success : numpy.ndarray of bool (n_bootstrap,)
    free : numpy.ndarray of bool (4,)
    """

    ratio: str
    samples: np.ndarray
    objective: np.ndarray
    n_evaluations: np.ndarray
    success: np.ndarray
    free: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        return self.samples.mean(axis=0)

    @property
    def covariance(self) -> np.ndarray:
        """Bootstrap covariance (4, 4); rows/columns of fixed parameters are zero."""
        c = (
            np.atleast_2d(np.cov(self.samples, rowvar=False, ddof=1))
            if self.samples.shape[0] > 1
            else np.zeros((4, 4))
        )
        keep = np.outer(self.free, self.free)
        return np.where(keep, c, 0.0)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(np.diag(self.covariance))


@dataclasses.dataclass(frozen=True, eq=False)
class JointEstimate:
    """Inverse-covariance combination of several estimates (free parameters only)."""

    mean: np.ndarray
    covariance: np.ndarray
    free: np.ndarray
    ratios: tuple[str, ...]

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(np.diag(self.covariance))


#: Relative eigenvalue (of a correlation matrix) below which a direction counts as unconstrained.
_RANK_RTOL = 1e-9


def _precision(c, steps):
    """Moore-Penrose inverse of a bootstrap covariance: zero precision along directions it does not constrain.

    A free parameter without scatter (every trial left it at the start: a standard deviation
    below 1e-9 of its optimiser step ``steps``, i.e. rounding) is such a direction too.
    """
    d = np.sqrt(np.clip(np.diag(c), 0.0, None))
    still = d <= 1e-9 * steps
    c = np.where(still[:, None] | still[None, :], 0.0, c)
    d = np.where(still, 1.0, d)  # its correlation row is then zero: a null direction below
    corr = c / np.outer(d, d)
    w, v = np.linalg.eigh(0.5 * (corr + corr.T))
    null = w <= _RANK_RTOL * w.max()  # decided in scale-free (correlation) units
    if not null.any():
        return np.linalg.inv(c)
    # the unconstrained directions u (c u = 0) are d^-1-scaled null vectors of corr; the precision
    # must annihilate them and invert c on their orthogonal complement (the Moore-Penrose inverse,
    # which a pseudo-inverse of the rescaled matrix is not)
    u = v[:, null] / d[:, None]
    vt = np.linalg.svd(u.T)[2]
    z = vt[u.shape[1]:].T  # orthonormal basis of the complement
    return z @ np.linalg.inv(z.T @ c @ z) @ z.T


def combine(estimates) -> JointEstimate:
    """Joint estimate C = (sum_i C_i^+)^-1, mu = C sum_i C_i^+ mu_i over the free parameters.

    ``C_i^+`` is the (pseudo-)inverse of estimate i's covariance: when a
    ratio leaves a direction unconstrained -- with four free parameters, Eq. 8
    of one ratio is minimised along a curve (module docstring), and the
    Gauss-Newton trials of a ratio then scatter only across it -- that
    direction carries zero precision, and the joint estimate is where the
    ratios' constraints intersect.

    Parameters
    ----------
    estimates : sequence of RatioEstimate or JointEstimate
        All with the same free parameters.

    Raises
    ------
    ValueError
        If the list is empty, the free parameters differ, or the estimates
        together leave a direction unconstrained (e.g. a parameter no trial moved).
    """
    estimates = list(estimates)
    if not estimates:
        raise ValueError("'estimates' is empty")
    free = np.asarray(estimates[0].free)
    if any(not np.array_equal(np.asarray(e.free), free) for e in estimates):
        raise ValueError("all estimates must have the same free parameters")
    sub = np.ix_(free, free)
    prec = np.zeros((free.sum(), free.sum()))
    vec = np.zeros(free.sum())
    for e in estimates:
        p = _precision(np.asarray(e.covariance)[sub], PARAMETER_STEPS[free])
        prec += p
        vec += p @ np.asarray(e.mean)[free]
    d = np.sqrt(np.diag(prec))
    if np.any(d == 0) or np.linalg.cond(prec / np.outer(d, d)) > 1.0 / _RANK_RTOL:
        raise ValueError(
            "the estimates leave a combination of the free parameters unconstrained (no bootstrap "
            "scatter in it, or Eq. 8 minima that are curves which do not cross): use more trials or "
            "stars, fix h_z or the disk mass, or add ratios whose abundances depend differently on "
            "the actions"
        )
    cov_f = np.linalg.inv(prec)
    mean = np.asarray(estimates[0].mean, dtype=np.float64).copy()
    mean[free] = cov_f @ vec
    cov = np.zeros((4, 4))
    cov[sub] = cov_f
    names = []
    for e in estimates:
        names += [e.ratio] if hasattr(e, "ratio") else list(e.ratios)
    return JointEstimate(mean=mean, covariance=cov, free=free, ratios=tuple(names))


@dataclasses.dataclass(frozen=True, eq=False)
class OTIInference:
    """Per-ratio bootstrap estimates, the joint estimate and the run configuration.

    ``stacked`` holds the trials of the stacked joint fit (all ratios in one
    least-squares problem per trial, ``joint="stacked"`` in
    :func:`bootstrap_inference`); without it the joint estimate is the
    inverse-covariance combination of the per-ratio estimates (PW2021).
    """

    estimates: dict
    config: dict
    setup: OTISetup = dataclasses.field(default_factory=OTISetup)
    stacked: RatioEstimate | None = None

    @property
    def joint(self) -> JointEstimate:
        if self.stacked is not None:
            loose = self.config.get("stencil", {}).get("stacked", {}).get("unconstrained_directions", 0)
            if loose:
                raise ValueError(
                    f"the stacked fit leaves {loose} combination(s) of the free parameters unconstrained (the "
                    "trials do not scatter along it, so its error is unknown): use more stars, fix h_z or the "
                    "disk mass, or add ratios whose abundances depend differently on the actions"
                )
            s = self.stacked
            return JointEstimate(mean=s.mean, covariance=s.covariance, free=s.free, ratios=tuple(self.estimates))
        return combine(self.estimates.values())

    def _table(self, mean, cov) -> dict:
        out = {}
        for i, name in enumerate(PARAMETER_NAMES):
            f, unit = _REPORT[name]
            out[name] = {
                "mean": float(mean[i]) * f,
                "std": float(np.sqrt(max(cov[i, i], 0.0))) * f,
                "unit": unit,
            }
        for name, (v, e) in derived_quantities(mean, cov, self.setup).items():
            out[name] = {"mean": v, "std": e, "unit": _REPORT[name][1]}
        return out

    def to_dict(self) -> dict:
        """JSON-ready summary in the paper's units (Table 1 layout) plus the configuration."""
        try:
            joint, joint_error = self.joint, None
        except ValueError as exc:  # no joint estimate: say why instead of failing the whole summary
            joint, joint_error = None, str(exc)
        free = next(iter(self.estimates.values())).free
        return {
            "parameters": list(PARAMETER_NAMES),
            "free": [n for n, f in zip(PARAMETER_NAMES, free) if f],
            "ratios": {
                name: {
                    **self._table(e.mean, e.covariance),
                    "n_bootstrap": int(e.samples.shape[0]),
                    "n_success": int(e.success.sum()),
                }
                for name, e in self.estimates.items()
            },
            "joint": None if joint is None else self._table(joint.mean, joint.covariance),
            "joint_method": "stacked" if self.stacked is not None else "inverse-covariance",
            "joint_error": joint_error,
            "config": self.config,
        }


# ----------------------------------------------------------------------------- bootstrap
def _bootstrap_task(payload):
    """One trial: every ratio on its own resample (:func:`.resampling.bootstrap_rows`). Picklable."""
    data, setup, trial, seed, ratios, seed_columns, kwargs = payload
    kwargs = dict(kwargs)
    starts = kwargs.pop("starts", None)  # per-ratio x0 (warm start), else kwargs["x0"]
    fits = []
    for j, (r, col) in enumerate(zip(ratios, seed_columns)):
        sample = data.take(bootstrap_rows(data.n_stars, seed, trial, col), ratios=[r])
        opts = {**kwargs, **({} if starts is None else {"x0": starts[j]})}
        fits.append(fit_potential(sample, ratio=0, setup=setup, **opts))
    return {
        "theta": np.stack([f.theta for f in fits]),
        "objective": np.array([f.objective for f in fits]),
        "n_evaluations": np.array([f.n_evaluations for f in fits]),
        "success": np.array([f.success for f in fits]),
    }


def bootstrap_inference(
    data: OTIData,
    ratios=None,
    *,
    n_bootstrap: int = 128,
    executor: Executor | None = None,
    seed: int = 0,
    x0=None,
    method: str = "gauss-newton",
    setup: OTISetup | None = None,
    free=None,
    warm_start: bool = False,
    joint: str = "inverse-covariance",
    **fit_options,
) -> OTIInference:
    """Bootstrap OTI inference: resample stars, optimise each ratio independently (PW2021 Sec. 6.2).

    Trial ``t`` of abundance column ``c`` (its index in ``data``) resamples
    the N stars with ``numpy.random.default_rng([seed, t, c])``
    (:func:`.resampling.bootstrap_rows`): independent resamples per ratio, as
    PW2021, and the same resamples whichever method, executor or order runs
    them, so methods can be compared trial by trial. Bootstrap copies of a
    star are never its neighbours. The neighbour scale (``metric="spread"``)
    is fixed once, on the full catalogue at ``x0``, for all trials.

    ``method="gauss-newton"`` (:mod:`.stencil`) optimises all trials of a
    ratio together from ``x0``; the executor then fans out the parameter
    vectors of each stencil. ``"nelder-mead"`` (PW2021) and ``"gradient"``
    run :func:`fit_potential` per trial; the executor fans out the trials.

    Parameters
    ----------
    data : OTIData
    ratios : sequence of int or str, optional
        Default: all columns.
    n_bootstrap : int
        Trials (128 in PW2021).
    executor : Executor, optional
        Default serial; ``Executor(scheduler=...)`` fans out over a Dask cluster.
    seed : int
    x0, method, setup, free, **fit_options
        ``x0``, ``setup``, ``free``: as :func:`fit_potential`. ``fit_options``:
        for Nelder-Mead/gradient those of :func:`fit_potential`; for
        Gauss-Newton ``tol``, ``max_iterations``, ``max_step``, ``k_super``,
        ``batch_size`` of :func:`.stencil.stencil_bootstrap` (others raise).
    warm_start : bool
        Default False: every trial starts at ``x0`` (as before). True: first
        fit the full (unresampled) catalogue for each ratio from ``x0`` with
        the same options, then start every trial of that ratio at that
        full-sample optimum. The bootstrap optima scatter about it by the
        bootstrap error, so Nelder-Mead needs fewer evaluations (more so
        with ``initial_step`` ~ the expected error in units of
        :data:`PARAMETER_STEPS` and ``xatol``/``fatol`` a fraction of the
        scatter); the minimiser sought is unchanged. Costs one extra
        optimisation per ratio; recorded in ``config["full_sample_theta"]``.
    joint : {"inverse-covariance", "stacked"}
        How the ratios are combined. ``"inverse-covariance"`` (PW2021):
        :func:`combine` of the per-ratio estimates. ``"stacked"``
        (Gauss-Newton only): additionally fit all ratios together, one
        least-squares problem per trial on a resample shared by the ratios
        (:mod:`.stencil`); the joint estimate is the mean and covariance of
        those trials. Use it when all four parameters are free: one ratio's
        Eq. 8 is then minimised along a curve and the per-ratio covariances
        do not describe the joint uncertainty (module docstring).

    Returns
    -------
    OTIInference
    """
    if not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 2:
        raise ValueError(f"'n_bootstrap' must be an integer >= 2; got {n_bootstrap!r}")
    if method not in METHODS:
        raise ValueError(f"'method' must be one of {METHODS}; got {method!r}")
    if joint not in JOINT_METHODS:
        raise ValueError(f"'joint' must be one of {JOINT_METHODS}; got {joint!r}")
    if joint == "stacked" and method != "gauss-newton":
        raise ValueError("joint='stacked' needs method='gauss-newton' (one stencil for all ratios)")
    setup = OTISetup() if setup is None else setup
    x0 = fiducial_parameters(setup) if x0 is None else np.asarray(x0, dtype=np.float64)
    ratios = list(range(data.n_ratios)) if ratios is None else list(ratios)
    cols = [data.ratio_index(r) for r in ratios]
    sub = data.take(np.arange(data.n_stars), ratios=cols)
    setup = setup.fix_scale(sub, x0)
    mask = _free_mask(free)
    kwargs = dict(x0=x0, method=method, free=mask, **fit_options)
    executor = executor or Executor(n_workers=1)
    t0 = time.perf_counter()
    full_theta = None
    if method == "gauss-newton":
        if warm_start:
            raise ValueError("'warm_start' applies to Nelder-Mead/gradient; Gauss-Newton moves all trials together")
        return _gauss_newton_inference(
            data, cols, setup, x0, mask, int(n_bootstrap), int(seed), executor, fit_options, t0, joint == "stacked"
        )
    if warm_start:
        full_theta = [
            fit_potential(sub, ratio=j, setup=setup, **kwargs).theta for j in range(len(cols))
        ]
        kwargs["starts"] = full_theta
    payloads = [
        (sub, setup, t, seed, list(range(len(cols))), cols, kwargs)
        for t in range(int(n_bootstrap))
    ]
    out = executor.map(_bootstrap_task, payloads, description="OTI bootstrap")
    wall = time.perf_counter() - t0
    estimates = {}
    for j, name in enumerate(sub.ratio_names):
        estimates[name] = RatioEstimate(
            ratio=name,
            samples=np.stack([o["theta"][j] for o in out]),
            objective=np.array([o["objective"][j] for o in out]),
            n_evaluations=np.array([o["n_evaluations"][j] for o in out]),
            success=np.array([o["success"][j] for o in out]),
            free=mask,
        )
    config = _run_config(method, n_bootstrap, seed, x0, mask, data, fit_options, setup, executor, wall)
    config["warm_start"] = bool(warm_start)
    config["full_sample_theta"] = (
        None
        if full_theta is None
        else {name: [float(v) for v in th] for name, th in zip(sub.ratio_names, full_theta)}
    )
    return OTIInference(estimates=estimates, config=config, setup=setup)


def _run_config(method, n_bootstrap, seed, x0, mask, data, fit_options, setup, executor, wall) -> dict:
    import diskorbits

    return {
        "method": method,
        "resampling": "independent per ratio: default_rng([seed, trial, column])",
        "n_bootstrap": int(n_bootstrap),
        "seed": int(seed),
        "x0": [float(v) for v in x0],
        "free": [bool(f) for f in mask],
        "n_stars": int(data.n_stars),
        "fit_options": {k: v for k, v in fit_options.items()},
        "setup": setup.describe(),
        "executor": executor.backend,
        "wall_time_s": wall,
        "version": getattr(diskorbits, "__version__", "unknown"),
        "units": "kpc, Myr, Msun",
    }


_GN_OPTIONS = ("tol", "max_iterations", "max_step", "k_super", "batch_size")


def _stencil_summary(r) -> dict:
    return {
        "unconstrained_directions": int(r.n_unconstrained),
        "parameter_vectors": int(r.n_points),
        "iterations": int(r.n_iterations),
        "converged": bool(r.converged),
        "centres": [[float(v) for v in c] for c in r.history],
    }


def _gauss_newton_inference(data, cols, setup, x0, mask, n_bootstrap, seed, executor, fit_options, t0, stacked):
    """:func:`bootstrap_inference` with ``method="gauss-newton"``: one stencil run per ratio (+ one stacked)."""
    unknown = [k for k in fit_options if k not in _GN_OPTIONS]
    if unknown:
        raise ValueError(f"option(s) {unknown} do not apply to method 'gauss-newton'; it accepts {_GN_OPTIONS}")
    opts = dict(fit_options)
    terms = _objective_terms(setup)
    estimates, runs = {}, {}
    for col in cols:
        name = data.ratio_names[col]
        r = stencil_bootstrap(
            data, setup, col, x0=x0, free=mask, steps=PARAMETER_STEPS, n_bootstrap=n_bootstrap,
            seed=seed, terms=terms, executor=executor, **opts,
        )
        estimates[name] = RatioEstimate(
            ratio=name,
            samples=r.theta,
            objective=r.objective,
            n_evaluations=np.full(n_bootstrap, r.n_points),
            success=np.full(n_bootstrap, r.converged),
            free=mask,
        )
        runs[name] = _stencil_summary(r)
    joint_est = None
    if stacked:
        if len(cols) < 2:
            raise ValueError("joint='stacked' needs at least two ratios")
        r = stencil_bootstrap(
            data, setup, cols, x0=x0, free=mask, steps=PARAMETER_STEPS, n_bootstrap=n_bootstrap,
            seed=seed, terms=terms, executor=executor, **opts,
        )
        joint_est = RatioEstimate(
            ratio="stacked",
            samples=r.theta,
            objective=r.objective,
            n_evaluations=np.full(n_bootstrap, r.n_points),
            success=np.full(n_bootstrap, r.converged),
            free=mask,
        )
        runs["stacked"] = _stencil_summary(r)
        if r.n_unconstrained:
            warnings.warn(
                f"the stacked fit of {len(cols)} ratios leaves {r.n_unconstrained} direction(s) of the free "
                "parameters unconstrained (kept at x0; their bootstrap scatter is zero): fix a parameter or add "
                "ratios/stars",
                stacklevel=3,
            )
    loose = [n for n, r in runs.items() if r["unconstrained_directions"] and n != "stacked"]
    if loose and not stacked:
        warnings.warn(
            f"{', '.join(loose)}: the free parameters are not all constrained by one ratio's Eq. 8 (a curve of "
            "minima, or too few stars); those estimates scatter only across it, and the joint estimate rests on "
            "the ratios' curves crossing -- on mocks with a 4-parameter fit the joint h_z came out biased with "
            "an optimistic error. Prefer fixing h_z or the disk mass (docs/torusimaging.md)",
            stacklevel=3,
        )
    wall = time.perf_counter() - t0
    config = _run_config("gauss-newton", n_bootstrap, seed, x0, mask, data, opts, setup, executor, wall)
    config["stencil"] = runs
    config["joint"] = "stacked" if stacked else "inverse-covariance"
    if stacked:
        config["resampling"] += "; stacked joint fit: one resample per trial shared by all ratios, default_rng([seed, trial])"
    return OTIInference(estimates=estimates, config=config, setup=setup, stacked=joint_est)


# ----------------------------------------------------------------------------- 1-D demonstration
@dataclasses.dataclass(frozen=True, eq=False)
class A2Scan:
    """Bootstrap Fourier coefficients along a grid of disk mass factors (PW2021 Figs. 5-6).

    Attributes
    ----------
    mass_factors : numpy.ndarray (F,)
    coefficients : numpy.ndarray (F, n_bootstrap, 5)
        ``(c0, a1, b1, a2, b2)`` of each trial, dex.
    crossing : float
        Disk mass factor where the bootstrap-mean a2 crosses zero (linear
        interpolation between the bracketing grid points); NaN if no sign change.
    crossing_error : float
        Interpolated bootstrap error of a2 divided by |d a2 / d factor| (PW2021 Sec. 6.1).
    """

    mass_factors: np.ndarray
    coefficients: np.ndarray
    crossing: float
    crossing_error: float

    @property
    def a2(self) -> np.ndarray:
        return self.coefficients[..., 3]

    @property
    def mean(self) -> np.ndarray:
        return self.coefficients.mean(axis=1)

    @property
    def std(self) -> np.ndarray:
        return self.coefficients.std(axis=1, ddof=1)


def _scan_task(payload):
    data, setup, theta, n_bootstrap, seed = payload
    J, ok, th = _actions(
        theta, data, setup
    )  # once per grid point: resamples reuse them
    good = np.flatnonzero(ok)
    e = data.abundance_errors
    coefs = []
    for t in range(n_bootstrap):
        rows = good[
            np.random.default_rng([int(seed), t]).integers(0, good.size, good.size)
        ]
        dev = abundance_deviations(
            J[rows],
            data.abundances[rows, 0],
            None if e is None else e[rows, 0],
            k=int(setup.k),
            scale=setup.fixed_scale,
            ids=data.ids[rows],
            weighting=setup.weighting,
        )
        fit = fit_fourier(th[rows], dev.deviation, dev.deviation_error)
        coefs.append(np.asarray(fit.coefficients))
    return np.stack(coefs)


def a2_scan(
    data: OTIData,
    ratio=0,
    mass_factors=None,
    *,
    theta=None,
    setup: OTISetup | None = None,
    n_bootstrap: int = 16,
    seed: int = 0,
    executor: Executor | None = None,
) -> A2Scan:
    """The 1-D demonstration: a2(M_disk / M*_disk) and its zero crossing (PW2021 Sec. 6.1, Figs. 5-6).

    At each factor (other parameters from ``theta``, default fiducial) the
    actions are computed once and ``n_bootstrap`` resamples (the same ones at
    every factor, seeded by ``(seed, trial)``) give the Fourier coefficients.
    ``mass_factors`` defaults to :data:`DEFAULT_SCAN_FACTORS` (0.4-1.8, PW2021).
    """
    setup = OTISetup() if setup is None else setup
    theta = (
        fiducial_parameters(setup)
        if theta is None
        else np.asarray(theta, dtype=np.float64)
    )
    f = np.asarray(mass_factors, dtype=np.float64)
    if f.ndim != 1 or f.size < 2 or not np.all(np.diff(f) > 0):
        raise ValueError(
            f"'mass_factors' must be an increasing 1-D grid of >= 2 values; got {mass_factors!r}"
        )
    one = data.take(np.arange(data.n_stars), ratios=[ratio])
    setup = setup.fix_scale(one, theta)
    payloads = []
    for fac in f:
        th = theta.copy()
        th[0] = fac
        payloads.append((one, setup, th, int(n_bootstrap), seed))
    coefs = np.stack(
        (executor or Executor(n_workers=1)).map(
            _scan_task, payloads, description="a2 scan"
        )
    )
    a2m, a2s = coefs[..., 3].mean(axis=1), coefs[..., 3].std(axis=1, ddof=1)
    crossing, err = np.nan, np.nan
    sign = np.flatnonzero(np.sign(a2m[:-1]) != np.sign(a2m[1:]))
    if sign.size:
        i = int(sign[0])
        w = a2m[i] / (a2m[i] - a2m[i + 1])
        crossing = f[i] + w * (f[i + 1] - f[i])
        slope = (a2m[i + 1] - a2m[i]) / (f[i + 1] - f[i])
        err = ((1 - w) * a2s[i] + w * a2s[i + 1]) / abs(slope)
    return A2Scan(
        mass_factors=f,
        coefficients=coefs,
        crossing=float(crossing),
        crossing_error=float(err),
    )


# ----------------------------------------------------------------------------- storage
def write_oti_result(path, result: OTIInference):
    """Write an :class:`OTIInference` to HDF5 atomically (samples per ratio + JSON config/summary)."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h:
        h.attrs["format"] = "diskorbits.oti_inference/1"
        h.attrs["config"] = json.dumps(result.config, default=str)
        h.attrs["setup_scale"] = np.asarray(result.setup.fixed_scale)
        h.attrs["summary"] = json.dumps(result.to_dict(), default=str)
        g = h.create_group("ratios")
        for i, (name, e) in enumerate(result.estimates.items()):
            _write_estimate(g.create_group(f"{i:03d}"), name, e)
        if result.stacked is not None:
            _write_estimate(h.create_group("stacked"), "stacked", result.stacked)
    return path


_ESTIMATE_FIELDS = ("samples", "objective", "n_evaluations", "success", "free")


def _write_estimate(group, name, e):
    group.attrs["ratio"] = name
    for field in _ESTIMATE_FIELDS:
        group.create_dataset(field, data=np.asarray(getattr(e, field)))


def _read_estimate(group) -> RatioEstimate:
    return RatioEstimate(ratio=str(group.attrs["ratio"]), **{f: group[f][()] for f in _ESTIMATE_FIELDS})


def read_oti_result(path) -> OTIInference:
    """Read what :func:`write_oti_result` wrote (the setup keeps the default potential and frame)."""
    import h5py

    with h5py.File(path, "r") as h:
        if h.attrs.get("format") != "diskorbits.oti_inference/1":
            raise ValueError(f"{path!s} is not a diskorbits OTI inference file")
        config = json.loads(h.attrs["config"])
        est = {}
        for key in sorted(h["ratios"]):
            e = _read_estimate(h["ratios"][key])
            est[e.ratio] = e
        stacked = _read_estimate(h["stacked"]) if "stacked" in h else None
        scale = np.asarray(h.attrs["setup_scale"])
    st = config.get("setup", {})
    setup = OTISetup(
        k=int(st.get("k", 64)),
        metric=st.get("metric", "raw"),
        scale=scale,
        weighting=st.get("weighting", "linear"),
    )
    return OTIInference(estimates=est, config=config, setup=setup, stacked=stacked)
