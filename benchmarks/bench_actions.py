"""Throughput of Stäckel-fudge actions + angles + frequencies, diskorbits vs galpy.

Run:  python benchmarks/bench_actions.py [--n 1000 10000 100000 1000000] [--galpy-max 20000] [--repeat 3]

All codes get the same disk stars (R 4-12 kpc, |z| < 1 kpc, sigma_R 35 km/s,
sigma_z 20 km/s, v_phi ~ 220 +- 25 km/s) in MWPotential2014 (ro = 8 kpc,
vo = 220 km/s), on the same machine in the same process, and every code computes
actions, angles and frequencies with a focal distance Delta estimated per star.
Columns:

* ``default``: ``compute_actions(..., method=StaeckelFudge())`` -- the
  orbit-consistent Delta (roots-only first pass + local fit on the orbit), J_R
  along the star's line; the accurate variant (docs/validation/actions.md).
* ``local``: ``StaeckelFudge(delta="local")`` -- the per-star local Delta of
  Sanders (2012), the same Delta recipe as galpy's per-star estimate.
* ``galpy Δ``, ``galpy AFA``, ``galpy tot``: galpy's per-star
  ``estimateDeltaStaeckel(..., no_median=True)``, its C
  ``actionAngleStaeckel.actionsFreqsAngles`` given those Deltas, and the two
  together (the per-star-Delta pipeline, the like-for-like comparison). galpy is
  timed on min(N, --galpy-max) stars and extrapolated linearly (its cost is linear
  in N).

Ratios: ``/tot`` divides by galpy's per-star-Delta pipeline (the headline number);
``/AFA`` by galpy's actionsFreqsAngles alone, i.e. as if galpy's Delta were free
(a lower bound on the speed-up).

All rates are the best of --repeat timed calls. diskorbits rates exclude the
one-off JIT compilation (reported separately, per compiled batch shape: the first
call minus the best timed call). "cpu/wall" is process CPU time over wall time
during the timed call (2.0 = both cores busy). Other jobs sharing the machine
lower all rates; compare the columns of one run, not runs on different days.
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


def _timed(fn):
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    return out, wall, (time.process_time() - c0) / wall


def _best(fn, repeat):
    """(wall seconds, cpu/wall) of the fastest of ``repeat`` calls."""
    runs = [_timed(fn)[1:] for _ in range(repeat)]
    return min(runs)


def time_diskorbits(n, delta, compiled, repeat):
    """(stars/s, cpu/wall, compile seconds or None if this batch shape was compiled before)."""
    import jax

    import diskorbits as do
    from diskorbits.actions import StaeckelFudge, compute_actions
    from diskorbits.actions.compute import CHUNK, _pad_size
    from diskorbits.potentials import MWPotential2014

    pot = MWPotential2014()
    method = StaeckelFudge(delta=delta)
    k = do.units.KMS
    R, z, vR, vT, vz = disk_sample(n)
    args = (R, z, vR * k, vT * k, vz * k)

    def run(m):
        res = compute_actions(pot, *(a[:m] for a in args), method=method)
        return jax.block_until_ready((res.J_R, res.J_z, res.theta_z, res.Omega_z))

    compile_s = 0.0
    new = False
    # compute_actions pads to a power of two (<= CHUNK) or cuts CHUNK-sized pieces:
    # compile every batch shape this N uses before timing
    for m in {min(n, CHUNK), n % CHUNK if n > CHUNK else 0} - {0}:
        shape = (delta, _pad_size(m) if m < CHUNK else CHUNK)
        if shape in compiled:
            continue
        _, first, _ = _timed(lambda: run(m))
        again, _ = _best(lambda: run(m), 2)
        compile_s += max(first - again, 0.0)
        compiled.add(shape)
        new = True
    wall, load = _best(lambda: run(n), repeat)
    return n / wall, load, (compile_s if new else None)


def time_galpy(n, repeat):
    """galpy: (Delta-estimate s/star, its cpu/wall, actionsFreqsAngles s/star, its cpu/wall)."""
    from galpy.actionAngle import actionAngleStaeckel, estimateDeltaStaeckel
    from galpy.potential import MWPotential2014

    R, z, vR, vT, vz = disk_sample(n)
    ro, vo = 8.0, 220.0
    delta = estimateDeltaStaeckel(MWPotential2014, R / ro, z / ro, no_median=True)
    t_d, load_d = _best(lambda: estimateDeltaStaeckel(MWPotential2014, R / ro, z / ro, no_median=True), repeat)
    aA = actionAngleStaeckel(pot=MWPotential2014, delta=delta, c=True)
    t_a, load_a = _best(
        lambda: aA.actionsFreqsAngles(R / ro, vR / vo, vT / vo, z / ro, vz / vo, np.zeros(n), delta=delta), repeat
    )
    return t_d / n, load_d, t_a / n, load_a


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--galpy-max", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3, help="timed calls per measurement (the best counts)")
    a = ap.parse_args()
    import jax

    print(f"machine: {os.cpu_count()} cores, JAX {jax.__version__} backend {jax.default_backend()}")
    print("rates in stars/s: actions + angles + frequencies, each code with its per-star Delta estimate")
    hdr = (
        f"{'N':>9} | {'default':>9} {'cpu/wall':>8} {'compile':>8} | {'local':>9} {'cpu/wall':>8} {'compile':>8} | "
        f"{'galpy Δ':>8} {'cpu/wall':>8} {'galpy AFA':>9} {'cpu/wall':>8} {'galpy tot':>9} | "
        f"{'default/tot':>11} {'local/tot':>9} | {'default/AFA':>11} {'local/AFA':>9}"
    )
    print(hdr)
    print("-" * len(hdr))
    galpy = {}
    compiled = set()
    rows = []
    for n in a.n:
        r_def, l_def, c_def = time_diskorbits(n, None, compiled, a.repeat)
        r_loc, l_loc, c_loc = time_diskorbits(n, "local", compiled, a.repeat)
        m = min(n, a.galpy_max)
        if m not in galpy:
            galpy[m] = time_galpy(m, a.repeat)
        td, ld, ta, la = galpy[m]
        g = 1.0 / (td + ta)
        comp = lambda c: f"{c:>7.1f}s" if c is not None else f"{'-':>8}"  # noqa: E731
        ext = "" if m == n else f"  (galpy timed on {m:,d}, extrapolated)"
        print(
            f"{n:>9,d} | {r_def:>9,.0f} {l_def:>8.2f} {comp(c_def)} | {r_loc:>9,.0f} {l_loc:>8.2f} {comp(c_loc)} | "
            f"{1 / td:>8,.0f} {ld:>8.2f} {1 / ta:>9,.0f} {la:>8.2f} {g:>9,.0f} | "
            f"{r_def / g:>10.1f}x {r_loc / g:>8.1f}x | {r_def * ta:>10.1f}x {r_loc * ta:>8.1f}x{ext}",
            flush=True,
        )
        rows.append((n, r_def, r_loc, g, 1.0 / ta))
    print("galpy cpu/wall ~1 means it ran on one core; diskorbits (XLA) uses the machine's cores.")
    big = [r for r in rows if r[0] >= 100_000]
    if big:
        n, r_def, r_loc, g, afa = big[0]
        print(
            f"\nHeadline (N = {n:,d}, same machine, same run): StaeckelFudge() {r_def:,.0f} stars/s = "
            f"{r_def / g:.1f}x galpy's per-star-Delta pipeline ({g:,.0f} stars/s: estimateDeltaStaeckel + "
            f"actionsFreqsAngles); {r_def / afa:.1f}x galpy's actionsFreqsAngles alone ({afa:,.0f} stars/s, "
            f"Delta given). delta=\"local\": {r_loc:,.0f} stars/s = {r_loc / g:.1f}x / {r_loc / afa:.1f}x."
        )


if __name__ == "__main__":
    main()
