"""The interface every orbit integration method implements."""

from __future__ import annotations

import abc

import equinox as eqx
import numpy as np

__all__ = ["AbstractOrbitMethod"]


class AbstractOrbitMethod(eqx.Module):
    """Base class of the orbit integrators accepted by :func:`integrate_orbits`.

    A method turns a batch of initial conditions into phase-space samples at the
    requested times. It sees internal units only (kpc, Myr, kpc/Myr) and a
    *concrete* NumPy time grid, because the number of steps it takes must be
    known when the computation is traced.
    """

    @abc.abstractmethod
    def _solve(self, potential, xyz0, vxyz0, t: np.ndarray):
        """Integrate ``N`` stars.

        Parameters
        ----------
        potential : AbstractPotential
        xyz0, vxyz0 : jax.Array, shape (N, 3)
            Initial positions (kpc) and velocities (kpc/Myr) at ``t[0]``.
        t : numpy.ndarray, shape (T,)
            Strictly monotonic save times in Myr (``T >= 2``).

        Returns
        -------
        xyz, vxyz : jax.Array, shape (N, T, 3)
        result : jax.Array of int32, shape (N,)
            :class:`~diskorbits.orbits.OrbitResult` codes.
        n_steps : jax.Array of int, shape (N,)
            Accepted steps taken for each star.
        """
