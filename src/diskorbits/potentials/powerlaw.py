"""Spherical power-law density with an exponential (Gaussian) cut-off.

rho(r) = A r^-alpha exp(-(r/r_c)^2), the bulge of Bovy (2015)'s
MWPotential2014 (galpy's ``PowerSphericalPotentialwCutoff``).
"""

from __future__ import annotations

import astropy.units as u
import jax.numpy as jnp
import jax.scipy.special as jss
import numpy as np

from .. import units
from .components import _param
from .spherical import AbstractSphericalPotential

__all__ = ["PowerLawCutoffPotential"]


class PowerLawCutoffPotential(AbstractSphericalPotential):
    r"""Power-law density cusp with a Gaussian cut-off (Bovy 2015, Sec. 3.5).

    .. math::

        \rho(r) = A\, r^{-\alpha} \exp[-(r/r_c)^2],\qquad
        M = 2\pi A\, r_c^{3-\alpha}\, \Gamma(3/2 - \alpha/2)

    parameterised by the **total mass** ``m`` (so ``A`` is derived). With
    ``s = 3/2 - alpha/2``, ``s' = 1 - alpha/2`` and ``x = (r/r_c)^2`` the
    potential, zero at infinity, is

    .. math::

        \Phi(r) = -G m \left[\frac{P(s, x)}{r}
                  + \frac{\Gamma(s')\, Q(s', x)}{r_c\, \Gamma(s)}\right]

    with P, Q the regularised lower/upper incomplete gamma functions (the
    enclosed-mass term plus the potential of the shells outside r).

    Zero point: galpy's ``PowerSphericalPotentialwCutoff`` is zero at the
    *centre* instead; galpy's value equals ours plus the constant
    ``G m Gamma(s') / (r_c Gamma(s))`` (= -Phi(0), see :attr:`central_potential`).
    Forces and densities are identical.

    Parameters
    ----------
    m : float or Quantity, mass (Msun)
        Total mass.
    alpha : float
        Inner logarithmic density slope; must satisfy ``alpha < 2`` (a finite
        central potential).
    r_c : float or Quantity, length (kpc)
        Cut-off radius.

    Raises
    ------
    ValueError
        If ``m`` or ``r_c`` is not finite and positive, or ``alpha >= 2``.

    Notes
    -----
    ``jax.scipy.special.gammainc`` is ~100x slower than the other components;
    use :meth:`tabulated` inside orbit integration and action loops. The
    exact form stays differentiable in ``m``, ``alpha`` and ``r_c``.

    Examples
    --------
    >>> from diskorbits.potentials import PowerLawCutoffPotential
    >>> bulge = PowerLawCutoffPotential(m=5e9, alpha=1.8, r_c=1.9)
    >>> bool(abs(bulge.enclosed_mass(1e3) / 5e9 - 1) < 1e-12)
    True
    """

    m: jnp.ndarray
    alpha: jnp.ndarray
    r_c: jnp.ndarray

    def __init__(self, m, alpha, r_c):
        self.m = _param(m, "mass", "m")
        self.alpha = _param(alpha, "dimensionless", "alpha", positive=False)
        if not self.alpha < 2.0:
            raise ValueError(f"'alpha' must be < 2 for a finite central potential, got {float(self.alpha)!r}")
        self.r_c = _param(r_c, "length", "r_c")

    @classmethod
    def from_density(cls, rho1, r1, alpha, r_c):
        """Build from the density normalisation, as galpy does.

        Parameters
        ----------
        rho1 : float or Quantity, mass density (Msun/kpc^3)
            ``A r1^-alpha``: the density at ``r1`` without the cut-off factor.
        r1 : float or Quantity, length (kpc)
        alpha, r_c : see the class.
        """
        if isinstance(rho1, u.Quantity):
            try:
                rho1 = rho1.to_value(u.Msun / u.kpc**3)
            except u.UnitConversionError:
                raise u.UnitConversionError(f"'rho1' has unit {rho1.unit!s}, expected a mass density") from None
        rho1 = float(rho1)
        r1 = float(units.to_internal(r1, "length", "r1"))
        r_c_v = float(units.to_internal(r_c, "length", "r_c"))
        a = float(alpha)
        amp = rho1 * r1**a
        m = 2.0 * np.pi * amp * r_c_v ** (3.0 - a) * float(np.exp(jss.gammaln(1.5 - a / 2.0)))
        return cls(m, alpha, r_c)

    # ---------------------------------------------------------------- derived
    @property
    def amplitude(self):
        """Density normalisation ``A`` in rho = A r^-alpha exp(-(r/r_c)^2), Msun kpc^(alpha-3)."""
        s = 1.5 - 0.5 * self.alpha
        return self.m / (2.0 * jnp.pi * self.r_c ** (3.0 - self.alpha) * jnp.exp(jss.gammaln(s)))

    @property
    def central_potential(self):
        """Phi(0) = -G m Gamma(1 - alpha/2) / (r_c Gamma(3/2 - alpha/2)), kpc^2/Myr^2."""
        s, s1 = 1.5 - 0.5 * self.alpha, 1.0 - 0.5 * self.alpha
        return -units.G * self.m * jnp.exp(jss.gammaln(s1) - jss.gammaln(s)) / self.r_c

    def enclosed_mass(self, r):
        """Mass inside radius ``r`` (kpc), Msun: m P(3/2 - alpha/2, (r/r_c)^2)."""
        r = jnp.asarray(units.to_internal(r, "length", "r"))
        return self.m * jss.gammainc(1.5 - 0.5 * self.alpha, (r / self.r_c) ** 2)

    # ---------------------------------------------------------------- kernel
    def _phi_r(self, r):
        s, s1 = 1.5 - 0.5 * self.alpha, 1.0 - 0.5 * self.alpha
        x = (r / self.r_c) ** 2
        inner = jss.gammainc(s, x) / r
        outer = jnp.exp(jss.gammaln(s1) - jss.gammaln(s)) * jss.gammaincc(s1, x) / self.r_c
        return -units.G * self.m * (inner + outer)
