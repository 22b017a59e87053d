"""Diffusion coefficients fitted to rms action-change curves (Modak et al. 2026, Secs. III.2-III.3, App. C).

The paper measures ``D_RR`` and ``D_phiphi`` by drawing lines of *fixed*
slope through the rms action changes of a cold ensemble (its Fig. 4) in the
two asymptotic regimes and converting their heights with Eqs. 29-30 (and
``c(alpha_R)`` of Eq. C5):

* long wavelength (``k_* a << 1``): ``alpha_R = 1``, ``alpha_phi = 0``
  (Eqs. 33-35), so ``rms dJ_R ~ t`` and ``rms dJ_phi ~ t^1/2``;
* short wavelength (``k_* a >> 1``): ``alpha_R = alpha_phi = -1/2``
  (Eqs. 36-38), so both grow as ``t^2/5``.

This module does the same, reproducibly:

* :class:`~diskorbits.diffusion.changes.ActionChanges` holds per-star changes ``dJ_R``, ``dJ_phi`` at a few
  times (from a shearing-box run file, :meth:`ActionChanges.from_run`, or a
  plain table, :meth:`ActionChanges.from_table`), or only the rms curves;
* :func:`fit_regime` is the fixed-slope least-squares fit in log space:
  ``d_RR`` from Eq. 29, then ``d_phiphi`` from Eq. 30 given ``d_RR``;
* :func:`~diskorbits.diffusion.regimes.auto_windows` chooses the time window of each regime from the
  physics (see its docstring);
* :func:`fit_diffusion` fits both regimes and bootstraps over stars, giving
  a :class:`DiffusionFit` whose :attr:`~DiffusionFit.coefficients` is a
  :class:`~diskorbits.diffusion.coefficients.DiffusionCoefficients` and whose
  :meth:`~DiffusionFit.to_dict` / :func:`write_fit_json` report everything in
  the paper's units.

The bootstrap resamples *stars*: it measures how well N stars pin down the
rms curves of one realisation of the fluctuation field. All stars of a
shearing-box run feel the same field, so realisation-to-realisation
(cosmic) variance and the choice of window are *not* included; both are
usually larger than the bootstrap error for N ~ 10^4-10^5 stars.

Internal units: t in Myr, actions in kpc^2/Myr, ``d_ii`` in
(kpc^2/Myr)^(2 - alpha_i) / Myr. Reports use the paper's units, J in
kpc km/s and D in (kpc km/s)^2/Gyr (:data:`PAPER_ACTION`, :data:`PAPER_D`).
"""
from __future__ import annotations

import dataclasses
import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .. import units
from . import analytic
from ..io.atomic import atomic_write_text
from .changes import ActionChanges
from .coefficients import (
    PAPER_ACTION,
    PAPER_D,
    BrokenPowerLaw,
    DiffusionCoefficients,
    PowerLaw,
)
from .regimes import (
    DEFAULT_TAU_STAR_MYR,
    MIN_POINTS,
    REGIME_INDICES,
    SLOPE_TOLERANCE,
    _check_regime,
    _expected_slopes,
    auto_windows,
)

__all__ = [
    "FIT_FORMAT",
    "DiffusionFit",
    "Estimate",
    "RegimeFit",
    "fit_diffusion",
    "fit_regime",
    "load_fit_coefficients",
    "write_fit_json",
]

#: Identifier and version of the JSON layout written by :func:`write_fit_json`.
FIT_FORMAT = "diskorbits.diffusion.fit/1"


# ============================================================================ fixed-slope fit


def _window_mask(t, window):
    t = np.asarray(t, dtype=np.float64)
    m = t > 0
    if window is not None:
        t0, t1 = (float(x) for x in window)
        if not t0 < t1:
            raise ValueError(f"window must be (t_min, t_max) Myr with t_min < t_max, got {window!r}")
        m &= (t >= t0) & (t <= t1)
    return m


