"""Bootstrap optimisation on a shared finite-difference stencil (Gauss-Newton, all trials at once).

Eq. 8 of Price-Whelan et al. (2021) is a sum of squares of Fourier
coefficients, ``f = |r(theta)|^2`` with ``r = (a1, b1, a2 [, c0, b2])``, so a
Gauss-Newton step needs only the residuals and their Jacobian. Bootstrap
trials differ by resampling alone, so their optima scatter about a common
point by the bootstrap error; one linearisation about that point serves all of
them. Each iteration therefore evaluates, for one abundance ratio,

* the coefficients of **every** trial at the centre ``c`` and at ``c + h_i e_i``
  for each free parameter (``n_free + 1`` parameter vectors; each costs one
  set of actions, one neighbour query and dense arithmetic for all trials --
  :func:`.resampling.resampled_coefficients`),
* the forward-difference Jacobian ``J`` averaged over trials and per trial
  the step ``delta_t = -pinv(J) r_t(c)`` (least squares; when fewer residuals than
  free parameters the minimum-norm step in optimiser units, i.e. the point of
  the zero set nearest the centre -- Nelder-Mead likewise stops at a point of
  that set near its start),
* the next centre: the median of ``c + delta_t`` over trials,

until the centre moves by less than ``tol`` optimiser units. Each trial's
result is ``c + delta_t`` of the last linearisation: a Gauss-Newton solution
to first order in its distance from the centre (a bootstrap error).

The finite-difference steps are :data:`.inference.PARAMETER_STEPS` (0.1 in
disk mass factor, 30 pc, 5 pc, 0.5 km/s): large compared with the jumps of the
piecewise-constant neighbour assignment, so the secant slopes average over
them (an autodiff Jacobian with frozen neighbours would see only the smooth
pieces).

Several ratios at once (the stacked joint fit)
----------------------------------------------
With a list of columns the residuals of all ratios are stacked into one
least-squares problem per trial, each ratio's divided by its median formal
coefficient error (so each enters as a chi^2), and every ratio of trial ``t``
uses the *same* resample (:func:`.resampling.bootstrap_rows` with
``column=None``). With four free parameters one ratio's Eq. 8 (three terms) is
minimised along a curve; the stacked problem has ``3 x n_ratios`` residuals
and a point solution where the ratios' abundances weight the orbits
differently, and the scatter of the trials' solutions is then the bootstrap
covariance of the joint estimate itself, correlations between ratios
included -- which the inverse-covariance combination of per-ratio estimates
(:func:`.inference.combine`, PW2021) assumes away, and which is undefined
along a per-ratio curve of minima. One set of actions and one neighbour
query per parameter vector serve every ratio and trial, so the stacked fit
costs about what one ratio's fit costs plus the per-(trial, ratio) arithmetic.

Cost: ~3-4 iterations x (n_free + 1) parameter vectors per ratio, whatever the
number of trials, against ~90 objective evaluations *per trial* for
Nelder-Mead.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..parallel import Executor
from .objective import OTIData, OTISetup
from .resampling import bootstrap_counts, resampled_coefficients

__all__ = ["StencilResult", "stencil_bootstrap"]

_NAMES = ("c0", "a1", "b1", "a2", "b2")


@dataclasses.dataclass(frozen=True)
class StencilResult:
    """Gauss-Newton bootstrap solutions of one abundance ratio.

    Attributes
    ----------
    theta : numpy.ndarray (T, 4)
        Each trial's optimum (internal units).
    objective : numpy.ndarray (T,)
        Eq. 8 of the linear model at that optimum (dex^2, summed over the
        ratios of a stacked fit; 0 when the free parameters can zero every
        coefficient).
    centre : numpy.ndarray (4,)
        The last linearisation point.
    centre_coefficients : numpy.ndarray (T, 5) or (T, n_ratios, 5)
        Every trial's coefficients at the centre (per ratio for a stacked fit).
    columns : tuple of int
        The abundance columns fitted (one, or several stacked).
    n_unconstrained : int
        Directions of the free-parameter space (singular vectors of the mean
        Jacobian) left at the centre because a change of one formal
        coefficient error would need a step of more than ``max_step`` units
        (more free parameters than residuals always leave at least one:
        the minimum-norm step never moves along the curve of minima).
    n_points : int
        Parameter vectors evaluated (for all trials together).
    n_iterations : int
    converged : bool
        The centre moved less than ``tol`` in the last iteration.
    history : list of numpy.ndarray
        Centres, in order.
    """

    theta: np.ndarray
    objective: np.ndarray
    centre: np.ndarray
    centre_coefficients: np.ndarray
    columns: tuple
    n_unconstrained: int
    n_points: int
    n_iterations: int
    converged: bool
    history: list


def _point_task(payload):
    """Coefficients and errors (T, n_cols, 5) of the resamples at one theta; None if theta is impossible."""
    data, setup, theta, columns, trials, seed, k_super, batch_size = payload
    shared = len(columns) > 1  # stacked fit: one resample per trial for every ratio
    counts = np.stack(
        [bootstrap_counts(data.n_stars, seed, t, None if shared else c) for t in trials for c in columns]
    )
    cols = np.tile(np.asarray(columns), len(trials))
    try:
        out = resampled_coefficients(theta, data, setup, counts, cols, k_super=k_super, batch_size=batch_size)
    except ValueError as exc:
        if "k_super" in str(exc):
            raise
        return None
    shape = (len(trials), len(columns), 5)
    return out.coefficients.reshape(shape), out.errors.reshape(shape)


def stencil_bootstrap(
    data: OTIData,
    setup: OTISetup,
    column,
    *,
    x0,
    free,
    steps,
    n_bootstrap: int,
    seed: int = 0,
    terms=("a1", "b1", "a2"),
    tol: float = 0.05,
    max_iterations: int = 6,
    max_step: float = 5.0,
    k_super: int | None = None,
    batch_size: int | None = None,
    executor: Executor | None = None,
) -> StencilResult:
    """Gauss-Newton bootstrap fits of one abundance ratio on a shared stencil (module docstring).

    Parameters
    ----------
    data : OTIData
        Distinct stars; trial ``t`` uses :func:`.resampling.bootstrap_counts`
        ``(N, seed, t, column)``.
    setup : OTISetup
        With the neighbour scale fixed.
    column : int or sequence of int
        Abundance column; several columns: the stacked joint fit (module
        docstring), trial ``t`` resampling with ``bootstrap_counts(N, seed, t, None)``.
    x0 : array_like (4,)
        First centre (internal units).
    free : numpy.ndarray of bool (4,)
    steps : array_like (4,)
        Optimiser units = finite-difference steps (internal units).
    n_bootstrap : int
    terms : tuple of str
        Residuals: Eq. 8's ``("a1", "b1", "a2")``, optionally with ``c0``/``b2``.
    tol : float
        Convergence: the centre moves less than this (optimiser units).
    max_iterations : int
    max_step : float
        Largest step per parameter and trial, optimiser units (a trust region).
    k_super, batch_size
        See :func:`.resampling.resampled_coefficients`.
    executor : Executor, optional
        Fans out the ``n_free + 1`` parameter vectors of an iteration.

    Returns
    -------
    StencilResult

    Raises
    ------
    ValueError
        If the centre itself is an impossible model.
    """
    free = np.asarray(free, dtype=bool)
    steps = np.asarray(steps, dtype=np.float64)
    stacked = not np.isscalar(column)
    columns = tuple(int(c) for c in (column if stacked else [column]))
    if not columns or len(set(columns)) != len(columns):
        raise ValueError(f"'column' must be one column or distinct columns; got {column!r}")
    idx = [_NAMES.index(t) for t in terms]
    trials = list(range(int(n_bootstrap)))
    executor = executor or Executor(n_workers=1)
    centre = np.asarray(x0, dtype=np.float64).copy()
    fi = np.flatnonzero(free)
    history = [centre.copy()]
    n_points = 0
    converged = False

    def task(p):
        return (data, setup, p, columns, trials, int(seed), k_super, batch_size)

    for it in range(1, int(max_iterations) + 1):
        pts = [centre.copy()]
        for i in fi:
            p = centre.copy()
            p[i] += steps[i]
            pts.append(p)
        label = f"ratio {columns[0]}" if not stacked else f"{len(columns)} ratios stacked"
        out = executor.map(_point_task, [task(p) for p in pts], description=f"OTI stencil, {label}, iteration {it}")
        n_points += len(pts)
        if out[0] is None:
            raise ValueError(f"impossible model at the stencil centre {centre.tolist()}")
        coefs, errs = [None if c is None else c[0] for c in out], out[0][1]
        # residuals in units of each ratio's typical formal error: a chi^2 per ratio, so that a
        # stacked fit weights ratios by their information, not by their abundance scatter
        scale = np.median(errs[:, :, idx], axis=(0, 2))  # (n_cols,)

        def resid(c, scale=scale):
            return (c[:, :, idx] / scale[:, None]).reshape(len(trials), -1)

        r0 = resid(coefs[0])  # (T, n_cols * n_res)
        jac = np.empty(r0.shape + (fi.size,))
        for j, i in enumerate(fi):
            cj = coefs[1 + j]
            if cj is None:  # the forward point is impossible: difference backwards
                p = centre.copy()
                p[i] -= steps[i]
                back = _point_task(task(p))
                n_points += 1
                if back is None:
                    raise ValueError(f"impossible models on both sides of {centre.tolist()} in parameter {i}")
                jac[:, :, j] = r0 - resid(back[0])
            else:
                jac[:, :, j] = resid(cj) - r0
        # one Jacobian for all trials: per-trial secants are noisy (neighbour lists jump) and
        # diverged on a 2,000-star mock, while the trials' mean is the full sample's to O(1/sqrt(N)).
        # Singular directions along which a residual change of one formal error (1 in these units)
        # needs more than max_step optimiser units are not constrained by these data: no step there
        jbar = jac.mean(axis=0)
        U, sv, Vt = np.linalg.svd(jbar, full_matrices=False)
        keep = sv > 1.0 / max_step
        inv = np.where(keep, 1.0 / np.where(keep, sv, 1.0), 0.0)
        du = -np.einsum("kf,k,rk,tr->tf", Vt, inv, U, r0)
        du = np.clip(du, -max_step, max_step)
        dropped = fi.size - int(keep.sum())
        res = (r0 + du @ jbar.T).reshape(len(trials), len(columns), len(idx)) * scale[:, None]
        theta = np.broadcast_to(centre, (len(trials), 4)).copy()
        theta[:, fi] += du * steps[fi]
        new = np.median(theta, axis=0)
        shift = np.max(np.abs((new - centre)[fi] / steps[fi]))
        c0 = coefs[0] if stacked else coefs[0][:, 0]
        last = (theta, np.sum(res * res, axis=(1, 2)), centre.copy(), c0, dropped)
        centre = new
        history.append(centre.copy())
        if shift < tol:
            converged = True
            break
    theta, obj, c, c_coefs, dropped = last
    return StencilResult(
        theta=theta,
        objective=obj,
        centre=c,
        centre_coefficients=c_coefs,
        columns=columns,
        n_unconstrained=dropped,
        n_points=n_points,
        n_iterations=it,
        converged=converged,
        history=history,
    )
