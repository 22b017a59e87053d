"""NUTS with Stan-style warmup, several chains in lock step, run in checkpointed chunks.

:func:`run_nuts` samples the log-posterior of a
:class:`~diskorbits.sampling.problem.Problem` in the unconstrained
coordinates ``u = logit`` of the prior box (with the log-Jacobian added), so
the sampler never meets the box edges:

1. initial points: around ``init`` (e.g. the maximum-likelihood point),
   spread by ``init_spread`` times the Laplace standard deviations from the
   autodiff Hessian at ``init``; or, without ``init``, uniform in
   ``u in (-2, 2)`` (Stan's default);
2. warmup: :mod:`~diskorbits.sampling.adaptation` (dual-averaging step size,
   windowed mass matrix), one adaptation per chain, starting from the
   Laplace covariance when there is one;
3. sampling: the NUTS kernel of BlackJAX (multinomial, iterative
   trajectory doubling; Hoffman & Gelman 2014, Betancourt 2017), chains
   ``vmap``-ed, steps ``lax.scan``-ned in chunks of ``chunk_size``.

Every random number is addressed by (phase, step, chain) with
``jax.random.fold_in`` rather than drawn from a stream, and the whole
sampler state is stored after each chunk, so a run that stops after any
chunk and is resumed gives bit-identical chains to one that never stopped.
"""

from __future__ import annotations

import json
import time
import warnings

import blackjax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)
from ..progress import as_progress
from ._compiled import host_function
from .adaptation import (
    final_adaptation,
    init_adaptation,
    update_adaptation,
    warmup_schedule,
)
from .diagnostics import (
    DEFAULT_ESS_MIN,
    DEFAULT_RHAT_MAX,
    DEFAULT_TAU_MULTIPLE,
    ConvergenceWarning,
    diagnose,
)
from .problem import Problem
from .results import (
    SamplingResult,
    _host_rng,
    _loglike_at_center,
    _prepare_output,
    _resolve_key,
    _write_file,
)

__all__ = ["laplace_covariance", "run_nuts"]

#: Warn when more than this fraction of transitions stop at the maximum tree depth.
TREE_DEPTH_WARN_FRACTION = 0.01
#: Warn when the energy Bayesian fraction of missing information of a chain is below this (Betancourt 2016).
EBFMI_MIN = 0.3
#: Starting-point attempts per chain when drawing uniformly in u (Stan tries 100).
INIT_ATTEMPTS = 100

_KERNEL = blackjax.nuts.build_kernel()
_PHASE_INIT, _PHASE_STEPS = 0, 1


# ----------------------------------------------------------------------------- compiled pieces


def _step_keys(key, step, n_chains):
    k = jax.random.fold_in(key, step)
    return jax.vmap(lambda c: jax.random.fold_in(k, c))(jnp.arange(n_chains))


def _transition(problem, keys, states, step_size, inverse_mass, max_depth):
    def one(k, s, eps, m):
        return _KERNEL(k, s, problem.log_density_unconstrained, eps, m, max_num_doublings=max_depth)

    return jax.vmap(one)(keys, states, step_size, inverse_mass)


@eqx.filter_jit
def _chunk(problem, states, adapt, key, steps, adapting, slow, window_end, max_depth, target):
    """``len(steps)`` NUTS transitions of all chains; adaptation where ``adapting`` (one compiled body for both phases)."""
    n_chains = states.position.shape[0]
    update = jax.vmap(update_adaptation, in_axes=(0, None, None, 0, 0, None))

    def body(carry, xs):
        st, ad = carry
        i, adapt_now, sl, we = xs
        eps_final, _ = jax.vmap(final_adaptation)(ad)
        eps = jnp.where(adapt_now, jnp.exp(ad.log_step), eps_final)
        new, info = _transition(problem, _step_keys(key, i, n_chains), st, eps, ad.inverse_mass, max_depth)
        ad_new = update(ad, sl, we, new.position, info.acceptance_rate, target)
        ad = jax.tree.map(lambda x, y: jnp.where(adapt_now, x, y), ad_new, ad)
        u_ = new.position
        rec = {
            "theta": jax.vmap(problem.from_unconstrained)(u_),
            "log_prob": new.logdensity - jax.vmap(problem.log_jacobian)(u_),
            "accept_prob": info.acceptance_rate,
            "divergent": info.is_divergent,
            "n_steps": info.num_integration_steps,
            "tree_depth": info.num_trajectory_expansions,
            "energy": info.energy,
            "step_size": eps,
        }
        return (new, ad), rec

    return jax.lax.scan(body, (states, adapt), (steps, adapting, slow, window_end))


