"""Figures of Frankel et al. (2020) fits: posterior corner plot, migration and heating vs age, data vs model.

* :func:`plot_corner` -- the posterior of the eleven parameters (Fig. 4
  style): 1-D histograms on the diagonal with the median and 16/84th
  percentiles, 2-D densities with 39% and 86% contours (1 and 2 sigma of a
  2-D Gaussian) below it, optional reference values (Table 1) and truth
  (mocks). Written here on plain matplotlib, no extra dependency.
* :func:`plot_action_changes` -- rms Delta L_z and rms Delta J_R against
  age at 6, 8 and 12 kpc with posterior bands and the paper's Eq. 23 power
  laws (Fig. 7 style); the right-hand axes translate them into kpc: the
  migration distance Delta L_z / v_circ on top, the epicycle spread
  sqrt(J_R / kappa) at 8 kpc below.
* :func:`plot_data_vs_model` -- 1-D distributions of L_z, J_R, age, [Fe/H]
  and R of a catalogue against model draws (Fig. 6 style).

Every function returns a :class:`matplotlib.figure.Figure`, touches no
pyplot state beyond creating it, and works with the Agg backend. Inputs are
display units: parameter vectors as in
:data:`~diskorbits.migration.parameters.UNITS`, catalogue columns in kpc km/s,
Gyr, dex and kpc.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["DATA_COLUMNS", "plot_action_changes", "plot_corner", "plot_data_vs_model"]

#: Catalogue columns of the Fig. 6 panels and their axis labels.
DATA_COLUMNS: dict[str, str] = {
    "L_z": r"$L_z$ [kpc km s$^{-1}$]",
    "J_R": r"$J_R$ [kpc km s$^{-1}$]",
    "age": r"$\tau$ [Gyr]",
    "feh": "[Fe/H] [dex]",
    "R": r"$R$ [kpc]",
}

# Colour groups of Fig. 4: dynamics, inside-out growth, enrichment, vertical structure.
_GROUPS = {
    "sigma_Lz": "C3", "sigma_vR0": "C1", "beta": "C1", "R_sigmaR": "C1",
    "R_d0": "C2", "x_io": "C2", "tau_SFR": "C2",
    "gamma_FeH": "C0", "grad_FeH": "C0", "FeH_max": "C0",
    "a_z": "C4",
}  # fmt: skip
_TEX = {
    "R_d0": r"$R_{d0}$", "x_io": r"$x_{io}$", "tau_SFR": r"$\tau_{SFR}$", "sigma_Lz": r"$\sigma_{L_z}$",
    "beta": r"$\beta$", "sigma_vR0": r"$\sigma_{v_R,0}$", "R_sigmaR": r"$R_{\sigma_R}$", "a_z": r"$a_z$",
    "gamma_FeH": r"$\gamma_{[Fe/H]}$", "grad_FeH": r"$\nabla$[Fe/H]", "FeH_max": r"[Fe/H]$_{max}$",
}  # fmt: skip
# Probability inside the 1- and 2-sigma contours of a 2-D Gaussian.
_LEVELS_2D = (1.0 - np.exp(-0.5), 1.0 - np.exp(-2.0))
# Eq. 23 of Frankel et al. (2020): amplitude at 6 Gyr (kpc km/s) and time exponent.
_EQ23_LZ = (619.0, 0.5)
_EQ23_JR = (63.0, 0.6)


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _label(name: str, unit: str) -> str:
    base = _TEX.get(name, name)
    return f"{base} [{unit}]" if unit else base


def _ticks():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(3, prune="both")


def _density_level(h: np.ndarray, mass: float) -> float:
    """Histogram value above which the cells hold ``mass`` of the total."""
    flat = np.sort(h.ravel())[::-1]
    cum = np.cumsum(flat)
    if cum[-1] <= 0:
        return 0.0
    i = int(np.searchsorted(cum, mass * cum[-1]))
    return float(flat[min(i, flat.size - 1)])


def plot_corner(
    samples,
    *,
    names: Sequence[str] | None = None,
    units: Sequence[str] | None = None,
    reference: Sequence[float] | None = None,
    reference_label: str = "Frankel et al. (2020) Table 1",
    truth: Sequence[float] | None = None,
    mle: Sequence[float] | None = None,
    bins: int = 30,
    smooth: float = 1.0,
    max_points: int = 2000,
    title: str | None = None,
    figsize: float | None = None,
):
    """Corner plot of posterior samples (Frankel et al. 2020, Fig. 4 style).

    Parameters
    ----------
    samples : array [n, d]
        Posterior draws in display units (``d`` = 11 for a migration fit).
    names, units : sequence of str [d], optional
        Parameter names and display units (default :data:`~diskorbits.migration.parameters.NAMES`
        and :data:`~diskorbits.migration.parameters.UNITS` when ``d`` is 11).
    reference : sequence of float [d], optional
        Published values (grey lines and squares).
    truth : sequence of float [d], optional
        True values of a mock (dashed black lines and stars).
    mle : sequence of float [d], optional
        Maximum-likelihood point (a cross).
    bins : int
        Histogram bins per axis.
    smooth : float
        Width (in bins) of the Gaussian smoothing of the 2-D histograms before contouring (0: none).
    max_points : int
        Draws shown as dots under the contours (evenly thinned).
    title : str, optional
    figsize : float, optional
        Side of the square figure, inches (default ``1.35 d + 1``).

    Returns
    -------
    matplotlib.figure.Figure
        ``d (d + 1) / 2`` axes, the lower triangle of a ``d x d`` grid, row by row
        (the diagonal histograms are the last axis of each row).

    Raises
    ------
    ValueError
        For samples that are not ``[n >= 2, d >= 1]`` and finite, or inputs of the wrong length.
    """
    from scipy.ndimage import gaussian_filter

    from ..migration.parameters import NAMES, UNITS

    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"'samples' must have shape [n >= 2, d >= 1], got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("'samples' must be finite")
    n, d = x.shape
    names = list(names) if names is not None else (list(NAMES) if d == len(NAMES) else [f"p{i}" for i in range(d)])
    units = list(units) if units is not None else (list(UNITS) if d == len(NAMES) else [""] * d)
    marks = {}
    for label, v in (("names", names), ("units", units), ("reference", reference), ("truth", truth), ("mle", mle)):
        if v is not None and len(v) != d:
            raise ValueError(f"'{label}' must have {d} entries like the samples' last axis, got {len(v)}")
        if label in ("reference", "truth", "mle") and v is not None:
            marks[label] = np.asarray(v, dtype=np.float64)
    if int(bins) < 2:
        raise ValueError(f"'bins' must be at least 2, got {bins!r}")
    if not (np.isfinite(smooth) and smooth >= 0):
        raise ValueError(f"'smooth' must be a non-negative number of bins, got {smooth!r}")
    plt = _plt()
    side = figsize or 1.35 * d + 1.0
    fig = plt.figure(figsize=(side, side))
    grid = fig.add_gridspec(d, d, left=0.08, right=0.98, bottom=0.08, top=0.95, wspace=0.06, hspace=0.06)
    lo, hi = np.percentile(x, [0.5, 99.5], axis=0)
    for m in marks.values():
        lo, hi = np.minimum(lo, m), np.maximum(hi, m)
    pad = 0.05 * np.where(hi > lo, hi - lo, np.maximum(np.abs(hi), 1.0))
    lo, hi = lo - pad, hi + pad
    dots = x[np.linspace(0, n - 1, min(n, int(max_points))).round().astype(int)]
    q16, q50, q84 = np.percentile(x, [16, 50, 84], axis=0)
    styles = {"reference": {"color": "0.45", "ls": ":", "marker": "s"}, "truth": {"color": "k", "ls": "--", "marker": "*"},
              "mle": {"color": "C3", "ls": "none", "marker": "x"}}  # fmt: skip
    for i in range(d):
        for j in range(i + 1):  # lower triangle only: the empty upper axes would cost half the drawing time
            ax = fig.add_subplot(grid[i, j])
            colour = _GROUPS.get(names[i], "k")
            if i == j:
                ax.hist(x[:, i], bins=int(bins), range=(lo[i], hi[i]), histtype="step", color=colour, lw=1.2, density=True)
                for q, ls in ((q16[i], "--"), (q50[i], "-"), (q84[i], "--")):
                    ax.axvline(q, color=colour, ls=ls, lw=0.8)
                ax.set_title(f"{_TEX.get(names[i], names[i])} = {q50[i]:.3g}$^{{+{q84[i] - q50[i]:.2g}}}_{{-{q50[i] - q16[i]:.2g}}}$",
                             fontsize=7)  # fmt: skip
                ax.set_yticks([])
            else:
                h, xe, ye = np.histogram2d(x[:, j], x[:, i], bins=int(bins), range=[[lo[j], hi[j]], [lo[i], hi[i]]])
                # smooth by one bin so the contours follow the density, not the Poisson noise of the cells
                h = gaussian_filter(h, smooth) if smooth > 0 else h
                ax.plot(dots[:, j], dots[:, i], ".", color="0.6", ms=1.0, alpha=0.4, rasterized=True)
                levels = sorted({_density_level(h, m) for m in _LEVELS_2D[::-1]})
                if len(levels) == 2 and 0 < levels[0] < levels[1]:
                    xc, yc = 0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1])
                    ax.contour(xc, yc, h.T, levels=levels, colors=[colour], linewidths=0.8)
                ax.set_ylim(lo[i], hi[i])
            for label, m in marks.items():
                st = styles[label]
                if i == j:
                    if st["ls"] != "none":
                        ax.axvline(m[i], color=st["color"], ls=st["ls"], lw=0.9)
                else:
                    ax.plot(m[j], m[i], st["marker"], color=st["color"], ms=4, mfc="none" if label == "reference" else None)
            ax.set_xlim(lo[j], hi[j])
            ax.tick_params(labelsize=6, labelbottom=i == d - 1, labelleft=j == 0 and i > 0)
            ax.xaxis.set_major_locator(_ticks())
            ax.yaxis.set_major_locator(_ticks())
            if i == d - 1:
                ax.set_xlabel(_label(names[j], units[j]), fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(_label(names[i], units[i]), fontsize=7)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], label=text, **styles[label])
               for label, text in (("reference", reference_label), ("truth", "truth"), ("mle", "maximum likelihood"))
               if label in marks]  # fmt: skip
    if handles:
        fig.legend(handles=handles, loc="upper right", fontsize=8, frameon=False)
    fig.text(0.99, 0.01, f"{n} posterior draws", ha="right", va="bottom", fontsize=7, color="0.4")
    if title:
        fig.suptitle(title)
    return fig


def plot_action_changes(
    samples,
    *,
    ages=None,
    radii: Sequence[float] = (6.0, 8.0, 12.0),
    level: float = 0.68,
    paper: bool = True,
    max_samples: int = 400,
    table=None,
    title: str | None = None,
):
    """rms Delta L_z and rms Delta J_R against age with posterior bands (Frankel et al. 2020, Fig. 7 style).

    Top: the rms change of L_z of stars born at ``L_z0 = R v_circ`` (exact moment of the
    truncated Eq. 4 kernel, :func:`~diskorbits.migration.derived.rms_delta_lz_truncated`),
    with the right axis in kpc (Delta L_z / 235 km/s, the migration distance).
    Bottom: rms Delta J_R at guiding radius R (Eq. 22, J_R0 = 0,
    :func:`~diskorbits.migration.derived.rms_delta_jr`), with the right axis the
    epicycle spread sqrt(J_R / kappa) in kpc at 8 kpc. Dashed black: Eq. 23,
    619 kpc km/s (tau / 6 Gyr)^0.5 and 63 kpc km/s (tau / 6 Gyr)^0.6.

    Parameters
    ----------
    samples : array [n, 11] or [11]
        Parameter vectors in display units (posterior draws, or one point).
    ages : array, Gyr, optional
        Age grid (default 60 points in (0, 6] Gyr).
    radii : sequence of float, kpc
    level : float in (0, 1)
        Central probability of the bands.
    paper : bool
        Draw the Eq. 23 curves.
    max_samples : int
        Draws used (evenly thinned).
    table : GuidingTable, optional
        Source of kappa (default MWPotential2014).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Two axes (top L_z, bottom J_R), each with a secondary y axis in kpc.

    Raises
    ------
    ValueError
        For samples that are not parameter vectors, ages outside (0, 6] Gyr, or a bad level.
    """
    from .. import units as du
    from ..migration.derived import rms_delta_jr, rms_delta_lz_truncated
    from ..migration.model import DEFAULT_CONSTANTS, default_guiding_table

    x = np.atleast_2d(np.asarray(samples, dtype=np.float64))
    if x.ndim != 2 or x.shape[1] != 11:
        raise ValueError(f"'samples' must be parameter vectors [n, 11] in display units, got shape {np.shape(samples)}")
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"'level' must lie in (0, 1), got {level!r}")
    x = x[np.unique(np.linspace(0, x.shape[0] - 1, min(x.shape[0], int(max_samples))).round().astype(int))]
    tau_m = float(DEFAULT_CONSTANTS.tau_m) / du.GYR
    ages = np.linspace(tau_m / 60, tau_m, 60) if ages is None else np.asarray(ages, dtype=np.float64)
    if ages.ndim != 1 or ages.size < 2 or not np.all((ages > 0) & (ages <= tau_m)):
        raise ValueError(f"'ages' must be a 1-D grid in (0, {tau_m:g}] Gyr")
    table = default_guiding_table() if table is None else table
    v_kms = float(DEFAULT_CONSTANTS.v_circ) / du.KMS
    kappa8 = float(table.kappa(8.0)) / du.KMS_KPC  # km/s/kpc
    tau = ages * du.GYR
    qs = [50 * (1 - level), 50.0, 50 * (1 + level)]

    plt = _plt()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.0, 7.5), sharex=True, layout="constrained")
    for k, R in enumerate(radii):
        colour = f"C{k}"
        lz = rms_delta_lz_truncated(x, tau, R * float(DEFAULT_CONSTANTS.v_circ)).value  # kpc km/s, [n, T]
        jr = rms_delta_jr(x, tau, float(R), table=table).value
        for ax, y in ((top, lz), (bottom, jr)):
            y = np.atleast_2d(y)
            a, m, b = np.percentile(y, qs, axis=0)
            if y.shape[0] > 1:
                ax.fill_between(ages, a, b, color=colour, alpha=0.25, lw=0)
            ax.plot(ages, m, color=colour, lw=1.5, label=f"{R:g} kpc")
    if paper:
        top.plot(ages, _EQ23_LZ[0] * (ages / tau_m) ** _EQ23_LZ[1], "k--", lw=1,
                 label=rf"Eq. 23: {_EQ23_LZ[0]:g} $(\tau/6\,$Gyr$)^{{{_EQ23_LZ[1]:g}}}$")  # fmt: skip
        bottom.plot(ages, _EQ23_JR[0] * (ages / tau_m) ** _EQ23_JR[1], "k--", lw=1,
                    label=rf"Eq. 23 (8 kpc): {_EQ23_JR[0]:g} $(\tau/6\,$Gyr$)^{{{_EQ23_JR[1]:g}}}$")  # fmt: skip
    top.set_ylabel(r"$\sqrt{\langle (L_z - L_{z0})^2 \rangle}$ [kpc km s$^{-1}$]")
    bottom.set_ylabel(r"$\sqrt{\langle (J_R - J_{R0})^2 \rangle}$ [kpc km s$^{-1}$]")
    bottom.set_xlabel(r"age $\tau$ [Gyr]")
    for ax in (top, bottom):
        ax.set_ylim(bottom=0)
        ax.set_xlim(0, tau_m)
        ax.legend(fontsize=8, loc="upper left")
    top.secondary_yaxis("right", functions=(lambda y: y / v_kms, lambda r: r * v_kms)).set_ylabel(
        f"migration distance [kpc] ($v_c$ = {v_kms:g} km/s)")
    bottom.secondary_yaxis(
        "right", functions=(lambda j: np.sqrt(np.clip(j, 0, None) / kappa8), lambda s: np.asarray(s) ** 2 * kappa8)
    ).set_ylabel(r"radial spread $\sqrt{J_R/\kappa}$ at 8 kpc [kpc]")
    band = f"{level:.0%} band" if x.shape[0] > 1 else "one parameter set"
    top.set_title(f"{title + ': ' if title else ''}{x.shape[0]} draws, median and {band}", fontsize=9)
    return fig


def _column(source, name: str):
    if source is None:
        return None
    try:
        col = source[name]
    except (KeyError, ValueError, TypeError):
        return None
    v = getattr(col, "value", col)
    return np.asarray(v, dtype=np.float64)


def plot_data_vs_model(
    data,
    model=None,
    *,
    columns: Sequence[str] = tuple(DATA_COLUMNS),
    bins: int = 40,
    data_label: str = "data",
    model_label: str = "model",
    note: str | None = None,
    title: str | None = None,
):
    """1-D distributions of a catalogue against model draws (Frankel et al. 2020, Fig. 6 style).

    Parameters
    ----------
    data : table or mapping of arrays
        Columns ``L_z``, ``J_R`` [kpc km/s], ``age`` [Gyr], ``feh`` [dex], ``R`` [kpc]
        (those of a ``migration.mock`` catalogue); Quantity columns are taken at face value.
    model : table or mapping of arrays, optional
        The same columns drawn from the model (e.g. a mock at the MLE); without it only
        the data are drawn and ``note`` (or "no model draws") is written in the panels.
    columns : sequence of str
        Panels, a subset of :data:`DATA_COLUMNS`.
    bins : int
    data_label, model_label : str
    note : str, optional
        Text shown when ``model`` is None (e.g. why it was skipped).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One axis per column, densities normalised to unit area.

    Raises
    ------
    ValueError
        For an unknown column, or a column missing from ``data`` (the message lists them).
    """
    unknown = [c for c in columns if c not in DATA_COLUMNS]
    if unknown or not columns:
        raise ValueError(f"'columns' must be a non-empty subset of {list(DATA_COLUMNS)}, got {list(columns)}")
    missing = [c for c in columns if _column(data, c) is None]
    if missing:
        have = list(getattr(data, "colnames", None) or (list(data) if isinstance(data, Mapping) else []))
        raise ValueError(f"'data' lacks column(s) {missing}; it has {have}")
    if model is not None:
        missing = [c for c in columns if _column(model, c) is None]
        if missing:
            raise ValueError(f"'model' lacks column(s) {missing}")
    plt = _plt()
    fig, axes = plt.subplots(1, len(columns), figsize=(3.0 * len(columns), 3.0), layout="constrained", squeeze=False)
    for ax, c in zip(axes[0], columns):
        d = _column(data, c)
        d = d[np.isfinite(d)]
        m = None if model is None else _column(model, c)
        m = None if m is None else m[np.isfinite(m)]
        both = d if m is None or m.size == 0 else np.concatenate([d, m])
        lo, hi = np.percentile(both, [0.5, 99.5]) if both.size else (0.0, 1.0)
        if not hi > lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, int(bins) + 1)
        ax.hist(d, bins=edges, density=True, color="#8c510a", alpha=0.45, label=f"{data_label} ({d.size})")
        if m is not None and m.size:
            ax.hist(m, bins=edges, density=True, histtype="step", color="#01665e", lw=1.5, label=f"{model_label} ({m.size})")
        elif model is None:
            ax.text(0.5, 0.95, note or "no model draws", transform=ax.transAxes, ha="center", va="top", fontsize=7,
                    color="0.3", wrap=True)  # fmt: skip
        ax.set_xlabel(DATA_COLUMNS[c])
        ax.set_yticks([])
    axes[0][0].set_ylabel("density")
    axes[0][0].legend(fontsize=7, loc="upper right")
    if title:
        fig.suptitle(title)
    return fig
