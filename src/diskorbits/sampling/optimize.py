"""Multi-start Nelder-Mead maximum likelihood inside the prior box.

Frankel et al. (2020, Sec. 4.3) first maximise the likelihood with the
simplex method of Nelder & Mead (1965), "from different initial conditions
to lower the chances of the optimizer becoming stuck in local maxima", and
start emcee around the result. :func:`maximize_likelihood` does this:

* starts: explicit points, or ``n_starts`` points drawn uniformly in the box,
  or around a ``guess`` (the guess itself plus points in ``guess +- scale``);
* each start runs :func:`scipy.optimize.minimize` (``method="Nelder-Mead"``)
  on the jitted negative log-posterior, in coordinates scaled by the box
  width so the simplex tolerance means the same for every parameter, with the
  box as bounds; the simplex is then restarted from its end point
  (``restarts`` times, while that still improves the optimum) because
  Nelder-Mead can stall on a non-optimal point in several dimensions
  (McKinnon 1998);
* the result keeps every start's end point, log-likelihood and convergence
  flag, and warns (:class:`~diskorbits.sampling.diagnostics.ConvergenceWarning`)
  when starts end on different optima or fail to converge.
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np
import scipy.optimize

from .. import _config  # noqa: F401  (float64)
from ..progress import as_progress
from ._compiled import host_function
from .diagnostics import ConvergenceWarning
from .problem import Problem, display_scales
from .results import _host_rng, _resolve_key

__all__ = ["METHODS", "OptimizeResult", "maximize_likelihood"]

#: Accepted values of ``maximize_likelihood(..., method=)``.
METHODS: tuple[str, ...] = ("nelder-mead", "l-bfgs-b")
#: Nelder-Mead iterations per parameter when L-BFGS-B's line search stalls at the support's edge.
POLISH_ITERATIONS_PER_DIM = 50
#: Draws per random start to find a point with a finite log-likelihood.
START_ATTEMPTS = 100


@dataclasses.dataclass(frozen=True)
class OptimizeResult:
    """Outcome of a multi-start maximum-likelihood search.

    Attributes
    ----------
    x : ndarray [dim]
        Best point found (internal units).
    log_likelihood : float
        Log-likelihood at ``x``.
    names, kinds, display_units : tuple of str [dim]
    starts, ends : ndarray [n_starts, dim]
        Start and end point of every start.
    values : ndarray [n_starts]
        Log-likelihood at every end point.
    converged : ndarray of bool [n_starts]
        scipy's success flag of the last simplex run of each start.
    n_evaluations : ndarray of int [n_starts]
    agree : bool
        Every start converged and ended within ``tolerance`` of the best log-likelihood.
    tolerance : float
        Log-likelihood difference below which two end points count as the same optimum.
    spread : ndarray [dim]
        Largest distance, per parameter, of an agreeing end point from ``x``.
    warnings : tuple of str
    wall_time_s : float
    """

    x: np.ndarray
    log_likelihood: float
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    display_units: tuple[str, ...]
    starts: np.ndarray
    ends: np.ndarray
    values: np.ndarray
    converged: np.ndarray
    n_evaluations: np.ndarray
    agree: bool
    tolerance: float
    spread: np.ndarray
    warnings: tuple[str, ...] = ()
    wall_time_s: float = 0.0

    @property
    def best_index(self) -> int:
        """Index of the start that reached :attr:`x`."""
        return int(np.argmax(self.values))

    @property
    def n_at_best(self) -> int:
        """Number of starts that ended within ``tolerance`` of the best log-likelihood."""
        return int(np.sum(self.values >= self.log_likelihood - self.tolerance))

    def as_dict(self) -> dict:
        """The best point as ``{name: value}`` in internal units."""
        return {n: float(v) for n, v in zip(self.names, self.x)}

    def summary(self) -> dict:
        """Best point in display units, start statistics and warnings (JSON-ready)."""
        scales = display_scales(self.kinds, self.display_units)
        return {
            "log_likelihood": float(self.log_likelihood),
            "parameters": {n: {"value": float(v * s), "unit": d, "spread": float(sp * s)}
                           for n, v, s, d, sp in zip(self.names, self.x, scales, self.display_units, self.spread)},
            "n_starts": int(self.values.size), "n_at_best": self.n_at_best,
            "n_converged": int(np.sum(self.converged)), "n_evaluations": int(np.sum(self.n_evaluations)),
            "agree": bool(self.agree), "warnings": list(self.warnings), "wall_time_s": float(self.wall_time_s),
        }  # fmt: skip


def _neg_log_posterior(p, x):
    """Minus the log-posterior at box coordinates ``x`` in [0, 1]^dim."""
    return -p.log_posterior(p.lower + x * (p.upper - p.lower))


def _neg_log_posterior_and_grad(p, x):
    """``[f, df/dx...]`` of :func:`_neg_log_posterior`, one array so the host gets it in one transfer."""
    import jax
    import jax.numpy as jnp

    f, g = jax.value_and_grad(lambda y: _neg_log_posterior(p, y))(x)
    return jnp.concatenate([f[None], g])


def _simplex(fun, x, simplex_size, bounds, xatol, fatol, max_iterations):
    """One Nelder-Mead run from ``x`` (box coordinates)."""
    # simplex edges point towards the box centre, so every vertex is inside the box
    step = np.where(x < 0.5, simplex_size, -simplex_size)
    simplex = np.vstack([x, x + np.diag(step)])
    return scipy.optimize.minimize(fun, x, method="Nelder-Mead", bounds=bounds,
                                   options={"initial_simplex": simplex, "xatol": xatol, "fatol": fatol,
                                            "maxiter": max_iterations, "maxfev": 2 * max_iterations})  # fmt: skip


def _draw_starts(problem, neg, key, n_starts, guess, scale):
    """Random starting points with finite log-likelihood ``[n_starts, dim]``."""
    lo, hi = np.asarray(problem.lower), np.asarray(problem.upper)
    if guess is None:
        a, b = lo, hi
    else:
        a, b = np.maximum(guess - scale, lo), np.minimum(guess + scale, hi)
    out = np.empty((n_starts, problem.ndim))
    todo = np.arange(n_starts)
    if guess is not None:
        out[0], todo = guess, todo[1:]
    for attempt in range(START_ATTEMPTS):
        if todo.size == 0:
            break
        x = a + (b - a) * _host_rng(key, attempt).random((todo.size, problem.ndim))
        f = neg((x - lo) / (hi - lo))
        good = np.isfinite(f)
        out[todo[good]] = x[good]
        todo = todo[~good]
    if todo.size:
        raise ValueError(f"{todo.size} random starts found no finite log-likelihood in {START_ATTEMPTS} draws")
    return out


def maximize_likelihood(
    problem: Problem,
    key=0,
    *,
    n_starts: int = 8,
    method: str = "nelder-mead",
    starts=None,
    guess=None,
    scale=None,
    simplex_size: float = 0.05,
    xatol: float = 1e-8,
    fatol: float = 1e-6,
    max_iterations: int | None = None,
    restarts: int = 1,
    tolerance: float = 0.1,
    progress=None,
    warn: bool = True,
) -> OptimizeResult:
    """Maximise the log-likelihood in the prior box with Nelder-Mead from several starts.

    Parameters
    ----------
    problem : Problem
    key : jax PRNG key or int
        For drawing random starts (unused with ``starts``).
    n_starts : int
        Number of random starts (ignored when ``starts`` is given).
    method : {"nelder-mead", "l-bfgs-b"}
        ``"nelder-mead"`` (the paper's simplex; needs only values) or ``"l-bfgs-b"``
        (quasi-Newton with the log-likelihood's JAX gradient; needs a
        differentiable log-likelihood and far fewer evaluations in ten
        dimensions). Both work in the same box-scaled coordinates with the box
        as bounds and the same restarts. Where L-BFGS-B's line search gives up
        (against the edge of the model's support, where the log-likelihood
        drops to -inf) a short Nelder-Mead run continues from its end point.
    starts : array [n, dim], optional
        Explicit starting points (inside the box).
    guess : array [dim] or mapping, optional
        Draw starts in ``guess +- scale`` (the first start is ``guess`` itself) instead of
        in the whole box.
    scale : float, array [dim], optional
        Half-width of the region around ``guess``, internal units; default 10% of the box.
    simplex_size : float
        Edge of the initial simplex as a fraction of the box width of each parameter
        (the simplex steps towards the box centre so it stays inside).
    xatol, fatol : float
        scipy's stopping tolerances: simplex size in box-width units and log-likelihood spread.
    max_iterations : int, optional
        Iterations per simplex run (default ``1000 dim``).
    restarts : int
        Fresh simplex runs from each end point while they improve the log-likelihood by more
        than ``fatol``.
    tolerance : float
        End points within this log-likelihood of the best count as the same optimum.
    progress : bool or AbstractProgress
        Progress in starts.
    warn : bool
        Emit the result's warnings as :class:`ConvergenceWarning`.

    Returns
    -------
    OptimizeResult

    Raises
    ------
    ValueError
        Bad settings, starts outside the box or at a non-finite log-likelihood.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> p = Problem(lambda t: -0.5 * jnp.sum((t - 1.0) ** 2), ("a", "b"), [-5.0, -5.0], [5.0, 5.0])
    >>> r = maximize_likelihood(p, 0, n_starts=3)
    >>> bool(np.allclose(r.x, 1.0, atol=1e-5)), r.agree
    (True, True)
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a Problem, got {type(problem).__name__}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    dim = problem.ndim
    lo, hi = np.asarray(problem.lower), np.asarray(problem.upper)
    width = hi - lo
    for label, v in (("simplex_size", simplex_size), ("xatol", xatol), ("fatol", fatol), ("tolerance", tolerance)):
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{label} must be a positive number, got {v!r}")
    if simplex_size >= 1:
        raise ValueError(f"simplex_size is a fraction of the box width and must be < 1, got {simplex_size!r}")
    if isinstance(restarts, bool) or not isinstance(restarts, (int, np.integer)) or restarts < 0:
        raise ValueError(f"restarts must be a non-negative integer, got {restarts!r}")
    max_iterations = 1000 * dim if max_iterations is None else int(max_iterations)
    if max_iterations < 1:
        raise ValueError(f"max_iterations must be positive, got {max_iterations}")

    if starts is not None:
        s = np.asarray(starts, dtype=np.float64)
        if s.ndim != 2 or s.shape[1] != dim or s.shape[0] < 1:
            raise ValueError(f"starts must have shape [n, {dim}], got {s.shape}")
        s = np.stack([problem.point(p, f"starts[{i}]") for i, p in enumerate(s)])
    else:
        if isinstance(n_starts, bool) or not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
            raise ValueError(f"n_starts must be a positive integer, got {n_starts!r}")
        k, _, _ = _resolve_key(key)
        g = None if guess is None else problem.point(guess, "guess")
        sc = None
        if g is not None:
            sc = 0.1 * width if scale is None else np.broadcast_to(np.asarray(scale, dtype=np.float64), (dim,))
            if not np.all(np.isfinite(sc) & (sc > 0)):
                raise ValueError(f"scale must be positive and finite, got {scale!r}")
        elif scale is not None:
            raise ValueError("scale needs a guess")
        s = _draw_starts(problem, host_function(problem, _neg_log_posterior, batched=True), k, int(n_starts), g, sc)

    neg = host_function(problem, _neg_log_posterior)

    def fun(x):
        v = float(neg(x))
        return v if np.isfinite(v) else np.inf  # NaN would break the simplex ordering

    if method == "l-bfgs-b":
        neg_and_grad = host_function(problem, _neg_log_posterior_and_grad)

        hit_edge = [False]

        def fun_and_grad(x):
            out = neg_and_grad(x)
            if not np.all(np.isfinite(out)):
                # outside the model's support: a huge value makes the line search step back,
                # but can also end it early; the run is then finished by the simplex
                hit_edge[0] = True
                return 1e300, np.zeros(dim)
            return float(out[0]), out[1:]

    bounds = scipy.optimize.Bounds(np.zeros(dim), np.ones(dim))
    ends, values, conv, nev = [], [], [], []
    t0 = time.perf_counter()
    bar = as_progress(progress)
    with bar:
        label = "Nelder-Mead" if method == "nelder-mead" else "L-BFGS-B"
        bar.start(len(s), f"{label}: {len(s)} starts, {dim} parameters")
        for i, start in enumerate(s):
            x = (start - lo) / width
            if not np.isfinite(fun(x)):
                raise ValueError(f"starts[{i}]: the log-likelihood is not finite at {start.tolist()}")
            n_eval, best = 0, np.inf
            for _ in range(1 + int(restarts)):
                if method == "l-bfgs-b":
                    hit_edge[0] = False
                    # ftol is relative in scipy; fatol / |f| makes it the same absolute tolerance
                    res = scipy.optimize.minimize(fun_and_grad, x, jac=True, method="L-BFGS-B", bounds=bounds,
                                                  options={"ftol": fatol / max(abs(fun(x)), 1.0), "gtol": 1e-8,
                                                           "maxiter": max_iterations, "maxfun": 2 * max_iterations})  # fmt: skip
                    stalled = not res.success or (hit_edge[0] and res.nit <= 1)
                    if stalled and np.isfinite(fun(res.x)):
                        # the line search gave up, typically against the edge of the model's
                        # support (-inf beyond): a short simplex run, which needs no gradient,
                        # moves on from there (the next restart is L-BFGS-B again)
                        n_eval += int(res.nfev)
                        res = _simplex(fun, np.asarray(res.x), simplex_size, bounds, xatol, fatol,
                                       min(max_iterations, POLISH_ITERATIONS_PER_DIM * dim))  # fmt: skip
                else:
                    res = _simplex(fun, x, simplex_size, bounds, xatol, fatol, max_iterations)
                n_eval += int(res.nfev)
                improved = best - float(res.fun) > fatol
                x, best, ok = np.asarray(res.x), min(best, float(res.fun)), bool(res.success)
                if not improved:
                    break
            ends.append(lo + x * width)
            values.append(-best)
            conv.append(ok)
            nev.append(n_eval)
            bar.advance(1)
    ends, values = np.asarray(ends), np.asarray(values)
    conv, nev = np.asarray(conv), np.asarray(nev)
    ib = int(np.argmax(values))
    at_best = values >= values[ib] - tolerance
    msgs = []
    if not np.all(at_best):
        worse = np.nonzero(~at_best)[0]
        msgs.append(
            f"starts disagree on the optimum: {worse.size} of {values.size} ended more than {tolerance:g} in "
            f"log-likelihood below the best ({values[ib]:.4f}); their values: "
            + ", ".join(f"{v:.4f}" for v in values[worse])
        )
    if not np.all(conv):
        msgs.append(f"{int(np.sum(~conv))} of {conv.size} {label} runs did not report convergence "
                    f"(iteration limit {max_iterations}" + (")" if method == "nelder-mead" else ", or a failed line search)"))
    spread = np.max(np.abs(ends[at_best] - ends[ib]), axis=0)
    if warn:
        for m in msgs:
            warnings.warn(m, ConvergenceWarning, stacklevel=2)
    return OptimizeResult(
        x=ends[ib], log_likelihood=float(values[ib]), names=problem.names, kinds=problem.kinds,
        display_units=problem.display_units, starts=s, ends=ends, values=values, converged=conv, n_evaluations=nev,
        agree=bool(np.all(at_best) and np.all(conv)), tolerance=float(tolerance), spread=spread,
        warnings=tuple(msgs), wall_time_s=time.perf_counter() - t0,
    )  # fmt: skip
