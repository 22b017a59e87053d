"""Spherical potentials: define Phi(r), inherit Phi(R, z) and tabulation.

A spherical component implements the scalar method ``_phi_r(r)`` (kpc in,
kpc^2/Myr^2 out, zero at infinity). :class:`AbstractSphericalPotential` turns
it into the axisymmetric ``_phi(R, z)`` contract of
:class:`~diskorbits.potentials.base.AbstractPotential` and offers
:meth:`~AbstractSphericalPotential.tabulated`, a fast interpolated copy (see
:mod:`diskorbits.potentials.tabulated`).
"""

from __future__ import annotations

import abc


from .base import AbstractPotential, _safe_sqrt

__all__ = ["AbstractSphericalPotential"]


class AbstractSphericalPotential(AbstractPotential):
    """Base class of spherically symmetric potentials.

    Subclasses implement :meth:`_phi_r` for a scalar radius ``r`` (kpc), in
    kpc^2/Myr^2 with Phi -> 0 as r -> infinity. ``_phi_r`` must stay finite
    (and give finite derivatives) for ``r`` down to ~1e-150 kpc, which is
    what the centre maps to.
    """

    @abc.abstractmethod
    def _phi_r(self, r):
        """Potential at one radius ``r`` (kpc), kpc^2/Myr^2."""

    def _phi(self, R, z):
        # _safe_sqrt keeps r > 0 at the centre, where the force must vanish.
        return self._phi_r(_safe_sqrt(R * R + z * z))

    def tabulated(self, r_min=1e-5, r_max=1e3, n=None, *, h=None):
        """An interpolated copy for fast evaluation.

        Quintic Hermite interpolation in ln r with exact value, first and
        second ln r-derivatives at the nodes; see
        :class:`~diskorbits.potentials.tabulated.TabulatedSphericalPotential`
        for the extrapolation outside ``[r_min, r_max]`` and the accuracy.

        Parameters
        ----------
        r_min, r_max : float or Quantity, length (kpc)
            Radial range of the table.
        n : int, optional
            Number of nodes (default: spacing ``h`` in ln r).
        h : float, optional
            Node spacing in ln r (default 0.005 when ``n`` is not given).
        """
        from .tabulated import TabulatedSphericalPotential

        return TabulatedSphericalPotential.from_potential(self, r_min, r_max, n, h=h)
