"""Orbit parameters (pericentre, apocentre, eccentricity, z_max) from sampled orbits.

Taking the min/max over samples underestimates the extent of the orbit by
~(Ω Δt)^2 / 8 in relative terms, so the answer would depend on the output
cadence. Instead each save interval is interpolated by the cubic Hermite
polynomial through the sampled value *and its time derivative* at both ends
(both are known exactly from the phase-space samples), and the interior
extrema of that cubic are included. The interpolation error is
O(Δt^4 f''''), i.e. ~1e-6 relative at 20 samples per radial period.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = ["OrbitParameters", "refined_extrema"]


class OrbitParameters(eqx.Module):
    """Extent of a batch of orbits over the integrated time span.

    Attributes
    ----------
    r_peri, r_apo : jax.Array, shape (*batch,)
        Smallest and largest *spherical* Galactocentric radius
        r = sqrt(x^2 + y^2 + z^2), kpc (galpy's ``rperi``/``rap``, gala's
        ``pericenter``/``apocenter``).
    z_max : jax.Array, shape (*batch,)
        Largest |z|, kpc.
    R_min, R_max : jax.Array, shape (*batch,)
        Smallest and largest *cylindrical* radius R = sqrt(x^2 + y^2), kpc.
    """

    r_peri: jax.Array
    r_apo: jax.Array
    z_max: jax.Array
    R_min: jax.Array
    R_max: jax.Array

    @property
    def eccentricity(self) -> jax.Array:
        """(r_apo - r_peri) / (r_apo + r_peri), from the spherical radii (galpy's ``e``)."""
        return (self.r_apo - self.r_peri) / (self.r_apo + self.r_peri)


def refined_extrema(t, f, dfdt):
    """Minimum and maximum of a sampled smooth function, refined between samples.

    Parameters
    ----------
    t : array, shape (T,)
        Strictly monotonic sample times (either direction), T >= 2.
    f, dfdt : array, shape (..., T)
        Values and time derivatives at the samples.

    Returns
    -------
    fmin, fmax : array, shape (...)

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> t = jnp.linspace(0.0, 3.0, 7)
    >>> lo, hi = refined_extrema(t, jnp.sin(t), jnp.cos(t))
    >>> round(float(hi), 4), round(float(lo), 4)
    (1.0, 0.0)
    """
    t = jnp.asarray(t, float)
    f = jnp.asarray(f, float)
    g = jnp.asarray(dfdt, float)
    h = jnp.diff(t)
    f0, f1 = f[..., :-1], f[..., 1:]
    g0, g1 = h * g[..., :-1], h * g[..., 1:]
    # p(s) = c0 + c1 s + c2 s^2 + c3 s^3 on s in [0, 1] (Hermite basis expanded).
    c1 = g0
    c2 = -3.0 * f0 - 2.0 * g0 + 3.0 * f1 - g1
    c3 = 2.0 * f0 + g0 - 2.0 * f1 + g1
    # Roots of p'(s) = A s^2 + B s + C, in the cancellation-free form.
    A, B, C = 3.0 * c3, 2.0 * c2, c1
    disc = B * B - 4.0 * A * C
    sq = jnp.sqrt(jnp.maximum(disc, 0.0))
    q = -0.5 * (B + jnp.where(B >= 0, sq, -sq))
    q_safe = jnp.where(q == 0, 1.0, q)
    A_safe = jnp.where(A == 0, 1.0, A)
    s1 = jnp.where(A != 0, q / A_safe, jnp.where(B != 0, -C / jnp.where(B == 0, 1.0, B), -1.0))
    s2 = jnp.where(q != 0, C / q_safe, -1.0)

    def value_at(s):
        ok = (disc >= 0) & (s > 0) & (s < 1)
        s = jnp.where(ok, s, 0.0)
        # An invalid root evaluates at s = 0, i.e. the sample itself, which is harmless.
        return f0 + s * (c1 + s * (c2 + s * c3))

    cand = jnp.concatenate([f, value_at(s1), value_at(s2)], axis=-1)
    return jnp.min(cand, axis=-1), jnp.max(cand, axis=-1)


def orbit_parameters_from_samples(t, xyz, vxyz) -> OrbitParameters:
    """Orbit parameters from phase-space samples ``xyz, vxyz[..., T, 3]`` at times ``t[T]``."""
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    vx, vy, vz = vxyz[..., 0], vxyz[..., 1], vxyz[..., 2]
    # Interpolate r^2 and R^2 rather than r and R: they stay smooth through the
    # centre / the axis, where r and R have a kink.
    r2 = x * x + y * y + z * z
    dr2 = 2.0 * (x * vx + y * vy + z * vz)
    R2 = x * x + y * y
    dR2 = 2.0 * (x * vx + y * vy)
    r2min, r2max = refined_extrema(t, r2, dr2)
    R2min, R2max = refined_extrema(t, R2, dR2)
    zmin, zmax = refined_extrema(t, z, vz)
    return OrbitParameters(
        r_peri=jnp.sqrt(jnp.maximum(r2min, 0.0)),
        r_apo=jnp.sqrt(r2max),
        z_max=jnp.maximum(zmax, -zmin),
        R_min=jnp.sqrt(jnp.maximum(R2min, 0.0)),
        R_max=jnp.sqrt(R2max),
    )
