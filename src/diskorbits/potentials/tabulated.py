"""Tabulated spherical potentials: quintic Hermite interpolation in ln r.

Some spherical components are expensive to evaluate (the power law with
exponential cut-off needs incomplete gamma functions, ~100x slower in JAX
than a Miyamoto-Nagai disk). Orbit integration and Staeckel actions call the
potential hundreds of times per star, so such components are replaced by a
table of Phi, dPhi/dln r and d2Phi/dln r2 at equally spaced nodes in
u = ln r, interpolated with the quintic Hermite polynomial that matches all
three at both ends of each interval. The interpolant is C2, so forces,
curvatures and the Poisson density come from autodiff of the interpolant
just as for analytic components.

Accuracy: the error of quintic Hermite interpolation over an interval of
width h is bounded by h^6 max|Phi^(6)| / 46080 (derivatives in u). Measured
for the MWPotential2014 bulge with the default h = 0.005: Phi to ~1e-14,
forces to ~3e-13 relative, and the Poisson density (second derivatives
converge only as h^4) to ~1.5e-11 of the mean density M / (4 pi r^3).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import units
from .spherical import AbstractSphericalPotential

__all__ = ["TabulatedSphericalPotential"]

#: Default node spacing in ln r.
DEFAULT_LOG_SPACING = 0.005
#: Gauss-Legendre points used to integrate each interval's increment.
_N_GAUSS = 6


def _scalar(value, kind, name):
    v = units.to_internal(value, kind, name)
    if v.shape != () or not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name!r} must be a finite positive scalar, got {value!r}")
    return float(v)


def _radial_function(potential):
    """Return Phi(r) for a spherical potential or a sum of spherical potentials."""
    from .composite import CompositePotential

    if isinstance(potential, AbstractSphericalPotential):
        return potential._phi_r
    if isinstance(potential, CompositePotential) and all(
        isinstance(c, AbstractSphericalPotential) for c in potential.components
    ):
        return lambda r: sum(c._phi_r(r) for c in potential.components)
    raise TypeError(
        f"'potential' must be spherical (an AbstractSphericalPotential or a sum of them), "
        f"got {type(potential).__name__}"
    )


@eqx.filter_jit
def _node_table(potential, u, step):
    """Node data ``(Phi, Phi_u, Phi_uu, increment)`` at the nodes ``u`` (compiled once per model type)."""
    phi_r = _radial_function(potential)

    def f(ui):
        return phi_r(jnp.exp(ui))

    def derivs(ui):
        return jnp.stack([f(ui), jax.grad(f)(ui), jax.grad(jax.grad(f))(ui)])

    nodes = jax.vmap(derivs)(u)
    # Interval increments by Gauss-Legendre quadrature of dPhi/du: exact to
    # round-off relative to the increment itself (error ~ step^12).
    xg, wg = np.polynomial.legendre.leggauss(_N_GAUSS)
    ug = u[:-1, None] + 0.5 * step * (1.0 + jnp.asarray(xg))[None, :]
    dy = 0.5 * step * jnp.sum(jax.vmap(jax.vmap(jax.grad(f)))(ug) * wg, axis=1)
    return jnp.concatenate([nodes, jnp.append(dy, 0.0)[:, None]], axis=1)


class TabulatedSphericalPotential(AbstractSphericalPotential):
    """Spherical potential interpolated from a table in u = ln r.

    Inside ``[r_min, r_max]`` Phi is the quintic Hermite interpolant of the
    node values ``(Phi, dPhi/du, d2Phi/du2)``. Outside, it is continued
    analytically:

    * ``r < r_min``: a central power law,
      ``Phi = Phi_0 + (Phi_u,0 / k) ((r / r_min)^k - 1)`` with
      ``k = Phi_uu,0 / Phi_u,0``, which matches value, first and second
      derivative at ``r_min`` and is exact for a density cusp rho ~ r^-alpha
      (k = 2 - alpha) or a core (k = 2). If ``k <= 0`` (no cusp of that
      form) Phi is continued linearly in u.
    * ``r > r_max``: ``Phi = A / r + B / r^2`` matching value and slope at
      ``r_max``; this is exact (B = 0) when no mass lies beyond ``r_max``,
      as for components with an exponential cut-off, and good to
      O((scale / r)^2) for a Hernquist-like 1/(r + c). For models with
      extended mass (NFW) the table should reach far enough that the
      continuation does not matter.

    Build it with :meth:`from_potential` or ``component.tabulated()``.

    Parameters
    ----------
    u0 : float
        ln(r_min / kpc).
    h : float
        Node spacing in ln r.
    nodes : array, shape (n, 4)
        ``Phi`` (kpc^2/Myr^2), ``dPhi/du`` and ``d2Phi/du2`` at
        ``u_i = u0 + i h``, and ``Phi(u_i+1) - Phi(u_i)`` (last row unused).

    Examples
    --------
    >>> from diskorbits.potentials import HernquistPotential
    >>> exact = HernquistPotential(1e10, 1.0)
    >>> fast = exact.tabulated(1e-4, 1e3)
    >>> bool(abs(fast.potential(3.0, 1.0) / exact.potential(3.0, 1.0) - 1) < 1e-13)
    True
    """

    u0: jnp.ndarray
    h: jnp.ndarray
    nodes: jnp.ndarray
    #: Per-interval polynomial coefficients (derived from ``nodes``), shape (n - 1, 8):
    #: Phi = sum_k c_k t^k (k = 0..5) on [u_i, u_i+1] with t = (u - u_i) / h; columns 6, 7
    #: are padding, so that one aligned 64-byte row is fetched by a single gather.
    coeffs: jnp.ndarray

    def __init__(self, u0, h, nodes):
        nodes = jnp.asarray(nodes, dtype=jnp.float64)
        if nodes.ndim != 2 or nodes.shape[1] != 4 or nodes.shape[0] < 2:
            raise ValueError(f"'nodes' must have shape (n >= 2, 4), got {nodes.shape}")
        self.u0 = jnp.asarray(u0, dtype=jnp.float64)
        self.h = jnp.asarray(h, dtype=jnp.float64)
        self.nodes = nodes
        self.coeffs = _interval_coefficients(nodes, self.h)

    @classmethod
    def from_potential(cls, potential, r_min=1e-5, r_max=1e3, n=None, *, h=None):
        """Tabulate a spherical potential between ``r_min`` and ``r_max``.

        Node values and derivatives come from autodiff of the exact radial
        function, so the table can also be built inside ``jax.grad`` (the
        node values are differentiable in the potential's parameters).

        Parameters
        ----------
        potential : AbstractSphericalPotential or sum of them
        r_min, r_max : float or Quantity, length (kpc)
        n : int, optional
            Number of nodes; default chosen so the spacing in ln r is at most
            ``h``.
        h : float, optional
            Target spacing in ln r (default 0.005). Only one of ``n``, ``h``.

        Raises
        ------
        ValueError
            If the range or node count is invalid.
        TypeError
            If ``potential`` is not spherical.
        """
        _radial_function(potential)  # type check before any work
        r_min = _scalar(r_min, "length", "r_min")
        r_max = _scalar(r_max, "length", "r_max")
        if not r_max > r_min:
            raise ValueError(f"'r_max' ({r_max}) must exceed 'r_min' ({r_min})")
        span = np.log(r_max / r_min)
        if n is not None and h is not None:
            raise ValueError("give only one of 'n' and 'h'")
        if n is None:
            h = DEFAULT_LOG_SPACING if h is None else h
            if not (np.isfinite(h) and h > 0):
                raise ValueError(f"'h' must be a finite positive spacing in ln r, got {h!r}")
            n = int(np.ceil(span / h)) + 1
        n = int(n)
        if n < 2:
            raise ValueError(f"'n' must be >= 2, got {n}")
        u = jnp.linspace(np.log(r_min), np.log(r_max), n)
        step = span / (n - 1)
        nodes = _node_table(potential, u, jnp.asarray(step))
        return cls(np.log(r_min), step, nodes)

    # ---------------------------------------------------------------- properties
    @property
    def r_min(self):
        """Inner edge of the table, kpc."""
        return jnp.exp(self.u0)

    @property
    def r_max(self):
        """Outer edge of the table, kpc."""
        return jnp.exp(self.u0 + self.h * (self.nodes.shape[0] - 1))

    # ---------------------------------------------------------------- kernel
    def _phi_u(self, u):
        """Phi as a function of u = ln r (scalar)."""
        return self._phi_ur(u, jnp.exp(u))

    def _phi_ur(self, u, r):
        """Phi at u = ln r, given also r itself (saves an exponential for the outer continuation)."""
        n = self.nodes.shape[0]
        u_max = self.u0 + self.h * (n - 1)
        s = (u - self.u0) / self.h
        # The interval index carries no derivative; clipping it (not u) keeps
        # the gradient exact at the table edges, and the polynomial stays
        # finite (merely unused) outside the table.
        i = jnp.clip(jnp.floor(jax.lax.stop_gradient(s)).astype(jnp.int32), 0, n - 2)
        t = s - i
        # One gather of the interval's coefficients (Horner form). Gathers are the
        # slow part of table look-ups on XLA:CPU; one row of 8 is ~3x faster than
        # gathering two node rows and forming the coefficients per evaluation.
        c = self.coeffs[i]
        inside = c[0] + t * (c[1] + t * (c[2] + t * (c[3] + t * (c[4] + t * c[5]))))

        # Inner continuation: power law matching value, slope and curvature.
        f0, g0, q0, _ = self.nodes[0]
        k = q0 / jnp.where(g0 != 0, g0, 1.0)
        ok = (k > 0) & (g0 != 0)
        k_safe = jnp.where(ok, k, 1.0)
        du_in = jnp.minimum(u - self.u0, 0.0)
        inner = jnp.where(ok, f0 + g0 / k_safe * jnp.expm1(k_safe * du_in), f0 + g0 * du_in)

        # Outer continuation: Phi = A/r + B/r^2 matching value and slope; a
        # Kepler tail (no mass beyond r_max) gives B = 0 and is reproduced exactly.
        fn, gn, _, _ = self.nodes[n - 1]
        x = jnp.minimum(jnp.exp(u_max) / r, 1.0)  # r_max / r
        outer = (2.0 * fn + gn) * x - (fn + gn) * x * x

        return jnp.where(u < self.u0, inner, jnp.where(u > u_max, outer, inside))

    def _phi_r(self, r):
        return self._phi_ur(jnp.log(r), r)


def _interval_coefficients(nodes, h):
    """Coefficients of the quintic Hermite polynomial of each interval in t = (u - u_i) / h, padded to 8."""
    y0, d0, s0, dy = nodes[:-1, 0], h * nodes[:-1, 1], h * h * nodes[:-1, 2], nodes[:-1, 3]
    d1, s1 = h * nodes[1:, 1], h * h * nodes[1:, 2]
    # dy = Phi(u_i+1) - Phi(u_i) is stored separately (integrated from
    # dPhi/du): differencing two large node values would cost ~eps |Phi| / h
    # in the force where Phi is nearly flat (near the centre).
    c3 = 10.0 * dy - 6.0 * d0 - 4.0 * d1 - 0.5 * (3.0 * s0 - s1)
    c4 = -15.0 * dy + 8.0 * d0 + 7.0 * d1 + 0.5 * (3.0 * s0 - 2.0 * s1)
    c5 = 6.0 * dy - 3.0 * d0 - 3.0 * d1 - 0.5 * (s0 - s1)
    zero = jnp.zeros_like(y0)
    return jnp.stack([y0, d0, 0.5 * s0, c3, c4, c5, zero, zero], axis=1)
