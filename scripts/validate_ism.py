"""Compare shearing-box runs with Modak et al. (2026): numbers and figures for docs/validation/ism.md.

Usage:
    # 1. the paper's experiments at full size (50,000 stars, 10 Gyr each)
    for c in configs/ism/*.toml; do diskorbits ism run $c -o runs/$(basename $c .toml).h5; done
    # 2. this script
    python scripts/validate_ism.py runs/ [--conv runs/conv/] [--out docs/validation/]

Writes ``ism_table.json`` (every target of the paper next to our value) and the
``ism_*.png`` figures. Diffusion coefficients are fitted with the power-law
indices held at the paper's values (Eqs. 29-30, c(alpha) of Eq. C5): the
long-wavelength regime (alpha_R, alpha_phi) = (1, 0) on 20-150 Myr and the
short-wavelength regime (-1/2, -1/2) on 3-10 Gyr, in the paper's units
((kpc km/s)^2/Gyr with J_R in kpc km/s).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from diskorbits import read_run, units
from diskorbits.shearingbox import cold_ensemble_rms_prediction, power_law_slope

EARLY = (20.0, 150.0)  # Myr
LATE = (3000.0, 10000.0)


def _curve(run, name, scale=1.0):
    return run.t_myr / 1e3, np.asarray(run.stats[name]) / scale


def fit_coefficients(run):
    """(d_RR, d_phiphi) in the long- and short-wavelength regimes, paper units."""
    t, jr = _curve(run, "rms_dJR", units.KPC_KMS)
    _, jp = _curve(run, "rms_dJphi", units.KPC_KMS)
    out = {}
    for regime, (a, b), (aR, aP) in (("long", EARLY, (1.0, 0.0)), ("short", LATE, (-0.5, -0.5))):
        m = (t * 1e3 >= a) & (t * 1e3 <= b) & (jr > 0)
        if m.sum() < 3:
            out[regime] = None
            continue
        # d_RR from Eq. 29: rms dJ_R is proportional to d_RR^(1/(2 - alpha_R))
        r1, _ = cold_ensemble_rms_prediction(t[m], 1.0, aR, 1.0, aP)
        d_RR = float(np.exp(np.mean(np.log(jr[m] / np.asarray(r1)) * (2 - aR))))
        # d_phiphi from Eq. 30 given d_RR: rms dJ_phi is proportional to sqrt(d_phiphi)
        _, r2 = cold_ensemble_rms_prediction(t[m], d_RR, aR, 1.0, aP)
        d_pp = float(np.exp(np.mean(2 * np.log(jp[m] / np.asarray(r2)))))
        out[regime] = {"D_RR": d_RR, "D_phiphi": d_pp}
    return out


def slopes(run):
    t = run.t_myr
    res = {}
    for name in ("sigma_R", "rms_dJR", "rms_dJphi", "ratio"):
        y = np.asarray(run.stats[name])
        res[name] = {
            "early": float(power_law_slope(t, y, 20.0, 300.0)[0]),
            "late": float(power_law_slope(t, y, *LATE)[0]),
        }
    return res


def turnover_sigma(run):
    """sigma_R (km/s) where the local log-slope of sigma_R(t) falls to 0.35, midway from 1/2 to 1/5."""
    t, s = _curve(run, "sigma_R", units.KMS)
    m = t > 0.02
    lt, ls = np.log(t[m]), np.log(s[m])
    grid = np.linspace(lt[0], lt[-1], 200)
    sm = np.interp(grid, lt, ls)
    k = np.gradient(sm, grid)
    k = np.convolve(k, np.ones(9) / 9, mode="same")
    idx = np.argmax(k[5:-5] < 0.35) + 5
    return float(np.exp(sm[idx])), float(np.exp(grid[idx]))


def summarize(run):
    s = {
        "n_stars": run.config.run.n_stars,
        "seed": run.config.run.seed,
        "t_gyr": float(run.t_myr[-1] / 1e3),
        "sigma_R_10": run.at(10.0, "sigma_R") / units.KMS,
        "sigma_z_final": run.at(10.0, "sigma_z") / units.KMS,
        "rms_dxg_6": run.at(6.0, "rms_dxg"),
        "rms_dxg_10": run.at(10.0, "rms_dxg"),
        "rms_dJphi_10": run.at(10.0, "rms_dJphi") / units.KPC_KMS,
        "rms_dJR_10": run.at(10.0, "rms_dJR") / units.KPC_KMS,
        "ratio_10": run.at(10.0, "ratio"),
        "slopes": slopes(run),
        "coefficients": fit_coefficients(run),
    }
    dx = run.stars["dx_g"][-1]
    s["dxg_excess_kurtosis"] = float(np.mean(dx**4) / np.mean(dx**2) ** 2 - 3.0)
    try:
        s["turnover_sigma_R"], s["turnover_t_gyr"] = turnover_sigma(run)
    except Exception:  # a run without a clear turnover (e.g. white noise)
        s["turnover_sigma_R"] = s["turnover_t_gyr"] = None
    return s


def figures(runs, conv, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from diskorbits.plotting.ism import plot_actions, plot_dxg_histograms, plot_heating

    written = []

    def save(fig, name):
        p = out / f"ism_{name}.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        written.append(p)

    def pick(names, labels):
        have = [(runs[n], l) for n, l in zip(names, labels) if n in runs]
        return [r for r, _ in have], [l for _, l in have]

    rs, ls = pick(["r8_cold", "r8_sigmaR3", "r8_sigmaR5", "r8_sigmaR10"],
                  ["σR0 = 0", "σR0 = 3 km/s", "σR0 = 5 km/s", "σR0 = 10 km/s"])
    if rs:
        save(plot_heating(rs, labels=ls), "fig2_sigmaR")
        save(plot_actions(rs, labels=ls), "fig4_actions")
        save(plot_dxg_histograms(rs[0]), "fig3_dxg")
    for names, labels, tag in (
        (["r8_A0.5", "r8_cold", "r8_A2"], ["A = 1/2", "A = 1", "A = 2"], "fig5_amplitude"),
        (["r8_cold", "r8_lorentzian", "r8_white"], ["sharp (p = 4)", "Lorentzian (OU)", "white noise"], "fig6_temporal"),
        (["r8_cold", "r8_sigmaz10", "r8_sigmaz30", "r8_gz0"], ["σz0 = 0", "σz0 = 10 km/s", "σz0 = 30 km/s", "g_z = 0"], "fig7_vertical"),
        (["r8_cold", "r8_kmax0.03", "r8_kmax0.015"], ["no filter", "k_max = 0.03/pc", "k_max = 0.015/pc"], "fig9_kmax"),
        (["lgr4_cold"], ["LGR4, σR0 = 0"], "fig10_lgr4"),
    ):
        rs, ls = pick(names, labels)
        if rs:
            save(plot_actions(rs, labels=ls), tag)
    if conv:
        rs = [conv[k] for k in conv]
        save(plot_actions(rs, labels=list(conv)), "convergence")
    return written


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", type=Path, help="directory with <config name>.h5 run files")
    ap.add_argument("--conv", type=Path, default=None, help="directory with convergence / extra-seed runs")
    ap.add_argument("--out", type=Path, default=Path("docs/validation"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    runs = {p.stem: read_run(p) for p in sorted(args.runs.glob("*.h5"))}
    runs = {k: v for k, v in runs.items() if v.complete}
    conv = {}
    if args.conv:
        conv = {p.stem: read_run(p) for p in sorted(args.conv.glob("*.h5"))}
        conv = {k: v for k, v in conv.items() if v.complete}
    table = {"runs": {k: summarize(v) for k, v in runs.items()},
             "convergence": {k: summarize(v) for k, v in conv.items()}}
    (args.out / "ism_table.json").write_text(json.dumps(table, indent=2))
    for p in figures(runs, conv, args.out):
        print("wrote", p)
    for k, v in table["runs"].items():
        c = v["coefficients"]
        print(f"{k:14s} N={v['n_stars']:6d} sigR10={v['sigma_R_10']:6.2f} dxg6={v['rms_dxg_6']:.3f} "
              f"dxg10={v['rms_dxg_10']:.3f} ratio={v['ratio_10']:.4f} slopes sR {v['slopes']['sigma_R']['early']:.2f}/"
              f"{v['slopes']['sigma_R']['late']:.2f} dJphi {v['slopes']['rms_dJphi']['early']:.2f}/"
              f"{v['slopes']['rms_dJphi']['late']:.2f} ratio-late {v['slopes']['ratio']['late']:.2f} "
              f"D long {c['long']} short {c['short']}")
    for k, v in table["convergence"].items():
        print(f"[conv] {k:10s} N={v['n_stars']:6d} sigR10={v['sigma_R_10']:6.2f} dxg10={v['rms_dxg_10']:.3f} "
              f"ratio={v['ratio_10']:.4f}")


if __name__ == "__main__":
    main()
