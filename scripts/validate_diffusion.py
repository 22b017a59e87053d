"""Fit action-space diffusion coefficients to the full-size shearing-box runs and compare with Modak et al. (2026).

Usage:
    python scripts/validate_diffusion.py --runs /tmp/ism_runs [--out docs/validation] [--n-bootstrap 200]

The run files are those of ``configs/ism/*.toml`` (50,000 stars, 10 Gyr). For
each run this fits D_RR and D_phiphi in the long- and short-wavelength regimes
(:func:`diskorbits.diffusion.fit.fit_diffusion`: fixed slopes, Eqs. 29-30 with
c(alpha_R) of Eq. C5, automatic windows, bootstrap over stars) and prints:

* R8 and LGR4 cold ensembles against Eqs. 40-41 and A1-A2, with the late
  heating-to-migration ratio (Eq. 39) against 0.055 (Sec. III.3) and 0.11 (App. A);
* how much each number moves when the window edges move by a factor 1.5
  (the bootstrap only measures star sampling, see the fit module);
* warm-radial ensembles (sigma_R0 = 3, 5, 10 km/s; short wavelength only);
* the amplitude runs A = 1/2, 2 against the A^2 scaling of Sec. III.2;
* the analogue of Fig. 8: coefficients of the sigma_z0 = 10, 30 km/s runs
  relative to the g_z = 0 run, against the suppression factor xi of Eq. 46
  at the time-averaged sigma_z of each regime's window. Ratios are given for
  the automatic windows and for *matched* windows covering the same range of
  <J_R>/J_* in both runs: if the coefficients differ only by a factor xi, the
  warm run's curves are the reference's with t -> xi t, and a fixed-slope fit
  over matched <J_R> ranges returns exactly xi even where the measured slopes
  differ from the nominal ones.

Writes ``diffusion_fit.json`` and the figures ``diffusion_fit_r8.png``,
``diffusion_fit_lgr4.png``, ``diffusion_xi.png`` and
``diffusion_coefficients.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from diskorbits import read_run, units
from diskorbits.diffusion import PAPER_ACTION, ActionChanges, diffusion_preset, fit_diffusion

#: Coefficients quoted by the paper, (kpc km/s)^2/Gyr: Eqs. 40-41 (R8) and A1-A2 (LGR4),
#: with the late ratios of Sec. III.3 (R8) and App. A (LGR4, measured).
PAPER = {
    "r8_cold": {"long": (9.3, 6900.0), "short": (6.9, 4600.0), "late_ratio": 0.055},
    "lgr4_cold": {"long": (18.0, 2700.0), "short": (9.6, 1500.0), "late_ratio": 0.11},
}
RUNS = ["r8_cold", "lgr4_cold", "r8_sigmaR3", "r8_sigmaR5", "r8_sigmaR10", "r8_A0.5", "r8_A2",
        "r8_gz0", "r8_sigmaz10", "r8_sigmaz30"]  # fmt: skip
WINDOW_FACTOR = 1.5  # window-edge shifts for the systematic spread


def _paper_d(fit, regime):
    f = fit.regimes[regime]
    return None if f is None else (f.estimate("D_RR"), f.estimate("D_phiphi"))


def window_spread(data, fit):
    """Range of the fitted coefficients (paper units) over window edges moved by x/÷ WINDOW_FACTOR."""
    out = {}
    t_end = float(data.t_myr[-1])
    for r, f in fit.regimes.items():
        if f is None:
            out[r] = None
            continue
        vals = []
        t0, t1 = f.window_myr
        for a in (1 / WINDOW_FACTOR, 1.0, WINDOW_FACTOR):
            for b in (1 / WINDOW_FACTOR, 1.0, WINDOW_FACTOR):
                w = (t0 * a, min(t1 * b, t_end))
                if np.sum((data.t_myr >= w[0]) & (data.t_myr <= w[1])) < 3 or not w[0] < w[1]:
                    continue
                g = fit_diffusion(data, windows={r: w}, n_bootstrap=0, J_star=fit.J_star).regimes[r]
                vals.append((g.estimate("D_RR").value, g.estimate("D_phiphi").value))
        v = np.asarray(vals)
        out[r] = {"D_RR": [float(v[:, 0].min()), float(v[:, 0].max())],
                  "D_phiphi": [float(v[:, 1].min()), float(v[:, 1].max())], "n_windows": len(v)}  # fmt: skip
    return out


def _crossing(t, x, level):
    i = np.flatnonzero(x >= level)
    if i.size == 0:
        return None
    i = int(i[0])
    if i == 0:
        return float(t[0])
    f = (np.log(level) - np.log(x[i - 1])) / (np.log(x[i]) - np.log(x[i - 1]))
    return float(np.exp(np.log(t[i - 1]) + f * (np.log(t[i]) - np.log(t[i - 1]))))


def matched_windows(run, ref_run, ref_fit, J_star):
    """Windows of ``run`` covering the same <J_R>/J_* range as ``ref_fit``'s windows do in ``ref_run``.

    The short-wavelength range is cut to what both runs reach (>= 10 J_*, the relaxed threshold).
    """
    def x_of(r):
        t = np.asarray(r.t_myr[1:])
        return t, np.maximum.accumulate(np.asarray(r.stats["mean_JR"][1:]) / J_star)  # first crossings

    tr, xr = x_of(ref_run)
    tw, xw = x_of(run)
    wins = {}
    lo = ref_fit.long
    if lo is not None:
        x_lo, x_hi = np.interp(np.log(lo.window_myr), np.log(tr), xr)
        a, b = _crossing(tw, xw, x_lo), _crossing(tw, xw, x_hi)
        wins["long"] = (a, b if b is not None else float(tw[-1])) if a is not None else None
    x_lo, x_hi = 10.0, min(float(xr[-1]), float(xw[-1]))
    if x_hi > 2 * x_lo:
        wins["short"] = (_crossing(tw, xw, x_lo), _crossing(tw, xw, x_hi) or float(tw[-1]))
        wins["short_ref"] = (_crossing(tr, xr, x_lo), _crossing(tr, xr, x_hi) or float(tr[-1]))
    return wins


def _ratio(num, den, col):
    """Ratio of two regime fits' coefficients with a bootstrap error (independent resamplings)."""
    best = (num.d_RR, num.d_phiphi)[col] / (den.d_RR, den.d_phiphi)[col]
    if num.samples is None or den.samples is None:
        return {"value": best, "std": None}
    n = min(len(num.samples), len(den.samples))
    s = num.samples[:n, col] / den.samples[:n, col]
    return {"value": float(best), "std": float(np.std(s, ddof=1))}


