"""Prolate spheroidal coordinates (u, v) used by the Stäckel fudge.

Convention (galpy's, de Zeeuw 1985 with foci on the z axis at z = +-Delta)::

    R = Delta sinh(u) sin(v),    z = Delta cosh(u) cos(v),
    u >= 0,   0 <= v <= pi,   v = pi/2 is the midplane, v < pi/2 is z > 0.

Canonical momenta conjugate to (u, v) for a star with cylindrical velocities
(v_R, v_z)::

    p_u = Delta (v_R cosh u sin v + v_z sinh u cos v)
    p_v = Delta (v_R sinh u cos v - v_z cosh u sin v)

so that p_u > 0 means moving outwards in u and p_v < 0 means moving towards
+z (v decreasing). All functions are scalar-in/scalar-out JAX code that
broadcasts, and are written so that their derivatives stay finite at z = 0.

>>> import jax.numpy as jnp
>>> from diskorbits.actions.coordinates import uv_from_Rz, Rz_from_uv
>>> u, v = uv_from_Rz(8.0, 0.5, 3.0)
>>> [round(float(x), 12) for x in Rz_from_uv(u, v, 3.0)]
[8.0, 0.5]
"""

from __future__ import annotations

import jax.numpy as jnp

from .. import _config  # noqa: F401  (float64)

__all__ = ["uv_from_Rz", "Rz_from_uv", "spheroidal_parts", "momenta_uv"]


def spheroidal_parts(R, z, delta):
    """sinh u, cosh u, sin v, cos v of the point (R, z) for focal distance ``delta``.

    Computed without forming u and v, in a form that keeps full relative
    precision of cos v near the midplane (cos v = 2 z / (r1 + r2), where
    r1, r2 are the distances to the two foci) -- the naive (r1 - r2) / 2 Delta
    cancels catastrophically for |z| << Delta.

    Parameters
    ----------
    R, z : array_like
        Cylindrical radius (kpc, R > 0) and height (kpc).
    delta : array_like
        Focal distance Delta (kpc, > 0).

    Returns
    -------
    sinh_u, cosh_u, sin_v, cos_v : jax.Array
    """
    r1 = jnp.sqrt(R * R + (z + delta) ** 2)
    r2 = jnp.sqrt(R * R + (z - delta) ** 2)
    s = r1 + r2
    cosh_u = s / (2.0 * delta)
    # sinh^2 u = (s - 2 Delta)(s + 2 Delta) / (4 Delta^2); s >= 2 Delta by the triangle inequality.
    sinh_u = jnp.sqrt(jnp.maximum((s - 2.0 * delta) * (s + 2.0 * delta), 0.0)) / (2.0 * delta)
    cos_v = 2.0 * z / s
    sin_v = jnp.sqrt(jnp.maximum(1.0 - cos_v * cos_v, 0.0))
    return sinh_u, cosh_u, sin_v, cos_v


def uv_from_Rz(R, z, delta):
    """Prolate spheroidal (u, v) of cylindrical (R, z) for focal distance ``delta`` (kpc).

    Returns
    -------
    u : jax.Array
        u >= 0 (dimensionless).
    v : jax.Array
        v in [0, pi], pi/2 on the midplane (dimensionless).
    """
    sinh_u, _, sin_v, cos_v = spheroidal_parts(R, z, delta)
    return jnp.arcsinh(sinh_u), jnp.arctan2(sin_v, cos_v)


def Rz_from_uv(u, v, delta):
    """Cylindrical (R, z) in kpc of prolate spheroidal (u, v) with focal distance ``delta``."""
    return delta * jnp.sinh(u) * jnp.sin(v), delta * jnp.cosh(u) * jnp.cos(v)


def momenta_uv(v_R, v_z, sinh_u, cosh_u, sin_v, cos_v, delta):
    """Momenta (p_u, p_v) in kpc^2/Myr conjugate to (u, v) (Binney 2012, Eq. 5 context).

    Parameters
    ----------
    v_R, v_z : array_like
        Cylindrical velocities (kpc/Myr).
    sinh_u, cosh_u, sin_v, cos_v : array_like
        From :func:`spheroidal_parts`.
    delta : array_like
        Focal distance (kpc).
    """
    p_u = delta * (v_R * cosh_u * sin_v + v_z * sinh_u * cos_v)
    p_v = delta * (v_R * sinh_u * cos_v - v_z * cosh_u * sin_v)
    return p_u, p_v
