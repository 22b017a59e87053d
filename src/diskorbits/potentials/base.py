"""Axisymmetric potentials: define Phi(R, z), derive everything else.

A potential is a frozen equinox Module whose only obligation is the scalar
method ``_phi(R, z)`` in internal units (kpc^2/Myr^2, with R, z in kpc).
Forces, curvatures, density, circular speed and the epicycle frequencies all
come from automatic differentiation, so derivatives with respect to the
potential's own parameters (needed by Orbital Torus Imaging) come for free.

Every public method broadcasts over its array arguments. Plain numbers are
read in internal units and internal-unit arrays are returned; if an
astropy Quantity is given, it is converted and the result is returned as a
Quantity as well (the output type follows the input, never hidden state).
"""

from __future__ import annotations

import abc
import functools

import astropy.units as u
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from .. import _config  # noqa: F401  (float64)
from .. import units

__all__ = ["AbstractPotential"]

_FOUR_PI_G = 4.0 * jnp.pi * units.G


# Output kinds that have no entry in units.py.
_EXTRA_OUT_UNITS = {
    "acceleration": units.VELOCITY / units.TIME,
    "density": units.MASS / units.LENGTH**3,
}


def _to_quantity(value, kind):
    if kind in _EXTRA_OUT_UNITS:
        return np.asarray(value, dtype=np.float64) * _EXTRA_OUT_UNITS[kind]
    return units.to_quantity(value, kind)


def _compiled(fn):
    """``fn(self, *arrays)`` compiled once per (potential structure, argument shapes).

    Evaluating op by op is very slow for potentials built from many
    primitives (the incomplete gamma functions, interpolation tables);
    compiling the public methods makes eager calls cheap. Arguments become
    float64 arrays first so that Python scalars do not become static
    (recompile-per-value) arguments; the potential's array leaves are traced,
    so one compilation serves every parameter value.
    """
    jitted = eqx.filter_jit(fn)

    @functools.wraps(fn)
    def call(self, *args):
        return jitted(self, *(jnp.asarray(a, dtype=float) for a in args))

    return call


def _quantity_io(*kinds: str, out: str | tuple[str, ...]):
    """Accept Quantities for the listed positional arguments; return Quantities if any was given."""

    def deco(fn):
        compiled = _compiled(fn)

        @functools.wraps(fn)
        def wrapper(self, *args):
            if not any(isinstance(a, u.Quantity) for a in args):
                return compiled(self, *args)
            names = fn.__code__.co_varnames[1 : 1 + len(args)]
            conv = [units.to_internal(a, k, n) for a, k, n in zip(args, kinds, names)]
            res = compiled(self, *conv)
            if isinstance(out, tuple):
                return tuple(_to_quantity(r, k) for r, k in zip(res, out))
            return _to_quantity(res, out)

        return wrapper

    return deco


def _safe_sqrt(x):
    """sqrt whose gradient stays finite at 0 (the gradient is multiplied by a vanishing factor there)."""
    return jnp.sqrt(jnp.maximum(x, 1e-300))


