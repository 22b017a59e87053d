"""Figures of shearing-box transport runs, in the style of Modak et al. 2026 Figs. 2-5.

Every function takes one or several :class:`~diskorbits.shearingbox.run.ShearingBoxRun`
objects and returns a :class:`matplotlib.figure.Figure`; nothing is shown or
saved behind the caller's back (:func:`save_run_figures` writes PNG files).
Axes use the field's units: Gyr, km/s, kpc km/s, kpc.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .. import units

__all__ = ["plot_heating", "plot_actions", "plot_dxg_histograms", "save_run_figures"]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _as_list(runs):
    return list(runs) if isinstance(runs, (list, tuple)) else [runs]


def _label(run, i):
    return run.config.name or f"run {i + 1}"


def _guide(ax, t, y_anchor, t_anchor, power, style, text):
    """A power-law guide line through (t_anchor, y_anchor)."""
    tt = np.geomspace(t[0], t[-1], 50)
    ax.plot(tt, y_anchor * (tt / t_anchor) ** power, style, color="k", lw=1, label=text)


def _early_anchor(t, t_gyr=0.05):
    """Index of the sample nearest ``t_gyr`` (where the early-time guide lines are pinned)."""
    return int(np.clip(np.searchsorted(t, t_gyr), 0, len(t) - 1))


def _positive(t, y):
    m = (t > 0) & np.isfinite(y) & (y > 0)
    return t[m], y[m]


def plot_heating(runs, *, labels: Sequence[str] | None = None):
    """sigma_R(t) with t^1/2 and t^1/5 guide lines (paper Fig. 2).

    The right axis shows the rms epicyclic amplitude a = sqrt(2) sigma_R / kappa (Eq. 10).
    """
    plt = _plt()
    runs = _as_list(runs)
    fig, ax = plt.subplots(figsize=(5.5, 4.2), constrained_layout=True)
    last = None
    for i, run in enumerate(runs):
        t, y = _positive(run.t_myr / 1e3, run.stats["sigma_R"] / units.KMS)
        ax.loglog(t, y, label=labels[i] if labels else _label(run, i))
        last = (t, y, run)
        if i == 0:
            first = last
    if last is not None and len(last[0]):
        t, y, run = first
        i = _early_anchor(t)
        _guide(ax, t, y[i] * 0.6, t[i], 0.5, "--", r"$t^{1/2}$")
        _guide(ax, t, y[-1] * 1.25, t[-1], 0.2, ":", r"$t^{1/5}$")
        box = run.config.box.build()
        sec = ax.secondary_yaxis(
            "right",
            functions=(
                lambda s: np.sqrt(2) * s * units.KMS / box.kappa * 1e3,
                lambda a: a / 1e3 * box.kappa / np.sqrt(2) / units.KMS,
            ),
        )
        sec.set_ylabel("rms epicyclic amplitude a [pc]")
    ax.set_xlabel("t [Gyr]")
    ax.set_ylabel(r"$\sigma_R$ [km/s]")
    ax.legend(fontsize=8)
    return fig


def plot_actions(runs, *, labels: Sequence[str] | None = None):
    """rms dJ_R, rms dJ_phi (with rms dx_g on the right axis) and their ratio (paper Figs. 4-5)."""
    plt = _plt()
    runs = _as_list(runs)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), constrained_layout=True)
    for i, run in enumerate(runs):
        lab = labels[i] if labels else _label(run, i)
        t = run.t_myr / 1e3
        for ax, key, scale in (
            (axes[0], "rms_dJR", units.KPC_KMS),
            (axes[1], "rms_dJphi", units.KPC_KMS),
            (axes[2], "ratio", 1.0),
        ):
            tt, y = _positive(t, run.stats[key] / scale)
            ax.loglog(tt, y, label=lab)
    ref = runs[0]
    t = ref.t_myr / 1e3
    for ax, key, scale, early, late, names in (
        (axes[0], "rms_dJR", units.KPC_KMS, 1.0, 0.4, (r"$t$", r"$t^{2/5}$")),
        (axes[1], "rms_dJphi", units.KPC_KMS, 0.5, 0.4, (r"$t^{1/2}$", r"$t^{2/5}$")),
    ):
        tt, y = _positive(t, ref.stats[key] / scale)
        if len(tt) > 20:
            i = _early_anchor(tt)
            _guide(ax, tt, y[i] * 0.6, tt[i], early, "--", names[0])
            _guide(ax, tt, y[-1] * 1.3, tt[-1], late, ":", names[1])
    box = ref.config.box.build()
    conv = (2 - box.q) * box.Omega * box.R0  # dJ_phi = (2-q) Omega R0 dx_g
    sec = axes[1].secondary_yaxis(
        "right", functions=(lambda j: j * units.KPC_KMS / conv, lambda x: x * conv / units.KPC_KMS)
    )
    sec.set_ylabel(r"rms $\delta x_g$ [kpc]")
    axes[0].set_ylabel(r"rms $\delta J_R$ [kpc km/s]")
    axes[1].set_ylabel(r"rms $\delta J_\varphi$ [kpc km/s]")
    axes[2].set_ylabel(r"rms $\delta J_R$ / rms $\delta J_\varphi$")
    for ax in axes:
        ax.set_xlabel("t [Gyr]")
        ax.legend(fontsize=8)
    return fig


def plot_dxg_histograms(run, *, n_times: int = 5):
    """Histograms of guiding-centre changes dx_g at several times, Gaussian on the last (paper Fig. 3)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4.2), constrained_layout=True)
    dx = run.stars["dx_g"]
    if len(dx) == 0:
        ax.text(0.5, 0.5, "no per-star records yet", ha="center", transform=ax.transAxes)
        return fig
    idx = np.unique(np.linspace(0, len(dx) - 1, min(n_times, len(dx))).round().astype(int))
    cmap = plt.get_cmap("Blues")
    lim = 4 * np.std(dx[idx[-1]]) or 1.0
    bins = np.linspace(-lim, lim, 61)
    for n, i in enumerate(idx):
        ax.hist(dx[i], bins=bins, density=True, histtype="step", color=cmap(0.3 + 0.7 * n / max(1, len(idx) - 1)),
                label=f"{run.star_t_myr[i] / 1e3:.2g} Gyr")
    s = np.sqrt(np.mean(dx[idx[-1]] ** 2))
    xx = np.linspace(-lim, lim, 400)
    ax.plot(xx, np.exp(-0.5 * (xx / s) ** 2) / np.sqrt(2 * np.pi) / s, "k-", lw=1.2, label=f"Gaussian, rms {s:.2f} kpc")
    ax.set_xlabel(r"$\delta x_g$ [kpc]")
    ax.set_ylabel("probability density")
    ax.legend(fontsize=8)
    return fig


def save_run_figures(runs, outdir: str | Path, *, labels=None, prefix: str = "") -> list[Path]:
    """Write the heating, action and (for the first run) dx_g-histogram figures as PNG files."""
    plt = _plt()
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    runs = _as_list(runs)
    written = []
    for name, fig in (
        ("sigma_R", plot_heating(runs, labels=labels)),
        ("actions", plot_actions(runs, labels=labels)),
        ("dxg_histograms", plot_dxg_histograms(runs[0])),
    ):
        path = outdir / f"{prefix}{name}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written