def _unit_curves(t, regime, closure="exponential"):
    """Eqs. 29-30 (or the self-similar closure) with d_RR = d_phiphi = 1 (NumPy)."""
    a_R, a_p = REGIME_INDICES[regime]
    r, p = analytic.cold_ensemble_rms(np.asarray(t, dtype=np.float64), 1.0, a_R, 1.0, a_p, closure)
    return np.asarray(r), np.asarray(p)


def fit_regime(t_myr, rms_dJR, rms_dJphi, regime: str, window=None, closure: str = "exponential"):
    """Fixed-slope fit of one regime's ``(d_RR, d_phiphi)`` to rms curves (Eqs. 29-30, C5).

    With the indices of the regime held fixed (:data:`REGIME_INDICES`), Eq. 29
    gives ``ln rms dJ_R = ln[sqrt(2) c(alpha_R)] + ln(d_RR t) / (2 - alpha_R)``,
    so the least-squares ``ln d_RR`` in log space is ``(2 - alpha_R)`` times the
    mean log residual of the unit-coefficient curve; then Eq. 30, whose
    height is ``d_phiphi^(1/2)`` times a known function of ``d_RR`` and t,
    gives ``ln d_phiphi`` the same way. Every sampled time in the window has
    equal weight (run files sample roughly log-uniformly, like a by-eye fit
    on the paper's log-log axes).

    Parameters
    ----------
    t_myr : array [m]
        Times, Myr.
    rms_dJR, rms_dJphi : array [..., m]
        rms action changes, kpc^2/Myr; leading axes (e.g. bootstrap samples) are fitted independently.
    regime : {"long", "short"}
    window : (float, float), optional
        ``(t_min, t_max)`` in Myr (inclusive); default all t > 0.
    closure : {"exponential", "self-similar"}
        How coefficients map to rms curves (:mod:`~diskorbits.diffusion.analytic`):
        the paper's Eqs. 29-30 (default, comparable with Eqs. 40-41), or the exact
        cold-start solution of Eq. 26, which the Langevin evolution reproduces.
        The two agree in the long-wavelength regime.

    Returns
    -------
    d_RR, d_phiphi : float or ndarray [...]
        In (kpc^2/Myr)^(2 - alpha) / Myr (internal units).

    Raises
    ------
    ValueError
        Unknown regime, fewer than 2 times in the window, non-positive rms values.

    Examples
    --------
    >>> t = np.geomspace(100.0, 1e4, 12)
    >>> R, P = analytic.cold_ensemble_rms_prediction(t, 2e-6, -0.5, 3e-5, -0.5)
    >>> d_RR, d_pp = fit_regime(t, np.asarray(R), np.asarray(P), "short")
    >>> bool(np.isclose(d_RR, 2e-6) and np.isclose(d_pp, 3e-5))
    True
    """
    regime = _check_regime(regime)
    a_R, _ = REGIME_INDICES[regime]
    t = np.asarray(t_myr, dtype=np.float64)
    R = np.asarray(rms_dJR, dtype=np.float64)
    P = np.asarray(rms_dJphi, dtype=np.float64)
    if t.ndim != 1 or R.shape[-1:] != t.shape or P.shape != R.shape:
        raise ValueError(f"fit_regime: need t [m] and rms arrays [..., m]; got {t.shape}, {R.shape}, {P.shape}")
    m = _window_mask(t, window)
    if m.sum() < 2:
        raise ValueError(f"fit_regime: only {int(m.sum())} sampled time(s) with t > 0 in window {window!r}")
    tw, Rw, Pw = t[m], R[..., m], P[..., m]
    if np.any(~(Rw > 0)) or np.any(~(Pw > 0)):
        raise ValueError("fit_regime: rms action changes must be positive inside the window")
    r1, p1 = _unit_curves(tw, regime, closure)
    p = 2.0 - a_R
    ln_dRR = p * np.mean(np.log(Rw) - np.log(r1), axis=-1)
    d_RR = np.exp(ln_dRR)
    # Eq. 30: rms dJ_phi = p1(t) d_phiphi^(1/2) d_RR^(alpha_phi / (2 p)) with p1 the unit curve
    a_p = REGIME_INDICES[regime][1]
    ln_pred = np.log(p1) + (a_p / (2.0 * p)) * ln_dRR[..., None]
    d_pp = np.exp(2.0 * np.mean(np.log(Pw) - ln_pred, axis=-1))
    if d_RR.ndim == 0:
        return float(d_RR), float(d_pp)
    return d_RR, d_pp


