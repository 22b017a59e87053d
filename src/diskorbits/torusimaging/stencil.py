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
        Eq. 8 of the linear model at that optimum (dex^2; 0 when the free
        parameters can zero every coefficient).
    centre : numpy.ndarray (4,)
        The last linearisation point.
    centre_coefficients : numpy.ndarray (T, 5)
        Every trial's coefficients at the centre.
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
    n_unconstrained: int
    n_points: int
    n_iterations: int
    converged: bool
    history: list


def _point_task(payload):
    """Coefficients and errors (T, 5) of one ratio's resamples at one theta; None if theta is impossible."""
    data, setup, theta, column, trials, seed, k_super, batch_size = payload
    counts = np.stack([bootstrap_counts(data.n_stars, seed, t, column) for t in trials])
    try:
        out = resampled_coefficients(
            theta, data, setup, counts, np.full(len(trials), column), k_super=k_super, batch_size=batch_size
        )
    except ValueError as exc:
        if "k_super" in str(exc):
            raise
        return None
    return out.coefficients, out.errors


def stencil_bootstrap(
    data: OTIData,
    setup: OTISetup,
    column: int,
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
    column : int
        Abundance column.
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
    idx = [_NAMES.index(t) for t in terms]
    trials = list(range(int(n_bootstrap)))
    executor = executor or Executor(n_workers=1)
    centre = np.asarray(x0, dtype=np.float64).copy()
    fi = np.flatnonzero(free)
    history = [centre.copy()]
    n_points = 0
    converged = False
    for it in range(1, int(max_iterations) + 1):
        pts = [centre.copy()]
        for i in fi:
            p = centre.copy()
            p[i] += steps[i]
            pts.append(p)
        payloads = [(data, setup, p, int(column), trials, int(seed), k_super, batch_size) for p in pts]
        coefs = executor.map(_point_task, payloads, description=f"OTI stencil, ratio {column}, iteration {it}")
        n_points += len(pts)
        if coefs[0] is None:
            raise ValueError(f"impossible model at the stencil centre {centre.tolist()}")
        coefs, errs = [None if c is None else c[0] for c in coefs], coefs[0][1]
        r0 = coefs[0][:, idx]  # (T, n_res)
        jac = np.empty((len(trials), len(idx), fi.size))
        for j, i in enumerate(fi):
            cj = coefs[1 + j]
            if cj is None:  # the forward point is impossible: difference backwards
                p = centre.copy()
                p[i] -= steps[i]
                cj = _point_task((data, setup, p, int(column), trials, int(seed), k_super, batch_size))
                cj = None if cj is None else cj[0]
                n_points += 1
                if cj is None:
                    raise ValueError(f"impossible models on both sides of {centre.tolist()} in parameter {i}")
                jac[:, :, j] = (r0 - cj[:, idx])
            else:
                jac[:, :, j] = cj[:, idx] - r0
        # singular directions along which a residual change of one formal error needs more than
        # max_step optimiser units are not constrained by these data: no step along them
        # one Jacobian for all trials: per-trial secants are noisy (neighbour lists jump) and
        # diverged on a 2,000-star mock, while the trials' mean is the full sample's to O(1/sqrt(N))
        noise = float(np.median(errs[:, idx]))
        jbar = jac.mean(axis=0)
        U, sv, Vt = np.linalg.svd(jbar, full_matrices=False)
        keep = sv > noise / max_step
        inv = np.where(keep, 1.0 / np.where(keep, sv, 1.0), 0.0)
        du = -np.einsum("kf,k,rk,tr->tf", Vt, inv, U, r0)
        du = np.clip(du, -max_step, max_step)
        dropped = fi.size - int(keep.sum())
        resid = r0 + du @ jbar.T
        theta = np.broadcast_to(centre, (len(trials), 4)).copy()
        theta[:, fi] += du * steps[fi]
        new = np.median(theta, axis=0)
        shift = np.max(np.abs((new - centre)[fi] / steps[fi]))
        last = (theta, np.sum(resid * resid, axis=1), centre.copy(), coefs[0], dropped)
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
        n_unconstrained=dropped,
        n_points=n_points,
        n_iterations=it,
        converged=converged,
        history=history,
    )