def _sigma_z_mean(run, window):
    t = run.t_myr
    m = (t >= window[0]) & (t <= window[1])
    return float(np.mean(run.stats["sigma_z"][m]) / units.KMS)


def compare_to_reference(name, ref_name, runs, datas, fits, n_bootstrap, seed):
    """Coefficient ratios ``name / ref_name`` per regime, for the automatic and the matched windows.

    Returns ``{regime: {"auto": {...} or None, "matched": {...} or None}}`` where each entry
    holds both windows and the ratios of D_RR and D_phiphi with bootstrap errors.
    """
    run, fit = runs[name], fits[name]
    ref_run, ref_fit = runs[ref_name], fits[ref_name]
    mw = matched_windows(run, ref_run, ref_fit, ref_fit.J_star)
    wins = {k: v for k, v in mw.items() if k in ("long", "short") and v}
    matched = fit_diffusion(datas[name], windows=wins, n_bootstrap=n_bootstrap, seed=seed + 1) if wins else None
    ref_short = None
    if mw.get("short_ref"):
        ref_short = fit_diffusion(datas[ref_name], windows={"short": mw["short_ref"]}, n_bootstrap=n_bootstrap,
                                  seed=seed + 2).short  # fmt: skip
    out = {}
    for regime in ("long", "short"):
        out[regime] = {}
        pairs = (
            ("auto", fit.regimes[regime], ref_fit.regimes[regime]),
            ("matched", None if matched is None else matched.regimes.get(regime),
             ref_fit.long if regime == "long" else ref_short),
        )  # fmt: skip
        for mode, f, g in pairs:
            if f is None or g is None:
                out[regime][mode] = None
                continue
            out[regime][mode] = {
                "window_myr": list(f.window_myr),
                "ref_window_myr": list(g.window_myr),
                "ratio_D_RR": _ratio(f, g, 0),
                "ratio_D_phiphi": _ratio(f, g, 1),
            }
    return out


