"""Throughput of the shearing-box SEI (particle-steps per second), N = 50,000 stars.

Measures :func:`diskorbits.shearingbox.integrate` on the R8 box with warm
Schwarzschild initial conditions for three forcings:

* ``NoForcing`` (drifts only: the cost floor of the exact epicycle map and
  the vertical leapfrog sub-step);
* ``PlaneWaveForcing`` (one analytic sine per star per step);
* a bilinear gather from a 64 x 64 planar grid of (a_x, a_y), linearly
  interpolated in time between two snapshots: a stand-in for the mock ISM
  field kick (the real one lives in :mod:`diskorbits.ism`).

Run: ``.venv/bin/python benchmarks/bench_shearingbox_core.py [N] [n_steps]``.
Prints the best of three timings (compilation excluded). The REBOUND
comparison is a separate benchmark.
"""

from __future__ import annotations

import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from diskorbits import units
from diskorbits.shearingbox import (
    AbstractForcing,
    NoForcing,
    PlaneWaveForcing,
    box_preset,
    integrate,
    schwarzschild_initial_conditions,
)


class GridGatherForcing(AbstractForcing):
    """Bilinear, time-interpolated (a_x, a_y) from periodic n x n grids (benchmark stand-in)."""

    grids: jax.Array  # (2 snapshots, 2 components, n, n), kpc/Myr^2
    L: float

    def init(self, key):
        return self.grids

    def advance(self, state, j):
        return state[::-1]

    def acceleration(self, state, w, t, x, y, z):
        n = state.shape[-1]
        g = ((1.0 - w) * state[0] + w * state[1]).reshape(2, n * n)
        fx = (x / self.L + 0.5) * n - 0.5
        fy = (y / self.L + 0.5) * n - 0.5
        ix, iy = jnp.floor(fx), jnp.floor(fy)
        tx, ty = fx - ix, fy - iy
        ix0 = ix.astype(jnp.int32) % n
        iy0 = iy.astype(jnp.int32) % n
        ix1, iy1 = (ix0 + 1) % n, (iy0 + 1) % n
        a = (
            g[:, iy0 * n + ix0] * ((1 - tx) * (1 - ty))
            + g[:, iy0 * n + ix1] * (tx * (1 - ty))
            + g[:, iy1 * n + ix0] * ((1 - tx) * ty)
            + g[:, iy1 * n + ix1] * (tx * ty)
        )
        return a[0], a[1], jnp.zeros_like(z)


def measure(box, forcing, state, n_steps, n_sub=50):
    fstate = forcing.init(jax.random.PRNGKey(1))
    n_intervals = max(1, n_steps // n_sub)

    def run():
        return integrate(box, forcing, state, fstate, j0=0, n_intervals=n_intervals, n_sub=n_sub, dt_snap=1.0)

    jax.block_until_ready(run())  # compile
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        jax.block_until_ready(run())
        best = min(best, time.perf_counter() - t0)
    return state.x.shape[0] * n_intervals * n_sub / best


def main(n=50_000, n_steps=1000):
    box = box_preset("R8")
    state = schwarzschild_initial_conditions(
        box, n, sigma_R0=10 * units.KMS, sigma_z0=10 * units.KMS, key=jax.random.PRNGKey(0)
    )
    amp = (6 * units.KMS) ** 2
    k = 2 * np.pi / box.L
    grids = jnp.asarray(np.random.default_rng(2).normal(size=(2, 2, 64, 64)) * amp * k)
    forcings = {
        "NoForcing": NoForcing(),
        "PlaneWaveForcing": PlaneWaveForcing(amplitude=amp, kx=k, ky=k),
        "64x64 bilinear gather": GridGatherForcing(grids=grids, L=box.L),
    }
    print(f"shearing-box SEI, N = {n}, {n_steps} steps, backend = {jax.default_backend()}, "
          f"devices = {jax.device_count()}")
    for name, forcing in forcings.items():
        rate = measure(box, forcing, state, n_steps)
        print(f"  {name:<24s} {rate:10.3e} particle-steps/s")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)