# ============================================================================ results


class Estimate(NamedTuple):
    """A fitted number with its bootstrap spread (None without a bootstrap)."""

    value: float
    std: float | None = None
    p16: float | None = None
    p84: float | None = None


@dataclasses.dataclass(frozen=True)
class RegimeFit:
    """The fit of one regime.

    Attributes
    ----------
    regime : str
        ``"long"`` or ``"short"``.
    window_myr : (float, float)
        Window, Myr.
    t_myr : ndarray
        Sampled times used, Myr.
    d_RR, d_phiphi : float
        Best fit, internal units ((kpc^2/Myr)^(2 - alpha) / Myr).
    samples : ndarray [B, 2] or None
        Bootstrap ``(d_RR, d_phiphi)`` in internal units (None: no per-star data).
    slopes : dict
        Free power-law fits in the window: ``{"rms_dJR": (slope, err), "rms_dJphi": (slope, err)}``.
    mean_JR_over_J_star : (float, float) or None
        Range of <J_R>/J_* over the window.
    log_residual_rms : (float, float)
        rms of ln(data / model) over the window for dJ_R and dJ_phi: how well the fixed slope fits.
    warnings : tuple of str
    """

    regime: str
    window_myr: tuple[float, float]
    t_myr: np.ndarray
    d_RR: float
    d_phiphi: float
    samples: np.ndarray | None
    slopes: dict
    mean_JR_over_J_star: tuple[float, float] | None
    log_residual_rms: tuple[float, float]
    warnings: tuple[str, ...] = ()
    closure: str = "exponential"

    @property
    def alpha_R(self) -> float:
        return REGIME_INDICES[self.regime][0]

    @property
    def alpha_phi(self) -> float:
        return REGIME_INDICES[self.regime][1]

    @property
    def power_laws(self) -> tuple[PowerLaw, PowerLaw]:
        """``(D_RR, D_phiphi)`` of this regime as :class:`PowerLaw` (Eqs. 27-28)."""
        return PowerLaw(self.d_RR, self.alpha_R), PowerLaw(self.d_phiphi, self.alpha_phi)

    def _to_paper(self, d, alpha):
        return np.asarray(d) / PAPER_D * PAPER_ACTION**alpha

    @property
    def paper_samples(self) -> np.ndarray | None:
        """Bootstrap samples in paper units, [B, 2]."""
        if self.samples is None:
            return None
        return np.stack(
            [self._to_paper(self.samples[:, 0], self.alpha_R), self._to_paper(self.samples[:, 1], self.alpha_phi)],
            axis=1,
        )

    def estimate(self, which: str) -> Estimate:
        """``"D_RR"`` or ``"D_phiphi"`` in paper units ((kpc km/s)^2/Gyr at J_R = 1 kpc km/s)."""
        col = {"D_RR": 0, "D_phiphi": 1}.get(which)
        if col is None:
            raise ValueError(f"which must be 'D_RR' or 'D_phiphi', got {which!r}")
        best = float(self._to_paper((self.d_RR, self.d_phiphi)[col], (self.alpha_R, self.alpha_phi)[col]))
        s = self.paper_samples
        if s is None:
            return Estimate(best)
        x = s[:, col]
        return Estimate(best, float(np.std(x, ddof=1)), float(np.percentile(x, 16)), float(np.percentile(x, 84)))

    @property
    def covariance_paper(self) -> np.ndarray | None:
        """Bootstrap covariance of ``(D_RR, D_phiphi)`` in paper units, 2x2."""
        s = self.paper_samples
        return None if s is None else np.cov(s, rowvar=False)

    def rms_model(self, t_myr):
        """The fitted model curves (Eqs. 29-30 or the self-similar closure): ``(rms dJ_R, rms dJ_phi)``, kpc^2/Myr."""
        r, p = analytic.cold_ensemble_rms(
            np.asarray(t_myr, dtype=np.float64), self.d_RR, self.alpha_R, self.d_phiphi, self.alpha_phi, self.closure
        )
        return np.asarray(r), np.asarray(p)

    def to_dict(self) -> dict:
        """JSON-ready summary in paper units."""
        out: dict[str, Any] = {
            "window_myr": [float(self.window_myr[0]), float(self.window_myr[1])],
            "t_myr": [float(x) for x in self.t_myr],
            "n_times": len(self.t_myr),
            "alpha_R": self.alpha_R,
            "alpha_phi": self.alpha_phi,
        }
        for name in ("D_RR", "D_phiphi"):
            e = self.estimate(name)
            out[name] = {"coefficient": e.value, "bootstrap_mean": None, "std": e.std, "p16": e.p16, "p84": e.p84}
            if self.samples is not None:
                out[name]["bootstrap_mean"] = float(np.mean(self.paper_samples[:, 0 if name == "D_RR" else 1]))
        cov = self.covariance_paper
        out["covariance"] = None if cov is None else cov.tolist()
        out["correlation"] = None if cov is None else float(cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1]))
        er, ep = _expected_slopes(self.regime)
        out["free_slopes"] = {
            "rms_dJR": {"slope": self.slopes["rms_dJR"][0], "err": self.slopes["rms_dJR"][1], "expected": er},
            "rms_dJphi": {"slope": self.slopes["rms_dJphi"][0], "err": self.slopes["rms_dJphi"][1], "expected": ep},
        }
        out["mean_JR_over_J_star"] = None if self.mean_JR_over_J_star is None else list(self.mean_JR_over_J_star)
        out["log_residual_rms"] = {"rms_dJR": self.log_residual_rms[0], "rms_dJphi": self.log_residual_rms[1]}
        out["warnings"] = list(self.warnings)
        return out