def xi_analysis(runs, datas, fits, n_bootstrap, seed):
    from diskorbits.diffusion.environment import suppression_for_dispersion
    from diskorbits.ism import ism_preset, suppression_factor_fit

    ref_name = "r8_gz0" if "r8_gz0" in runs else "r8_cold"
    box = runs[ref_name].config.box.build()
    model = ism_preset("R8")
    nu, k_star = float(box.nu), float(model.spectrum.k_star)

    def xi(sz_kms, H=None):
        return float(suppression_for_dispersion(sz_kms * units.KMS, k_star=k_star, H=model.H if H is None else H,
                                                nu=nu, profile=model.profile))  # fmt: skip

    rows = []
    for name in ("r8_sigmaz10", "r8_sigmaz30"):
        if name not in runs:
            continue
        cmp = compare_to_reference(name, ref_name, runs, datas, fits, n_bootstrap, seed)
        for regime in ("long", "short"):
            entry = {"run": name, "regime": regime, "reference": ref_name}
            for mode in ("auto", "matched"):
                d = cmp[regime][mode]
                if d is not None:
                    sz = _sigma_z_mean(runs[name], d["window_myr"])
                    d.update(
                        sigma_z_kms=sz,
                        xi_eq46_H250=xi(sz),
                        xi_eq46_H150_420=[xi(sz, 0.15), xi(sz, 0.42)],
                        xi_eq48_H250=float(
                            suppression_factor_fit(sz**2 * units.KMS**2 / nu, k_star, model.H, nu, model.profile)
                        ),
                    )
                entry[mode] = d
            rows.append(entry)
    curve = {"sigma_z_kms": np.linspace(0, 35, 71).tolist()}
    for label, H in (("H250", model.H), ("H150", 0.15), ("H420", 0.42)):
        curve[label] = [xi(s, H) for s in curve["sigma_z_kms"]]
    return rows, curve


def figure_xi(rows, curve, path):
    from diskorbits.plotting.diffusion import _plt

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.5), constrained_layout=True)
    s = np.asarray(curve["sigma_z_kms"])
    ax.fill_between(s, curve["H150"], curve["H420"], color="0.85", label="Eq. 46, H = 150-420 pc")
    ax.plot(s, curve["H250"], "k-", label="Eq. 46, H = 250 pc")
    for e in rows:
        marker = "o" if e["regime"] == "long" else "^"
        for mode, fill in (("auto", True), ("matched", False)):
            d = e.get(mode)
            if d is None:
                continue
            for key, color in (("ratio_D_RR", "tab:red"), ("ratio_D_phiphi", "tab:blue")):
                r = d[key]
                ax.errorbar(d["sigma_z_kms"], r["value"], yerr=r["std"], fmt=marker, color=color,
                            mfc=color if fill else "none", ms=7)  # fmt: skip
    from matplotlib.lines import Line2D

    handles = ax.get_legend_handles_labels()[0] + [
        Line2D([], [], color="tab:red", marker="s", ls="", label="D_RR ratio"),
        Line2D([], [], color="tab:blue", marker="s", ls="", label="D_phiphi ratio"),
        Line2D([], [], color="k", marker="o", ls="", label="long wavelength"),
        Line2D([], [], color="k", marker="^", ls="", label="short wavelength"),
        Line2D([], [], color="k", marker="o", mfc="none", ls="", label="open: matched <J_R> windows"),
    ]
    ax.legend(handles=handles, fontsize=7)
    ax.set_xlabel(r"time-averaged $\sigma_z$ in the fit window [km/s]")
    ax.set_ylabel(r"$D(\sigma_{z,0}) / D(g_z = 0)$, suppression $\xi$")
    ax.set_ylim(0, 1.1)
    ax.set_xlim(0, 35)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _fmt(e, digits=3):
    if e is None:
        return "--"
    if e.std is None:
        return f"{e.value:.{digits}g}"
    return f"{e.value:.{digits}g} ± {e.std:.2g}"


