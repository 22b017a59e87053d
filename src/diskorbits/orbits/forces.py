"""Cartesian forces in structure-of-arrays form for the integrators.

The integrators carry x, y, z (and v_x, v_y, v_z) as separate arrays of shape
(N,) instead of one (N, 3) array. On CPU this lets XLA fuse the whole force
evaluation into one elementwise loop over stars; the (N, 3) layout of
``AbstractPotential.acceleration`` costs ~3x more per evaluation because of
the strided component gathers and the final stack.
"""

from __future__ import annotations

import jax.numpy as jnp

__all__ = ["acceleration_components"]


def acceleration_components(potential, x, y, z):
    """-grad Phi at (x, y, z) (kpc), returned as (a_x, a_y, a_z) in kpc/Myr^2.

    Works for scalars or equally shaped arrays. Uses the potential's
    ``_dphi(R, z)`` primitive, so any potential that defines ``_phi`` works.
    """
    R2 = x * x + y * y
    # On the axis dPhi/dR / R is finite but 0/0 numerically; the double where
    # keeps both the value and its gradient finite there.
    on_axis = R2 <= 0
    R = jnp.sqrt(jnp.where(on_axis, 1.0, R2))
    R = jnp.where(on_axis, 0.0, R)
    dR, dz = jnp.vectorize(potential._dphi)(R, z)
    fac = jnp.where(on_axis, 0.0, dR / jnp.where(on_axis, 1.0, R))
    return -fac * x, -fac * y, -dz
