"""Figures of action-space diffusion: coefficients D(J_R) and rms action curves, data vs model.

In the style of Modak et al. (2026): log-log axes in the field's units, J_R in
kpc km/s, D in (kpc km/s)^2/Gyr, t in Gyr. Every function returns a
:class:`matplotlib.figure.Figure` and saves it only when given ``save=`` (a
path); nothing is shown. The Agg backend is selected when no other is active.

* :func:`plot_coefficients` -- ``D_RR(J_R)`` and ``D_phiphi(J_R)`` (broken power
  laws, Eqs. 40-41 / A1-A2 or fitted), with ``J_*`` (Eq. 42) and the turnovers;
* :func:`plot_rms_curves` -- rms dJ_R, rms dJ_phi and their ratio against t
  for any number of data or model series (like the paper's Fig. 4);
* :func:`plot_fit` -- one :class:`~diskorbits.diffusion.fit.DiffusionFit`: the
  data with their bootstrap band, the fitted long- (dashed) and short-wavelength
  (dotted) lines of Eqs. 29-30, and the fit windows shaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..diffusion.coefficients import PAPER_ACTION, PAPER_D

__all__ = ["plot_coefficients", "plot_fit", "plot_rms_curves"]

_REGIME_STYLE = {"long": ("--", "tab:orange", "long wavelength"), "short": (":", "tab:purple", "short wavelength")}


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _finish(fig, save):
    if save is not None:
        path = Path(save)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    return fig


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


# ---------------------------------------------------------------- coefficients


def _coefficients_and_band(item, J):
    """(DiffusionCoefficients, band or None) for a DiffusionCoefficients or a DiffusionFit."""
    from ..diffusion.fit import DiffusionFit

    if not isinstance(item, DiffusionFit):
        return item, None
    coeffs = item.coefficients
    lo, hi = item.long, item.short
    if lo.samples is None or hi.samples is None:
        return coeffs, None
    bands = {}
    for col, name, (a_lo, a_hi) in ((0, "D_RR", (lo.alpha_R, hi.alpha_R)), (1, "D_phiphi", (lo.alpha_phi, hi.alpha_phi))):
        low = lo.samples[:, col, None] * J[None, :] ** a_lo
        high = hi.samples[:, col, None] * J[None, :] ** a_hi
        # the broken power law is the smaller branch (low.alpha > high.alpha), see BrokenPowerLaw
        vals = np.minimum(low, high) / PAPER_D
        bands[name] = np.percentile(vals, [16, 84], axis=0)
    return coeffs, bands


def plot_coefficients(
    coefficients,
    labels: Sequence[str] | None = None,
    *,
    J_range: tuple[float, float] = (1e-2, 1e2),
    save=None,
    n: int = 300,
):
    """``D_RR(J_R)`` and ``D_phiphi(J_R)`` on log-log axes, in the paper's units.

    Each set is drawn as its broken power law (Sec. III.3) with ``J_*``
    (Eq. 42) as a dotted vertical line and the turnover of each coefficient
    as a circle: per panel, three lines per set. A
    :class:`~diskorbits.diffusion.fit.DiffusionFit` with bootstrap samples
    also gets its 16-84% band.

    Parameters
    ----------
    coefficients : DiffusionCoefficients, DiffusionFit or a list of them
    labels : list of str, optional
        Default: the sets' names.
    J_range : (float, float)
        Radial-action range in kpc km/s.
    save : path, optional
        Write the figure there (PNG, PDF, ... by extension).
    n : int
        Points per curve.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: D_RR (left), D_phiphi (right).
    """
    plt = _plt()
    items = _as_list(coefficients)
    if labels is not None and len(labels) != len(items):
        raise ValueError(f"'labels' has {len(labels)} entries for {len(items)} coefficient sets")
    lo, hi = (float(x) for x in J_range)
    if not 0 < lo < hi:
        raise ValueError(f"J_range must be (low, high) kpc km/s with 0 < low < high, got {J_range!r}")
    J_paper = np.geomspace(lo, hi, n)
    J = J_paper * PAPER_ACTION
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3), constrained_layout=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, item in enumerate(items):
        coeffs, band = _coefficients_and_band(item, J)
        color = colors[i % len(colors)]
        label = labels[i] if labels is not None else coeffs.name
        Js = float(coeffs.J_star) / PAPER_ACTION
        for ax, name in zip(axes, ("D_RR", "D_phiphi")):
            law = getattr(coeffs, name)
            ax.loglog(J_paper, np.asarray(law(J)) / PAPER_D, color=color, label=label)
            if band is not None:
                ax.fill_between(J_paper, band[name][0], band[name][1], color=color, alpha=0.25, lw=0)
            ax.axvline(Js, color=color, ls=":", lw=1, label=rf"$J_*$ = {Js:.3g}")
            Jb = float(law.turnover)
            ax.plot([Jb / PAPER_ACTION], [float(law(Jb)) / PAPER_D], "o", color=color, ms=5, mfc="none",
                    label=f"turnover {Jb / PAPER_ACTION:.3g} ({Jb / float(coeffs.J_star):.1f} $J_*$)")
    axes[0].set_ylabel(r"$D_{RR}$ [(kpc km/s)$^2$/Gyr]")
    axes[1].set_ylabel(r"$D_{\varphi\varphi}$ [(kpc km/s)$^2$/Gyr]")
    for ax in axes:
        ax.set_xlabel(r"$J_R$ [kpc km/s]")
        ax.set_xlim(lo, hi)
        ax.legend(fontsize=7)
    return _finish(fig, save)


# ---------------------------------------------------------------- rms curves


def _band(series, key, which):
    """Band edge ``which`` ('band_lo'/'band_hi') for ``key`` from a series dict, or None."""
    b = series.get(which)
    if b is None:
        return None
    if isinstance(b, dict):
        return b.get(key)
    return b[0 if key == "rms_dJR" else 1]


def plot_rms_curves(series, *, save=None, title: str | None = None, axes=None):
    """rms dJ_R, rms dJ_phi and their ratio against time, log-log (like Modak et al. 2026 Fig. 4).

    Parameters
    ----------
    series : dict or list of dict
        Each dict: ``t_myr`` [m] (Myr), ``rms_dJR``, ``rms_dJphi`` [m] (kpc^2/Myr),
        optional ``label``, ``kind`` (``"data"``: solid with dots, default;
        ``"model"``: dashed), ``color``, ``linestyle``, and a band
        ``band_lo``/``band_hi``, each a dict ``{"rms_dJR": ..., "rms_dJphi": ...}``
        or a pair ``(rms_dJR, rms_dJphi)`` (drawn shaded in the first two panels).
    save : path, optional
    title : str, optional
    axes : sequence of 3 Axes, optional
        Draw into these instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        Three axes (rms dJ_R, rms dJ_phi in kpc km/s; ratio), time in Gyr.
    """
    plt = _plt()
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), constrained_layout=True)
    else:
        fig = axes[0].figure
    for s in _as_list(series):
        missing = [k for k in ("t_myr", "rms_dJR", "rms_dJphi") if k not in s]
        if missing:
            raise ValueError(f"series {s.get('label', '?')!r} lacks {missing}; it needs t_myr, rms_dJR, rms_dJphi")
        kind = s.get("kind", "data")
        if kind not in ("data", "model"):
            raise ValueError(f"series 'kind' must be 'data' or 'model', got {kind!r}")
        t = np.asarray(s["t_myr"], dtype=float) / 1e3
        R = np.asarray(s["rms_dJR"], dtype=float) / PAPER_ACTION
        P = np.asarray(s["rms_dJphi"], dtype=float) / PAPER_ACTION
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = R / P
        style = dict(ls=s.get("linestyle", "-" if kind == "data" else "--"), label=s.get("label"))
        if kind == "data":
            style.update(marker=s.get("marker", "."), ms=4)
        if s.get("color") is not None:
            style["color"] = s["color"]
        color = None
        for ax, y, key in ((axes[0], R, "rms_dJR"), (axes[1], P, "rms_dJphi"), (axes[2], ratio, None)):
            ok = (t > 0) & np.isfinite(y) & (y > 0)
            if color is not None:
                style["color"] = color
            (line,) = ax.loglog(t[ok], y[ok], **style)
            color = line.get_color()
            if key is not None:
                lo, hi = _band(s, key, "band_lo"), _band(s, key, "band_hi")
                if lo is not None and hi is not None:
                    lo = np.asarray(lo, dtype=float)[ok] / PAPER_ACTION
                    hi = np.asarray(hi, dtype=float)[ok] / PAPER_ACTION
                    ax.fill_between(t[ok], lo, hi, color=color, alpha=0.25, lw=0)
    axes[0].set_ylabel(r"rms $\delta J_R$ [kpc km/s]")
    axes[1].set_ylabel(r"rms $\delta J_\varphi$ [kpc km/s]")
    axes[2].set_ylabel(r"rms $\delta J_R$ / rms $\delta J_\varphi$")
    for ax in axes:
        ax.set_xlabel("t [Gyr]")
    if axes[0].get_legend_handles_labels()[0]:  # same labels in every panel: one legend
        axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return _finish(fig, save)


# ---------------------------------------------------------------- one fit


def plot_fit(fit, data=None, *, save=None, extend: float = 3.0, title: str | None = None):
    """The data of a fit with its bootstrap band, the fitted regime lines and the windows.

    Long-wavelength model (Eqs. 29-30 with alpha = (1, 0)) dashed, short-wavelength
    ((-1/2, -1/2)) dotted, each drawn over its window widened by ``extend`` on
    both sides (within the data's time range); windows shaded.

    Parameters
    ----------
    fit : DiffusionFit
    data : ActionChanges, ShearingBoxRun or run-file path
        What was fitted.
    save : path, optional
    extend : float
        Factor by which the model lines extend beyond their window.
    title : str, optional
        Default: the label and the fitted coefficients in paper units.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..diffusion.changes import ActionChanges

    if data is None:
        raise ValueError("plot_fit needs the data that were fitted (ActionChanges, a run or a run-file path)")
    if not isinstance(data, ActionChanges):
        data = ActionChanges.from_run(data)
    R, P = data.rms()
    s = {"label": f"{fit.label} (N = {data.n_stars})" if data.n_stars else fit.label,
         "t_myr": data.t_myr, "rms_dJR": R, "rms_dJphi": P, "kind": "data", "color": "tab:blue"}
    if fit.rms_band is not None and len(fit.t_myr) == len(data.t_myr):
        s["band_lo"] = {k: v[0] for k, v in fit.rms_band.items()}
        s["band_hi"] = {k: v[1] for k, v in fit.rms_band.items()}
    t_pos = data.t_myr[data.t_myr > 0]
    models = []
    parts = []
    for regime in ("long", "short"):
        f = fit.regimes.get(regime)
        if f is None:
            continue
        ls, color, name = _REGIME_STYLE[regime]
        t0, t1 = f.window_myr
        tt = np.geomspace(max(t0 / extend, t_pos[0]), min(t1 * extend, t_pos[-1]), 100)
        mR, mP = f.rms_model(tt)
        rr, pp = f.estimate("D_RR"), f.estimate("D_phiphi")
        models.append({"label": f"{name}: D_RR {rr.value:.3g}, D_phiphi {pp.value:.4g}", "t_myr": tt, "rms_dJR": mR,
                       "rms_dJphi": mP, "kind": "model", "linestyle": ls, "color": color})
        parts.append(f"{regime}: {rr.value:.3g} / {pp.value:.4g}")
    fig = plot_rms_curves([s] + models, title=None)
    for regime in ("long", "short"):
        f = fit.regimes.get(regime)
        if f is None:
            continue
        _, color, _ = _REGIME_STYLE[regime]
        for ax in fig.axes[:3]:
            ax.axvspan(f.window_myr[0] / 1e3, f.window_myr[1] / 1e3, color=color, alpha=0.12, lw=0)
    if title is None:
        title = f"{fit.label}: D_RR / D_phiphi [(kpc km/s)^2/Gyr] " + ("; ".join(parts) if parts else "(no regime fitted)")
    fig.suptitle(title, fontsize=10)
    return _finish(fig, save)
