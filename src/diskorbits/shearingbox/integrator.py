"""Symplectic epicycle integrator for test stars in a galactic shearing box.

The scheme is the symplectic epicycle integrator (SEI) of Rein & Tremaine
(2011, MNRAS 415, 3168), generalised to any shear ``0 < q < 2`` and to an
arbitrary fixed vertical potential as in Modak et al. (2026, Appendix B):

* **drift** ``H0(dt/2)``: the exact unperturbed epicycle map of Eqs. B1-B4 for
  the planar motion, plus one drift-kick-drift leapfrog sub-step in
  ``phi_vert`` for the vertical motion (Eq. B5);
* **kick**: a velocity kick by the external acceleration ``-grad phi_g``
  evaluated at the mid-step position and time ``t^(n+1/2)`` (Eq. B6);
* **drift** ``H0(dt/2)`` again.

Stars live in a shearing-periodic box ``-L/2 <= x, y < L/2`` (Hawley et al.
1995 boundaries, for the convention ``v_y = -q Omega x`` of the background
flow): leaving through ``x = +L/2`` maps ``x -> x - L``,
``y -> y + q Omega L t`` and ``v_y -> v_y + q Omega L`` (reversed signs
through ``x = -L/2``). That map is a symmetry of the unperturbed equations of
motion, so applying it at the end of a drift rather than at the crossing
instant is exact. :attr:`BoxState.nwrap` counts net crossings so diagnostics
can follow the continuous trajectory in the infinite sheet.

Internal units: kpc, Myr (velocities kpc/Myr, accelerations kpc/Myr^2).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax

from .box import ShearingBox
from .forcing import AbstractForcing

__all__ = ["BoxState", "drift", "kick", "integrate", "steps_per_interval"]

# Relative slack when counting steps per snapshot interval, so that an
# interval of exactly k * dt (up to rounding) gives k steps, not k + 1.
_STEP_COUNT_SLACK = 1e-9


class BoxState(eqx.Module):
    """Positions and velocities of ``N`` test stars in the shearing box.

    Attributes
    ----------
    x, y, z : Array, shape (N,), float64
        Box-frame position in kpc (radial, azimuthal, vertical), with
        ``-L/2 <= x, y < L/2`` after every integrator step.
    vx, vy, vz : Array, shape (N,), float64
        Box-frame velocity in kpc/Myr. ``vy`` includes the background shear
        flow: a circular orbit at ``x`` has ``vy = -q Omega x`` (Modak et al.
        2026, Sec. II.1).
    nwrap : Array, shape (N,), float64
        Net number of crossings of the radial boundary (``+1`` through
        ``x = +L/2``). The position in the unbounded sheet is
        ``x + nwrap * L`` and the velocity ``vy - nwrap * q * Omega * L``.
    """

    x: jax.Array
    y: jax.Array
    z: jax.Array
    vx: jax.Array
    vy: jax.Array
    vz: jax.Array
    nwrap: jax.Array


class _DriftCoefficients(NamedTuple):
    """Constants of the epicycle map over one drift of length ``h``.

    Python floats when the box and step are concrete, so they fold into the
    compiled kernel as literals.
    """

    h: Any
    Omega: Any
    inv_Omega: Any
    q_Omega: Any  # q Omega
    inv_2mq: Any  # 1 / (2 - q)
    inv_2mq_Omega: Any  # 1 / ((2 - q) Omega)
    Omega_over_kappa: Any
    kappa_over_Omega: Any
    two_over_kappa: Any
    shear_a: Any  # tan(kappa h / 2): first and third shear of the rotation
    shear_b: Any  # -sin(kappa h): middle shear
    shift_per_wrap: Any  # q Omega L


def _is_concrete(*values) -> bool:
    return all(isinstance(v, numbers.Real) and not isinstance(v, jax.core.Tracer) for v in values)


def _drift_coefficients(box: ShearingBox, h) -> _DriftCoefficients:
    Omega, q, L = box.Omega, box.q, box.L
    xp = math if _is_concrete(Omega, q, L, h) else jnp
    if xp is math:
        Omega, q, L, h = float(Omega), float(q), float(L), float(h)
    kappa = xp.sqrt(2.0 * (2.0 - q)) * Omega
    theta = kappa * h
    return _DriftCoefficients(
        h=h,
        Omega=Omega,
        inv_Omega=1.0 / Omega,
        q_Omega=q * Omega,
        inv_2mq=1.0 / (2.0 - q),
        inv_2mq_Omega=1.0 / ((2.0 - q) * Omega),
        Omega_over_kappa=Omega / kappa,
        kappa_over_Omega=kappa / Omega,
        two_over_kappa=2.0 / kappa,
        shear_a=xp.tan(0.5 * theta),
        shear_b=-xp.sin(theta),
        shift_per_wrap=q * Omega * L,
    )


def _drift(box: ShearingBox, state: BoxState, c: _DriftCoefficients, t_end) -> BoxState:
    """Exact epicycle drift + vertical leapfrog sub-step + boundary map."""
    x, y, vx, vy = state.x, state.y, state.vx, state.vy
    # Guiding centre (x0, y0) and scaled epicycle coordinates (xs, ys) of
    # Eqs. B1-B2. xs and ys are formed from the velocities directly instead of
    # as differences x - x0, y - y0, which would lose digits to cancellation.
    vy_tilde = vy + c.q_Omega * x
    x0 = x + vy_tilde * c.inv_2mq_Omega
    y0 = y - vx * c.inv_2mq_Omega
    xs = -vy_tilde * c.inv_2mq
    ys = vx * c.Omega_over_kappa
    # Rotation by kappa h (Eq. B3) as three shears (Rein & Tremaine 2011,
    # App. A): each shear has unit determinant for any rounded coefficient,
    # so the epicycle amplitude does not drift secularly over 1e5-1e6 steps,
    # and tan/sin of a small angle carry full relative precision where
    # cos(kappa h) ~ 1 would not.
    xs = xs + c.shear_a * ys
    ys = ys + c.shear_b * xs
    xs = xs + c.shear_a * ys
    # Back to box coordinates (Eq. B4).
    x = x0 + xs * c.inv_Omega
    y = y0 + ys * c.two_over_kappa - (c.q_Omega * c.h) * x0
    vx = ys * c.kappa_over_Omega
    vy = -2.0 * xs - c.q_Omega * x0

    # Vertical motion: drift-kick-drift leapfrog in phi_vert (Eq. B5).
    half_h = 0.5 * c.h
    z = state.z + state.vz * half_h
    vz = state.vz + box.vertical.force(z) * c.h
    z = z + vz * half_h

    return _apply_boundaries(box, BoxState(x, y, z, vx, vy, vz, state.nwrap), c.shift_per_wrap, t_end)


def _apply_boundaries(box: ShearingBox, state: BoxState, shift_per_wrap, t) -> BoxState:
    """Shearing-periodic map into ``-L/2 <= x, y < L/2`` at time ``t`` (Myr)."""
    L = box.L
    n = jnp.floor(state.x * (1.0 / L) + 0.5)
    # A star that did not cross sees only exact no-ops (x - 0, y + 0).
    x = state.x - n * L
    vy = state.vy + n * shift_per_wrap
    y = state.y + n * (shift_per_wrap * t)
    y = y - L * jnp.floor(y * (1.0 / L) + 0.5)
    # Rounding in y + L can land exactly on +L/2; keep the half-open range.
    y = jnp.where(y >= 0.5 * L, y - L, y)
    return BoxState(x, y, state.z, state.vx, vy, state.vz, state.nwrap + n)


def drift(box: ShearingBox, state: BoxState, dt, t) -> BoxState:
    """Unperturbed drift ``H0(dt)`` of Modak et al. (2026), Eqs. B1-B5.

    The planar motion follows the exact epicycle solution (Eqs. 4-5) over
    ``dt``; the vertical motion takes one drift-kick-drift leapfrog step of
    length ``dt`` in ``phi_vert`` (Eq. B5). The shearing-periodic boundary map
    is then applied at time ``t + dt``. The SEI calls this with ``dt / 2``.

    Parameters
    ----------
    box : ShearingBox
        Box geometry and vertical potential.
    state : BoxState
        Stars at time ``t``.
    dt : float
        Drift duration in Myr (may be negative).
    t : float
        Time at the start of the drift, Myr. Only enters through the azimuthal
        shift ``q Omega L (t + dt)`` of stars that cross the radial boundary.

    Returns
    -------
    BoxState
        Stars at time ``t + dt``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from diskorbits.shearingbox import BoxState, box_preset, drift
    >>> box = box_preset("R8")
    >>> x = jnp.array([0.1]); zero = jnp.zeros(1)
    >>> s = BoxState(x, zero, zero, zero, -box.q * box.Omega * x, zero, zero)
    >>> float(drift(box, s, 10.0, 0.0).x[0])  # a circular orbit stays put
    0.1
    """
    return _drift(box, state, _drift_coefficients(box, dt), t + dt)


def kick(state: BoxState, ax, ay, az, dt) -> BoxState:
    """Velocity kick ``v -> v + a dt`` (Modak et al. 2026, Eq. B6).

    Parameters
    ----------
    state : BoxState
        Stars before the kick.
    ax, ay, az : Array, shape (N,)
        Acceleration ``-grad phi_g`` in kpc/Myr^2 at the star positions.
    dt : float
        Kick duration in Myr.

    Returns
    -------
    BoxState
        Stars with updated velocities; positions unchanged.
    """
    return BoxState(
        state.x, state.y, state.z,
        state.vx + ax * dt, state.vy + ay * dt, state.vz + az * dt,
        state.nwrap,
    )


def steps_per_interval(dt_snap, dt) -> int:
    """Number of SEI steps per snapshot interval, ``ceil(dt_snap / dt)``.

    The step actually taken is ``dt_snap / n_sub <= dt`` so that every
    snapshot interval holds a whole number of steps; an interval that is an
    exact multiple of ``dt`` (up to rounding) is not given an extra step.

    Parameters
    ----------
    dt_snap : float
        Snapshot interval in Myr (> 0).
    dt : float
        Largest acceptable step in Myr (> 0).

    Returns
    -------
    int
        ``n_sub >= 1``.

    Examples
    --------
    >>> steps_per_interval(1.0, 0.25)
    4
    >>> steps_per_interval(1.1, 0.1)
    11
    """
    for name, value in (("dt_snap", dt_snap), ("dt", dt)):
        if not (isinstance(value, numbers.Real) and math.isfinite(value) and value > 0):
            raise ValueError(f"steps_per_interval: '{name}' must be a finite positive number of Myr, got {value!r}")
    return max(1, math.ceil(dt_snap / dt * (1.0 - _STEP_COUNT_SLACK)))


def integrate(
    box: ShearingBox,
    forcing: AbstractForcing,
    state: BoxState,
    fstate,
    *,
    j0,
    n_intervals: int,
    n_sub: int,
    dt_snap: float,
    observe: Callable[[BoxState], Any] | None = None,
    unroll: int = 1,
):
    """Advance stars through ``n_intervals`` snapshot intervals with the SEI.

    Snapshot interval ``j`` spans ``[j dt_snap, (j + 1) dt_snap]`` and holds
    ``n_sub`` drift-kick-drift steps of ``dt = dt_snap / n_sub``. Sub-step
    ``s`` kicks with ``forcing.acceleration(fstate, w, t, x, y, z)`` at
    ``w = (s + 1/2) / n_sub`` and ``t = (j + w) dt_snap`` (Modak et al. 2026,
    Eq. B6). At the start of every interval with ``j >= 1`` the field state
    is moved on by ``fstate = forcing.advance(fstate, j)``; interval 0 uses
    ``fstate`` as given (from ``forcing.init(key)``).

    All times are implied by interval and step indices, never accumulated, so
    a run split as ``integrate(j0=0, n_intervals=k)`` followed by
    ``integrate(j0=k, n_intervals=m)`` (with the returned states) is
    bit-identical to ``integrate(j0=0, n_intervals=k + m)``: checkpoints of
    ``(state, fstate, j)`` resume exactly.

    Compiled with :func:`equinox.filter_jit`: ``n_intervals``, ``n_sub``,
    ``dt_snap``, ``unroll`` and the Python-float parameters of ``box`` and
    ``forcing`` are static (a new value recompiles); arrays in ``state``,
    ``fstate``, ``forcing``, ``observe`` and ``j0`` are traced.

    Parameters
    ----------
    box : ShearingBox
        Box geometry and vertical potential.
    forcing : AbstractForcing
        External potential fluctuation (``NoForcing()`` for the bare box).
    state : BoxState
        Stars at time ``j0 * dt_snap``.
    fstate : PyTree
        Field state of interval ``j0 - 1`` if ``j0 >= 1`` (it is advanced to
        ``j0`` first), or of interval 0 if ``j0 == 0``.
    j0 : int or int scalar Array
        Index of the first interval (may be traced).
    n_intervals : int
        Number of snapshot intervals to run (>= 0).
    n_sub : int
        SEI steps per interval (>= 1); see :func:`steps_per_interval`.
    dt_snap : float
        Snapshot interval in Myr (> 0).
    observe : callable, optional
        ``observe(state) -> PyTree of arrays``, evaluated at the end of every
        interval. Prefer an :class:`equinox.Module` (e.g. from
        :func:`~diskorbits.shearingbox.diagnostics.ensemble_observer`) so that
        its arrays are traced rather than baked into the compiled program.
    unroll : int
        Unrolling of the inner step loop (speed only; keep it fixed across
        the pieces of a split run for bit-identical results).

    Returns
    -------
    state : BoxState
        Stars at time ``(j0 + n_intervals) dt_snap``.
    fstate : PyTree
        Field state of interval ``j0 + n_intervals - 1``.
    observations : PyTree or None
        ``observe`` outputs stacked along a new leading axis of length
        ``n_intervals`` (entry ``i`` at time ``(j0 + i + 1) dt_snap``), or
        ``None`` without ``observe``.

    Raises
    ------
    ValueError
        If an argument has the wrong type or a non-positive size.

    Notes
    -----
    Cost per step: two drifts (a linear map with constant coefficients plus
    two evaluations of the vertical force) and one forcing evaluation. On
    CPU the mid-step state is materialised once per step (see the comment in
    the step body); measured throughput is in
    ``benchmarks/bench_shearingbox_core.py``.

    Examples
    --------
    >>> import jax
    >>> from diskorbits import units
    >>> from diskorbits.shearingbox import (NoForcing, box_preset, ensemble_observer,
    ...                                     integrate, schwarzschild_initial_conditions)
    >>> box = box_preset("R8")
    >>> stars = schwarzschild_initial_conditions(box, 100, sigma_R0=10 * units.KMS,
    ...                                          sigma_z0=0.0, key=jax.random.PRNGKey(0))
    >>> forcing = NoForcing()
    >>> stars, fstate, obs = integrate(box, forcing, stars, forcing.init(None), j0=0,
    ...                                n_intervals=5, n_sub=4, dt_snap=1.0,
    ...                                observe=ensemble_observer(box, stars))
    >>> obs["rms_dJR"].shape, float(obs["rms_dJR"][-1]) < 1e-15
    ((5,), True)
    """
    if not isinstance(box, ShearingBox):
        raise ValueError(f"integrate: 'box' must be a ShearingBox, got {type(box).__name__}")
    if not isinstance(forcing, AbstractForcing):
        raise ValueError(f"integrate: 'forcing' must be an AbstractForcing, got {type(forcing).__name__}")
    if not isinstance(state, BoxState):
        raise ValueError(f"integrate: 'state' must be a BoxState, got {type(state).__name__}")
    if not (isinstance(n_intervals, numbers.Integral) and n_intervals >= 0):
        raise ValueError(f"integrate: 'n_intervals' must be a non-negative int, got {n_intervals!r}")
    if not (isinstance(n_sub, numbers.Integral) and n_sub >= 1):
        raise ValueError(f"integrate: 'n_sub' must be a positive int, got {n_sub!r}")
    if not (isinstance(dt_snap, numbers.Real) and math.isfinite(dt_snap) and dt_snap > 0):
        raise ValueError(f"integrate: 'dt_snap' must be a finite positive number of Myr, got {dt_snap!r}")
    if not (isinstance(unroll, numbers.Integral) and unroll >= 1):
        raise ValueError(f"integrate: 'unroll' must be a positive int, got {unroll!r}")
    if observe is not None and not callable(observe):
        raise ValueError(f"integrate: 'observe' must be callable or None, got {type(observe).__name__}")
    if isinstance(j0, numbers.Integral) and j0 < 0:
        raise ValueError(f"integrate: 'j0' must be >= 0, got {j0!r}")
    j0 = jnp.asarray(j0, dtype=jnp.int32)
    return _integrate(
        box, forcing, state, fstate, j0, int(n_intervals), int(n_sub), float(dt_snap), observe, int(unroll)
    )


@eqx.filter_jit
def _integrate(box, forcing, state, fstate, j0, n_intervals, n_sub, dt_snap, observe, unroll):
    dt = dt_snap / n_sub
    coeffs = _drift_coefficients(box, 0.5 * dt)
    fence_cpu = jax.default_backend() == "cpu"

    def interval(carry, j):
        state, fstate = carry
        # Interval 0 uses the field state from forcing.init as given.
        fstate = lax.cond(j >= 1, lambda f: forcing.advance(f, j), lambda f: f, fstate)
        j_f = j.astype(jnp.float64)

        def step(state, s):
            w = (s + 0.5) / n_sub
            t_mid = (j_f + w) * dt_snap
            t_end = (j_f + (s + 1.0) / n_sub) * dt_snap
            state = _drift(box, state, coeffs, t_mid)
            accel = lambda u: forcing.acceleration(fstate, w, t_mid, u.x, u.y, u.z)  # noqa: E731
            if fence_cpu:
                # XLA:CPU drops optimization barriers and, left alone, fuses
                # the whole step into every output array, re-evaluating the
                # first drift and the forcing ~5x per step. A conditional is a
                # fusion boundary: its operand (the mid-step state) and its
                # results (the accelerations) are each computed once, 2-5x
                # faster. The predicate is always true but opaque to the
                # compiler. GPUs fuse multiple outputs natively and would pay
                # a host sync per conditional, so they skip this.
                shapes = jax.eval_shape(accel, state)
                zeros = lambda u: jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), shapes)  # noqa: E731
                acc = lax.cond(w < 2.0, accel, zeros, state)
            else:
                acc = accel(state)
            state = kick(state, *acc, dt)
            state = _drift(box, state, coeffs, t_end)
            return state, None

        state, _ = lax.scan(step, state, jnp.arange(n_sub, dtype=jnp.float64), unroll=unroll)
        obs = None if observe is None else observe(state)
        return (state, fstate), obs

    js = j0 + jnp.arange(n_intervals, dtype=jnp.int32)
    (state, fstate), observations = lax.scan(interval, (state, fstate), js)
    return state, fstate, observations
