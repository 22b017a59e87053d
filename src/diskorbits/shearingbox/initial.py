"""Initial conditions for shearing-box transport experiments (Modak et al. 2026, Sec. II.3).

Stars are drawn in angle-action variables of the unperturbed box and mapped
to positions and velocities with the epicycle solutions:

* planar: uniform radial phase ``theta_R`` in ``[0, 2 pi)``, azimuth ``y0``
  and guiding centre ``x_g`` uniform in ``[-L/2, L/2)``, and radial action
  from the Schwarzschild distribution ``f(J_R) ~ exp(-J_R / <J_R>_0)`` with
  ``<J_R>_0 = sigma_R0^2 / kappa`` (Eq. 19); mapped with Eqs. 4-5 at t = 0;
* vertical: uniform ``theta_z`` and exponential ``J_z`` with
  ``<J_z>_0 = sigma_z0^2 / nu`` (Eq. 20), mapped with the vertical epicycle
  approximation (Eqs. 13-14).

The result is a product of Maxwellians in velocity space with dispersions
``sigma_R0`` in ``v_x``, ``sigma_R0 / gamma`` in ``v_y + q Omega x`` (Eq. 21)
and ``sigma_z0`` in ``v_z`` (the latter exactly only in the harmonic limit).
"""

from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp

from .box import ShearingBox
from .integrator import BoxState, _apply_boundaries

__all__ = ["schwarzschild_initial_conditions", "state_from_actions_angles"]


def schwarzschild_initial_conditions(box: ShearingBox, n: int, *, sigma_R0, sigma_z0, key) -> BoxState:
    """Draw ``n`` phase-mixed stars from a Schwarzschild distribution in the box.

    Parameters
    ----------
    box : ShearingBox
        Box geometry (``Omega``, ``q``, ``L``) and vertical potential (``nu``).
    n : int
        Number of stars (>= 1).
    sigma_R0 : float
        Initial radial velocity dispersion ``(kappa <J_R>_0)^(1/2)`` in kpc/Myr
        (>= 0); Modak et al. (2026) Eq. 10 and 19.
    sigma_z0 : float
        Initial vertical velocity dispersion ``(nu <J_z>_0)^(1/2)`` in kpc/Myr
        (>= 0); Eq. 15 and 20.
    key : jax.random.PRNGKey
        Random key; the draw is a deterministic function of it.

    Returns
    -------
    BoxState
        Stars at ``t = 0``. With ``sigma_R0 = 0`` every star is exactly on a
        circular orbit (``J_R = 0``, ``vx = 0``, ``vy = -q Omega x``); with
        ``sigma_z0 = 0`` exactly ``z = vz = 0``. A warm star whose epicycle
        starts outside ``|x| < L/2`` is mapped into the box by the
        shearing-periodic boundary, and ``nwrap`` records that map, so that
        :func:`~diskorbits.shearingbox.diagnostics.guiding_centre` returns
        the drawn ``x_g`` in ``[-L/2, L/2)`` for every star.

    Raises
    ------
    ValueError
        If ``n`` is not a positive int or a dispersion is negative or not finite.

    Notes
    -----
    The actions and angles are mapped to phase space by
    :func:`state_from_actions_angles` (Eqs. 4-5 and 13-14 at t = 0), so
    Eq. 22 returns the drawn ``x_g`` and Eq. 8 the drawn ``J_R``. The six
    random streams (``J_R``, ``theta_R``, ``x_g``, ``y0``, ``J_z``,
    ``theta_z``) come from ``jax.random.split(key, 6)``.

    Examples
    --------
    >>> import jax
    >>> from diskorbits import units
    >>> from diskorbits.shearingbox import box_preset, schwarzschild_initial_conditions
    >>> box = box_preset("R8")
    >>> s = schwarzschild_initial_conditions(box, 1000, sigma_R0=10 * units.KMS,
    ...                                      sigma_z0=0.0, key=jax.random.PRNGKey(0))
    >>> s.x.shape, bool((s.z == 0).all())
    ((1000,), True)
    """
    if not isinstance(box, ShearingBox):
        raise ValueError(f"schwarzschild_initial_conditions: 'box' must be a ShearingBox, got {type(box).__name__}")
    if not (isinstance(n, numbers.Integral) and n >= 1):
        raise ValueError(f"schwarzschild_initial_conditions: 'n' must be a positive int, got {n!r}")
    for name, value in (("sigma_R0", sigma_R0), ("sigma_z0", sigma_z0)):
        if not (isinstance(value, numbers.Real) and math.isfinite(value) and value >= 0):
            raise ValueError(
                f"schwarzschild_initial_conditions: '{name}' must be a finite non-negative velocity "
                f"in kpc/Myr, got {value!r}"
            )

    L = box.L
    k_JR, k_thR, k_xg, k_y0, k_Jz, k_thz = jax.random.split(key, 6)
    shape = (int(n),)
    # Eq. 19-20: exponential actions; a zero dispersion multiplies the unit
    # exponential by exactly 0, giving exactly cold stars.
    J_R = (sigma_R0**2 / box.kappa) * jax.random.exponential(k_JR, shape, dtype=jnp.float64)
    J_z = (sigma_z0**2 / box.nu) * jax.random.exponential(k_Jz, shape, dtype=jnp.float64)
    theta_R = jax.random.uniform(k_thR, shape, dtype=jnp.float64, minval=0.0, maxval=2 * math.pi)
    theta_z = jax.random.uniform(k_thz, shape, dtype=jnp.float64, minval=0.0, maxval=2 * math.pi)
    x_g = jax.random.uniform(k_xg, shape, dtype=jnp.float64, minval=-0.5 * L, maxval=0.5 * L)
    y0 = jax.random.uniform(k_y0, shape, dtype=jnp.float64, minval=-0.5 * L, maxval=0.5 * L)
    return state_from_actions_angles(box, x_g=x_g, y0=y0, J_R=J_R, theta_R=theta_R, J_z=J_z, theta_z=theta_z)