class AbstractPotential(eqx.Module):
    """Base class of all axisymmetric potentials.

    Subclasses implement :meth:`_phi` for scalar ``R, z`` (kpc) returning the
    potential in kpc^2/Myr^2, with Phi -> 0 at infinity.
    """

    @abc.abstractmethod
    def _phi(self, R, z):
        """Potential at one point (scalar R, z in kpc), kpc^2/Myr^2."""

    # ---------------------------------------------------------------- scalar kernels
    def _dphi(self, R, z):
        return jax.grad(self._phi, argnums=(0, 1))(R, z)

    def _hess(self, R, z):
        return jax.hessian(self._phi, argnums=(0, 1))(R, z)

    # ---------------------------------------------------------------- public, broadcasting
    @_quantity_io("length", "length", out="energy")
    def potential(self, R, z):
        """Phi(R, z) in kpc^2/Myr^2."""
        return jnp.vectorize(self._phi)(jnp.asarray(R, float), jnp.asarray(z, float))

    @_quantity_io("length", "length", out=("acceleration", "acceleration"))
    def force(self, R, z):
        """Specific force (F_R, F_z) = -grad Phi in kpc/Myr^2 (Quantities in kpc/Myr^2 if Quantities given)."""
        dR, dz = jnp.vectorize(self._dphi)(jnp.asarray(R, float), jnp.asarray(z, float))
        return -dR, -dz

    @_compiled
    def acceleration(self, xyz):
        """Cartesian acceleration -grad Phi (kpc/Myr^2) at positions ``xyz[..., 3]`` (kpc)."""
        xyz = jnp.asarray(xyz, float)

        def one(p):
            R = _safe_sqrt(p[0] ** 2 + p[1] ** 2)
            dR, dz = self._dphi(R, p[2])
            # d/dx = (x/R) d/dR; the guard keeps the axis (R = 0) finite.
            fac = jnp.where(R > 0, dR / jnp.where(R > 0, R, 1.0), 0.0)
            return -jnp.stack([fac * p[0], fac * p[1], dz])

        return jnp.vectorize(one, signature="(3)->(3)")(xyz)

    @_compiled
    def potential_xyz(self, xyz):
        """Phi at Cartesian positions ``xyz[..., 3]`` (kpc), kpc^2/Myr^2."""
        xyz = jnp.asarray(xyz, float)
        return self.potential(jnp.hypot(xyz[..., 0], xyz[..., 1]), xyz[..., 2])

    @_quantity_io("length", "length", out="density")
    def density(self, R, z):
        """Mass density from Poisson's equation, Msun/kpc^3 (a Quantity in Msun/kpc^3 if Quantities given)."""

        def one(R, z):
            (pRR, _), (_, pzz) = self._hess(R, z)
            pR, _ = self._dphi(R, z)
            # On the axis Phi_R/R -> Phi_RR.
            pR_over_R = jnp.where(R > 0, pR / jnp.where(R > 0, R, 1.0), pRR)
            return (pRR + pR_over_R + pzz) / _FOUR_PI_G

        return jnp.vectorize(one)(jnp.asarray(R, float), jnp.asarray(z, float))

    # ---------------------------------------------------------------- midplane kinematics
    @_quantity_io("length", out="velocity")
    def circular_velocity(self, R):
        """Circular speed v_c(R) = sqrt(R dPhi/dR) at z = 0, kpc/Myr."""
        R = jnp.asarray(R, float)
        dR, _ = jnp.vectorize(self._dphi)(R, jnp.zeros_like(R))
        return jnp.sqrt(R * dR)

    @_quantity_io("length", out="frequency")
    def omega(self, R):
        """Circular angular frequency Omega(R) = v_c / R, 1/Myr."""
        R = jnp.asarray(R, float)
        dR, _ = jnp.vectorize(self._dphi)(R, jnp.zeros_like(R))
        return jnp.sqrt(dR / R)

    @_quantity_io("length", out="frequency")
    def kappa(self, R):
        """Epicycle frequency kappa^2 = d2Phi/dR2 + 3/R dPhi/dR at z = 0, 1/Myr."""

        def one(R):
            (pRR, _), _ = self._hess(R, 0.0)
            pR, _ = self._dphi(R, 0.0)
            return jnp.sqrt(pRR + 3.0 * pR / R)

        return jnp.vectorize(one)(jnp.asarray(R, float))

    @_quantity_io("length", out="frequency")
    def nu(self, R):
        """Vertical frequency nu^2 = d2Phi/dz2 at z = 0, 1/Myr."""

        def one(R):
            _, (_, pzz) = self._hess(R, 0.0)
            return jnp.sqrt(pzz)

        return jnp.vectorize(one)(jnp.asarray(R, float))

    @_quantity_io("action", out="length")
    def circular_radius(self, Lz):
        """Radius of the circular orbit with angular momentum |Lz| (kpc^2/Myr), kpc.

        Solves R^3 dPhi/dR(R, 0) = Lz^2 by bisection in ln R (bracket 1e-6 to
        1e5 kpc); differentiable through the implicit function theorem.
        """
        Lz = jnp.abs(jnp.asarray(Lz, float))

        def one(L):
            def resid(lnR, L):
                R = jnp.exp(lnR)
                dR, _ = self._dphi(R, 0.0)
                # log form keeps the residual well scaled over many decades
                return jnp.log(R**3 * dR) - 2.0 * jnp.log(L)

            sol = optx.root_find(
                resid,
                optx.Bisection(rtol=1e-14, atol=1e-14, flip="detect"),
                jnp.asarray(2.0),
                args=L,
                options=dict(lower=jnp.log(1e-6), upper=jnp.log(1e5)),
                max_steps=256,
                throw=False,
            )
            return jnp.exp(sol.value)

        return jnp.vectorize(one)(Lz)

    # ---------------------------------------------------------------- composition
    def __add__(self, other: "AbstractPotential") -> "AbstractPotential":
        from .composite import CompositePotential

        def parts(p):
            return p.components if isinstance(p, CompositePotential) else (p,)

        if not isinstance(other, AbstractPotential):
            return NotImplemented
        return CompositePotential(parts(self) + parts(other))
