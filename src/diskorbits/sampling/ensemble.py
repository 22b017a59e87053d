"""emcee's affine-invariant ensemble sampler, as Frankel et al. (2020) used it, checkpointed in chunks.

Frankel et al. (2020, Sec. 4.3) ran emcee (Foreman-Mackey et al. 2013; the
stretch move of Goodman & Weare 2010) with 52 walkers for 12,000 steps
(more than 50 autocorrelation times), starting the walkers uniformly in a
hypercube centred on the maximum-likelihood point and more than 8 times
the quoted error bars wide. :func:`run_emcee` does the same:

* the log-posterior of all walkers of a half-ensemble is one jitted
  ``jax.vmap`` call (emcee's ``vectorize=True``);
* the default hypercube is 8 Laplace standard deviations wide (from the
  autodiff Hessian at ``center``), clipped to the prior box;
* the run advances in chunks; after each chunk the chain, the walker
  positions and log-posteriors, and the state of emcee's random generator
  (NumPy's Mersenne twister, stored word for word) are written atomically
  to the result file. emcee's moves depend only on these, so a resumed run
  continues the identical chain. (emcee's own HDF5 backend appends steps in
  place, which a crash can leave half written, and does not store the
  generator state, so it is not used.)
"""

from __future__ import annotations

import json
import time
import warnings

import emcee
import jax
import numpy as np

from .. import _config  # noqa: F401  (float64)
from ..progress import as_progress
from ._compiled import host_function
from .diagnostics import (
    DEFAULT_ESS_MIN,
    DEFAULT_RHAT_MAX,
    DEFAULT_TAU_MULTIPLE,
    ConvergenceWarning,
    diagnose,
)
from .nuts import _check_positive_int, laplace_covariance
from .problem import Problem
from .results import (
    SamplingResult,
    _host_rng,
    _loglike_at_center,
    _prepare_output,
    _resolve_key,
    _write_file,
)

__all__ = ["FRANKEL2020_STEPS", "FRANKEL2020_WALKERS", "HYPERCUBE_SIGMAS", "run_emcee"]

#: Walkers and steps of Frankel et al. (2020, Sec. 4.3).
FRANKEL2020_WALKERS, FRANKEL2020_STEPS = 52, 12_000
#: Default hypercube side in Laplace standard deviations ("greater than 8 times the error bars").
HYPERCUBE_SIGMAS = 8.0
#: Redraws of walkers that start where the log-posterior is not finite.
INIT_ATTEMPTS = 100
#: Mean acceptance fractions outside this range trigger a warning (Foreman-Mackey et al. 2013, Sec. 4).
ACCEPTANCE_RANGE = (0.15, 0.7)


def _log_posterior(p, theta):
    return p.log_posterior(theta)


def _hypercube(problem, log_prob, key, n_walkers, center, width):
    lo, hi = np.asarray(problem.lower), np.asarray(problem.upper)
    if center is None:
        a, b = lo, hi
    else:
        a, b = np.maximum(center - 0.5 * width, lo), np.minimum(center + 0.5 * width, hi)
    out = np.empty((n_walkers, problem.ndim))
    todo = np.arange(n_walkers)
    for attempt in range(INIT_ATTEMPTS):
        x = a + (b - a) * _host_rng(key, attempt).random((todo.size, problem.ndim))
        lp = log_prob(x)
        good = np.isfinite(lp)
        out[todo[good]] = x[good]
        todo = todo[~good]
        if todo.size == 0:
            return out
    raise ValueError(f"{todo.size} walkers found no finite log-posterior in {INIT_ATTEMPTS} draws in the hypercube")


