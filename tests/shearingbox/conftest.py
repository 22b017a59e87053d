"""Shared boxes and test forcings for the shearing-box tests."""

import math

import jax.numpy as jnp
import pytest

from diskorbits import units
from diskorbits.shearingbox import AbstractForcing, ShearingBox, box_preset


class SnapshotWaveForcing(AbstractForcing):
    """A plane wave whose amplitude is given at snapshot times and interpolated linearly in ``w``.

    Exercises the field-state plumbing: the state holds the amplitudes at the
    two bracketing snapshots, ``advance`` shifts them and computes the next
    one from ``j``, and the kick uses ``w``. The amplitude at snapshot ``j`` is
    ``amplitude * cos(omega * j * dt_snap)``.
    """

    amplitude: float
    kx: float
    ky: float
    omega: float
    dt_snap: float

    def _c(self, j):
        return self.amplitude * jnp.cos(self.omega * self.dt_snap * j)

    def init(self, key):
        return jnp.stack([self._c(0.0), self._c(1.0)])

    def advance(self, state, j):
        return jnp.stack([state[1], self._c(j + 1.0)])

    def acceleration(self, state, w, t, x, y, z):
        amp = (1.0 - w) * state[0] + w * state[1]
        s = amp * jnp.sin(self.kx * x + self.ky * y)
        return self.kx * s, self.ky * s, jnp.zeros_like(z)


class ClockWaveForcing(AbstractForcing):
    """A plane wave with amplitude ``amplitude * cos(omega t)`` using the absolute time ``t``."""

    amplitude: float
    kx: float
    ky: float
    omega: float

    def init(self, key):
        return jnp.zeros(())

    def advance(self, state, j):
        return state

    def acceleration(self, state, w, t, x, y, z):
        s = self.amplitude * jnp.cos(self.omega * t) * jnp.sin(self.kx * x + self.ky * y)
        return self.kx * s, self.ky * s, jnp.zeros_like(z)


@pytest.fixture(scope="session")
def r8():
    return box_preset("R8")


@pytest.fixture(scope="session")
def make_box():
    """R8-like box with a chosen shear ``q`` and side ``L`` (kpc)."""

    def make(q=1.0, L=None):
        base = box_preset("R8")
        return ShearingBox(Omega=base.Omega, q=q, L=base.L if L is None else L, R0=base.R0, vertical=base.vertical)

    return make


@pytest.fixture(scope="session")
def snapshot_wave():
    return SnapshotWaveForcing


@pytest.fixture(scope="session")
def clock_wave():
    return ClockWaveForcing


@pytest.fixture(scope="session")
def kms():
    return units.KMS


@pytest.fixture(scope="session")
def two_pi():
    return 2 * math.pi
