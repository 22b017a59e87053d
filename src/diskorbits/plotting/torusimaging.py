"""Figures of Orbital Torus Imaging, in the style of Price-Whelan et al. 2021 Figs. 5 and 6.

* :func:`plot_deviation_vs_angle` -- abundance deviations Delta against the
  vertical angle theta_z: unbinned points (or their density), binned means
  (for the eye only: the fits never bin), the Fourier fit(s) and, for
  bootstrap fits, one thin line per trial plus the mean ``cos 2 theta_z``
  term (Fig. 5);
* :func:`plot_coefficients_vs_mass` -- Fourier coefficients a1, b1, a2 (and
  optionally b2) against the disk-mass factor, with the interpolated zero
  crossing of a2 (Fig. 6).

Each function returns a :class:`matplotlib.figure.Figure` and shows or saves
nothing; pass ``ax`` to draw into an existing axes. Coefficients are
``(c0, a1, b1, a2, b2)`` as in :mod:`diskorbits.torusimaging.fourier`
(``a_m`` multiplies ``cos m theta``, ``b_m`` ``sin m theta``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["a2_zero_crossing", "plot_coefficients_vs_mass", "plot_deviation_vs_angle"]

#: Points drawn individually before switching to a 2-D histogram.
MAX_POINTS: int = 20000
_TERMS = ("c0", "a1", "b1", "a2", "b2")


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _coefficients(fits) -> np.ndarray:
    """(B, P) coefficient array from a FourierFit, an array (P,) / (B, P) or a list of either."""
    if fits is None:
        return np.zeros((0, 5))
    if hasattr(fits, "coefficients"):
        c = np.asarray(fits.coefficients, dtype=np.float64)
    elif isinstance(fits, (list, tuple)) and fits and hasattr(fits[0], "coefficients"):
        c = np.stack([np.asarray(f.coefficients, dtype=np.float64) for f in fits])
    else:
        c = np.asarray(fits, dtype=np.float64)
    c = np.atleast_2d(c)
    if c.ndim != 2 or c.shape[-1] % 2 != 1:
        raise ValueError(f"'fits' must hold coefficients (c0, a1, b1, ...) of shape (P,) or (B, P), P odd; got {c.shape}")
    return c


def _series(c: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Eq. 3 of PW2021 for coefficients (B, P) on angles (N,): (B, N)."""
    out = np.repeat(c[:, :1], theta.size, axis=1)
    for m in range(1, (c.shape[1] - 1) // 2 + 1):
        out = out + c[:, 2 * m - 1, None] * np.cos(m * theta) + c[:, 2 * m, None] * np.sin(m * theta)
    return out


def plot_deviation_vs_angle(
    theta_z,
    delta,
    fits=None,
    *,
    n_bins: int = 36,
    ax=None,
    show_points: bool = True,
    title: str | None = None,
    ylabel: str = r"$\Delta$ [dex]",
    ylim: tuple[float, float] | None = None,
):
    """Abundance deviation against vertical angle (PW2021 Fig. 5 style).

    Parameters
    ----------
    theta_z : array_like (N,)
        Vertical angles, rad (wrapped onto [0, 2 pi)).
    delta : array_like (N,)
        Abundance deviations Delta_n, dex. Non-finite pairs are dropped.
    fits : FourierFit, array_like (P,) or (B, P), or list of FourierFit, optional
        One fit (a single black curve) or B bootstrap fits: a thin blue line
        each, their mean (black) and the mean ``a2 cos 2 theta_z`` term (red),
        whose amplitude tracks the disk mass.
    n_bins : int
        Bins of the binned means (black steps; for display only).
    ax : matplotlib Axes, optional
    show_points : bool
        Draw the unbinned data: points, or a 2-D histogram above :data:`MAX_POINTS`.
    title, ylabel : str
    ylim : (float, float), optional
        Default: the 1st-99th percentile range of Delta, padded.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For mismatched shapes, ``n_bins < 1`` or malformed ``fits``.
    """
    plt = _plt()
    th = np.asarray(theta_z, dtype=np.float64).ravel()
    d = np.asarray(delta, dtype=np.float64).ravel()
    if th.shape != d.shape:
        raise ValueError(f"'theta_z' and 'delta' must have the same length; got {th.size} and {d.size}")
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"'n_bins' must be a positive integer; got {n_bins!r}")
    coeffs = _coefficients(fits)
    ok = np.isfinite(th) & np.isfinite(d)
    th, d = np.mod(th[ok], 2 * np.pi), d[ok]

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 4.0), layout="constrained")
    else:
        fig = ax.figure
    if ylim is None and d.size:
        lo, hi = np.percentile(d, [1, 99])
        pad = 0.1 * (hi - lo) if hi > lo else 0.05
        ylim = (lo - pad, hi + pad)
    if show_points and d.size:
        if d.size <= MAX_POINTS:
            ax.plot(th, d, ".", ms=1.5, color="0.6", alpha=0.5, rasterized=True, label="stars")
        else:
            ax.hist2d(th, d, bins=(n_bins * 2, 64), range=((0, 2 * np.pi), ylim), cmap="Greys", rasterized=True)

    edges = np.linspace(0.0, 2 * np.pi, n_bins + 1)
    idx = np.clip(np.digitize(th, edges) - 1, 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    sums = np.bincount(idx, weights=d, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / counts, np.nan)
    ax.stairs(means, edges, color="k", lw=1.5, label="binned mean")

    grid = np.linspace(0.0, 2 * np.pi, 256)
    if coeffs.shape[0] == 1:
        ax.plot(grid, _series(coeffs, grid)[0], color="k", lw=2, label="Fourier fit")
    elif coeffs.shape[0] > 1:
        curves = _series(coeffs, grid)
        for i, curve in enumerate(curves):
            ax.plot(grid, curve, color="tab:blue", lw=0.5, alpha=0.3, label="bootstrap fits" if i == 0 else None)
        mean = coeffs.mean(axis=0)
        if coeffs.shape[1] >= 5:
            ax.plot(grid, mean[0] + mean[3] * np.cos(2 * grid), color="tab:red", lw=2,
                    label=r"mean $a_2 \cos 2\theta_z$")

    ax.axhline(0.0, color="0.3", lw=0.5, ls=":")
    ax.set_xlim(0.0, 2 * np.pi)
    ax.set_xticks(np.arange(5) * np.pi / 2, ["0", r"$\pi/2$", r"$\pi$", r"$3\pi/2$", r"$2\pi$"])
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(r"vertical angle $\theta_z$ [rad]")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small")
    return fig


def a2_zero_crossing(mass_factors, a2, a2_err=None):
    """Disk-mass factor where a2 crosses zero, by linear interpolation (PW2021 Sec. 6.1).

    Returns ``(x0, sigma)``: ``sigma`` from interpolating ``a2 -/+ a2_err``
    onto zero (half their spread; NaN without errors or where they do not
    cross). ``(nan, nan)`` when a2 does not change sign.
    """
    x = np.asarray(mass_factors, dtype=np.float64)
    y = np.asarray(a2, dtype=np.float64)
    order = np.argsort(x)
    x, y = x[order], y[order]

    def crossing(yy):
        s = np.flatnonzero(np.sign(yy[:-1]) * np.sign(yy[1:]) <= 0)
        if s.size == 0:
            return np.nan
        i = s[0]
        if yy[i + 1] == yy[i]:
            return float(x[i])
        return float(x[i] - yy[i] * (x[i + 1] - x[i]) / (yy[i + 1] - yy[i]))

    x0 = crossing(y)
    if a2_err is None or not np.isfinite(x0):
        return x0, np.nan
    e = np.asarray(a2_err, dtype=np.float64)[order]
    lo, hi = crossing(y - e), crossing(y + e)
    return x0, 0.5 * abs(hi - lo) if np.isfinite(lo) and np.isfinite(hi) else np.nan


def plot_coefficients_vs_mass(
    mass_factors,
    coeffs,
    errs=None,
    *,
    terms: Sequence[str] = ("a1", "b1", "a2"),
    truth: float | None = None,
    axes=None,
    title: str | None = None,
):
    """Fourier coefficients against the disk-mass factor (PW2021 Fig. 6 style).

    Parameters
    ----------
    mass_factors : array_like (M,)
        M_disk / M*_disk of each mass model.
    coeffs : array_like (M, P) or dict of name -> (M,)
        Coefficients ``(c0, a1, b1, a2, b2)`` per mass model, dex.
    errs : same shape as ``coeffs``, optional
        1-sigma (bootstrap) uncertainties, drawn as error bars.
    terms : sequence of str
        Coefficients to show, one panel each (default a1, b1, a2).
    truth : float, optional
        A known disk-mass factor (mocks), drawn as a dashed vertical line.
    axes : sequence of Axes, optional
        One per term.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        When ``a2`` is shown and changes sign, its panel marks the
        interpolated zero crossing with a red square and horizontal error bar
        (:func:`a2_zero_crossing`).

    Raises
    ------
    ValueError
        For an unknown term or mismatched shapes.
    """
    plt = _plt()
    x = np.asarray(mass_factors, dtype=np.float64).ravel()

    def table(c):
        if c is None:
            return None
        if isinstance(c, dict):
            return {k: np.asarray(v, dtype=np.float64).ravel() for k, v in c.items()}
        arr = np.asarray(c, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] != x.size:
            raise ValueError(f"coefficients must have shape ({x.size}, P); got {arr.shape}")
        return {name: arr[:, i] for i, name in enumerate(_TERMS[: arr.shape[1]])}

    cs, es = table(coeffs), table(errs)
    for t in terms:
        if t not in cs:
            raise ValueError(f"unknown or missing coefficient {t!r}; available: {sorted(cs)}")
        if cs[t].size != x.size:
            raise ValueError(f"coefficient {t!r} has {cs[t].size} values for {x.size} mass factors")
    if axes is None:
        fig, axes = plt.subplots(len(terms), 1, figsize=(5.0, 2.0 * len(terms) + 0.5), sharex=True,
                                 layout="constrained", squeeze=False)
        axes = axes[:, 0]
    else:
        axes = list(np.ravel(axes))
        fig = axes[0].figure
    labels = {"a1": r"$a_1$ (cos $\theta_z$)", "b1": r"$b_1$ (sin $\theta_z$)",
              "a2": r"$a_2$ (cos $2\theta_z$)", "b2": r"$b_2$ (sin $2\theta_z$)", "c0": r"$c_0$"}
    order = np.argsort(x)
    for ax, t in zip(axes, terms):
        y = cs[t]
        e = None if es is None or t not in es else es[t]
        ax.errorbar(x[order], y[order], yerr=None if e is None else e[order], fmt="o-", color="k", ms=3, lw=1, capsize=2)
        ax.axhline(0.0, color="0.4", lw=0.6, ls=":")
        if truth is not None:
            ax.axvline(truth, color="tab:green", lw=1, ls="--", label="truth")
        if t == "a2":
            x0, sx = a2_zero_crossing(x, y, e)
            if np.isfinite(x0):
                ax.errorbar([x0], [0.0], xerr=None if not np.isfinite(sx) else [sx], fmt="s", color="tab:red",
                            ms=7, capsize=3, label=f"$a_2 = 0$ at {x0:.3f}" + (f" ± {sx:.3f}" if np.isfinite(sx) else ""))
            ax.legend(loc="best", fontsize="small")
        ax.set_ylabel(labels.get(t, t) + " [dex]")
    axes[-1].set_xlabel(r"$M_{\rm disk} / M^{*}_{\rm disk}$")
    if title:
        axes[0].set_title(title)
    return fig