_init_adapt = jax.jit(jax.vmap(init_adaptation, in_axes=(None, 0)))


@eqx.filter_jit
def _init_states(problem, u0):
    return jax.vmap(lambda u_: blackjax.nuts.init(u_, problem.log_density_unconstrained))(u0)


@eqx.filter_jit
def _hessian_u(problem, u0):
    return jax.hessian(problem.log_density_unconstrained)(u0)


def laplace_covariance(problem: Problem, theta) -> np.ndarray | None:
    """Covariance ``[dim, dim]`` of the unconstrained coordinates from the curvature at ``theta``.

    ``(-H)^-1`` with ``H`` the autodiff Hessian of
    :meth:`Problem.log_density_unconstrained` at ``u(theta)``; None when ``-H`` is not
    positive definite (``theta`` is not near a maximum).
    """
    theta = problem.point(theta, "theta")
    u0 = problem.unconstrained_np(theta)
    if not np.all(np.isfinite(u0)):
        raise ValueError("theta must lie strictly inside the prior box for a Laplace approximation")
    h = -np.asarray(_hessian_u(problem, jnp.asarray(u0)))
    h = 0.5 * (h + h.T)
    try:
        chol = np.linalg.cholesky(h)
    except np.linalg.LinAlgError:
        return None
    inv = np.linalg.inv(chol)
    return inv.T @ inv


# ----------------------------------------------------------------------------- driver


def _log_density_u(p, u_):
    return p.log_density_unconstrained(u_)


def _initial_points(problem, key, n_chains, init, init_spread, metric, dense):
    """Starting points ``u [chains, dim]`` and initial inverse mass matrices ``[chains, ...]``."""
    dim = problem.ndim
    cov = None
    if init is not None:
        theta0 = problem.point(init, "init")
        u0 = problem.unconstrained_np(theta0)
        if not np.all(np.isfinite(u0)):
            raise ValueError("init must lie strictly inside the prior box (not on a bound)")
        if metric in ("auto", "laplace"):
            cov = laplace_covariance(problem, theta0)
            if cov is None:
                msg = "the log-posterior is not concave at init (Hessian not negative definite)"
                if metric == "laplace":
                    raise ValueError(f"initial_metric='laplace': {msg}")
                warnings.warn(f"{msg}; starting from a unit metric and a jitter of {0.1 * init_spread:g} in logit units",
                              ConvergenceWarning, stacklevel=3)  # fmt: skip
        z = _host_rng(key, 0).standard_normal((n_chains, dim))
        if cov is not None:
            u = u0 + init_spread * z @ np.linalg.cholesky(cov).T
        else:
            u = u0 + 0.1 * init_spread * z
    else:
        if metric == "laplace":
            raise ValueError("initial_metric='laplace' needs an init point")
        cand = _host_rng(key, 1).uniform(-2.0, 2.0, (INIT_ATTEMPTS, n_chains, dim))
        lp = host_function(problem, _log_density_u, batched=True)(cand.reshape(-1, dim)).reshape(INIT_ATTEMPTS, n_chains)
        ok = np.isfinite(lp)
        if not np.all(ok.any(axis=0)):
            raise ValueError(f"no finite log-posterior found in {INIT_ATTEMPTS} uniform draws for some chains; pass init=")
        u = cand[np.argmax(ok, axis=0), np.arange(n_chains)]
    if cov is not None:
        m = cov if dense else np.diag(cov)
    else:
        m = np.eye(dim) if dense else np.ones(dim)
    return u, np.broadcast_to(m, (n_chains,) + m.shape).copy(), cov is not None


def _check_positive_int(name, v, minimum=1):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


