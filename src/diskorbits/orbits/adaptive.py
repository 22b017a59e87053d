"""Adaptive high-order Runge–Kutta integration through diffrax.

Each star gets its own step-size history (the solve is vmapped over stars, so
a star on a tight inner orbit does not force small steps on the others). The
default solver is Dormand–Prince 8(5,3) (Hairer, Nørsett & Wanner 1993,
*Solving ODEs I*, §II.10), the same family as galpy's ``dop853_c`` and gala's
``DOPRI853Integrator``, which makes like-for-like comparisons meaningful.
"""

from __future__ import annotations

import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from .method import AbstractOrbitMethod
from .results import OrbitResult

__all__ = ["Adaptive"]

_SOLVERS = {"dopri8": diffrax.Dopri8, "dopri5": diffrax.Dopri5, "tsit5": diffrax.Tsit5}


class Adaptive(AbstractOrbitMethod):
    """Adaptive embedded Runge–Kutta integration with a PID step-size controller.

    Parameters
    ----------
    rtol, atol : float
        Relative and absolute local error tolerances. The state mixes kpc and
        kpc/Myr (1 km/s ~ 1e-3 kpc/Myr), so ``atol`` applies to both; for disk
        orbits ``rtol`` is what matters.
    solver : {"dopri8", "dopri5", "tsit5"} or diffrax.AbstractAdaptiveSolver
        Runge–Kutta pair. ``"dopri8"`` (default) is best at tight tolerances,
        ``"tsit5"`` at loose ones.
    max_steps : int
        Per-star step limit; a star that needs more gets
        ``OrbitResult.MAX_STEPS_REACHED`` (its later samples are not valid).
    dtmax : float or None
        Largest step in Myr, or None for no limit.
    adjoint : diffrax.AbstractAdjoint
        How to differentiate through the solve. The default supports
        reverse mode (``jax.grad`` with respect to potential parameters);
        ``diffrax.ForwardMode()`` is cheaper when only forward mode is needed.

    Examples
    --------
    >>> from diskorbits.orbits import Adaptive
    >>> Adaptive(rtol=1e-12, atol=1e-12).rtol
    1e-12
    """

    rtol: float = eqx.field(static=True)
    atol: float = eqx.field(static=True)
    solver: diffrax.AbstractAdaptiveSolver
    max_steps: int = eqx.field(static=True)
    dtmax: float | None = eqx.field(static=True)
    adjoint: diffrax.AbstractAdjoint

    def __init__(self, rtol=1e-10, atol=1e-10, solver="dopri8", max_steps=100_000, dtmax=None, adjoint=None):
        if isinstance(solver, str):
            try:
                solver = _SOLVERS[solver.lower()]()
            except KeyError:
                raise ValueError(f"Adaptive 'solver' must be one of {sorted(_SOLVERS)} or a diffrax solver, got {solver!r}") from None
        if not isinstance(solver, diffrax.AbstractAdaptiveSolver):
            raise TypeError(f"Adaptive 'solver' must be an adaptive diffrax solver, got {type(solver).__name__}")
        for name, val in (("rtol", rtol), ("atol", atol)):
            if not (isinstance(val, (int, float)) and math.isfinite(val) and val > 0):
                raise ValueError(f"Adaptive {name!r} must be a finite positive number, got {val!r}")
        if not (isinstance(max_steps, int) and max_steps > 0):
            raise ValueError(f"Adaptive 'max_steps' must be a positive int, got {max_steps!r}")
        if dtmax is not None and not (math.isfinite(dtmax) and dtmax > 0):
            raise ValueError(f"Adaptive 'dtmax' must be None or a finite positive number of Myr, got {dtmax!r}")
        self.rtol = float(rtol)
        self.atol = float(atol)
        self.solver = solver
        self.max_steps = max_steps
        self.dtmax = None if dtmax is None else float(dtmax)
        self.adjoint = diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint

    def _solve(self, potential, xyz0, vxyz0, t):
        return _adaptive_batch(self, potential, xyz0, vxyz0, jnp.asarray(t))


def _vector_field(t, y, potential):
    x, v = y
    return v, potential.acceleration(x)


@eqx.filter_jit
def _adaptive_batch(method, potential, xyz0, vxyz0, ts):
    controller = diffrax.PIDController(rtol=method.rtol, atol=method.atol, dtmax=method.dtmax)
    term = diffrax.ODETerm(_vector_field)

    def one(x0, v0):
        sol = diffrax.diffeqsolve(
            term,
            method.solver,
            t0=ts[0],
            t1=ts[-1],
            dt0=None,  # let diffrax pick the first step from the local derivative scale
            y0=(x0, v0),
            args=potential,
            saveat=diffrax.SaveAt(ts=ts),
            stepsize_controller=controller,
            adjoint=method.adjoint,
            max_steps=method.max_steps,
            throw=False,  # per-star result codes instead of aborting the batch
        )
        xs, vs = sol.ys
        ok = sol.result == diffrax.RESULTS.successful
        maxed = sol.result == diffrax.RESULTS.max_steps_reached
        finite = jnp.all(jnp.isfinite(xs)) & jnp.all(jnp.isfinite(vs))
        code = jnp.where(
            ok,
            jnp.where(finite, OrbitResult.SUCCESS, OrbitResult.NONFINITE),
            jnp.where(maxed, OrbitResult.MAX_STEPS_REACHED, jnp.where(finite, OrbitResult.SOLVER_FAILED, OrbitResult.NONFINITE)),
        )
        return xs, vs, code.astype(jnp.int32), sol.stats["num_accepted_steps"]

    return jax.vmap(one)(xyz0, vxyz0)
