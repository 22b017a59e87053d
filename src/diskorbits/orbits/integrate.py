"""The single entry point for orbit integration."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import units
from ..potentials.base import AbstractPotential
from .leapfrog import Leapfrog
from .method import AbstractOrbitMethod
from .solution import Orbits

__all__ = ["integrate_orbits"]


def integrate_orbits(potential, xyz0, vxyz0, t, *, method: AbstractOrbitMethod = Leapfrog(dt=0.5)) -> Orbits:
    """Integrate many test-particle orbits at once in a static potential.

    Parameters
    ----------
    potential : AbstractPotential
        Gravitational potential (any diskorbits potential, composite or not).
    xyz0 : array_like or Quantity [length], shape (*batch, 3)
        Initial Galactocentric Cartesian positions at ``t[0]``, kpc.
    vxyz0 : array_like or Quantity [velocity], shape (*batch, 3)
        Initial velocities, kpc/Myr (a Quantity in km/s is converted).
        Broadcast against ``xyz0``. Use :func:`phase_space_from_cylindrical`
        to build both from (R, phi, z, v_R, v_phi, v_z).
    t : array_like or Quantity [time], shape (T,)
        Save times in Myr, T >= 2, strictly increasing or strictly decreasing
        (backward integration). The orbit starts at ``t[0]``; only these
        samples are stored. Must be concrete (not traced), because the number
        of steps is fixed when the computation is compiled.
    method : AbstractOrbitMethod
        ``Leapfrog(dt=...)`` (symplectic, fixed step; default ``dt = 0.5``
        Myr) or ``Adaptive(rtol=..., atol=...)`` (Dormand–Prince 8 with
        step-size control).

    Returns
    -------
    Orbits
        ``t`` (T,), ``xyz`` and ``vxyz`` (*batch, T, 3), per-star ``result``
        codes and step counts; helpers for cylindrical coordinates, L_z,
        energy and :meth:`Orbits.orbit_parameters`.

    Raises
    ------
    TypeError
        If ``potential`` or ``method`` has the wrong type or ``t`` is traced.
    ValueError
        If shapes do not match or ``t`` is not strictly monotonic.
    astropy.units.UnitConversionError
        If a Quantity argument has the wrong physical type.

    Notes
    -----
    Problems that depend on the data (a NaN initial condition, a step limit)
    do not raise: the star's ``result`` code says what happened and the
    other stars are unaffected.

    Examples
    --------
    >>> import diskorbits as do
    >>> from diskorbits.orbits import integrate_orbits, Leapfrog
    >>> pot = do.MiyamotoNagaiPotential(6.8e10, 3.0, 0.28) + do.NFWPotential(5.4e11, 15.62)
    >>> vc = float(pot.circular_velocity(8.0))
    >>> orbits = integrate_orbits(pot, [8.0, 0, 0], [0, vc, 0], [0.0, 100.0, 200.0], method=Leapfrog(dt=0.1))
    >>> orbits.xyz.shape
    (3, 3)
    >>> bool(jnp.allclose(orbits.R, 8.0, rtol=1e-5))  # a circular orbit stays circular
    True
    """
    if not isinstance(potential, AbstractPotential):
        raise TypeError(f"'potential' must be a diskorbits AbstractPotential, got {type(potential).__name__}")
    if not isinstance(method, AbstractOrbitMethod):
        raise TypeError(f"'method' must be an orbit method such as Leapfrog(dt=...) or Adaptive(...), got {method!r}")
    if isinstance(t, jax.core.Tracer):
        raise TypeError("'t' must be concrete (a NumPy array or Quantity): the step count is fixed at compile time")
    t = np.atleast_1d(units.to_internal(t, "time", "t"))
    if t.ndim != 1 or t.size < 2:
        raise ValueError(f"'t' must be a 1-d array of at least two save times, got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("'t' contains non-finite values")
    dt = np.diff(t)
    if not (np.all(dt > 0) or np.all(dt < 0)):
        raise ValueError("'t' must be strictly increasing or strictly decreasing (repeated or unsorted times given)")

    xyz0 = _as_phase_array(xyz0, "length", "xyz0")
    vxyz0 = _as_phase_array(vxyz0, "velocity", "vxyz0")
    try:
        batch = np.broadcast_shapes(xyz0.shape[:-1], vxyz0.shape[:-1])
    except ValueError:
        raise ValueError(
            f"'xyz0' with shape {xyz0.shape} and 'vxyz0' with shape {vxyz0.shape} do not broadcast"
        ) from None
    n = int(np.prod(batch, dtype=np.int64))
    x0 = jnp.asarray(np.broadcast_to(xyz0, batch + (3,)).reshape(n, 3))
    v0 = jnp.asarray(np.broadcast_to(vxyz0, batch + (3,)).reshape(n, 3))

    xs, vs, result, n_steps = method._solve(potential, x0, v0, t)
    T = t.size
    return Orbits(
        t=jnp.asarray(t),
        xyz=xs.reshape(batch + (T, 3)),
        vxyz=vs.reshape(batch + (T, 3)),
        result=result.reshape(batch),
        n_steps=n_steps.reshape(batch),
    )


def _as_phase_array(value, kind, name):
    arr = units.to_internal(value, kind, name)
    if arr.ndim == 0 or arr.shape[-1] != 3:
        raise ValueError(f"{name!r} must have shape (..., 3) (Cartesian components last), got {arr.shape}")
    return arr