@dataclasses.dataclass(frozen=True)
class DiffusionFit:
    """Fitted diffusion coefficients of both regimes, with bootstrap uncertainties.

    Attributes
    ----------
    label : str
    regimes : dict
        ``"long"``/``"short"`` -> :class:`RegimeFit` or None (not fitted; see ``notes``).
    notes : dict
        ``"long"``/``"short"`` -> why a regime was not fitted (absent when it was).
    n_stars : int or None
        None for rms-only data.
    n_bootstrap : int
        0 when no bootstrap was possible (rms-only data) or asked for.
    seed : int or None
    J_star, tau_star : float or None
        kpc^2/Myr and Myr.
    windows_mode : str
        ``"auto"`` or ``"explicit"``.
    t_myr : ndarray [m]
        Times of the data.
    rms_band : dict or None
        16th/84th bootstrap percentiles of the rms curves at ``t_myr``:
        ``{"rms_dJR": (lo, hi), "rms_dJphi": (lo, hi)}``, kpc^2/Myr.
    meta : dict
    """

    label: str
    regimes: dict
    notes: dict
    n_stars: int | None
    n_bootstrap: int
    seed: int | None
    J_star: float | None
    tau_star: float | None
    windows_mode: str
    t_myr: np.ndarray
    rms_band: dict | None = None
    meta: dict = dataclasses.field(default_factory=dict)
    closure: str = "exponential"

    @property
    def long(self) -> RegimeFit | None:
        return self.regimes.get("long")

    @property
    def short(self) -> RegimeFit | None:
        return self.regimes.get("short")

    @property
    def bootstrap(self) -> bool:
        return self.n_bootstrap > 0

    @property
    def bootstrap_note(self) -> str:
        if self.n_stars is None:
            return "rms-only data: no per-star changes, so no bootstrap uncertainties"
        if self.n_bootstrap == 0:
            return "bootstrap not requested (n_bootstrap = 0)"
        return (
            f"{self.n_bootstrap} resamplings of the {self.n_stars} stars with replacement; star-sampling error only "
            "(one field realisation: realisation-to-realisation scatter and window choice not included)"
        )

    def _missing(self):
        miss = [r for r in ("long", "short") if self.regimes.get(r) is None]
        return miss

    @property
    def coefficients(self) -> DiffusionCoefficients:
        """Broken power laws whose branches are the long- and short-wavelength fits (Sec. III.3).

        Raises
        ------
        ValueError
            If a regime was not fitted (the message says why) or ``J_*`` is unknown.
        """
        miss = self._missing()
        if miss:
            why = "; ".join(f"{r}: {self.notes.get(r, 'not requested')}" for r in miss)
            raise ValueError(f"cannot build broken-power-law coefficients, regime(s) {miss} not fitted ({why})")
        if self.J_star is None:
            raise ValueError("cannot build DiffusionCoefficients without J_* (pass J_star=... to fit_diffusion)")
        lo, hi = self.long, self.short
        return DiffusionCoefficients(
            D_RR=BrokenPowerLaw(PowerLaw(lo.d_RR, lo.alpha_R), PowerLaw(hi.d_RR, hi.alpha_R)),
            D_phiphi=BrokenPowerLaw(PowerLaw(lo.d_phiphi, lo.alpha_phi), PowerLaw(hi.d_phiphi, hi.alpha_phi)),
            J_star=float(self.J_star),
            name=self.label or "fit",
        )

    @property
    def late_ratio(self) -> Estimate:
        """Late ``rms dJ_R / rms dJ_phi`` of the short-wavelength fit under the fit's closure.

        ``(2 d_RR / d_phiphi)^(1/2)`` (Eq. 39) for the exponential closure, ``(d_RR / (2 d_phiphi))^(1/2)``
        for the self-similar one (:func:`~diskorbits.diffusion.analytic.late_ratio_factor`).

        Raises
        ------
        ValueError
            If the short-wavelength regime was not fitted.
        """
        s = self.short
        if s is None:
            raise ValueError(f"Eq. 39 needs the short-wavelength fit: {self.notes.get('short', 'not requested')}")
        C = analytic.late_ratio_factor(s.alpha_R, self.closure)
        best = math.sqrt(C * s.d_RR / s.d_phiphi)
        if s.samples is None:
            return Estimate(best)
        x = np.sqrt(C * s.samples[:, 0] / s.samples[:, 1])
        return Estimate(best, float(np.std(x, ddof=1)), float(np.percentile(x, 16)), float(np.percentile(x, 84)))

    def to_dict(self) -> dict:
        """JSON-ready summary in the paper's units (D in (kpc km/s)^2/Gyr with J_R in kpc km/s)."""
        from .. import __version__

        try:
            coeffs = self.coefficients.to_paper_units()
        except ValueError:
            coeffs = None
        try:
            lr = self.late_ratio._asdict()
        except ValueError:
            lr = None
        return {
            "format": FIT_FORMAT,
            "label": self.label,
            "units": {
                "t": "Myr",
                "J": "kpc km/s",
                "D": "(kpc km/s)^2/Gyr, D = coefficient * (J_R / kpc km/s)^alpha",
            },
            "method": (
                "fixed-slope least squares in log space, Modak et al. (2026) Eqs. 29-30 with c(alpha_R) of Eq. C5"
                if self.closure == "exponential"
                else "fixed-slope least squares in log space, exact self-similar solution of Modak et al. (2026) Eq. 26"
            ),
            "closure": self.closure,
            "n_stars": self.n_stars,
            "n_times": len(self.t_myr),
            "n_bootstrap": self.n_bootstrap,
            "seed": self.seed,
            "bootstrap": self.bootstrap,
            "bootstrap_note": self.bootstrap_note,
            "J_star_kpc_kms": None if self.J_star is None else self.J_star / PAPER_ACTION,
            "tau_star_myr": self.tau_star,
            "windows_mode": self.windows_mode,
            "windows_myr": {
                r: (None if f is None else [float(f.window_myr[0]), float(f.window_myr[1])])
                for r, f in self.regimes.items()
            },
            "regimes": {r: (None if f is None else f.to_dict()) for r, f in self.regimes.items()},
            "notes": dict(self.notes),
            "late_ratio": lr,
            "coefficients": coeffs,
            "meta": _jsonable(self.meta),
            "diskorbits_version": __version__,
        }


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