def state_from_actions_angles(box: ShearingBox, *, x_g, y0, J_R, theta_R, J_z, theta_z) -> BoxState:
    """Stars on unperturbed epicycles, from angle-action variables at t = 0.

    Planar motion from Eqs. 4-5 and 8 of Modak et al. (2026) at t = 0 with
    amplitude ``a_R = (2 J_R / kappa)^(1/2)``:
    ``x = x_g - a_R cos theta_R``, ``y = y0 + gamma a_R sin theta_R``,
    ``vx = kappa a_R sin theta_R``, ``vy = -q Omega x_g + 2 Omega a_R cos theta_R``;
    vertical motion from the epicycle approximation, Eqs. 13-14, with
    ``a_z = (2 J_z / nu)^(1/2)``: ``z = -a_z cos theta_z``, ``vz = nu a_z sin theta_z``.
    Eq. 22 then returns ``x_g``, Eq. 8 ``J_R`` and Eq. 14 ``J_z``.

    Parameters
    ----------
    box : ShearingBox
    x_g : Array, shape (N,)
        Guiding-centre radius in kpc.
    y0 : Array, shape (N,)
        Azimuth of the guiding centre at t = 0, kpc.
    J_R : Array, shape (N,)
        Radial action in kpc^2/Myr (>= 0).
    theta_R : Array, shape (N,)
        Radial phase ``kappa t + theta_R0`` at t = 0, radians.
    J_z : Array, shape (N,)
        Vertical action (epicycle approximation) in kpc^2/Myr (>= 0).
    theta_z : Array, shape (N,)
        Vertical phase at t = 0, radians.

    Returns
    -------
    BoxState
        Stars mapped into the box by the shearing-periodic boundary at t = 0;
        ``nwrap`` records that map for stars whose epicycle starts outside
        ``|x| < L/2``, so the unwrapped guiding centre is ``x_g``.
    """
    Omega, q = box.Omega, box.q
    kappa, gamma, nu = box.kappa, box.gamma, box.nu
    x_g, y0, J_R, theta_R, J_z, theta_z = (
        jnp.asarray(a, dtype=jnp.float64) for a in (x_g, y0, J_R, theta_R, J_z, theta_z)
    )
    a_R = jnp.sqrt(2.0 * J_R / kappa)
    cos_R, sin_R = jnp.cos(theta_R), jnp.sin(theta_R)
    x = x_g - a_R * cos_R
    y = y0 + gamma * a_R * sin_R
    vx = kappa * a_R * sin_R
    vy = -q * Omega * x_g + 2.0 * Omega * a_R * cos_R

    a_z = jnp.sqrt(2.0 * J_z / nu)
    z = -a_z * jnp.cos(theta_z)
    vz = nu * a_z * jnp.sin(theta_z)

    state = BoxState(x, y, z, vx, vy, vz, jnp.zeros_like(x))
    # At t = 0 the boundary map has no azimuthal shift; it only moves stars
    # whose epicycle starts outside the box (and wraps y).
    return _apply_boundaries(box, state, q * Omega * box.L, 0.0)