def run_nuts(
    problem: Problem,
    key,
    *,
    n_warmup: int = 1000,
    n_draws: int = 1000,
    n_chains: int = 4,
    init=None,
    init_spread: float = 2.0,
    initial_metric: str = "auto",
    dense_mass: bool = False,
    adapt_mass: bool | str = True,
    initial_step_size: float = 1.0,
    target_accept: float = 0.8,
    max_tree_depth: int = 10,
    chunk_size: int = 100,
    path=None,
    resume: bool = False,
    overwrite: bool = False,
    stop_after_chunks: int | None = None,
    progress=None,
    tau_multiple: float = DEFAULT_TAU_MULTIPLE,
    rhat_max: float = DEFAULT_RHAT_MAX,
    ess_min: float = DEFAULT_ESS_MIN,
) -> SamplingResult:
    """Sample a problem's posterior with NUTS (BlackJAX kernel, Stan-style warmup), checkpointed in chunks.

    Parameters
    ----------
    problem : Problem
        Log-likelihood (differentiable) and prior box.
    key : jax PRNG key or int
        All randomness derives from it (an int is ``jax.random.key(seed)``).
    n_warmup, n_draws : int
        Warmup (adaptation) steps and kept draws per chain.
    n_chains : int
        Independent chains, advanced together with ``vmap`` (each has its own adaptation).
    init : array [dim] or mapping, optional
        A point inside the box to start near (e.g. the maximum-likelihood point of
        :func:`~diskorbits.sampling.optimize.maximize_likelihood`); Quantities allowed in a mapping.
    init_spread : float
        With ``init``: chains start ``init_spread`` Laplace standard deviations (random
        directions) away from it, so that R-hat can detect chains that do not mix.
    initial_metric : {"auto", "laplace", "identity"}
        Inverse mass matrix at the start of warmup: the Laplace covariance at ``init``
        (``"auto"`` when available), or the identity.
    dense_mass : bool
        Adapt a dense inverse mass matrix instead of a diagonal one.
    adapt_mass : bool or "auto"
        Re-estimate the mass matrix in Stan's slow windows (True), or keep the
        initial one and adapt only the step size (False). ``"auto"`` keeps a
        Laplace metric when there is one and adapts otherwise. Why keep it: a
        short warmup has slow windows of 25-50 draws, too few for a dense
        matrix in ~10 dimensions, and near a Gaussian optimum the Laplace
        covariance is already the posterior's (the Frankel et al. 2020 fit:
        the first window's estimate cut the step size tenfold).
    initial_step_size, target_accept : float
        Dual-averaging start and target mean acceptance probability (0 < target < 1).
    max_tree_depth : int
        At most ``2**max_tree_depth`` leapfrog steps per transition.
    chunk_size : int
        Steps per compiled scan and per checkpoint.
    path : str or Path, optional
        HDF5 result file, rewritten atomically after every chunk.
    resume : bool
        Continue the unfinished run in ``path`` (same problem, settings and key).
    overwrite : bool
        Replace an existing ``path``.
    stop_after_chunks : int, optional
        Stop after this many chunks in this call (warmup and sampling chunks both count),
        leaving a checkpoint; for splitting long runs across job slots.
    progress : bool or AbstractProgress
        Progress in steps (silent by default).
    tau_multiple, rhat_max, ess_min : float
        Thresholds for the convergence warnings (:func:`~diskorbits.sampling.diagnostics.diagnose`).

    Returns
    -------
    SamplingResult
        ``samples [chains, n_draws, dim]`` (fewer, and ``complete=False``, when stopped early).

    Raises
    ------
    ValueError
        Bad settings, an init outside the box, no finite starting point.
    FileExistsError
        ``path`` exists and neither ``resume`` nor ``overwrite`` applies.

    Notes
    -----
    The log-posterior stored with each draw is that of ``theta`` (the log-likelihood),
    not of ``u``. ``meta["n_evaluations"]`` counts leapfrog steps (gradient evaluations)
    over warmup and sampling.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a Problem, got {type(problem).__name__}")
    key, seed, key_data = _resolve_key(key)
    n_warmup = _check_positive_int("n_warmup", n_warmup, 0)
    n_draws = _check_positive_int("n_draws", n_draws, 4)
    n_chains = _check_positive_int("n_chains", n_chains)
    max_tree_depth = _check_positive_int("max_tree_depth", max_tree_depth)
    chunk_size = _check_positive_int("chunk_size", chunk_size)
    if not 0.0 < float(target_accept) < 1.0:
        raise ValueError(f"target_accept must be in (0, 1), got {target_accept!r}")
    if not float(initial_step_size) > 0 or not np.isfinite(initial_step_size):
        raise ValueError(f"initial_step_size must be positive, got {initial_step_size!r}")
    if not float(init_spread) >= 0 or not np.isfinite(init_spread):
        raise ValueError(f"init_spread must be non-negative, got {init_spread!r}")
    if adapt_mass not in (True, False, "auto"):
        raise ValueError(f"adapt_mass must be True, False or 'auto', got {adapt_mass!r}")
    if initial_metric not in ("auto", "laplace", "identity"):
        raise ValueError(f"initial_metric must be 'auto', 'laplace' or 'identity', got {initial_metric!r}")
    if stop_after_chunks is not None:
        stop_after_chunks = _check_positive_int("stop_after_chunks", stop_after_chunks)
    init_point = None if init is None else problem.point(init, "init")
    settings = {
        "parameters": problem.describe(), "n_warmup": n_warmup, "n_draws": n_draws, "n_chains": n_chains,
        "init": None if init_point is None else init_point.tolist(), "init_spread": float(init_spread),
        "initial_metric": initial_metric, "dense_mass": bool(dense_mass), "adapt_mass": adapt_mass, "initial_step_size": float(initial_step_size),
        "target_accept": float(target_accept), "max_tree_depth": max_tree_depth, "chunk_size": chunk_size,
        "key_data": key_data.tolist(), "kernel": f"blackjax {blackjax.__version__} nuts (multinomial)",
    }  # fmt: skip
    loglike_center = _loglike_at_center(problem)
    prepared = _prepare_output(path, sampler="nuts", settings=settings, loglike_at_center=loglike_center,
                               resume=resume, overwrite=overwrite)  # fmt: skip
    k_init, k_steps = jax.random.fold_in(key, _PHASE_INIT), jax.random.fold_in(key, _PHASE_STEPS)
    total = n_warmup + n_draws
    warm_keys = ("accept_prob", "divergent", "n_steps", "step_size")
    draw_keys = ("theta", "log_prob", "accept_prob", "divergent", "n_steps", "tree_depth", "energy")

    # ---- fresh start or checkpoint
    if prepared is None:
        u0, m0, laplace = _initial_points(problem, k_init, n_chains, init_point, float(init_spread), initial_metric, dense_mass)
        mass_adapted = (not laplace) if adapt_mass == "auto" else bool(adapt_mass)
        states = _init_states(problem, jnp.asarray(u0))
        bad = np.nonzero(~np.isfinite(np.asarray(states.logdensity)))[0]
        if bad.size:
            raise ValueError(f"log-posterior is not finite at the starting point of chains {bad.tolist()}")
        adapt = _init_adapt(float(initial_step_size), jnp.asarray(m0))
        done, elapsed, n_eval = 0, 0.0, 0
        warm = {k: np.zeros((n_chains, 0)) for k in warm_keys}
        rec = {k: np.zeros((n_chains, 0, problem.ndim) if k == "theta" else (n_chains, 0)) for k in draw_keys}
    else:
        old, state = prepared
        template_states = eqx.filter_eval_shape(_init_states, problem, jnp.zeros((n_chains, problem.ndim)))
        m_shape = (n_chains,) + (problem.ndim,) * (2 if dense_mass else 1)
        template_adapt = jax.eval_shape(_init_adapt, 1.0, jnp.ones(m_shape))
        n_s = len(jax.tree.leaves(template_states))
        leaves = [jnp.asarray(x) for x in state["leaves"]]
        states = jax.tree.unflatten(jax.tree.structure(template_states), leaves[:n_s])
        adapt = jax.tree.unflatten(jax.tree.structure(template_adapt), leaves[n_s:])
        done = int(json.loads(state["json"])["steps_done"])
        mass_adapted = bool(json.loads(state["json"]).get("mass_adapted", True))
        elapsed, n_eval = float(old.meta.get("wall_time_s", 0.0)), int(old.meta.get("n_evaluations", 0))
        warm = {k: old.stats[f"warmup_{k}"] for k in warm_keys}
        rec = {"theta": old.samples, "log_prob": old.log_prob, **{k: old.stats[k] for k in draw_keys[2:]}}

    slow_w, end_w = warmup_schedule(n_warmup)
    if not mass_adapted:
        slow_w, end_w = np.zeros_like(slow_w), np.zeros_like(end_w)
    adapting_all = np.arange(total) < n_warmup
    slow_all = np.concatenate([slow_w, np.zeros(n_draws, dtype=bool)])
    end_all = np.concatenate([end_w, np.zeros(n_draws, dtype=bool)])

    def build(complete, diagnostics=None):
        from .. import __version__

        stats = {k: np.asarray(v) for k, v in rec.items() if k not in ("theta", "log_prob")}
        stats.update({f"warmup_{k}": np.asarray(v) for k, v in warm.items()})
        if done >= n_warmup:
            stats["step_size"] = np.asarray(jax.vmap(final_adaptation)(adapt)[0])
        return SamplingResult(
            samples=np.asarray(rec["theta"]), log_prob=np.asarray(rec["log_prob"]), names=problem.names,
            kinds=problem.kinds, display_units=problem.display_units, lower=np.asarray(problem.lower),
            upper=np.asarray(problem.upper), sampler="nuts", settings=settings, seed=seed, key_data=key_data,
            stats=stats, burn=0, diagnostics=diagnostics, complete=complete, version=__version__,
            meta={"wall_time_s": elapsed, "n_evaluations": n_eval, "draws_done": max(done - n_warmup, 0),
                  "warmup_done": min(done, n_warmup), "loglike_at_center": loglike_center,
                  "mass_adapted": mass_adapted},
        )  # fmt: skip

    def save():
        if path is not None:
            leaves = jax.tree.leaves(states) + jax.tree.leaves(adapt)
            _write_file(path, build(False), {"leaves": [np.asarray(x) for x in leaves],
                                             "json": json.dumps({"steps_done": done, "mass_adapted": mass_adapted})})  # fmt: skip

    chunks = 0
    bar = as_progress(progress)
    with bar:
        bar.start(total, f"NUTS: {n_chains} chains x ({n_warmup} warmup + {n_draws} draws), {problem.ndim} parameters")
        bar.advance(done)
        while done < total and (stop_after_chunks is None or chunks < stop_after_chunks):
            n = min(chunk_size, total - done)
            sl = slice(done, done + n)
            t0 = time.perf_counter()
            (states, adapt), out = _chunk(
                problem, states, adapt, k_steps, jnp.arange(done, done + n), jnp.asarray(adapting_all[sl]),
                jnp.asarray(slow_all[sl]), jnp.asarray(end_all[sl]), max_tree_depth, float(target_accept))  # fmt: skip
            out = {k: np.swapaxes(np.asarray(v), 0, 1) for k, v in out.items()}  # -> [chains, steps, ...]
            elapsed += time.perf_counter() - t0
            n_eval += int(out["n_steps"].sum())
            nw = min(max(n_warmup - done, 0), n)  # warmup steps in this chunk
            warm = {k: np.concatenate([warm[k], out[k][:, :nw]], axis=1) for k in warm_keys}
            rec = {k: np.concatenate([rec[k], out[k][:, nw:]], axis=1) for k in draw_keys}
            done += n
            chunks += 1
            if done < total:
                save()
            bar.advance(n)

    if done < total:
        return build(False)
    diagnostics = diagnose(rec["theta"], problem.names, tau_multiple=tau_multiple, rhat_max=rhat_max, ess_min=ess_min,
                           extra_warnings=_nuts_warnings(rec, max_tree_depth), warn=False)  # fmt: skip
    for m in diagnostics.warnings:
        warnings.warn(m, ConvergenceWarning, stacklevel=2)
    result = build(True, diagnostics)
    if path is not None:
        result.write(path)
    return result


def _nuts_warnings(rec: dict, max_tree_depth: int) -> list[str]:
    msgs = []
    div = np.asarray(rec["divergent"], dtype=bool)
    if div.any():
        per = div.sum(axis=1).tolist()
        msgs.append(f"{int(div.sum())} divergent transitions after warmup (per chain {per}); "
                    "raise target_accept or reparametrise")  # fmt: skip
    depth = np.asarray(rec["tree_depth"])
    frac = float(np.mean(depth >= max_tree_depth))
    if frac > TREE_DEPTH_WARN_FRACTION:
        msgs.append(f"{frac:.1%} of transitions hit the maximum tree depth {max_tree_depth}")
    e = np.asarray(rec["energy"])
    if e.shape[1] > 2:
        ebfmi = np.sum(np.diff(e, axis=1) ** 2, axis=1) / np.sum((e - e.mean(axis=1, keepdims=True)) ** 2, axis=1)
        low = [(c, float(v)) for c, v in enumerate(ebfmi) if v < EBFMI_MIN]
        if low:
            msgs.append(f"E-BFMI below {EBFMI_MIN} in chains {[c for c, _ in low]} "
                        f"({', '.join(f'{v:.2f}' for _, v in low)}): the momentum resampling explores the energy poorly")  # fmt: skip
    return msgs