# ============================================================================ driver


def _bootstrap_rms(dJ_R, dJ_phi, n_bootstrap, rng, chunk=50):
    """rms curves of ``n_bootstrap`` resamplings of the stars, each [B, m].

    Resampling N stars with replacement is equivalent to weighting each star by
    its multiplicity, so the resampled mean squares are ``counts @ dJ^2 / N``:
    one matrix product per chunk instead of a Python loop over samples.
    """
    n = dJ_R.shape[1]
    sq_R = (dJ_R**2).T  # [N, m]
    sq_p = (dJ_phi**2).T
    out_R, out_p = [], []
    for start in range(0, n_bootstrap, chunk):
        b = min(chunk, n_bootstrap - start)
        draws = rng.integers(0, n, size=(b, n))
        counts = np.bincount((draws + n * np.arange(b)[:, None]).ravel(), minlength=b * n).reshape(b, n)
        counts = counts.astype(np.float64)
        out_R.append(np.sqrt(counts @ sq_R / n))
        out_p.append(np.sqrt(counts @ sq_p / n))
    return np.concatenate(out_R), np.concatenate(out_p)


def fit_diffusion(
    data,
    *,
    windows="auto",
    n_bootstrap: int = 200,
    seed: int | np.random.Generator | None = 0,
    J_star=None,
    tau_star=None,
    label: str | None = None,
    closure: str = "exponential",
) -> DiffusionFit:
    """Fit ``D_RR`` and ``D_phiphi`` in both regimes, with bootstrap uncertainties over stars.

    Parameters
    ----------
    data : ActionChanges, ShearingBoxRun or path of a run file
    windows : "auto" or dict
        ``"auto"``: :func:`auto_windows`. Or ``{"long": (t0, t1), "short": (t0, t1)}`` in Myr
        (floats or time Quantities); a regime left out (or None) is not fitted.
    n_bootstrap : int
        Resamplings of the stars (0: none). Ignored, with a note, for rms-only data.
    seed : int or numpy Generator
        Seed of the resampling; the same seed gives the same uncertainties.
    J_star : float (kpc^2/Myr) or Quantity, optional
        Overrides ``data.J_star`` (needed for automatic windows and for :attr:`DiffusionFit.coefficients`).
    tau_star : float (Myr) or Quantity, optional
        Overrides ``data.tau_star``.
    label : str, optional
    closure : {"exponential", "self-similar"}
        See :func:`fit_regime`: ``"exponential"`` reproduces the paper's
        procedure (compare with Eqs. 40-41); ``"self-similar"`` gives the
        coefficients whose Langevin evolution reproduces the data.

    Returns
    -------
    DiffusionFit

    Raises
    ------
    ValueError
        Bad windows, unknown regimes, ``windows="auto"`` without ``J_*``.

    Examples
    --------
    >>> t = np.geomspace(10.0, 1e4, 30)
    >>> R, P = analytic.cold_ensemble_rms_prediction(t, 1e-5, 1.0, 3e-5, 0.0)
    >>> data = ActionChanges(t, rms_dJR_given=np.asarray(R), rms_dJphi_given=np.asarray(P))
    >>> fit = fit_diffusion(data, windows={"long": (50.0, 500.0)})
    >>> round(fit.long.d_RR / 1e-5, 9), fit.short is None, fit.bootstrap
    (1.0, True, False)
    """
    if not isinstance(data, ActionChanges):
        data = ActionChanges.from_run(data)
    if closure not in analytic.CLOSURES:
        raise ValueError(f"closure must be one of {analytic.CLOSURES}, got {closure!r}")
    n_bootstrap = int(n_bootstrap)
    if n_bootstrap < 0:
        raise ValueError(f"'n_bootstrap' must be >= 0, got {n_bootstrap}")
    Js = J_star if J_star is not None else data.J_star
    Js = None if Js is None else float(units.to_internal(Js, "action", "J_star"))
    tau = tau_star if tau_star is not None else data.tau_star
    tau = None if tau is None else float(units.to_internal(tau, "time", "tau_star"))

    notes: dict[str, str] = {}
    extra_warnings: dict[str, list[str]] = {"long": [], "short": []}
    if isinstance(windows, str):
        if windows != "auto":
            raise ValueError(f"windows must be 'auto' or a dict {{'long': (t0, t1), 'short': (t0, t1)}}, got {windows!r}")
        info = auto_windows(data, J_star=Js, tau_star=tau)
        win = {r: info[r]["window"] for r in ("long", "short")}
        for r in ("long", "short"):
            if info[r]["reason"]:
                notes[r] = info[r]["reason"]
            extra_warnings[r] = list(info[r]["warnings"])
        if tau is None:
            tau = DEFAULT_TAU_STAR_MYR
            for r in ("long", "short"):
                extra_warnings[r].append(f"tau_* unknown; assumed {DEFAULT_TAU_STAR_MYR:g} Myr (Eq. 32, R8)")
        mode = "auto"
    elif isinstance(windows, Mapping):
        bad = sorted(set(windows) - set(REGIME_INDICES))
        if bad:
            raise ValueError(f"windows keys must be among {sorted(REGIME_INDICES)}, got {bad}")
        win = {}
        for r in ("long", "short"):
            w = windows.get(r)
            if w is None:
                win[r] = None
                notes[r] = "not requested (no window given)"
                continue
            if len(w) != 2:
                raise ValueError(f"windows[{r!r}] must be (t_min, t_max) in Myr, got {w!r}")
            lo, hi = (float(units.to_internal(x, "time", f"windows[{r!r}]")) for x in w)
            if not lo < hi:
                raise ValueError(f"windows[{r!r}] must have t_min < t_max, got {w!r}")
            win[r] = (lo, hi)
        mode = "explicit"
    else:
        raise TypeError(f"windows must be 'auto' or a dict, got {type(windows).__name__}")

    t = data.t_myr
    rms_R, rms_p = data.rms()
    mean_JR = data.mean_radial_action()
    boot_R = boot_p = None
    rms_band = None
    if data.per_star and n_bootstrap > 0:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        boot_R, boot_p = _bootstrap_rms(data.dJ_R, data.dJ_phi, n_bootstrap, rng)
        rms_band = {
            "rms_dJR": tuple(np.percentile(boot_R, [16, 84], axis=0)),
            "rms_dJphi": tuple(np.percentile(boot_p, [16, 84], axis=0)),
        }
    from ..shearingbox.diagnostics import (
        power_law_slope,  # lazy: shearingbox imports diffusion
    )

    regimes: dict[str, RegimeFit | None] = {}
    for r in ("long", "short"):
        w = win[r]
        if w is None:
            regimes[r] = None
            continue
        m = _window_mask(t, w)
        if m.sum() < MIN_POINTS:
            regimes[r] = None
            notes[r] = f"window {w} Myr holds {int(m.sum())} sampled time(s) with t > 0; need >= {MIN_POINTS}"
            continue
        d_RR, d_pp = fit_regime(t, rms_R, rms_p, r, w, closure)
        samples = None
        if boot_R is not None:
            sR, sp = fit_regime(t, boot_R, boot_p, r, w, closure)
            samples = np.stack([sR, sp], axis=1)
        slopes = {}
        warns = list(extra_warnings[r])
        for name, y, expected in zip(("rms_dJR", "rms_dJphi"), (rms_R, rms_p), _expected_slopes(r)):
            k, err = power_law_slope(t, y, w[0], w[1])
            slopes[name] = (float(k), float(err) if np.isfinite(err) else None)
            if abs(float(k) - expected) > SLOPE_TOLERANCE:
                warns.append(
                    f"free slope of {name} in the window is {float(k):.2f}, not {expected:.2g} as the "
                    f"{r}-wavelength regime predicts: the fixed-slope coefficient depends on the window"
                )
        fit = RegimeFit(
            regime=r, window_myr=w, t_myr=t[m], d_RR=d_RR, d_phiphi=d_pp, samples=samples, slopes=slopes,
            mean_JR_over_J_star=None if Js is None else (float(np.min(mean_JR[m]) / Js), float(np.max(mean_JR[m]) / Js)),
            log_residual_rms=(0.0, 0.0), warnings=(), closure=closure,
        )  # fmt: skip
        mR, mp = fit.rms_model(t[m])
        resid = (float(np.sqrt(np.mean(np.log(rms_R[m] / mR) ** 2))), float(np.sqrt(np.mean(np.log(rms_p[m] / mp) ** 2))))
        regimes[r] = dataclasses.replace(fit, log_residual_rms=resid, warnings=tuple(warns))

    return DiffusionFit(
        label=label if label is not None else data.label,
        regimes=regimes,
        notes=notes,
        n_stars=data.n_stars,
        n_bootstrap=n_bootstrap if boot_R is not None else 0,
        seed=None if isinstance(seed, np.random.Generator) else seed,
        J_star=Js,
        tau_star=tau,
        windows_mode=mode,
        t_myr=t,
        rms_band=rms_band,
        meta=dict(data.meta),
        closure=closure,
    )