def run_emcee(
    problem: Problem,
    key,
    *,
    n_walkers: int = FRANKEL2020_WALKERS,
    n_steps: int = FRANKEL2020_STEPS,
    center=None,
    width=None,
    n_burn: int | None = None,
    stretch_a: float = 2.0,
    chunk_size: int = 500,
    path=None,
    resume: bool = False,
    overwrite: bool = False,
    stop_after_chunks: int | None = None,
    progress=None,
    tau_multiple: float = DEFAULT_TAU_MULTIPLE,
    rhat_max: float = DEFAULT_RHAT_MAX,
    ess_min: float = DEFAULT_ESS_MIN,
) -> SamplingResult:
    """Sample a problem's posterior with emcee's stretch move, walkers started in a hypercube.

    Parameters
    ----------
    problem : Problem
    key : jax PRNG key or int
        Seeds the hypercube draws and emcee's NumPy generator.
    n_walkers, n_steps : int
        Walkers (at least ``2 dim``) and steps; default the paper's 52 and 12,000.
    center : array [dim] or mapping, optional
        Centre of the starting hypercube (the paper: the maximum-likelihood point).
        Without it the walkers start uniformly in the whole prior box.
    width : float, array [dim] or mapping, optional
        Full side of the hypercube in internal units (Quantities in a mapping).
        Default :data:`HYPERCUBE_SIGMAS` Laplace standard deviations at ``center``.
    n_burn : int, optional
        Leading steps left out of :attr:`SamplingResult.posterior` and the diagnostics;
        default ``n_steps // 4``.
    stretch_a : float
        Scale parameter of the stretch move (> 1; emcee's default 2).
    chunk_size : int
        Steps between checkpoints.
    path, resume, overwrite, stop_after_chunks, progress
        As for :func:`~diskorbits.sampling.nuts.run_nuts`.
    tau_multiple, rhat_max, ess_min : float
        Thresholds for the convergence warnings.

    Returns
    -------
    SamplingResult
        ``samples [n_walkers, n_steps, dim]`` (walkers as chains, burn-in included, see ``burn``).

    Raises
    ------
    ValueError
        Too few walkers, bad settings, a non-concave centre without ``width``, walkers
        that find no finite log-posterior.
    FileExistsError
        ``path`` exists and neither ``resume`` nor ``overwrite`` applies.

    Notes
    -----
    The R-hat and ESS of :func:`~diskorbits.sampling.diagnostics.diagnose` treat walkers
    as chains; walkers of one ensemble are not independent, so the autocorrelation time
    (and ``n_steps > tau_multiple tau``) is the primary check, as in the paper.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a Problem, got {type(problem).__name__}")
    dim = problem.ndim
    key, seed, key_data = _resolve_key(key)
    n_walkers = _check_positive_int("n_walkers", n_walkers, 2 * dim)
    n_steps = _check_positive_int("n_steps", n_steps, 4)
    chunk_size = _check_positive_int("chunk_size", chunk_size)
    n_burn = n_steps // 4 if n_burn is None else _check_positive_int("n_burn", n_burn, 0)
    if n_burn > n_steps - 4:
        raise ValueError(f"n_burn must leave at least 4 steps, got n_burn={n_burn} of n_steps={n_steps}")
    if not float(stretch_a) > 1.0:
        raise ValueError(f"stretch_a must be > 1, got {stretch_a!r}")
    if stop_after_chunks is not None:
        stop_after_chunks = _check_positive_int("stop_after_chunks", stop_after_chunks)
    c = None if center is None else problem.point(center, "center")
    w = None
    if c is not None and width is not None:
        w = _width_from_mapping(problem, width) if isinstance(width, dict) else (
            np.broadcast_to(np.asarray(width, dtype=np.float64), (dim,)).copy())  # fmt: skip
        if not np.all(np.isfinite(w) & (w > 0)):
            raise ValueError(f"width must be positive and finite, got {w!r}")
    elif width is not None:
        raise ValueError("width needs a center")

    # a defaulted width is stored as None: it is derived (Laplace), and a resume on
    # another machine must not be refused over the last bits of a Hessian
    settings = {
        "parameters": problem.describe(), "n_walkers": n_walkers, "n_steps": n_steps, "n_burn": n_burn,
        "center": None if c is None else c.tolist(), "width": None if w is None else w.tolist(),
        "stretch_a": float(stretch_a), "chunk_size": chunk_size, "key_data": key_data.tolist(),
        "emcee_version": emcee.__version__,
    }  # fmt: skip
    loglike_center = _loglike_at_center(problem)
    prepared = _prepare_output(path, sampler="emcee", settings=settings, loglike_at_center=loglike_center,
                               resume=resume, overwrite=overwrite)  # fmt: skip
    if prepared is None and c is not None and w is None:
        w = _laplace_width(problem, c)

    log_prob = host_function(problem, _log_posterior, batched=True)

    if prepared is None:
        coords = _hypercube(problem, log_prob, jax.random.fold_in(key, 0), n_walkers, c, w)
        lp = log_prob(coords)
        seed_np = int(_host_rng(key, 1).integers(0, 2**31 - 1))
        rng_state = np.random.RandomState(seed_np).get_state()
        chain, lps = np.zeros((n_walkers, 0, dim)), np.zeros((n_walkers, 0))
        accepted = np.zeros(n_walkers, dtype=np.int64)
        elapsed, first = 0.0, True
    else:
        old, state = prepared
        coords, lp, keys = (np.asarray(a) for a in state["leaves"])
        info = json.loads(state["json"])
        rng_state = ("MT19937", keys.astype(np.uint32), int(info["pos"]), int(info["has_gauss"]), float(info["cached_gaussian"]))
        chain, lps = old.samples, old.log_prob
        accepted = np.asarray(old.stats["accepted"], dtype=np.int64)
        elapsed, first = float(old.meta.get("wall_time_s", 0.0)), False
        if w is None and old.meta.get("hypercube_width") is not None:
            w = np.asarray(old.meta["hypercube_width"])

    sampler = emcee.EnsembleSampler(n_walkers, dim, log_prob, vectorize=True, moves=emcee.moves.StretchMove(a=float(stretch_a)))
    walker_state = emcee.State(coords, log_prob=lp, random_state=rng_state)

    def build(complete, diagnostics=None):
        from .. import __version__

        done = chain.shape[1]
        return SamplingResult(
            samples=chain, log_prob=lps, names=problem.names, kinds=problem.kinds, display_units=problem.display_units,
            lower=np.asarray(problem.lower), upper=np.asarray(problem.upper), sampler="emcee", settings=settings,
            seed=seed, key_data=key_data, stats={"accepted": accepted}, burn=min(n_burn, done),
            diagnostics=diagnostics, complete=complete, version=__version__,
            meta={"wall_time_s": elapsed, "n_evaluations": int(n_walkers * done), "draws_done": done,
                  "loglike_at_center": loglike_center, "hypercube_width": None if w is None else list(map(float, w))},
        )  # fmt: skip

    def save():
        if path is None:
            return
        _, keys, pos, has_gauss, cached = walker_state.random_state
        state = {"leaves": [walker_state.coords, walker_state.log_prob, np.asarray(keys, dtype=np.uint32)],
                 "json": json.dumps({"pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)})}  # fmt: skip
        _write_file(path, build(False), state)

    chunks = 0
    bar = as_progress(progress)
    with bar:
        bar.start(n_steps, f"emcee: {n_walkers} walkers x {n_steps} steps, {dim} parameters")
        bar.advance(chain.shape[1])
        while chain.shape[1] < n_steps and (stop_after_chunks is None or chunks < stop_after_chunks):
            n = min(chunk_size, n_steps - chain.shape[1])
            t0 = time.perf_counter()
            sampler.reset()
            walker_state = sampler.run_mcmc(walker_state, n, skip_initial_state_check=not first)
            walker_state.random_state = sampler.random_state
            elapsed += time.perf_counter() - t0
            first = False
            chain = np.concatenate([chain, np.swapaxes(sampler.get_chain(), 0, 1)], axis=1)
            lps = np.concatenate([lps, sampler.get_log_prob().T], axis=1)
            accepted = accepted + np.asarray(sampler.backend.accepted, dtype=np.int64)
            chunks += 1
            if chain.shape[1] < n_steps:
                save()
            bar.advance(n)

    if chain.shape[1] < n_steps:
        return build(False)
    frac = accepted / n_steps
    extra = []
    if not ACCEPTANCE_RANGE[0] <= frac.mean() <= ACCEPTANCE_RANGE[1]:
        extra.append(f"mean acceptance fraction {frac.mean():.2f} outside {ACCEPTANCE_RANGE}")
    diagnostics = diagnose(chain[:, n_burn:], problem.names, tau_multiple=tau_multiple, rhat_max=rhat_max,
                           ess_min=ess_min, extra_warnings=extra, warn=False)  # fmt: skip
    for m in diagnostics.warnings:
        warnings.warn(m, ConvergenceWarning, stacklevel=2)
    result = build(True, diagnostics)
    if path is not None:
        result.write(path)
    return result


def _laplace_width(problem: Problem, c: np.ndarray) -> np.ndarray:
    """:data:`HYPERCUBE_SIGMAS` Laplace standard deviations of theta at ``c`` ``[dim]``."""
    cov = laplace_covariance(problem, c) if np.all(np.isfinite(problem.unconstrained_np(c))) else None
    if cov is None:
        raise ValueError("the log-posterior is not concave at center; give the hypercube width explicitly")
    # sigma of theta from that of u: d theta / d u = (upper - lower) s (1 - s), s = (theta - lower) / (upper - lower)
    span = np.asarray(problem.upper - problem.lower)
    x = (c - np.asarray(problem.lower)) / span
    return HYPERCUBE_SIGMAS * np.sqrt(np.diag(cov)) * span * x * (1 - x)


def _width_from_mapping(problem: Problem, width: dict) -> np.ndarray:
    from .. import units

    missing = [n for n in problem.names if n not in width]
    extra = sorted(set(width) - set(problem.names))
    if missing or extra:
        raise ValueError(f"width: missing parameters {missing}, unknown parameters {extra}")
    return np.array([float(units.to_internal(width[n], k, f"width[{n!r}]")) for n, k in zip(problem.names, problem.kinds)])
