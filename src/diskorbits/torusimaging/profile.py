"""A profile of the OTI objective over the disk scale height h_z (Price-Whelan et al. 2021, Eq. 8).

Why a profile
-------------
With all four parameters ``theta = (M_disk / M*_disk, h_z, z_sun, v_z,sun)``
free, the mocks of ``docs/torusimaging.md`` constrain one combination of disk
mass and scale height: the vertical restoring force goes with the disk's
mid-plane density (~ M_disk / h_z for a thin Miyamoto-Nagai disk) close to the
plane and with its surface density (~ M_disk) far above it, so a heavier,
thicker disk and a lighter, thinner one give nearly the same vertical orbits
(on the mocks M_disk ~ h_z^0.4 along the valley). The Gauss-Newton centre then drifts along that valley
and the per-ratio inverse-covariance combination reports a confident wrong
point. :func:`profile_inference` instead holds h_z fixed on a grid and fits the
remaining free parameters (three terms per ratio against at most three
parameters: well posed) at every grid value with :func:`.inference.bootstrap_inference`;
the estimates along the grid trace the valley, and a statistic comparable
across the grid says which h_z the data prefer, if any.

The statistic
-------------
At grid value ``h`` with joint estimate ``theta_h`` (:attr:`OTIInference.joint`),
the residual vector stacks, over the ratios r and the Eq.-8 terms k
(``a1, b1, a2`` and optionally ``c0``, ``b2``), ``c_rk / sigma_rk``: each
Fourier coefficient (Eqs. 3-7) divided by its formal error on the full
catalogue at ``theta_h``. ``S(h)`` is the squared length of that vector after
removing what the free parameters can still absorb to first order (the
projection orthogonal to the columns of the finite-difference Jacobian at
``theta_h``, steps :data:`.inference.PARAMETER_STEPS`):

    S(h) = min_delta | r(theta_h) + J delta |^2 = | (1 - J J^+) r(theta_h) |^2 .

It is a chi^2 of "no angle dependence" summed over ratios, minimised over the
free parameters at fixed h_z: the profile of the normalised Eq. 8. It is
comparable across the grid because the stars, the neighbour metric (its
scale is fixed once, at ``x0``, for the whole profile), K and the resamples
are the same at every h_z, and each coefficient is measured in units of its
own formal error (the errors change little with h_z). Why not the objective
values the fits already return: per ratio, with three free parameters, Eq. 8
(three terms) is zeroed at every h_z, so its minima say nothing about h_z;
the stacked stencil's value is in dex^2 of the last linearisation, weighted
by abundance scatter rather than information, and exists only for stacked
fits. ``S`` needs more residuals than free parameters (``n_ratios x
n_terms > n_free``), else it is identically zero and :func:`profile_inference`
refuses.

The best h_z and its interval
-----------------------------
``best_h_z`` is the vertex of the parabola through the grid minimum of ``S``
and its two neighbours. Its error comes from the bootstrap, as every other
error in this package: trial ``t`` resamples the stars once
(:func:`.resampling.bootstrap_counts` with ``column=None``, the stacked fit's
resample), the *same* resample at every grid value, so each trial has its own
profile ``S_t(h)`` (its residuals at ``theta_h``, projected with the same
Jacobian) and its own vertex ``h_t``. The interval is ``best_h_z +- std(h_t)``.
Because the resamples are paired across the grid, the large common
fluctuation of the level of ``S_t`` cancels and only the change of shape moves
``h_t``. A trial whose minimum is at the grid edge gets the edge value and is
counted (``n_trials_at_edge``); then the grid is too narrow (or the profile
too flat) and the interval a lower limit on the uncertainty. For comparison
``formal_interval`` is where the local parabola rises by 1 (Delta chi^2 = 1),
which trusts the formal errors and ignores that neighbouring stars share
neighbours (their deviations are correlated); it is not the reported interval.

Whether there is a minimum at all: :attr:`HzProfile.rise_significance` is the
largest rise ``S(h) - min S`` over the grid in units of its paired bootstrap
scatter (the scatter of ``S_t(h) - S_t(h_min)``). Below :data:`FLAT_SIGMA` the
profile is :attr:`~HzProfile.flat`: no grid value is disfavoured and the data
do not locate h_z -- on the mocks of up to 8,000 stars this is what happens,
while the disk mass at each fixed h_z is measured to ~1%.

Cost: per grid value one :func:`bootstrap_inference` (~3-4 stencil iterations
x (n_free + 1) parameter vectors per ratio, plus one for a stacked fit), then
one parameter vector with every trial and ``n_free`` with the full catalogue
only for the statistic. All of it goes through the :class:`~diskorbits.parallel.Executor`
(processes or Dask).
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from pathlib import Path

import numpy as np

from .. import _config  # noqa: F401  (float64)
from ..io.atomic import atomic_path
from ..parallel import Executor
from .inference import (
    _REPORT,
    PARAMETER_STEPS,
    OTIInference,
    _free_mask,
    _objective_terms,
    bootstrap_inference,
    derived_quantities,
)
from .objective import PARAMETER_NAMES, OTIData, OTISetup, fiducial_parameters
from .resampling import bootstrap_counts, resampled_coefficients

__all__ = [
    "DEFAULT_PROFILE_FREE",
    "FLAT_SIGMA",
    "PROFILE_FORMAT",
    "HzProfile",
    "profile_inference",
    "profile_minimum",
    "read_oti_profile",
    "write_oti_profile",
]

#: Parameters fitted at each h_z by default.
DEFAULT_PROFILE_FREE: tuple[str, ...] = ("disk_mass_factor", "z_sun", "v_z_sun")
#: A profile is "flat" when no grid value's rise above the minimum reaches this many of its paired
#: bootstrap standard deviations (:attr:`HzProfile.rise_significance`).
FLAT_SIGMA = 2.0
#: ``format`` attribute of the HDF5 files of :func:`write_oti_profile`.
PROFILE_FORMAT = "diskorbits.oti_profile/1"
#: A direction of the free parameters absorbs residual only if one formal error of change needs
#: at most this many optimiser steps (as in :mod:`.stencil`: a trust region, not a least-squares cut).
_MAX_STEP = 5.0
_NAMES = ("c0", "a1", "b1", "a2", "b2")
_H_Z = PARAMETER_NAMES.index("h_z")


# ----------------------------------------------------------------------------- the minimum
def _vertex(x: np.ndarray, y: np.ndarray) -> tuple[float, float, bool]:
    """``(h, curvature, at_edge)``: vertex of the parabola through the minimum of y(x) and its neighbours.

    ``curvature`` is ``a`` of ``y ~ a (x - h)^2 + c``; at an edge minimum the edge value, NaN and True.
    """
    if not np.all(np.isfinite(y)):
        return np.nan, np.nan, False
    i = int(np.argmin(y))
    if i == 0 or i == x.size - 1:
        return float(x[i]), np.nan, True
    xs, ys = x[i - 1 : i + 2], y[i - 1 : i + 2]
    a, b, _ = np.polyfit(xs - xs[1], ys, 2)  # exact through three points (centred: well conditioned)
    if not a > 0:  # three equal values: no curvature, the middle point
        return float(xs[1]), 0.0, False
    return float(xs[1] - b / (2.0 * a)), float(a), False


def profile_minimum(h_z_grid, statistic, statistic_trials=None) -> dict:
    """Best h_z of a profile and its intervals (module docstring).

    Parameters
    ----------
    h_z_grid : array_like (G,)
        Increasing grid, kpc (G >= 3).
    statistic : array_like (G,)
        ``S(h)`` of the full catalogue (dimensionless, chi^2-like).
    statistic_trials : array_like (G, T), optional
        ``S_t(h)`` of bootstrap resamples that are the same at every grid value.

    Returns
    -------
    dict
        ``best_h_z`` (kpc; the parabola vertex, or the edge value if the
        minimum is at an edge), ``at_edge``, ``std`` (bootstrap standard
        deviation of the trials' vertices; NaN without trials), ``interval``
        (``best_h_z -+ std``), ``trial_best_h_z`` (T,), ``n_trials_at_edge``,
        ``formal_interval`` (where the local parabola rises by 1; NaN at an edge).
    """
    x = np.asarray(h_z_grid, dtype=np.float64)
    s = np.asarray(statistic, dtype=np.float64)
    if x.ndim != 1 or x.size < 3 or s.shape != x.shape or not np.all(np.diff(x) > 0):
        raise ValueError(f"need an increasing grid of >= 3 values and one statistic per value; got {x!r}, {s!r}")
    best, curv, edge = _vertex(x, s)
    half = 1.0 / np.sqrt(curv) if (np.isfinite(curv) and curv > 0) else np.nan
    out = {
        "best_h_z": best,
        "at_edge": bool(edge),
        "formal_interval": (best - half, best + half),
        "trial_best_h_z": np.zeros(0),
        "n_trials_at_edge": 0,
        "std": np.nan,
        "interval": (np.nan, np.nan),
    }
    if statistic_trials is not None:
        st = np.asarray(statistic_trials, dtype=np.float64)
        if st.ndim != 2 or st.shape[0] != x.size:
            raise ValueError(f"'statistic_trials' must have shape ({x.size}, T); got {st.shape}")
        vert = [_vertex(x, st[:, t]) for t in range(st.shape[1])]
        ht = np.array([v[0] for v in vert])
        out["trial_best_h_z"] = ht
        out["n_trials_at_edge"] = int(sum(v[2] for v in vert))
        ok = np.isfinite(ht)
        if ok.sum() >= 2:
            sd = float(np.std(ht[ok], ddof=1))
            out["std"] = sd
            out["interval"] = (best - sd, best + sd)
    return out


# ----------------------------------------------------------------------------- result
@dataclasses.dataclass(frozen=True, eq=False)
class HzProfile:
    """OTI fits on a grid of fixed h_z and the profiled statistic (module docstring).

    Internal units (kpc, Myr, Msun) throughout; :meth:`to_dict` converts to
    the paper's (pc, km/s).

    Attributes
    ----------
    h_z_grid : numpy.ndarray (G,)
        Fixed Miyamoto-Nagai scale heights, kpc, increasing.
    mean, covariance : numpy.ndarray (G, 4), (G, 4, 4)
        Joint estimate of theta at each grid value (column 1 is the grid
        value, with zero variance); NaN covariance where the joint estimate
        was refused (``notes``).
    ratio_samples : numpy.ndarray (G, R, T, 4)
        Every ratio's bootstrap optima.
    joint_samples : numpy.ndarray (G, T, 4) or None
        The stacked fit's trials (``joint="stacked"``), else None.
    statistic : numpy.ndarray (G,)
        ``S(h)``, the profiled normalised Eq. 8 summed over ratios (dimensionless).
    statistic_trials : numpy.ndarray (G, T)
        ``S_t(h)`` of trial t (same resample at every grid value).
    disk_mass, disk_to_halo_mass_ratio : numpy.ndarray (G, 2)
        Value and error at each grid value (:func:`.inference.derived_quantities`;
        the error propagates the free parameters' covariance at that fixed h_z).
    best_h_z, best_h_z_std : float
        Vertex of the profile's minimum (kpc) and the bootstrap scatter of the trials' vertices.
    interval, formal_interval : tuple of float
        ``best_h_z -+ best_h_z_std`` (reported) and the Delta S = 1 interval (comparison).
    at_edge : bool
        The minimum of ``S`` is at an end of the grid: widen the grid.
    trial_best_h_z : numpy.ndarray (T,)
    n_trials_at_edge : int
    free : numpy.ndarray of bool (4,)
    ratios : tuple of str
    terms : tuple of str
        The Eq.-8 coefficients in ``S``.
    notes : tuple of str (G,)
        Empty, or why a grid value has no joint estimate.
    config : dict
        Run settings, per-grid-value fit configurations, wall time.
    setup : OTISetup
    """

    h_z_grid: np.ndarray
    mean: np.ndarray
    covariance: np.ndarray
    ratio_samples: np.ndarray
    joint_samples: np.ndarray | None
    statistic: np.ndarray
    statistic_trials: np.ndarray
    disk_mass: np.ndarray
    disk_to_halo_mass_ratio: np.ndarray
    best_h_z: float
    best_h_z_std: float
    interval: tuple
    formal_interval: tuple
    at_edge: bool
    trial_best_h_z: np.ndarray
    n_trials_at_edge: int
    free: np.ndarray
    ratios: tuple
    terms: tuple
    notes: tuple
    config: dict
    setup: OTISetup = dataclasses.field(default_factory=OTISetup)

    @property
    def std(self) -> np.ndarray:
        """Bootstrap standard deviations (G, 4) of the joint estimates."""
        return np.sqrt(np.clip(np.diagonal(self.covariance, axis1=1, axis2=2), 0.0, None))

    @property
    def n_residuals(self) -> int:
        return len(self.ratios) * len(self.terms)

    @property
    def delta_statistic(self) -> np.ndarray:
        """``S(h) - min S`` (G,)."""
        return self.statistic - np.nanmin(self.statistic)

    @property
    def delta_statistic_std(self) -> np.ndarray:
        """Bootstrap scatter (G,) of ``S_t(h) - S_t(h_min)``, h_min the grid minimum of ``S``.

        Paired resamples: the scatter of the *differences* that decide the
        minimum, not of the level of S (which is much larger and common to all h).
        """
        i = int(np.nanargmin(self.statistic))
        d = self.statistic_trials - self.statistic_trials[i]
        return np.std(d, axis=1, ddof=1) if d.shape[1] > 1 else np.full(d.shape[0], np.nan)

    @property
    def rise_significance(self) -> float:
        """Largest ``(S(h) - min S) / delta_statistic_std`` over the grid: how firmly the worst h_z is disfavoured."""
        d, e = self.delta_statistic, self.delta_statistic_std
        ok = np.isfinite(d) & np.isfinite(e) & (e > 0)
        return float(np.max(d[ok] / e[ok])) if ok.any() else np.nan

    @property
    def flat(self) -> bool:
        """No grid value is disfavoured by :data:`FLAT_SIGMA` paired bootstrap sigma: the data do not locate h_z.

        ``best_h_z`` and its interval are then the minimum of noise; report the
        estimates at fixed h_z (and their trade-off) instead.
        """
        r = self.rise_significance
        return not (np.isfinite(r) and r >= FLAT_SIGMA)

    def to_dict(self) -> dict:
        """JSON-ready summary in the paper's units (pc, km/s; disk mass in Msun) plus the configuration."""
        std = self.std
        dstd = self.delta_statistic_std
        sstd = np.std(self.statistic_trials, axis=1, ddof=1) if self.statistic_trials.shape[1] > 1 else np.full(
            self.h_z_grid.size, np.nan)
        grid = []
        for g, h in enumerate(self.h_z_grid):
            row = {"h_z": float(h)}
            for i, name in enumerate(PARAMETER_NAMES):
                if i == _H_Z:
                    continue
                f, unit = _REPORT[name]
                row[name] = {"mean": float(self.mean[g, i]) * f, "std": float(std[g, i]) * f, "unit": unit,
                             "fixed": not bool(self.free[i])}
            for name, arr in (("disk_mass", self.disk_mass), ("disk_to_halo_mass_ratio", self.disk_to_halo_mass_ratio)):
                row[name] = {"mean": float(arr[g, 0]), "std": float(arr[g, 1]), "unit": _REPORT[name][1]}
            row["statistic"] = float(self.statistic[g])
            row["statistic_std"] = float(sstd[g])
            row["delta_statistic"] = float(self.delta_statistic[g])
            row["delta_statistic_std"] = float(dstd[g])
            row["note"] = self.notes[g]
            grid.append(row)
        n_free = int(np.sum(self.free))
        return {
            "parameters": list(PARAMETER_NAMES),
            "free": [n for n, f in zip(PARAMETER_NAMES, self.free) if f],
            "ratios": list(self.ratios),
            "h_z_grid": [float(h) for h in self.h_z_grid],
            "grid": grid,
            "statistic": {
                "definition": "S(h_z) = sum over ratios and Eq.-8 terms of (coefficient / formal error)^2 at the "
                "joint estimate, minus what the free parameters absorb to first order",
                "terms": list(self.terms),
                "n_residuals": self.n_residuals,
                "n_free": n_free,
                "dof": self.n_residuals - n_free,
            },
            "best_h_z": {
                "value": self.best_h_z,
                "std": self.best_h_z_std,
                "lower": float(self.interval[0]),
                "upper": float(self.interval[1]),
                "formal_lower": float(self.formal_interval[0]),
                "formal_upper": float(self.formal_interval[1]),
                "at_edge": bool(self.at_edge),
                "rise_significance": self.rise_significance,
                "flat": self.flat,
                "n_trials": int(self.trial_best_h_z.size),
                "n_trials_at_edge": int(self.n_trials_at_edge),
                "unit": "kpc",
                "method": "parabola vertex through the grid minimum of S; error = bootstrap std of the vertices of "
                "the trials' profiles (the same resample at every h_z); formal = Delta S = 1 on that parabola",
            },
            "config": self.config,
        }


# ----------------------------------------------------------------------------- statistic
def _statistic_task(payload):
    """Coefficients and errors (B, R, 5) at one theta: the full catalogue (B = 1) or it and T shared resamples.

    A step point that is an impossible model (no positive halo mass) is taken backwards instead:
    returns ``(sign, coefficients, errors)`` with ``sign`` -1 then. Picklable.
    """
    data, setup, theta, back, n_trials, seed, k_super, batch_size = payload
    n, R = data.n_stars, data.n_ratios
    rows = [np.ones(n, dtype=np.int64)] + [bootstrap_counts(n, seed, t, None) for t in range(n_trials)]
    counts = np.repeat(np.stack(rows), R, axis=0)  # row b * R + r: resample b, ratio r
    cols = np.tile(np.arange(R), len(rows))
    for sign, th in ((1.0, theta), (-1.0, back)):
        if th is None:
            break
        try:
            out = resampled_coefficients(th, data, setup, counts, cols, k_super=k_super, batch_size=batch_size)
        except ValueError as exc:
            if "k_super" in str(exc):
                raise
            continue
        shape = (len(rows), R, 5)
        return sign, out.coefficients.reshape(shape), out.errors.reshape(shape)
    return None


def _profiled_statistic(centre, steps_out, free, idx):
    """S of the full catalogue and of every trial from the centre and the full-catalogue step points."""
    _, coefs, errs = centre
    sigma = errs[0][:, idx]  # (R, n_terms): full-catalogue formal errors at the estimate
    res = (coefs[:, :, idx] / sigma).reshape(coefs.shape[0], -1)  # (1 + T, M)
    fi = np.flatnonzero(free)
    jac = np.empty((res.shape[1], fi.size))
    for j, out in enumerate(steps_out):
        if out is None:
            raise ValueError(f"impossible models on both sides of the estimate in {PARAMETER_NAMES[fi[j]]}")
        sign, c, _ = out
        jac[:, j] = sign * ((c[0][:, idx] / sigma).reshape(-1) - res[0])  # per optimiser step
    U, sv, _ = np.linalg.svd(jac, full_matrices=False)
    keep = sv > 1.0 / _MAX_STEP
    Uk = U[:, keep]
    perp = res - (res @ Uk) @ Uk.T
    s = np.sum(perp * perp, axis=1)
    return float(s[0]), s[1:], int(fi.size - keep.sum())


# ----------------------------------------------------------------------------- inference
def _grid(h_z_grid) -> np.ndarray:
    try:
        h = np.asarray(h_z_grid, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"'h_z_grid' must be numbers (kpc); got {h_z_grid!r}") from None
    if not np.all(np.isfinite(h)):
        raise ValueError(f"'h_z_grid' must be finite; got {h.tolist()}")
    bad = h[h <= 0]
    if bad.size:
        raise ValueError(f"h_z grid value(s) {bad.tolist()} must be > 0 kpc (a Miyamoto-Nagai scale height)")
    if h.size < 3:
        raise ValueError(
            f"'h_z_grid' needs at least 3 values to locate a minimum (a parabola); got {h.size}: {h.tolist()}"
        )
    h = np.sort(h)
    dup = h[1:][np.diff(h) == 0]
    if dup.size:
        raise ValueError(f"'h_z_grid' repeats {sorted(set(dup.tolist()))}")
    return h


def _order(h: np.ndarray, start: float) -> list[tuple[int, int | None]]:
    """Grid indices outward from the value nearest ``start``, each with the neighbour it starts from."""
    i0 = int(np.argmin(np.abs(h - start)))
    order = [(i0, None)]
    order += [(i, i - 1) for i in range(i0 + 1, h.size)]
    order += [(i, i + 1) for i in range(i0 - 1, -1, -1)]
    return order


def profile_inference(
    data: OTIData,
    ratios=None,
    *,
    h_z_grid,
    free=DEFAULT_PROFILE_FREE,
    n_bootstrap: int = 128,
    executor: Executor | None = None,
    seed: int = 0,
    x0=None,
    method: str = "gauss-newton",
    setup: OTISetup | None = None,
    joint: str | None = None,
    **fit_options,
) -> HzProfile:
    """Profile the OTI fit over a grid of fixed disk scale heights (module docstring).

    At each ``h`` of ``h_z_grid`` the ``free`` parameters are fitted by
    :func:`.inference.bootstrap_inference` (its resamples, methods and
    options; the trials go through ``executor``) from ``x0`` with h_z set to
    ``h`` -- the first grid value fitted is the one nearest ``x0``'s h_z,
    and each further one starts from its fitted neighbour's estimate
    (continuation along the disk-mass/h_z valley). Then the profiled
    statistic ``S(h)`` and every trial's ``S_t(h)`` are evaluated at the joint
    estimate (one parameter vector with all trials and ``n_free`` with the
    full catalogue per grid value, fanned out through ``executor``), and the
    best h_z and its bootstrap interval are found (:func:`profile_minimum`).

    Parameters
    ----------
    data : OTIData
    ratios : sequence of int or str, optional
        Abundance ratios (default all), as :func:`bootstrap_inference`.
    h_z_grid : array_like (G,)
        Miyamoto-Nagai scale heights, kpc; at least 3 distinct values > 0
        (sorted here).
    free : sequence of parameter names or bool mask (4,)
        Fitted at each h_z (default disk mass factor, z_sun, v_z,sun); must
        not include ``"h_z"``. The others stay at ``x0``.
    n_bootstrap : int
        Trials per ratio and grid value (PW2021: 128).
    executor : Executor, optional
        Default serial; ``Executor(scheduler=...)`` runs the stencil points
        and the statistic on a Dask cluster.
    seed : int
        Resampling seed, as :func:`bootstrap_inference`; the statistic's trial
        ``t`` uses ``bootstrap_counts(N, seed, t, None)`` (the stacked fit's).
    x0 : array_like (4,), optional
        Start and fixed values (internal units); default :func:`fiducial_parameters`.
        The neighbour scale (``metric="spread"``) is fixed once, at ``x0``,
        for the whole profile.
    method : str
        As :func:`bootstrap_inference` (default Gauss-Newton).
    setup : OTISetup, optional
    joint : {"stacked", "inverse-covariance"}, optional
        How the ratios' fits at each h_z are combined into the estimate at
        which ``S`` is evaluated. Default: ``"stacked"`` for Gauss-Newton with
        two or more ratios (it minimises the same normalised sum of squares as
        ``S``, with the ratios' correlations in its trials), else
        ``"inverse-covariance"``.
    **fit_options
        Passed to :func:`bootstrap_inference` (Gauss-Newton: ``tol``,
        ``max_iterations``, ``max_step``, ``k_super``, ``batch_size``; the last
        two also serve the statistic).

    Returns
    -------
    HzProfile

    Raises
    ------
    ValueError
        For a grid value <= 0 kpc, fewer than 3 or repeated grid values,
        ``"h_z"`` among ``free``, ``n_bootstrap < 2``, or fewer residuals
        (ratios x Eq.-8 terms) than free parameters plus one (``S`` would be
        zero at every h_z); and as :func:`bootstrap_inference`.
    """
    h = _grid(h_z_grid)
    mask = _free_mask(free)
    if mask[_H_Z]:
        raise ValueError("'h_z' cannot be among 'free' in a profile over h_z: it is held at each grid value")
    if not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 2:
        raise ValueError(f"'n_bootstrap' must be an integer >= 2; got {n_bootstrap!r}")
    setup = OTISetup() if setup is None else setup
    x0 = fiducial_parameters(setup) if x0 is None else np.asarray(x0, dtype=np.float64)
    if x0.shape != (4,) or not np.all(np.isfinite(x0)):
        raise ValueError(f"'x0' must be 4 finite numbers {PARAMETER_NAMES}; got {x0!r}")
    cols = [data.ratio_index(r) for r in (range(data.n_ratios) if ratios is None else ratios)]
    if not cols or len(set(cols)) != len(cols):
        raise ValueError(f"'ratios' must name distinct abundance ratios; got {ratios!r}")
    sub = data.take(np.arange(data.n_stars), ratios=cols)
    terms = _objective_terms(setup)
    n_free = int(mask.sum())
    if len(cols) * len(terms) <= n_free:
        raise ValueError(
            f"{len(cols)} ratio(s) x {len(terms)} Eq.-8 terms = {len(cols) * len(terms)} residuals cannot judge h_z "
            f"with {n_free} free parameters (they zero every term at any h_z): add ratios or free fewer parameters"
        )
    if joint is None:
        joint = "stacked" if (method == "gauss-newton" and len(cols) >= 2) else "inverse-covariance"
    setup = setup.fix_scale(sub, x0)  # one neighbour metric for every grid value
    executor = executor or Executor(n_workers=1)
    t0 = time.perf_counter()

    G, T = h.size, int(n_bootstrap)
    results: list[OTIInference | None] = [None] * G
    means = np.full((G, 4), np.nan)
    covs = np.full((G, 4, 4), np.nan)
    notes = [""] * G
    starts = np.zeros((G, 4))
    for g, prev in _order(h, float(x0[_H_Z])):
        start = x0.copy()
        if prev is not None and np.all(np.isfinite(means[prev])):
            start[mask] = means[prev][mask]
        start[_H_Z] = h[g]
        starts[g] = start
        res = bootstrap_inference(
            data, cols, n_bootstrap=T, executor=executor, seed=seed, x0=start, method=method,
            setup=setup, free=mask, joint=joint, **fit_options,
        )
        results[g] = res
        try:
            j = res.joint
            means[g], covs[g] = j.mean, j.covariance
        except ValueError as exc:  # no joint estimate here: evaluate S at the trials' mean, say why
            notes[g] = str(exc)
            pool = res.stacked.samples if res.stacked is not None else np.concatenate(
                [e.samples for e in res.estimates.values()])
            means[g] = pool.mean(axis=0)
        means[g, _H_Z] = h[g]

    # the statistic: per grid value the estimate with every trial, and a step per free parameter
    fi = np.flatnonzero(mask)
    steps = PARAMETER_STEPS
    k_super, batch_size = fit_options.get("k_super"), fit_options.get("batch_size")
    payloads = []
    for g in range(G):
        payloads.append((sub, setup, means[g], None, T, int(seed), k_super, batch_size))
        for i in fi:
            fwd, back = means[g].copy(), means[g].copy()
            fwd[i] += steps[i]
            back[i] -= steps[i]
            payloads.append((sub, setup, fwd, back, 0, int(seed), k_super, batch_size))
    out = executor.map(_statistic_task, payloads, description="OTI profile statistic")
    idx = [_NAMES.index(t) for t in terms]
    stat = np.full(G, np.nan)
    stat_t = np.full((G, T), np.nan)
    per = 1 + fi.size
    for g in range(G):
        centre = out[g * per]
        if centre is None:
            notes[g] = (notes[g] + "; " if notes[g] else "") + "the estimate is an impossible model"
            continue
        stat[g], stat_t[g], dropped = _profiled_statistic(centre, out[g * per + 1 : (g + 1) * per], mask, idx)
        if dropped:
            warnings.warn(
                f"h_z = {h[g]:g} kpc: {dropped} direction(s) of the free parameters barely move the coefficients "
                "(more than 5 steps per formal error); S keeps their share of the residuals",
                stacklevel=2,
            )
    derived = [derived_quantities(means[g], covs[g], setup) for g in range(G)]
    disk_mass = np.array([d["disk_mass"] for d in derived])
    ratio_dh = np.array([d["disk_to_halo_mass_ratio"] for d in derived])
    mini = profile_minimum(h, stat, stat_t)
    ratio_samples = np.stack([np.stack([e.samples for e in r.estimates.values()]) for r in results])
    joint_samples = (np.stack([r.stacked.samples for r in results]) if all(r.stacked is not None for r in results)
                     else None)
    wall = time.perf_counter() - t0
    import diskorbits

    config = {
        "kind": "h_z profile",
        "method": method,
        "joint": joint,
        "n_bootstrap": T,
        "seed": int(seed),
        "x0": [float(v) for v in x0],
        "free": [bool(f) for f in mask],
        "h_z_grid_kpc": [float(v) for v in h],
        "starts": [[float(v) for v in s] for s in starts],
        "n_stars": int(data.n_stars),
        "fit_options": dict(fit_options),
        "setup": setup.describe(),
        "executor": executor.backend,
        "statistic_resampling": "one resample per trial shared by all ratios and all grid values: "
        "bootstrap_counts(N, seed, trial, None)",
        "grid_fits": [{k: v for k, v in r.config.items() if k not in ("setup", "version", "units", "x0")}
                      for r in results],
        "wall_time_s": wall,
        "version": getattr(diskorbits, "__version__", "unknown"),
        "units": "kpc, Myr, Msun",
    }
    return HzProfile(
        h_z_grid=h,
        mean=means,
        covariance=covs,
        ratio_samples=ratio_samples,
        joint_samples=joint_samples,
        statistic=stat,
        statistic_trials=stat_t,
        disk_mass=disk_mass,
        disk_to_halo_mass_ratio=ratio_dh,
        best_h_z=float(mini["best_h_z"]),
        best_h_z_std=float(mini["std"]),
        interval=tuple(float(v) for v in mini["interval"]),
        formal_interval=tuple(float(v) for v in mini["formal_interval"]),
        at_edge=bool(mini["at_edge"]),
        trial_best_h_z=np.asarray(mini["trial_best_h_z"]),
        n_trials_at_edge=int(mini["n_trials_at_edge"]),
        free=mask,
        ratios=tuple(sub.ratio_names),
        terms=tuple(terms),
        notes=tuple(notes),
        config=config,
        setup=setup,
    )


# ----------------------------------------------------------------------------- storage
_ARRAYS = ("h_z_grid", "mean", "covariance", "ratio_samples", "statistic", "statistic_trials", "disk_mass",
           "disk_to_halo_mass_ratio", "trial_best_h_z", "free")
_SCALARS = ("best_h_z", "best_h_z_std", "at_edge", "n_trials_at_edge")


def write_oti_profile(path, profile: HzProfile):
    """Write an :class:`HzProfile` to HDF5 atomically (arrays + JSON config/summary), as :func:`write_oti_result`."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h:
        h.attrs["format"] = PROFILE_FORMAT
        h.attrs["config"] = json.dumps(profile.config, default=str)
        h.attrs["setup_scale"] = np.asarray(profile.setup.fixed_scale)
        h.attrs["summary"] = json.dumps(profile.to_dict(), default=str)
        h.attrs["ratios"] = json.dumps(list(profile.ratios))
        h.attrs["terms"] = json.dumps(list(profile.terms))
        h.attrs["notes"] = json.dumps(list(profile.notes))
        h.attrs["interval"] = np.asarray(profile.interval, dtype=np.float64)
        h.attrs["formal_interval"] = np.asarray(profile.formal_interval, dtype=np.float64)
        for name in _SCALARS:
            h.attrs[name] = getattr(profile, name)
        for name in _ARRAYS:
            h.create_dataset(name, data=np.asarray(getattr(profile, name)))
        if profile.joint_samples is not None:
            h.create_dataset("joint_samples", data=np.asarray(profile.joint_samples))
    return path


def read_oti_profile(path) -> HzProfile:
    """Read what :func:`write_oti_profile` wrote (the setup keeps the default potential and frame).

    Raises
    ------
    FileNotFoundError, ValueError
        For a missing file, or one that is not an OTI h_z profile.
    """
    import h5py

    if not Path(path).exists():
        raise FileNotFoundError(f"profile file {str(path)!r} does not exist")
    try:
        h = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{str(path)!r} is not an HDF5 file ({exc})") from None
    with h:
        if h.attrs.get("format") != PROFILE_FORMAT:
            raise ValueError(f"{str(path)!r} is not a diskorbits OTI h_z profile (write one with 'diskorbits oti profile')")
        arrays = {name: h[name][()] for name in _ARRAYS}
        joint = h["joint_samples"][()] if "joint_samples" in h else None
        config = json.loads(h.attrs["config"])
        scalars = {name: h.attrs[name] for name in _SCALARS}
        ratios = tuple(json.loads(h.attrs["ratios"]))
        terms = tuple(json.loads(h.attrs["terms"]))
        notes = tuple(json.loads(h.attrs["notes"]))
        interval = tuple(float(v) for v in h.attrs["interval"])
        formal = tuple(float(v) for v in h.attrs["formal_interval"])
        scale = np.asarray(h.attrs["setup_scale"])
    st = config.get("setup", {})
    setup = OTISetup(k=int(st.get("k", 64)), metric=st.get("metric", "raw"), scale=scale,
                     weighting=st.get("weighting", "linear"), include_c0=bool(st.get("include_c0", False)),
                     include_b2=bool(st.get("include_b2", False)))
    return HzProfile(
        **{k: v for k, v in arrays.items()},
        joint_samples=joint,
        best_h_z=float(scalars["best_h_z"]),
        best_h_z_std=float(scalars["best_h_z_std"]),
        at_edge=bool(scalars["at_edge"]),
        n_trials_at_edge=int(scalars["n_trials_at_edge"]),
        interval=interval,
        formal_interval=formal,
        ratios=ratios,
        terms=terms,
        notes=notes,
        config=config,
        setup=setup,
    )