# ============================================================================ JSON


def write_fit_json(fit: DiffusionFit, path) -> Path:
    """Write :meth:`DiffusionFit.to_dict` as JSON, atomically.

    The ``"coefficients"`` block has the layout of
    :meth:`DiffusionCoefficients.to_paper_units` (None if a regime is
    missing), so :func:`load_fit_coefficients` or any reader of that layout
    gets the broken power laws back.
    """
    return atomic_write_text(path, json.dumps(fit.to_dict(), indent=2, allow_nan=True) + "\n")


def load_fit_coefficients(source) -> DiffusionCoefficients:
    """:class:`DiffusionCoefficients` from a fit JSON file (or its dict) or a ``to_paper_units()`` dict.

    A fit made with the paper's exponential closure is accepted with a
    warning: its short-wavelength D_RR, evolved by the Langevin equation,
    under-predicts the late heating of the data it was fitted to by ~2x (see
    :mod:`~diskorbits.diffusion.analytic`).

    Raises
    ------
    ValueError
        If the file has no coefficients block (a regime was not fitted) or it is malformed.
    """
    try:
        doc = source if isinstance(source, Mapping) else json.loads(Path(source).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: not JSON ({exc})") from None
    if not isinstance(doc, Mapping):
        raise ValueError(f"{source}: expected a JSON object")
    block = doc.get("coefficients", doc) if "D_RR" not in doc else doc
    if block is None or "D_RR" not in block:
        raise ValueError("no 'coefficients' block (was a regime left unfitted?); notes: " + str(doc.get("notes")))
    if doc.get("closure") == "exponential":
        warnings.warn(
            "these coefficients were fitted with the paper's exponential closure (Eqs. 29-30); a Langevin "
            "evolution with them gives ~2x less late-time heating than the data they came from. Fit with "
            "closure='self-similar' (CLI: --closure self-similar) to reproduce the data.",
            stacklevel=2,
        )
    return DiffusionCoefficients.from_paper_dict(block)
