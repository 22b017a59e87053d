"""Langevin action diffusion: throughput, step convergence and a NumPy baseline.

Run:  python benchmarks/bench_langevin.py [--n 1000000] [--gyr 10] [--conv-n 100000] [--numpy-n 100000]

Sections:

1. **Production run** -- the R8 coefficients (Modak et al. 2026, Eqs. 40-41) on a
   cold population of ``--n`` stars for ``--gyr`` Gyr at the default step
   (``tau_b / 4`` at the D_RR turnover, 22 Myr), 40 log-spaced outputs from 1 Myr:
   wall time (compilation excluded, reported separately) and star-steps per second.
2. **Convergence** -- the same problem on ``--conv-n`` stars at dt = 88, 44, 22, 11
   Myr, each compared with dt/2 and dt/4 *on the same Brownian paths* (the fine run
   takes the coarse run's increments as substeps), so the table shows the time-step
   error itself rather than Monte-Carlo noise; the noise level of the curves is printed
   for scale. The last rows do the same for a J-space Milstein scheme with one normal
   per step (the textbook alternative), run in plain JAX here.
3. **NumPy baseline** -- the identical update (planar Heun step, float32 normals from a
   numpy Generator, D_phiphi trapezoid) vectorised in NumPy on ``--numpy-n`` stars,
   against the library kernel on the same stars and steps.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np


def _r8():
    from diskorbits.diffusion import diffusion_preset

    return diffusion_preset("R8")


# ----------------------------------------------------------------------------- 1. production run


def bench_production(n, gyr):
    from diskorbits.diffusion import langevin as L

    C = _r8()
    t = L.log_output_times(1e3 * gyr, 40, 1.0)
    t0 = time.perf_counter()
    L.evolve(C, np.zeros(n), t[:1], seed=0)  # compiles the kernel for this layout
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = L.evolve(C, np.zeros(n), t, seed=1)
    wall = time.perf_counter() - t0
    steps = int(res.stats["n_steps"].sum())
    return res, wall, compile_s, steps


# ----------------------------------------------------------------------------- 2. convergence


def _milstein_curves(n, t_out, dt, sub, fine, seed):
    """J-space Milstein (one normal per step) on the R8 broken law, coupled like evolve(_coupled=...)."""
    import jax
    import jax.numpy as jnp

    C = _r8()
    dl, dh, Jb = float(C.D_RR.low.d), float(C.D_RR.high.d), float(C.D_RR.turnover)
    pl, ph, Kb = float(C.D_phiphi.low.d), float(C.D_phiphi.high.d), float(C.D_phiphi.turnover)

    def step(J, dW, h):
        lin = (jnp.sqrt(J) + 0.5 * math.sqrt(dl) * dW) ** 2 + 0.25 * dl * h  # exact-in-mean, >= 0
        Js = jnp.maximum(J, Jb)
        r = Js**-0.25
        short = Js + math.sqrt(dh) * r * dW - 0.125 * dh * r**6 * (dW * dW + h)
        return jnp.abs(jnp.where(J < Jb, lin, short))

    def dphi(J):
        return jnp.where(J < Kb, pl, ph / jnp.sqrt(jnp.maximum(J, Kb)))

    @jax.jit
    def interval(J, V, key, k, h):
        def body(i, c):
            J, V = c
            z = jax.random.normal(jax.random.fold_in(key, i), (sub, n), jnp.float32).astype(jnp.float64)
            D0 = dphi(J)
            if fine:
                for j in range(sub):
                    Jn = step(J, z[j] * jnp.sqrt(h / sub), h / sub)
                    V = V + 0.5 * h / sub * (dphi(J) + dphi(Jn))
                    J = Jn
            else:
                J = step(J, z.sum(0) * jnp.sqrt(h / sub), h)
                V = V + 0.5 * h * (D0 + dphi(J))
            return J, V

        return jax.lax.fori_loop(0, k, body, (J, V))

    key = jax.random.key(seed)
    J, V, t0, out = jnp.zeros(n), jnp.zeros(n), 0.0, []
    Jphi = jnp.zeros(n)
    for i, t in enumerate(t_out):
        k = max(1, math.ceil((t - t0) / dt - 1e-9))
        J, V = interval(J, V, jax.random.fold_in(key, i), k, (t - t0) / k)
        Jphi = Jphi + jnp.sqrt(V) * jax.random.normal(jax.random.fold_in(key, 10_000 + i), (n,))
        V = jnp.zeros(n)
        out.append((float(jnp.sqrt(jnp.mean(J**2))), float(jnp.sqrt(jnp.mean(Jphi**2))), float(jnp.mean(J))))
        t0 = t
    return np.array(out)


def bench_convergence(n, gyr):
    from diskorbits.diffusion import langevin as L

    C = _r8()
    t = L.log_output_times(1e3 * gyr, 30, 1.0)
    names = ("rms_dJR", "rms_dJphi", "mean_JR")
    rows = []
    for dt in (88.0, 44.0, 22.0, 11.0):
        cells = []
        for sub in (2, 4):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                c = L.evolve(C, np.zeros(n), t, seed=5, dt_myr=dt, _coupled=(sub, False), n_store=0)
                f = L.evolve(C, np.zeros(n), t, seed=5, dt_myr=dt, _coupled=(sub, True), n_store=0)
            cells.append([np.max(np.abs(c.stats[k] / f.stats[k] - 1)) for k in names])
        rows.append(("lamperti-heun (evolve)", dt, cells))
    ref = L.evolve(C, np.zeros(n), t, seed=6, n_store=min(n, 20000))
    # Monte-Carlo standard error of the curves, from the stored stars, scaled to n
    m = ref.dJ_R.shape[1]
    se = []
    for arr in (ref.dJ_R, ref.dJ_phi):
        sq = arr**2
        se.append(np.max(0.5 * sq.std(axis=1) / np.maximum(sq.mean(axis=1), 1e-300) / math.sqrt(n)))
    for dt in (22.0, 11.0):
        cells = []
        for sub in (2, 4):
            c = _milstein_curves(n, t, dt, sub, False, 7)
            f = _milstein_curves(n, t, dt, sub, True, 7)
            cells.append(list(np.max(np.abs(c / f - 1), axis=0)))
        rows.append(("J-space Milstein", dt, cells))
    return rows, se, m


# ----------------------------------------------------------------------------- 3. NumPy baseline


def numpy_steps(n, n_steps, h, seed=0):
    """The planar Heun update of evolve(), in vectorised NumPy; returns star-steps/s."""
    from diskorbits.diffusion import langevin as L

    C = _r8()
    spec, prm = L._spec_and_params(C, True)
    c_lo, c_hi, y_b, u_b = prm[3:7]
    e_lo, e_hi, K_b = prm[7:10]
    cexp = 1.0 / (2.0 - spec.a_hi) - 0.5
    rng = np.random.default_rng(seed)
    X1 = L._y_of_J(spec, prm, rng.exponential(2e-3, n))
    X2 = np.zeros(n)
    V = np.zeros(n)

    def mult(r2):
        r = np.sqrt(r2)
        rs = np.maximum(r, y_b)
        return np.where(r >= y_b, h * (cexp / (rs - y_b + u_b) - 0.5 / rs) / rs, 0.0)

    def dphi(r2):
        r = np.sqrt(r2)
        J = np.where(r < y_b, r2 / c_lo**2, ((np.maximum(r, y_b) - y_b + u_b) / c_hi) ** (2.0 / (2.0 - spec.a_hi)))
        return np.where(J < K_b, e_lo, e_hi / np.sqrt(np.maximum(J, K_b)))

    Dp = dphi(X1**2 + X2**2)
    sh = math.sqrt(h)
    t0 = time.perf_counter()
    for _ in range(n_steps):
        w1 = rng.standard_normal(n, dtype=np.float32).astype(np.float64) * sh
        w2 = rng.standard_normal(n, dtype=np.float32).astype(np.float64) * sh
        m0 = mult(X1 * X1 + X2 * X2)
        P1, P2 = X1 + w1 + m0 * X1, X2 + w2 + m0 * X2
        m1 = mult(P1 * P1 + P2 * P2)
        X1, X2 = X1 + w1 + 0.5 * (m0 * X1 + m1 * P1), X2 + w2 + 0.5 * (m0 * X2 + m1 * P2)
        Dn = dphi(X1 * X1 + X2 * X2)
        V += 0.5 * h * (Dp + Dn)
        Dp = Dn
    return n * n_steps / (time.perf_counter() - t0)


def jax_steps(n, n_steps, h):
    import jax
    import jax.numpy as jnp

    from diskorbits.diffusion import langevin as L

    C = _r8()
    eng = L._make_engine(C, np.random.default_rng(0).exponential(2e-3, n), np.array([1.0]), key=jax.random.key(0), dt=h)

    def run():
        out = []
        for g in eng.groups:
            out.append(L._advance(eng.spec, eng.prm, g["X1"], g["X2"], g["xi"], g["valid"], g["J_R0"], g["J_phi"],
                                  g["J_phi0"], eng.key_R, eng.key_phi, g["blocks"], jnp.uint32(0), jnp.uint32(0),
                                  jnp.int32(n_steps), jnp.float64(h)))  # fmt: skip
        jax.block_until_ready(out)

    run()
    best = math.inf
    for _ in range(2):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return n * n_steps / best


# ----------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="stars in the production run")
    ap.add_argument("--gyr", type=float, default=10.0, help="length of the production and convergence runs, Gyr")
    ap.add_argument("--conv-n", type=int, default=100_000, help="stars in the convergence runs")
    ap.add_argument("--numpy-n", type=int, default=100_000, help="stars in the NumPy comparison")
    ap.add_argument("--numpy-steps", type=int, default=100)
    ap.add_argument("--skip", default="", help="comma list of sections to skip: production,convergence,numpy")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    import jax

    from diskorbits.diffusion import langevin as L

    C = _r8()
    print(f"JAX devices: {jax.devices()}; R8 coefficients; default dt = {L.default_dt(C):.2f} Myr "
          f"(tau_b / 4; suggested_dt(eps=0.1) = {L.suggested_dt(C):.3f} Myr)")  # fmt: skip

    if "production" not in skip:
        res, wall, comp, steps = bench_production(args.n, args.gyr)
        s = res.stats
        print(f"\n1. production: {args.n} stars x {args.gyr:g} Gyr, {steps} steps, dt {res.dt_myr:.2f} Myr")
        print(f"   wall {wall:.1f} s (+ {comp:.1f} s compile), {args.n * steps / wall:.3e} star-steps/s")
        print(f"   at {res.t_myr[-1] / 1e3:g} Gyr: rms dJ_R = {s['rms_dJR'][-1] / 1.0227e-3:.3f} kpc km/s, "
              f"rms dJ_phi = {s['rms_dJphi'][-1] / 1.0227e-3:.2f} kpc km/s, ratio = {s['ratio'][-1]:.4f} "
              f"(Eq. 39: {C.late_ratio:.4f}); max reflected fraction {s['reflected_fraction'].max():.1e}, "
              f"max |dJ_R|/J_R > 0.3 fraction above the turnover {s['big_kick_fraction'].max():.2f}")  # fmt: skip

    if "convergence" not in skip:
        rows, se, m = bench_convergence(args.conv_n, args.gyr)
        print(f"\n2. convergence: {args.conv_n} stars, {args.gyr:g} Gyr, 30 log-spaced outputs from 1 Myr;")
        print("   max over outputs of |curve(dt) / curve(dt/k) - 1|, same Brownian paths")
        hdr = f"   {'scheme':24s} {'dt':>6s} | " + " | ".join(f"{'vs dt/' + str(k):^26s}" for k in (2, 4))
        print(hdr)
        print(f"   {'':24s} {'Myr':>6s} | " + " | ".join(f"{'rms_dJR':>8s} {'rms_dJphi':>9s} {'<J_R>':>7s}" for _ in (2, 4)))
        for label, dt, cells in rows:
            print(f"   {label:24s} {dt:6.1f} | " + " | ".join(f"{a:8.2e} {b:9.2e} {c:7.2e}" for a, b, c in cells))
        print(f"   Monte-Carlo standard error of the curves at {args.conv_n} stars (independent noise): "
              f"rms dJ_R {se[0]:.1e}, rms dJ_phi {se[1]:.1e} (from {m} stored stars)")  # fmt: skip

    if "numpy" not in skip:
        h = L.default_dt(C)
        rate_np = numpy_steps(args.numpy_n, args.numpy_steps, h)
        rate_jx = jax_steps(args.numpy_n, args.numpy_steps, h)
        print(f"\n3. same update, {args.numpy_n} stars x {args.numpy_steps} steps (dt {h:.1f} Myr), star-steps/s:")
        print(f"   {'NumPy (Generator, float32 normals)':40s} {rate_np:.3e}")
        print(f"   {'diskorbits (JAX jit, fori_loop, blocks)':40s} {rate_jx:.3e}   ratio {rate_jx / rate_np:.1f}x")


if __name__ == "__main__":
    main()