def langevin_check(name, data, n_stars, seed, out_png):
    """Fit ``data`` with both closures, evolve each fit (and the paper's preset) by the Langevin
    equation, and compare the rms curves with the run's (issue 4, deliverable 5)."""
    from diskorbits.diffusion import evolve
    from diskorbits.plotting.diffusion import plot_rms_curves

    R, P = data.rms()
    t = np.asarray(data.t_myr)
    pos = t > 0
    series = [{"label": f"{name} (shearing box, N = {data.n_stars})", "t_myr": t[pos], "rms_dJR": R[pos],
               "rms_dJphi": P[pos], "kind": "data"}]  # fmt: skip
    preset = "R8" if name.startswith("r8") else "LGR4"
    result = {}
    for label, coeffs in (
        ("fit, self-similar closure", fit_diffusion(data, n_bootstrap=0, closure="self-similar").coefficients),
        ("fit, exponential closure (Eqs. 29-30)", fit_diffusion(data, n_bootstrap=0).coefficients),
        (f"paper's {preset} (Eqs. 40-41 / A1-A2)", diffusion_preset(preset)),
    ):
        lv = evolve(coeffs, np.zeros(n_stars), t[pos], seed=seed)
        qR = np.asarray(lv.stats["rms_dJR"]) / R[pos]
        qP = np.asarray(lv.stats["rms_dJphi"]) / P[pos]
        after = t[pos] >= 100.0
        result[label] = {
            "coefficients": coeffs.to_paper_units(),
            "ratio_rms_dJR": {"t_myr": t[pos].tolist(), "langevin_over_run": qR.tolist()},
            "ratio_rms_dJphi": {"t_myr": t[pos].tolist(), "langevin_over_run": qP.tolist()},
            "range_after_100myr": {"rms_dJR": [float(qR[after].min()), float(qR[after].max())],
                                   "rms_dJphi": [float(qP[after].min()), float(qP[after].max())]},
            "at_10gyr": {"rms_dJR": float(qR[-1]), "rms_dJphi": float(qP[-1])},
        }  # fmt: skip
        series.append({"label": f"Langevin: {label}", "t_myr": t[pos], "rms_dJR": np.asarray(lv.stats["rms_dJR"]),
                       "rms_dJphi": np.asarray(lv.stats["rms_dJphi"]), "kind": "model"})  # fmt: skip
        rr, pp = result[label]["range_after_100myr"]["rms_dJR"], result[label]["range_after_100myr"]["rms_dJphi"]
        print(f"  {name:10s} {label:40s}: Langevin / run, t >= 100 Myr: rms dJ_R {rr[0]:.2f}-{rr[1]:.2f}, "
              f"rms dJ_phi {pp[0]:.2f}-{pp[1]:.2f}; at 10 Gyr {qR[-1]:.2f}, {qP[-1]:.2f}")
    from diskorbits.plotting.diffusion import _plt

    _plt().close(plot_rms_curves(series, save=out_png, title=f"{name}: shearing box vs Langevin ({n_stars} stars)"))
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=Path, default=Path("/tmp/ism_runs"), help="directory with <config name>.h5 files")
    ap.add_argument("--out", type=Path, default=Path("docs/validation"))
    ap.add_argument("--n-bootstrap", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--langevin-stars", type=int, default=100_000, help="stars per Langevin comparison run")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    runs, datas, fits = {}, {}, {}
    for name in RUNS:
        p = args.runs / f"{name}.h5"
        if not p.exists():
            print(f"[skip] {p} not found")
            continue
        run = read_run(p)
        if not run.complete:
            print(f"[skip] {p} is not complete")
            continue
        runs[name] = run
        datas[name] = ActionChanges.from_run(run)
        fits[name] = fit_diffusion(datas[name], n_bootstrap=args.n_bootstrap, seed=args.seed)

    doc = {"n_bootstrap": args.n_bootstrap, "seed": args.seed, "window_factor": WINDOW_FACTOR, "runs": {}}
    print("\n== Fixed-slope fits, D in (kpc km/s)^2/Gyr at J_R = 1 kpc km/s (bootstrap over stars: ± 1 sigma;"
          f" [range] over window edges x/÷ {WINDOW_FACTOR})")
    for name, fit in fits.items():
        spread = window_spread(datas[name], fit)
        entry = fit.to_dict()
        entry["window_spread"] = spread
        entry["measured_ratio_10gyr"] = float(runs[name].stats["ratio"][-1])
        doc["runs"][name] = entry
        print(f"\n{name}  (N = {fit.n_stars}, J_* = {fit.J_star / PAPER_ACTION:.3f} kpc km/s, tau_* = {fit.tau_star:.0f} Myr)")
        for r in ("long", "short"):
            f = fit.regimes[r]
            if f is None:
                print(f"  {r:5s}: {fit.notes[r]}")
                continue
            rr, pp = f.estimate("D_RR"), f.estimate("D_phiphi")
            sp = spread[r]
            paper = PAPER.get(name, {}).get(r)
            ptxt = f"   paper {paper[0]:g} / {paper[1]:g}" if paper else ""
            print(f"  {r:5s}: window {f.window_myr[0]:7.1f}-{f.window_myr[1]:7.1f} Myr ({len(f.t_myr)} times, "
                  f"<J_R>/J_* {f.mean_JR_over_J_star[0]:.2g}-{f.mean_JR_over_J_star[1]:.3g})")
            print(f"         D_RR {_fmt(rr)} [{sp['D_RR'][0]:.3g}-{sp['D_RR'][1]:.3g}]   "
                  f"D_phiphi {_fmt(pp, 4)} [{sp['D_phiphi'][0]:.4g}-{sp['D_phiphi'][1]:.4g}]{ptxt}")
            print(f"         free slopes rms dJ_R {f.slopes['rms_dJR'][0]:.2f}, rms dJ_phi {f.slopes['rms_dJphi'][0]:.2f}"
                  f"  (log residual rms {f.log_residual_rms[0]:.3f}, {f.log_residual_rms[1]:.3f})")
            for w in f.warnings:
                if "free slope" not in w:
                    print(f"         note: {w}")
        if fit.short is not None:
            lr = fit.late_ratio
            ptxt = f", paper {PAPER[name]['late_ratio']}" if name in PAPER else ""
            print(f"  Eq. 39 late ratio {lr.value:.4f} ± {lr.std:.1g} (measured at 10 Gyr "
                  f"{entry['measured_ratio_10gyr']:.4f}{ptxt})")
        if fit.long is not None and fit.short is not None:
            c = fit.coefficients.to_paper_units()
            print(f"  turnovers: D_RR {c['D_RR']['turnover_kpc_kms']:.3g} kpc km/s ({c['D_RR']['turnover_over_J_star']:.1f} J_*), "
                  f"D_phiphi {c['D_phiphi']['turnover_kpc_kms']:.3g} ({c['D_phiphi']['turnover_over_J_star']:.1f} J_*)")

    # amplitude scaling (Sec. III.2): D ~ A^2
    if "r8_cold" in fits:
        print("\n== Amplitude runs: D(A) / D(A = 1) against A^2 (Sec. III.2); auto and matched <J_R> windows")
        doc["amplitude"] = {}
        for name, A in (("r8_A0.5", 0.5), ("r8_A2", 2.0)):
            if name not in fits:
                continue
            cmp = compare_to_reference(name, "r8_cold", runs, datas, fits, args.n_bootstrap, args.seed)
            doc["amplitude"][name] = {"A2": A**2, **cmp}
            for r in ("long", "short"):
                for mode in ("auto", "matched"):
                    d = cmp[r][mode]
                    if d is None:
                        print(f"  {name:8s} {r:5s} {mode:7s}: --")
                        continue
                    rr, pp = d["ratio_D_RR"], d["ratio_D_phiphi"]
                    print(f"  {name:8s} {r:5s} {mode:7s}: D_RR ratio {rr['value']:.3f} ± {rr['std']:.2g}, "
                          f"D_phiphi ratio {pp['value']:.3f} ± {pp['std']:.2g}   (A^2 = {A**2:g}; windows "
                          f"{d['window_myr'][0]:.0f}-{d['window_myr'][1]:.0f} vs "
                          f"{d['ref_window_myr'][0]:.0f}-{d['ref_window_myr'][1]:.0f} Myr)")

    # vertical suppression (Sec. IV.1, Fig. 8)
    if ("r8_gz0" in fits or "r8_cold" in fits) and any(n in fits for n in ("r8_sigmaz10", "r8_sigmaz30")):
        rows, curve = xi_analysis(runs, datas, fits, args.n_bootstrap, args.seed)
        doc["xi"] = {"rows": rows, "curve": curve}
        print("\n== Vertical suppression: D(sigma_z0) / D(g_z = 0) against xi (Eq. 46, H = 250 pc [150-420 pc])")
        for e in rows:
            for mode in ("auto", "matched"):
                d = e.get(mode)
                if d is None:
                    print(f"  {e['run']:12s} {e['regime']:5s} {mode:7s}: --")
                    continue
                print(f"  {e['run']:12s} {e['regime']:5s} {mode:7s}: <sigma_z> {d['sigma_z_kms']:5.1f} km/s  "
                      f"D_RR {d['ratio_D_RR']['value']:.3f} ± {d['ratio_D_RR']['std']:.2g}  "
                      f"D_phiphi {d['ratio_D_phiphi']['value']:.3f} ± {d['ratio_D_phiphi']['std']:.2g}  "
                      f"xi {d['xi_eq46_H250']:.3f} [{d['xi_eq46_H150_420'][0]:.3f}-{d['xi_eq46_H150_420'][1]:.3f}]"
                      f" (Eq. 48: {d['xi_eq48_H250']:.3f})")
        figure_xi(rows, curve, args.out / "diffusion_xi.png")

    # Langevin with fitted coefficients against the runs themselves
    doc["langevin"] = {}
    print("\n== Langevin evolution with coefficients fitted to the run, against the run")
    for name, tag in (("r8_cold", "r8"), ("lgr4_cold", "lgr4")):
        if name in datas:
            doc["langevin"][name] = langevin_check(
                name, datas[name], args.langevin_stars, args.seed, args.out / f"diffusion_langevin_{tag}.png"
            )
    print("\n== Self-similar-closure fits (the Langevin-ready coefficients)")
    doc["self_similar"] = {}
    for name in ("r8_cold", "lgr4_cold"):
        if name in datas:
            f = fit_diffusion(datas[name], n_bootstrap=args.n_bootstrap, seed=args.seed, closure="self-similar")
            doc["self_similar"][name] = f.to_dict()
            for r in ("long", "short"):
                if f.regimes[r] is not None:
                    print(f"  {name:10s} {r:5s}: D_RR {_fmt(f.regimes[r].estimate('D_RR'))}  "
                          f"D_phiphi {_fmt(f.regimes[r].estimate('D_phiphi'), 4)}")

    # figures
    from diskorbits.plotting.diffusion import _plt, plot_coefficients, plot_fit

    plt = _plt()
    for name, tag in (("r8_cold", "r8"), ("lgr4_cold", "lgr4")):
        if name in fits:
            plt.close(plot_fit(fits[name], datas[name], save=args.out / f"diffusion_fit_{tag}.png"))
    sets, labels = [], []
    for name, preset in (("r8_cold", "R8"), ("lgr4_cold", "LGR4")):
        if name in fits and fits[name].long is not None and fits[name].short is not None:
            sets += [fits[name], diffusion_preset(preset)]
            labels += [f"{preset} fit ({name})", f"{preset} paper"]
    if sets:
        plt.close(plot_coefficients(sets, labels=labels, save=args.out / "diffusion_coefficients.png"))

    doc["paper"] = {k: {"long": list(v["long"]), "short": list(v["short"]), "late_ratio": v["late_ratio"]}
                    for k, v in PAPER.items()}  # fmt: skip
    out = args.out / "diffusion_fit.json"
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\nwrote {out}")
    for f in ("diffusion_fit_r8.png", "diffusion_fit_lgr4.png", "diffusion_xi.png", "diffusion_coefficients.png",
              "diffusion_langevin_r8.png", "diffusion_langevin_lgr4.png"):
        if (args.out / f).exists():
            print(f"wrote {args.out / f}")


if __name__ == "__main__":
    main()
