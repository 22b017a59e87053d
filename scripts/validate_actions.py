"""Validate Stäckel-fudge variants against surface-of-section ("exact") actions.

Usage::

    python scripts/validate_actions.py            # compare (computes the reference set if missing)
    python scripts/validate_actions.py --exact    # (re)compute the reference set only
    python scripts/validate_actions.py -n 256 --min-crossings 200
    python scripts/validate_actions.py --seed 20240612   # hold-out sample

1. Draws a fixed-seed sample of disk stars in MWPotential2014 (R uniform in
   4-12 kpc, z from a sech^2 layer of scale height 0.3 kpc cut at |z| < 1 kpc,
   sigma_R = 35 km/s, sigma_z = 20 km/s, v_phi ~ N(v_c(R), 25 km/s)).
2. Computes reference actions and frequencies by surfaces of section
   (:func:`diskorbits.actions.exact.sos_actions`) and stores them, with the
   phase-space coordinates, in ``tests/data/exact_actions_mw2014.npz``.
3. Runs the Stäckel fudge with several focal-distance strategies and prints /
   saves the median and 95th-percentile relative errors of J_R, J_z, Omega_R,
   Omega_z and the time per star of each variant (``docs/validation/``).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np

import diskorbits as do
from diskorbits import units
from diskorbits.actions.exact import sos_actions
from diskorbits.potentials import MWPotential2014

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "exact_actions_mw2014.npz"
DOCS = ROOT / "docs" / "validation"
FIG = DOCS / "figures" / "actions_errors.png"
SEED = 20240611
POTENTIAL_NAME = "MWPotential2014(ro=8 kpc, vo=220 km/s, bulge='tabulated')"


def draw_sample(pot, n, seed=SEED):
    """Disk stars: internal units (kpc, kpc/Myr)."""
    rng = np.random.default_rng(seed)
    R = rng.uniform(4.0, 12.0, n)
    # sech^2(z / 2h) layer, h = 0.3 kpc, by inverse CDF (tanh), truncated at 1 kpc
    u = rng.uniform(-np.tanh(1.0 / 0.6), np.tanh(1.0 / 0.6), n)
    z = 0.6 * np.arctanh(u)
    vc = np.asarray(pot.circular_velocity(R))
    vR = rng.normal(0.0, 35.0, n) * units.KMS
    vz = rng.normal(0.0, 20.0, n) * units.KMS
    vphi = vc + rng.normal(0.0, 25.0, n) * units.KMS
    return R, z, vR, vphi, vz


def compute_reference(n, min_crossings, seed=SEED, path=DATA):
    pot = MWPotential2014()
    R, z, vR, vphi, vz = draw_sample(pot, n, seed)
    t0 = time.perf_counter()
    ex = sos_actions(pot, R, z, vR, vphi, vz, min_crossings=min_crossings)
    wall = time.perf_counter() - t0
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        R=R, z=z, v_R=vR, v_phi=vphi, v_z=vz,
        J_R=ex.J_R, J_z=ex.J_z, L_z=ex.L_z,
        Omega_R=ex.Omega_R, Omega_phi=ex.Omega_phi, Omega_z=ex.Omega_z,
        err_J_R=ex.err_J_R, err_J_z=ex.err_J_z, err_Omega_R=ex.err_Omega_R, err_Omega_z=ex.err_Omega_z,
        flag=ex.flag, n_z=ex.n_z, n_R=ex.n_R,
        potential=np.array(POTENTIAL_NAME),
        units=np.array("kpc, Myr, Msun: velocities kpc/Myr, actions kpc^2/Myr, frequencies 1/Myr"),
        seed=np.array(seed),
        min_crossings=np.array(min_crossings),
        version=np.array(do.__version__),
    )
    print(f"reference: {n} orbits, {wall:.0f} s, flagged {np.count_nonzero(ex.flag)}; saved {path}")
    return path


def variants(pot):
    """Name -> (function(R, z, vR, vphi, vz) -> ActionResult, description)."""
    from diskorbits.actions import StaeckelFudge, compute_actions
    from diskorbits.actions.focal_distance import (
        estimate_delta_local,
        estimate_delta_orbit,
        estimate_delta_orbit_consistent,
    )

    def fudge(delta_fn, jr_line):
        def run(R, z, vR, vphi, vz):
            delta = delta_fn(R, z, vR, vphi, vz)
            return compute_actions(pot, R, z, vR, vphi, vz, method=StaeckelFudge(delta=delta, jr_line=jr_line))

        return run

    fixed = lambda *a: np.full(np.shape(a[0]), 3.2)  # noqa: E731  (galpy's common 0.4 ro)
    local = lambda R, z, *v: estimate_delta_local(pot, R, z)  # noqa: E731
    median = lambda *a: estimate_delta_orbit(pot, *a)  # noqa: E731
    cons = lambda *a: estimate_delta_orbit_consistent(pot, *a)  # noqa: E731
    cons2 = lambda *a: estimate_delta_orbit_consistent(pot, *a, n_iter=2)  # noqa: E731
    default = lambda *a: compute_actions(pot, *a, method=StaeckelFudge())  # noqa: E731
    return {
        "default StaeckelFudge() (orbit-consistent, star line)": default,
        "fixed Delta=3.2, midplane (galpy)": fudge(fixed, "midplane"),
        "local Delta, midplane (galpy per-star)": fudge(local, "midplane"),
        "local Delta, star line": fudge(local, "star"),
        "orbit-median Delta, midplane": fudge(median, "midplane"),
        "orbit-median Delta, star line": fudge(median, "star"),
        "orbit-consistent Delta, midplane": fudge(cons, "midplane"),
        "orbit-consistent Delta, star line": fudge(cons, "star"),
        "orbit-consistent x2 Delta, star line": fudge(cons2, "star"),
    }


def rel(a, b):
    return np.abs(np.asarray(a) / np.asarray(b) - 1.0)


def compare(path, write=True):
    ref = np.load(path)
    pot = MWPotential2014()
    good = ref["flag"] == 0
    args = [ref[k][good] for k in ("R", "z", "v_R", "v_phi", "v_z")]
    n = good.sum()
    print(f"{n} of {ref['flag'].size} reference orbits unflagged; potential {ref['potential']}")
    rows, errs = [], {}
    for name, fn in variants(pot).items():
        res = fn(*args)  # compile
        t0 = time.perf_counter()
        res = fn(*args)
        np.asarray(res.J_R)
        wall = time.perf_counter() - t0
        e = {
            "J_R": rel(res.J_R, ref["J_R"][good]),
            "J_z": rel(res.J_z, ref["J_z"][good]),
            "Omega_R": rel(res.Omega_R, ref["Omega_R"][good]),
            "Omega_z": rel(res.Omega_z, ref["Omega_z"][good]),
        }
        nbad = int(np.count_nonzero(np.asarray(res.flag)))
        row = {"variant": name, "us_per_star": 1e6 * wall / n, "flagged": nbad}
        for k, v in e.items():
            v = np.where(np.isfinite(v), v, np.inf)
            row[k] = (float(np.median(v)), float(np.percentile(v, 95)))
        rows.append(row)
        errs[name] = e
        print(
            f"{name:40s} " + "  ".join(f"{k} {row[k][0]:.1e}/{row[k][1]:.1e}" for k in e) + f"  {row['us_per_star']:.0f} us/star"
        )
    if write:
        DOCS.mkdir(parents=True, exist_ok=True)
        (DOCS / "actions_table.json").write_text(json.dumps({"n": int(n), "seed": int(ref["seed"]), "rows": rows}, indent=1))
        plot(errs, n)
    return rows


def plot(errs, n):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    FIG.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 4, figsize=(16, 4), sharey=True)
    bins = np.logspace(-7, 0, 50)
    colors = {"fixed": "C7", "local": "C0", "orbit-median": "C1", "orbit-consistent": "C3"}
    for ax, q in zip(axes, ("J_R", "J_z", "Omega_R", "Omega_z")):
        for name, e in errs.items():
            if "x2" in name:
                continue  # indistinguishable from one iteration
            v = np.sort(np.clip(e[q], 1e-7, 1.0))
            if name.startswith("default"):
                continue  # the orbit-consistent, star-line curve below
            c = colors[name.split(" ")[0]]
            ls = "--" if "midplane" in name else "-"
            ax.plot(v, np.arange(1, v.size + 1) / v.size, color=c, ls=ls, label=name)
        ax.axvline(0.01, color="k", ls=":", lw=0.8)
        ax.axhline(0.95, color="k", ls=":", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlim(bins[0], 1)
        ax.set_xlabel(f"|relative error| of {q}")
    axes[0].set_ylabel(f"cumulative fraction ({n} orbits)")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Stäckel fudge vs surface-of-section actions, MWPotential2014")
    fig.tight_layout()
    fig.savefig(FIG, dpi=110)
    print(f"saved {FIG}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=256, help="number of stars (default 256)")
    ap.add_argument("--min-crossings", type=int, default=200, help="radial periods per reference orbit")
    ap.add_argument("--exact", action="store_true", help="only (re)compute the reference set")
    ap.add_argument(
        "--seed",
        type=int,
        default=SEED,
        help="sample seed; another seed is a hold-out set, stored next to the reference and not plotted",
    )
    a = ap.parse_args()
    path = DATA if a.seed == SEED else DATA.with_name(f"exact_actions_mw2014_seed{a.seed}.npz")
    if a.exact or not path.exists():
        compute_reference(a.n, a.min_crossings, a.seed, path)
    if not a.exact:
        compare(path, write=a.seed == SEED)


if __name__ == "__main__":
    main()
