"""The contract between the shearing-box integrator and whatever kicks the stars.

The integrator (:mod:`diskorbits.shearingbox.integrator`) advances stars
through *snapshot intervals* of fixed length ``dt_snap`` (1 Myr by default,
as the TIGRESS-NCR outputs used by Modak et al. 2026), with ``n_sub`` kick
steps inside each interval. A forcing is an immutable :class:`equinox.Module`
that owns a small *field state* (a PyTree of arrays carried through
``jax.lax.scan``), so that mock fields with memory (Ornstein-Uhlenbeck),
fresh white-noise realisations and looped snapshot windows all fit one loop:

- :meth:`AbstractForcing.init` builds the state for interval 0;
- :meth:`AbstractForcing.advance` moves the state to interval ``j``;
- :meth:`AbstractForcing.acceleration` returns ``-grad(delta phi)`` at star
  positions, at fractional time ``w`` in [0, 1] inside the current interval
  (linear interpolation in time between the bracketing snapshots, paper
  Eq. B7).

Everything here is pure JAX in the internal units (kpc, Myr, Msun;
accelerations in kpc/Myr^2); positions are box coordinates ``x`` (radial),
``y`` (azimuthal), ``z`` (vertical) with ``|x|, |y| <= L/2``. The state must
be a deterministic function of ``(key, j)`` and the previous state, so that a
run restarted from a checkpoint of ``(stars, field state)`` ends bit-identical
to an uninterrupted one.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp

__all__ = ["AbstractForcing", "NoForcing", "PlaneWaveForcing"]


class AbstractForcing(eqx.Module):
    """Interface of an external potential fluctuation acting on box stars."""

    @abc.abstractmethod
    def init(self, key):
        """Field state for snapshot interval 0 (a PyTree of arrays)."""

    @abc.abstractmethod
    def advance(self, state, j):
        """Field state for snapshot interval ``j`` (int32 scalar), given that of ``j - 1``."""

    @abc.abstractmethod
    def acceleration(self, state, w, t, x, y, z):
        """Acceleration ``(a_x, a_y, a_z)`` in kpc/Myr^2 at positions (kpc).

        ``w`` is the fractional position inside the current snapshot interval
        and ``t`` the absolute time in Myr (for forcings with explicit time
        dependence, e.g. a moving gas mid-plane).
        """


class NoForcing(AbstractForcing):
    """No perturbation: the unperturbed shearing box (for tests and timing)."""

    def init(self, key):
        return jnp.zeros(())

    def advance(self, state, j):
        return state

    def acceleration(self, state, w, t, x, y, z):
        zero = jnp.zeros_like(x)
        return zero, zero, zero


class PlaneWaveForcing(AbstractForcing):
    """A single static plane wave ``phi = amplitude * cos(kx x + ky y)`` (no z dependence).

    Periodic in the box when ``kx, ky`` are multiples of ``2 pi / L``. Used to
    test the kick against an analytic force; ``amplitude`` in kpc^2/Myr^2,
    wavenumbers in 1/kpc.
    """

    amplitude: float
    kx: float
    ky: float

    def init(self, key):
        return jnp.zeros(())

    def advance(self, state, j):
        return state

    def acceleration(self, state, w, t, x, y, z):
        s = self.amplitude * jnp.sin(self.kx * x + self.ky * y)
        return self.kx * s, self.ky * s, jnp.zeros_like(z)
