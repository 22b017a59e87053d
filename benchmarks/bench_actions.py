"""Throughput of Stäckel-fudge actions + angles + frequencies, diskorbits vs galpy.

Run:  python benchmarks/bench_actions.py [--n 1000 10000 100000 1000000] [--galpy-max 20000]

Both codes get the same disk stars (R 4-12 kpc, |z| < 1 kpc, sigma_R 35 km/s,
sigma_z 20 km/s) in MWPotential2014 (ro = 8 kpc, vo = 220 km/s) with the same
per-star focal distance, on the same machine in the same process. galpy's C
implementation is timed on min(N, --galpy-max) stars (its cost is linear in N)
and its rate is used for the ratio. diskorbits timings exclude the one-off JIT
compilation, which is reported separately.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def disk_sample(n, seed=0):
    rng = np.random.default_rng(seed)
    R = rng.uniform(4.0, 12.0, n)
    z = rng.uniform(-1.0, 1.0, n)
    vR = rng.normal(0.0, 35.0, n)
    vT = 220.0 + rng.normal(0.0, 25.0, n)
    vz = rng.normal(0.0, 20.0, n)
    return R, z, vR, vT, vz


def time_diskorbits(n, chunk):
    import jax
    import jax.numpy as jnp

    import diskorbits as do
    from diskorbits.actions import StaeckelFudge, compute_actions
    from diskorbits.actions.focal_distance import estimate_delta
    from diskorbits.potentials import MWPotential2014

    pot = MWPotential2014()
    R, z, vR, vT, vz = disk_sample(n)
    k = do.units.KMS
    args = [jnp.asarray(a) for a in (R, z, vR * k, vT * k, vz * k)]

    @jax.jit
    def run(R, z, vR, vT, vz):
        delta = estimate_delta(pot, R, z)
        res = compute_actions(pot, R, z, vR, vT, vz, method=StaeckelFudge(delta=delta))
        return res.J_R, res.J_z, res.theta_z, res.Omega_z

    small = [a[: min(chunk, n)] for a in args]
    t0 = time.perf_counter()
    jax.block_until_ready(run(*small))
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(0, n, chunk):
        part = [a[i : i + chunk] for a in args]
        if part[0].shape[0] < chunk:  # pad the tail so the compiled shape is reused
            part = [jnp.pad(a, (0, chunk - a.shape[0]), mode="edge") for a in part]
        jax.block_until_ready(run(*part))
    return n / (time.perf_counter() - t0), compile_s


def time_galpy(n):
    from galpy.actionAngle import actionAngleStaeckel, estimateDeltaStaeckel
    from galpy.potential import MWPotential2014

    R, z, vR, vT, vz = disk_sample(n)
    ro, vo = 8.0, 220.0
    t0 = time.perf_counter()
    delta = estimateDeltaStaeckel(MWPotential2014, R / ro, z / ro, no_median=True)
    aA = actionAngleStaeckel(pot=MWPotential2014, delta=delta, c=True)
    aA.actionsFreqsAngles(R / ro, vR / vo, vT / vo, z / ro, vz / vo, np.zeros(n), delta=delta)
    return n / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--galpy-max", type=int, default=20_000)
    ap.add_argument("--chunk", type=int, default=65_536)
    a = ap.parse_args()
    import jax

    print(f"machine: {os.cpu_count()} cores, JAX backend {jax.default_backend()} ({jax.devices()[0].device_kind})")
    print(f"{'N':>9} {'diskorbits [stars/s]':>22} {'compile [s]':>12} {'galpy C [stars/s]':>19} {'ratio':>7}")
    galpy_rate = {}
    for n in a.n:
        rate, comp = time_diskorbits(n, min(a.chunk, n))
        m = min(n, a.galpy_max)
        if m not in galpy_rate:
            galpy_rate[m] = time_galpy(m)
        g = galpy_rate[m]
        print(f"{n:>9,d} {rate:>22,.0f} {comp:>12.1f} {g:>19,.0f} {rate / g:>7.1f}x")


if __name__ == "__main__":
    main()
