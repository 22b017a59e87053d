"""Stan-style warmup for HMC/NUTS: dual-averaging step size and windowed mass-matrix estimates.

Written here (rather than calling ``blackjax.window_adaptation``) so that the
warmup is a plain ``update(state, stage, ...)`` kernel that
:mod:`~diskorbits.sampling.nuts` can scan in chunks, checkpoint and resume
exactly, one step at a time.

* Step size: Nesterov dual averaging towards a target mean acceptance
  probability ``delta`` (Hoffman & Gelman 2014, Sec. 3.2.1, Eq. 6 and
  Algorithm 5; ``gamma = 0.05``, ``t0 = 10``, ``kappa = 0.75``, shrinkage
  point ``mu = log(10 eps_0)``).
* Inverse mass matrix: the sample (co)variance of the unconstrained
  positions in doubling "slow" windows, regularised towards ``1e-3`` as in
  Stan, ``(n / (n + 5)) C + 1e-3 (5 / (n + 5))``; dual averaging restarts
  after every window from the averaged step size of the window.
* Schedule (Stan reference manual, "HMC algorithm parameters"): a fast
  initial buffer (75 steps), slow windows of 25, 50, 100, ... steps, the
  last one stretched to the final fast buffer (50 steps); 15% / 75% / 10%
  of the warmup when that does not fit; step size only below 20 steps.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["AdaptationState", "final_adaptation", "init_adaptation", "update_adaptation", "warmup_schedule"]

#: Dual-averaging constants of Hoffman & Gelman (2014, Sec. 3.2.1).
DA_GAMMA, DA_T0, DA_KAPPA = 0.05, 10.0, 0.75
#: Stan's window sizes: initial fast buffer, first slow window, final fast buffer.
INIT_BUFFER, BASE_WINDOW, TERM_BUFFER = 75, 25, 50
#: Stan's regularisation of the windowed covariance: weight (pseudo-draws) and target.
REG_WEIGHT, REG_TARGET = 5.0, 1e-3


class AdaptationState(NamedTuple):
    """Warmup state of one chain (a PyTree; vmapped over chains).

    ``log_step`` is the step size the kernel uses now, ``log_step_avg`` the
    averaged iterate that becomes the final step size; ``h_avg``, ``t`` and
    ``mu`` are the dual-averaging bookkeeping; ``n``, ``mean``, ``m2`` the
    Welford accumulators of the current slow window; ``inverse_mass`` the
    metric in use (``[dim]`` diagonal or ``[dim, dim]`` dense).
    """

    log_step: jax.Array
    log_step_avg: jax.Array
    h_avg: jax.Array
    t: jax.Array
    mu: jax.Array
    n: jax.Array
    mean: jax.Array
    m2: jax.Array
    inverse_mass: jax.Array


def warmup_schedule(n_warmup: int) -> tuple[np.ndarray, np.ndarray]:
    """Stage of every warmup step: ``slow [n]`` (mass matrix collected) and ``window_end [n]``.

    Examples
    --------
    >>> slow, end = warmup_schedule(1000)
    >>> [int(i) + 1 for i in np.nonzero(end)[0]]   # ends of windows of 25, 50, 100, 200, 500
    [100, 150, 250, 450, 950]
    """
    n = int(n_warmup)
    slow = np.zeros(n, dtype=bool)
    end = np.zeros(n, dtype=bool)
    if n < 20:
        return slow, end
    init, base, term = INIT_BUFFER, BASE_WINDOW, TERM_BUFFER
    if init + base + term > n:
        init, term = int(0.15 * n), int(0.1 * n)
        base = n - init - term
    term_start = n - term
    start, size = init, base
    while start < term_start:
        stop = start + size
        if stop + 2 * size > term_start:  # the next window would not fit: stretch this one
            stop = term_start
        slow[start:stop] = True
        end[stop - 1] = True
        start, size = stop, 2 * size
    return slow, end


def _da_restart(step_size, inverse_mass, dim, dense) -> AdaptationState:
    zero = jnp.zeros((), dtype=jnp.float64)
    m2 = jnp.zeros((dim, dim) if dense else (dim,), dtype=jnp.float64)
    log_eps = jnp.log(jnp.asarray(step_size, dtype=jnp.float64))
    # log_step_avg starts at log_eps (the first update overwrites it: eta_1 = 1), so that
    # final_adaptation of an untouched state returns the initial step size
    return AdaptationState(
        log_step=log_eps, log_step_avg=log_eps, h_avg=zero, t=zero, mu=jnp.log(10.0) + log_eps,
        n=zero, mean=jnp.zeros(dim, dtype=jnp.float64), m2=m2, inverse_mass=jnp.asarray(inverse_mass, dtype=jnp.float64),
    )  # fmt: skip


def init_adaptation(step_size, inverse_mass) -> AdaptationState:
    """Initial warmup state for one chain from a step size and an inverse mass matrix ([dim] or [dim, dim])."""
    inverse_mass = jnp.asarray(inverse_mass, dtype=jnp.float64)
    return _da_restart(step_size, inverse_mass, inverse_mass.shape[0], inverse_mass.ndim == 2)


def update_adaptation(state: AdaptationState, slow, window_end, position, accept_prob, target: float) -> AdaptationState:
    """One warmup step after a transition that reached ``position`` with mean acceptance ``accept_prob``."""
    dense = state.inverse_mass.ndim == 2
    # a transition that diverged at once may report NaN acceptance: count it as a rejection
    alpha = jnp.where(jnp.isfinite(accept_prob), jnp.clip(accept_prob, 0.0, 1.0), 0.0)
    t = state.t + 1.0
    h_avg = (1.0 - 1.0 / (t + DA_T0)) * state.h_avg + (target - alpha) / (t + DA_T0)
    log_step = state.mu - jnp.sqrt(t) / DA_GAMMA * h_avg
    eta = t ** (-DA_KAPPA)
    log_step_avg = eta * log_step + (1.0 - eta) * state.log_step_avg

    # Welford accumulation only inside slow windows
    n_new = state.n + 1.0
    delta = position - state.mean
    mean_new = state.mean + delta / n_new
    incr = jnp.outer(delta, position - mean_new) if dense else delta * (position - mean_new)
    n = jnp.where(slow, n_new, state.n)
    mean = jnp.where(slow, mean_new, state.mean)
    m2 = jnp.where(slow, state.m2 + incr, state.m2)
    new = state._replace(log_step=log_step, log_step_avg=log_step_avg, h_avg=h_avg, t=t, n=n, mean=mean, m2=m2)

    def close_window(s: AdaptationState) -> AdaptationState:
        cov = s.m2 / jnp.maximum(s.n - 1.0, 1.0)
        shrink = REG_WEIGHT / (s.n + REG_WEIGHT)
        reg = REG_TARGET * (jnp.eye(cov.shape[0]) if dense else jnp.ones_like(cov))
        inv_mass = (1.0 - shrink) * cov + shrink * reg
        return _da_restart(jnp.exp(s.log_step_avg), inv_mass, s.mean.shape[0], dense)

    return jax.lax.cond(window_end, close_window, lambda s: s, new)


def final_adaptation(state: AdaptationState) -> tuple[jax.Array, jax.Array]:
    """Step size (the averaged dual-averaging iterate) and inverse mass matrix for sampling."""
    return jnp.exp(state.log_step_avg), state.inverse_mass
