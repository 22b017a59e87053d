"""Orbit-integration throughput: diskorbits vs galpy (C) vs gala (C), same potential, same stars.

Run manually (not part of the tests)::

    python benchmarks/bench_orbits.py            # 1e3 and 1e4 stars
    python benchmarks/bench_orbits.py --n 1000 10000 100000

Potential: gala's MilkyWayPotential v1 (MN disk + 2 Hernquist + NFW), built in
each code from the same parameters. Stars: disk stars at 4-12 kpc. Each code
integrates for ``--time`` Myr with a fixed leapfrog step ``--dt`` Myr and
saves ``--nsave`` samples, and the throughput is star-steps per second
(= stars x steps / wall time, compilation excluded for diskorbits). galpy uses
``leapfrog_c`` and gala ``LeapfrogIntegrator`` (both compiled C) so that the
work per step is the same; their adaptive DOP853 is timed too, as orbits/s.
"""

from __future__ import annotations

import argparse
import time
import warnings

import astropy.units as u
import numpy as np

import diskorbits as do
from diskorbits import units
from diskorbits.orbits import Adaptive, Leapfrog, integrate_orbits, phase_space_from_cylindrical

MW = dict(disk=(6.8e10, 3.0, 0.28), bulge=(5e9, 1.0), nucleus=(1.71e9, 0.07), halo=(5.4e11, 15.62))


def stars(pot, n, seed=0):
    rng = np.random.default_rng(seed)
    R = rng.uniform(4, 12, n)
    vc = np.asarray(pot.circular_velocity(R))
    return phase_space_from_cylindrical(
        R, rng.uniform(0, 2 * np.pi, n), rng.normal(0, 0.2, n), rng.normal(0, 0.03, n), vc + rng.normal(0, 0.02, n), rng.normal(0, 0.02, n)
    )


def timed(fn, repeat=1):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_diskorbits(pot, xyz, vxyz, t, dt):
    run = lambda: integrate_orbits(pot, xyz, vxyz, t, method=Leapfrog(dt=dt)).xyz.block_until_ready()  # noqa: E731
    run()  # compile
    return timed(run)


def bench_diskorbits_adaptive(pot, xyz, vxyz, t, rtol):
    m = Adaptive(rtol=rtol, atol=rtol)
    run = lambda: integrate_orbits(pot, xyz, vxyz, t, method=m).xyz.block_until_ready()  # noqa: E731
    run()
    return timed(run)


def galpy_setup(xyz, vxyz, ro=8.0, vo=220.0):
    import galpy.potential as gpp
    from galpy.orbit import Orbit

    p = MW
    gpot = [
        gpp.MiyamotoNagaiPotential(amp=p["disk"][0] * u.Msun, a=p["disk"][1] * u.kpc, b=p["disk"][2] * u.kpc, ro=ro, vo=vo),
        gpp.HernquistPotential(amp=2 * p["bulge"][0] * u.Msun, a=p["bulge"][1] * u.kpc, ro=ro, vo=vo),
        gpp.HernquistPotential(amp=2 * p["nucleus"][0] * u.Msun, a=p["nucleus"][1] * u.kpc, ro=ro, vo=vo),
        gpp.NFWPotential(amp=p["halo"][0] * u.Msun, a=p["halo"][1] * u.kpc, ro=ro, vo=vo),
    ]
    R = np.hypot(xyz[:, 0], xyz[:, 1])
    vR = (xyz[:, 0] * vxyz[:, 0] + xyz[:, 1] * vxyz[:, 1]) / R
    vT = (xyz[:, 0] * vxyz[:, 1] - xyz[:, 1] * vxyz[:, 0]) / R
    kv = units.KMS * vo
    vxvv = np.stack([R / ro, vR / kv, vT / kv, xyz[:, 2] / ro, vxyz[:, 2] / kv, np.arctan2(xyz[:, 1], xyz[:, 0])], -1)
    return lambda: Orbit(vxvv, ro=ro, vo=vo), gpot


