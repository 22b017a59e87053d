"""Fix the amplitude C of the mock ISM spectrum once, on cold R8 ensembles.

Usage:  python scripts/calibrate_ism.py [--n 4000] [--seeds 6] [--iterations 4] [--write]

Target: the long-wavelength azimuthal diffusion coefficient of Modak et al.
(2026) Eq. 41, D_phiphi = 6900 (kpc km/s)^2/Gyr. With alpha_phi = 0 the rms
angular-momentum change of a cold ensemble is sqrt(D_phiphi t) (Eq. 30), so we
measure D = <dJ_phi^2>(1 Gyr) / 1 Gyr, pooled over several independent field
realisations and star samples (the 1-kpc box holds only a few modes at the
dominant scale, so one realisation scatters by ~10-20%). In the pure long-wavelength regime D is
proportional to C (the potential is linear in the density contrast and D to
its power); stars that leave it before 1 Gyr make D grow more slowly, so the
script steps in log C with the measured local slope until D hits the target. ``--write`` records C, the measured coefficient, the resulting rms
mid-plane potential fluctuation and the run sizes in
``src/diskorbits/ism/calibration.json``, which :mod:`diskorbits.ism.presets`
reads.
"""

from __future__ import annotations

import argparse
import datetime
import json
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from diskorbits import __version__, units
from diskorbits.ism import CALIBRATION_FILE, CALIBRATED_C, expected_rms_potential, ism_preset, make_mock_field
from diskorbits.shearingbox import box_preset, integrate, per_star_observer, schwarzschild_initial_conditions, steps_per_interval

TARGET = 6900.0  # (kpc km/s)^2 / Gyr, Modak et al. 2026 Eq. 41 (J_R << J_*)
T_MYR = 1000
DT = 0.25


def mean_square_dJphi(C, n, seed):
    """<dJ_phi^2> at 1 Gyr for one cold R8 ensemble, (kpc km/s)^2."""
    box = box_preset("R8")
    key = jax.random.PRNGKey(seed)
    k_ic, k_field = jax.random.split(key)
    field = make_mock_field(box, ism_preset("R8", C=C), key=k_field, midplane_only=True, vertical_forcing=False)
    s0 = schwarzschild_initial_conditions(box, n, sigma_R0=0.0, sigma_z0=0.0, key=k_ic)
    run = eqx.filter_jit(lambda b, f, s, fs: integrate(b, f, s, fs, j0=0, n_intervals=T_MYR,
                                                       n_sub=steps_per_interval(1.0, DT), dt_snap=1.0))
    s1, _, _ = run(box, field, s0, field.init(k_field))
    dJ = per_star_observer(box, s0)(s1)["dJ_phi"] / units.KPC_KMS
    return float(jnp.mean(dJ**2))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4000, help="stars per ensemble")
    ap.add_argument("--seeds", type=int, default=6, help="independent field realisations")
    ap.add_argument("--iterations", type=int, default=4)
    ap.add_argument("--start", type=float, default=CALIBRATED_C, help="starting C (kpc^2)")
    ap.add_argument("--write", action="store_true", help=f"record the result in {CALIBRATION_FILE}")
    args = ap.parse_args()

    C = args.start
    history = []
    for it in range(args.iterations):
        t0 = time.time()
        ms = [mean_square_dJphi(C, args.n, 1000 + s) for s in range(args.seeds)]
        D = np.mean(ms) / (T_MYR / 1e3)
        err = np.std(ms, ddof=1) / np.sqrt(len(ms)) / (T_MYR / 1e3)
        history.append({"C": C, "D_phiphi": D, "D_phiphi_err": err, "per_seed": [m / (T_MYR / 1e3) for m in ms]})
        print(f"iteration {it}: C = {C:.6g} kpc^2 -> D_phiphi = {D:.0f} +- {err:.0f} (kpc km/s)^2/Gyr "
              f"[{time.time() - t0:.0f} s]")
        if it < args.iterations - 1:
            # D grows more slowly than C once stars leave the long-wavelength regime
            # within the 1 Gyr, so step in log C with the measured local slope.
            slope = 1.0
            if len(history) > 1:
                a, b = history[-2], history[-1]
                slope = np.log(b["D_phiphi"] / a["D_phiphi"]) / np.log(b["C"] / a["C"])
                slope = float(np.clip(slope, 0.3, 1.5))
            C = C * (TARGET / D) ** (1.0 / slope)
    final = history[-1]
    rms = expected_rms_potential(box_preset("R8"), ism_preset("R8", C=final["C"]))
    print(f"C = {final['C']:.6g} kpc^2: D_phiphi = {final['D_phiphi']:.0f} +- {final['D_phiphi_err']:.0f}, "
          f"rms mid-plane delta_phi = {rms:.2f} (km/s)^2 = ({np.sqrt(rms):.2f} km/s)^2")
    if args.write:
        doc = {
            "C": final["C"],
            "C_unit": "kpc^2 (P_delta quoted at k = 10/kpc)",
            "target_D_phiphi": TARGET,
            "measured_D_phiphi": final["D_phiphi"],
            "measured_D_phiphi_err": final["D_phiphi_err"],
            "rms_midplane_potential_kms2": rms,
            "method": (f"cold R8 ensembles (sigma_R0 = sigma_z0 = 0), sharp p = 4 spectrum, 16 pc grid, "
                       f"800 Myr window, dt = {DT} Myr; D = <dJ_phi^2>(1 Gyr) / 1 Gyr pooled over seeds"),
            "n_stars": args.n,
            "seeds": [1000 + s for s in range(args.seeds)],
            "iterations": history,
            "diskorbits_version": __version__,
            "date": datetime.date.today().isoformat(),
        }
        tmp = CALIBRATION_FILE.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        tmp.replace(CALIBRATION_FILE)
        print(f"wrote {CALIBRATION_FILE}")


if __name__ == "__main__":
    main()
