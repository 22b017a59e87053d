"""Analytic potential components (internal units: kpc, Myr, Msun).

Each constructor accepts plain numbers in internal units or astropy
Quantities; parameters are stored as float64 JAX arrays so they can be
differentiated (e.g. ``eqx.filter_grad`` over a potential).
"""

from __future__ import annotations

import jax.numpy as jnp

from .. import units
from .base import AbstractPotential
from .spherical import AbstractSphericalPotential

__all__ = ["MiyamotoNagaiPotential", "HernquistPotential", "NFWPotential"]


def _param(value, kind, name, positive=True):
    v = units.to_internal(value, kind, name)
    if v.shape != ():
        raise ValueError(f"{name!r} must be a scalar, got shape {v.shape}")
    if not jnp.isfinite(v) or (positive and v <= 0):
        raise ValueError(f"{name!r} must be a finite{' positive' if positive else ''} number, got {float(v)!r}")
    return jnp.asarray(v, dtype=jnp.float64)


class MiyamotoNagaiPotential(AbstractPotential):
    """Miyamoto & Nagai (1975) disk.

    Phi(R, z) = -G m / sqrt(R^2 + (a + sqrt(z^2 + b^2))^2)

    Parameters
    ----------
    m : mass, Msun
    a : scale length, kpc
    b : scale height, kpc
    """

    m: jnp.ndarray
    a: jnp.ndarray
    b: jnp.ndarray

    def __init__(self, m, a, b):
        self.m = _param(m, "mass", "m")
        self.a = _param(a, "length", "a", positive=False)
        self.b = _param(b, "length", "b")
        if self.a < 0:
            raise ValueError(f"'a' must be >= 0, got {float(self.a)}")

    def _phi(self, R, z):
        zb = jnp.sqrt(z * z + self.b * self.b)
        return -units.G * self.m / jnp.sqrt(R * R + (self.a + zb) ** 2)


class HernquistPotential(AbstractSphericalPotential):
    """Hernquist (1990) sphere: Phi(r) = -G m / (r + c).

    Parameters
    ----------
    m : total mass, Msun
    c : scale radius, kpc
    """

    m: jnp.ndarray
    c: jnp.ndarray

    def __init__(self, m, c):
        self.m = _param(m, "mass", "m")
        self.c = _param(c, "length", "c")

    def _phi_r(self, r):
        return -units.G * self.m / (r + self.c)


class NFWPotential(AbstractSphericalPotential):
    """Navarro, Frenk & White (1996) halo in gala's parameterisation.

    Phi(r) = -G m ln(1 + r/r_s) / r, where ``m`` is the scale mass
    (= 4 pi rho_0 r_s^3).

    Parameters
    ----------
    m : scale mass, Msun
    r_s : scale radius, kpc
    """

    m: jnp.ndarray
    r_s: jnp.ndarray

    def __init__(self, m, r_s):
        self.m = _param(m, "mass", "m")
        self.r_s = _param(r_s, "length", "r_s")

    def _phi_r(self, r):
        x = r / self.r_s
        # ln(1+x)/x -> 1 - x/2 + x^2/3 near the centre; the series avoids 0/0.
        small = x < 1e-6
        xs = jnp.where(small, 1.0, x)
        f = jnp.where(small, 1.0 - x / 2.0 + x * x / 3.0, jnp.log1p(xs) / xs)
        return -units.G * self.m / self.r_s * f