def bench_galpy(xyz, vxyz, t, dt, method):
    make, gpot = galpy_setup(xyz, vxyz)
    o = make()
    # galpy's C leapfrog takes its own internal step: dt= sets it.
    kw = dict(dt=dt * u.Myr) if method == "leapfrog_c" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return timed(lambda: o.integrate(t * u.Myr, gpot, method=method, numcores=1, **kw))


def bench_gala(xyz, vxyz, t, dt, integrator):
    import gala.dynamics as gd
    import gala.integrate as gi
    import gala.potential as gp
    from gala.units import galactic

    p = MW
    gpot = gp.CCompositePotential(
        disk=gp.MiyamotoNagaiPotential(*p["disk"], units=galactic),
        bulge=gp.HernquistPotential(*p["bulge"], units=galactic),
        nucleus=gp.HernquistPotential(*p["nucleus"], units=galactic),
        halo=gp.NFWPotential(*p["halo"], units=galactic),
    )
    w0 = gd.PhaseSpacePosition(pos=xyz.T * u.kpc, vel=vxyz.T * u.kpc / u.Myr)
    H = gp.Hamiltonian(gpot)
    n_steps = int(round((t[-1] - t[0]) / dt))
    if integrator == "leapfrog":
        # gala stores every step; this is its natural usage.
        return timed(lambda: H.integrate_orbit(w0, dt=dt, n_steps=n_steps, Integrator=gi.LeapfrogIntegrator))
    return timed(
        lambda: H.integrate_orbit(w0, dt=dt, n_steps=n_steps, Integrator=gi.DOPRI853Integrator, Integrator_kwargs=dict(rtol=1e-10, atol=1e-10))
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--time", type=float, default=500.0, help="Myr")
    ap.add_argument("--dt", type=float, default=0.5, help="leapfrog step, Myr")
    ap.add_argument("--nsave", type=int, default=51)
    ap.add_argument("--peers-max-n", type=int, default=10000, help="skip galpy/gala above this N (they are slow)")
    args = ap.parse_args()

    p = MW
    pot = (
        do.MiyamotoNagaiPotential(*p["disk"]) + do.HernquistPotential(*p["bulge"]) + do.HernquistPotential(*p["nucleus"]) + do.NFWPotential(*p["halo"])
    )
    t = np.linspace(0.0, args.time, args.nsave)
    steps = int(round(args.time / args.dt))
    print(f"{args.time:g} Myr, leapfrog dt = {args.dt:g} Myr ({steps} steps), {args.nsave} saves; throughput in star-steps/s")
    print(f"{'N':>8} {'diskorbits':>12} {'galpy C':>12} {'gala C':>12} {'ratio/galpy':>12} {'ratio/gala':>11}")
    for n in args.n:
        xyz, vxyz = stars(pot, n)
        r_do = n * steps / bench_diskorbits(pot, xyz, vxyz, t, args.dt)
        r_gp = r_ga = np.nan
        if n <= args.peers_max_n:
            try:
                r_gp = n * steps / bench_galpy(xyz, vxyz, t, args.dt, "leapfrog_c")
            except ImportError:
                pass
            try:
                r_ga = n * steps / bench_gala(xyz, vxyz, t, args.dt, "leapfrog")
            except ImportError:
                pass
        print(f"{n:>8d} {r_do:12.3g} {r_gp:12.3g} {r_ga:12.3g} {r_do / r_gp:12.2f} {r_do / r_ga:11.2f}")

    print("\nadaptive (rtol = 1e-10), orbits per second over the same span")
    print(f"{'N':>8} {'diskorbits':>12} {'galpy dop853_c':>15} {'gala DOPRI853':>14}")
    for n in args.n:
        if n > args.peers_max_n:
            continue
        xyz, vxyz = stars(pot, n)
        a_do = n / bench_diskorbits_adaptive(pot, xyz, vxyz, t, 1e-10)
        a_gp = n / bench_galpy(xyz, vxyz, t, args.dt, "dop853_c")
        a_ga = n / bench_gala(xyz[: min(n, 1000)], vxyz[: min(n, 1000)], t, args.dt, "dopri") * min(n, 1000) / n
        print(f"{n:>8d} {a_do:12.3g} {a_gp:15.3g} {a_ga:14.3g}")


if __name__ == "__main__":
    main()
