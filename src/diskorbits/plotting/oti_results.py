"""Figures of OTI inference results, in the style of Price-Whelan et al. 2021 Fig. 7.

* :func:`plot_error_ellipses` -- 1- and 2-sigma bootstrap error ellipses of
  each abundance ratio and of their inverse-covariance combination in two
  parameter planes, (M_disk / M*_disk, h_z) and (z_sun, v_z,sun), with the
  bootstrap samples, an optional truth (mocks) and the paper's Table 1
  values for reference.
* :func:`plot_hz_profile` -- the profile over fixed disk scale heights
  (:func:`diskorbits.torusimaging.profile_inference`): the rise of the
  profiled statistic above its minimum against h_z, with the best h_z and its
  bootstrap interval, and the fitted disk mass factor against h_z (the
  mass/scale-height trade-off).

Inputs are in the paper's units (disk factor, kpc, pc, km/s): pass means and
covariances already converted (see :func:`to_report_units`). A parameter
that was held fixed has zero variance: its ellipse collapses to a line (or a
point), which is drawn as such.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["PLANES", "plot_error_ellipses", "plot_hz_profile", "to_report_units"]

#: The two panels of PW2021 Fig. 7: parameter index pairs of (disk_mass_factor, h_z, z_sun, v_z_sun).
PLANES: tuple[tuple[int, int], ...] = ((0, 1), (2, 3))
_LABELS = (r"$M_{\rm disk} / M^*_{\rm disk}$", r"$h_z$ [kpc]", r"$z_\odot$ [pc]", r"$v_{z,\odot}$ [km s$^{-1}$]")


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def to_report_units(mean, cov=None, samples=None):
    """Internal theta (factor, kpc, kpc, kpc/Myr) -> (factor, kpc, pc, km/s): mean (4,), cov (4, 4), samples (B, 4)."""
    from .. import units

    f = np.array([1.0, 1.0, 1e3, 1.0 / units.KMS])
    out = [np.asarray(mean, dtype=np.float64) * f]
    out.append(None if cov is None else np.asarray(cov, dtype=np.float64) * np.outer(f, f))
    out.append(None if samples is None else np.asarray(samples, dtype=np.float64) * f)
    return tuple(out)


def _ellipse_xy(mean2, cov2, nsig, n=181):
    """Points on the nsig-sigma ellipse of a 2-D Gaussian (a line for a rank-1 covariance)."""
    w, v = np.linalg.eigh(0.5 * (cov2 + cov2.T))
    w = np.sqrt(np.clip(w, 0.0, None))
    t = np.linspace(0.0, 2.0 * np.pi, n)
    circle = np.stack([np.cos(t), np.sin(t)])
    return mean2[:, None] + nsig * (v @ (w[:, None] * circle))


def plot_error_ellipses(
    estimates: Mapping[str, tuple],
    *,
    joint: tuple | None = None,
    truth: Sequence[float] | None = None,
    reference: Mapping[str, tuple] | None = None,
    planes: Sequence[tuple[int, int]] = PLANES,
    samples: bool = True,
    axes=None,
    title: str | None = None,
):
    """Bootstrap error ellipses per abundance ratio and joint (PW2021 Fig. 7 style).

    Parameters
    ----------
    estimates : mapping name -> (mean (4,), cov (4, 4)[, samples (B, 4)])
        Per-ratio estimates in report units (:func:`to_report_units`).
    joint : (mean (4,), cov (4, 4)), optional
        Combined estimate, drawn in black and thicker.
    truth : sequence of 4 floats, optional
        Known parameters (mocks): dashed lines and a star.
    reference : mapping label -> (mean (4,), std (4,)), optional
        External values (the paper's Table 1) drawn as grey error bars.
    planes : sequence of (i, j)
        Parameter pairs, one panel each (default :data:`PLANES`).
    samples : bool
        Draw the bootstrap samples as dots.
    axes : sequence of Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For malformed means, covariances or planes.
    """
    plt = _plt()
    planes = [tuple(int(k) for k in p) for p in planes]
    if not planes or any(len(p) != 2 or not all(0 <= k < 4 for k in p) for p in planes):
        raise ValueError(f"'planes' must be pairs of parameter indices 0-3; got {planes!r}")
    if axes is None:
        fig, axes = plt.subplots(1, len(planes), figsize=(5.0 * len(planes), 4.4), layout="constrained", squeeze=False)
        axes = axes[0]
    else:
        axes = list(np.atleast_1d(axes))
        fig = axes[0].figure
    if len(axes) != len(planes):
        raise ValueError(f"{len(axes)} axes for {len(planes)} planes")

    def parts(entry, name):
        mean = np.asarray(entry[0], dtype=np.float64)
        cov = np.asarray(entry[1], dtype=np.float64)
        if mean.shape != (4,) or cov.shape != (4, 4):
            raise ValueError(f"{name!r}: mean must be (4,) and cov (4, 4); got {mean.shape}, {cov.shape}")
        smp = np.asarray(entry[2], dtype=np.float64) if len(entry) > 2 and entry[2] is not None else None
        return mean, cov, smp

    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    items = [(name, *parts(e, name), colours[i % len(colours)], 1.2) for i, (name, e) in enumerate(estimates.items())]
    if joint is not None:
        items.append(("joint", *parts(tuple(joint)[:2], "joint"), "k", 2.2))
    for ax, (i, j) in zip(axes, planes):
        sub = np.ix_([i, j], [i, j])
        for name, mean, cov, smp, colour, lw in items:
            if samples and smp is not None:
                ax.plot(smp[:, i], smp[:, j], ".", color=colour, ms=3, alpha=0.35)
            for nsig, ls in ((1.0, "-"), (2.0, ":")):
                xy = _ellipse_xy(mean[[i, j]], cov[sub], nsig)
                ax.plot(xy[0], xy[1], ls, color=colour, lw=lw, label=name if nsig == 1.0 else None)
            ax.plot(mean[i], mean[j], "o", color=colour, ms=4)
        if reference:
            for k, (label, (m, s)) in enumerate(reference.items()):
                m, s = np.asarray(m, dtype=np.float64), np.asarray(s, dtype=np.float64)
                ax.errorbar(m[i], m[j], xerr=s[i], yerr=s[j], fmt="s", color="0.5", mfc="white" if k else "0.5",
                            ms=5, capsize=2, label=f"PW2021: {label}")
        if truth is not None:
            t = np.asarray(truth, dtype=np.float64)
            ax.axvline(t[i], color="0.3", ls="--", lw=0.8)
            ax.axhline(t[j], color="0.3", ls="--", lw=0.8)
            ax.plot(t[i], t[j], "*", color="gold", mec="k", ms=11, label="truth", zorder=5)
        ax.set_xlabel(_LABELS[i])
        ax.set_ylabel(_LABELS[j])
        fixed = [_LABELS[k] for k in (i, j) if all(np.asarray(c)[k, k] == 0 for _, _, c, _, _, _ in items)]
        if fixed:
            ax.text(0.02, 0.02, "fixed: " + ", ".join(fixed), transform=ax.transAxes, fontsize=8, color="0.3")
    axes[0].legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title)
    return fig


def plot_hz_profile(
    h_z,
    delta_statistic,
    delta_statistic_err,
    disk_mass_factor,
    disk_mass_factor_err,
    *,
    best: float | None = None,
    interval: Sequence[float] | None = None,
    truth: Sequence[float] | None = None,
    flat: bool = False,
    axes=None,
    title: str | None = None,
):
    """The h_z profile: statistic and disk mass factor against the fixed scale height.

    Parameters
    ----------
    h_z : array_like (G,)
        Grid of Miyamoto-Nagai scale heights, kpc.
    delta_statistic, delta_statistic_err : array_like (G,)
        ``S(h) - min S`` (dimensionless) and its bootstrap scatter (paired
        resamples: :attr:`HzProfile.delta_statistic_std`).
    disk_mass_factor, disk_mass_factor_err : array_like (G,)
        Fitted M_disk / M*_disk at each h_z and its bootstrap error.
    best : float, optional
        Best h_z (kpc), a vertical line in both panels.
    interval : (lower, upper), optional
        Its interval, kpc, shaded (within the grid's range).
    truth : (disk_mass_factor, h_z), optional
        Known values (mocks): a star in the lower panel, dashed lines.
    flat : bool
        The profile does not locate h_z (:attr:`HzProfile.flat`): said in the upper panel.
    axes : two Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For arrays of different lengths.
    """
    plt = _plt()
    x = np.asarray(h_z, dtype=np.float64).ravel()
    arrs = [np.asarray(a, dtype=np.float64).ravel() for a in
            (delta_statistic, delta_statistic_err, disk_mass_factor, disk_mass_factor_err)]
    if any(a.shape != x.shape for a in arrs):
        raise ValueError(f"all profile arrays need {x.size} values (one per h_z); got {[a.size for a in arrs]}")
    ds, dse, f, fe = arrs
    if axes is None:
        fig, axes = plt.subplots(2, 1, figsize=(5.2, 6.0), sharex=True, layout="constrained")
    else:
        axes = list(np.ravel(axes))
        if len(axes) != 2:
            raise ValueError(f"need two axes; got {len(axes)}")
        fig = axes[0].figure
    top, bottom = axes
    top.errorbar(x, ds, yerr=np.where(np.isfinite(dse), dse, 0.0), fmt="o-", color="C0", ms=4, capsize=2)
    top.axhline(0.0, color="0.6", lw=0.8)
    top.set_ylabel(r"$S(h_z) - S_{\rm min}$")
    bottom.errorbar(x, f, yerr=np.where(np.isfinite(fe), fe, 0.0), fmt="s-", color="C1", ms=4, capsize=2)
    bottom.set_ylabel(_LABELS[0])
    bottom.set_xlabel(_LABELS[1])
    for ax in axes:
        if interval is not None and np.all(np.isfinite(interval)):
            lo, hi = max(float(interval[0]), x.min()), min(float(interval[1]), x.max())
            ax.axvspan(lo, hi, color="C0", alpha=0.15, lw=0, label="bootstrap interval" if ax is top else None)
        if best is not None and np.isfinite(best):
            ax.axvline(float(best), color="C0", lw=1.2, label=f"best $h_z$ = {best:.3f} kpc" if ax is top else None)
    if truth is not None:
        tf, th = (float(v) for v in truth)
        for ax in axes:
            ax.axvline(th, color="0.3", ls="--", lw=0.8)
        bottom.axhline(tf, color="0.3", ls="--", lw=0.8)
        bottom.plot(th, tf, "*", color="gold", mec="k", ms=11, label="truth", zorder=5)
        bottom.legend(fontsize=7, loc="best")
    if best is not None or interval is not None:
        top.legend(fontsize=7, loc="best")
    if flat:
        top.text(0.5, 0.97, "flat: no $h_z$ disfavoured by 2 bootstrap $\\sigma$", transform=top.transAxes,
                 ha="center", va="top", fontsize=8, color="C3")
    if title:
        fig.suptitle(title)
    return fig
