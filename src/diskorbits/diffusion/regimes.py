"""Time windows of the long- and short-wavelength regimes, chosen from the physics (Modak et al. 2026, Sec. III).

Thresholds are in units of ``J_* = kappa / (2 k_*^2)`` (Eq. 42) and the
fluctuation correlation time ``tau_*`` (Eq. 32); :func:`auto_windows`
explains the rule.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import units
from .changes import ActionChanges

__all__ = ["REGIME_INDICES", "auto_windows"]

#: Power-law indices ``(alpha_R, alpha_phi)`` of each regime: Eqs. 33-34 (long), 36-37 (short).
REGIME_INDICES: dict[str, tuple[float, float]] = {"long": (1.0, 0.0), "short": (-0.5, -0.5)}

# ---------------------------------------------------------------- automatic windows
# Everything in units of J_* = kappa / (2 k_*^2) (Eq. 42) or tau_* (Eq. 32).

#: Long-wavelength window ends when <J_R> reaches the D_RR turnover of the
#: paper's broken power laws, ~4 J_* (Sec. III.3 and App. A: 2-4 J_*).
LONG_MAX_MEAN_JR = 4.0
#: ... and starts at the fluctuation correlation time tau_*: before it the
#: kicks of one structure add coherently (rms dJ_phi ~ t, rms dJ_R ~ t^2), not diffusively.
LONG_MIN_T_OVER_TAU = 1.0
#: An ensemble that starts above this <J_R>_0 (k_* a_R ~ 0.5) has no long-wavelength regime.
LONG_MAX_INITIAL_MEAN_JR = 0.25
#: Short-wavelength window starts at <J_R> = 5x the D_RR turnover: for an
#: exponential (Schwarzschild) ensemble fewer than 1 - exp(-1/5) = 18% of stars then lie below it.
SHORT_MIN_MEAN_JR = 20.0
#: Fallback threshold (2.5x the turnover, 33% of stars below it), used with a warning.
SHORT_MIN_MEAN_JR_RELAXED = 10.0
#: Eqs. 29-30 assume a cold start: require <J_R>(t) >= 3 <J_R>_0, so that the initial
#: term of Eq. C4 is below 3^-(2 - alpha_R) of the total (< 6% short-, < 33% long-wavelength).
COLD_START_FACTOR = 3.0
#: A window must cover at least this factor in time ...
MIN_SPAN = 2.0
#: ... and hold at least this many sampled times.
MIN_POINTS = 3
#: When the long-wavelength ceiling comes before 2 tau_* (strong or gas-rich fields, e.g. LGR4),
#: the window is [t_hi / RELAXED_SPAN, t_hi] instead, with a warning.
RELAXED_SPAN = 3.0
#: tau_* assumed for tables when none is given, Myr (Eq. 32 with R8 numbers: ~70 Myr).
DEFAULT_TAU_STAR_MYR = 70.0
#: Free-fit slope further than this from the regime's prediction raises a warning.
SLOPE_TOLERANCE = 0.15


def _expected_slopes(regime: str) -> tuple[float, float]:
    """Time exponents of Eqs. 29-30 for the regime's indices."""
    a_R, a_p = REGIME_INDICES[regime]
    p = 2.0 - a_R
    return 1.0 / p, 0.5 + a_p / (2.0 * p)


def _check_regime(regime) -> str:
    if regime not in REGIME_INDICES:
        raise ValueError(f"regime must be one of {sorted(REGIME_INDICES)}, got {regime!r}")
    return regime


# ============================================================================ windows


def _first_crossing(t, y, level):
    """First time ``y`` reaches ``level`` (log-linear interpolation); None if it never does."""
    idx = np.flatnonzero(y >= level)
    if idx.size == 0:
        return None
    i = int(idx[0])
    if i == 0:
        return float(t[0])
    t0, t1, y0, y1 = t[i - 1], t[i], y[i - 1], y[i]
    if y0 > 0 and t0 > 0:
        f = (math.log(level) - math.log(y0)) / (math.log(y1) - math.log(y0))
        return float(math.exp(math.log(t0) + f * (math.log(t1) - math.log(t0))))
    f = (level - y0) / (y1 - y0)
    return float(t0 + f * (t1 - t0))


def _count(t, lo, hi):
    return int(np.sum((t >= lo) & (t <= hi)))


def auto_windows(data: ActionChanges, *, J_star=None, tau_star=None) -> dict:
    """Time windows of the long- and short-wavelength regimes, chosen from the physics.

    Long wavelength (``alpha_R = 1``, ``alpha_phi = 0``): the pure law needs
    ``k_* a << 1`` (<J_R> well below ``J_*``, Eq. 42) and diffusion needs
    ``t >> tau_*`` (Eq. 32, ~70 Myr). For R8 these conflict: a cold ensemble
    reaches <J_R> = J_* at ~50 Myr, before tau_*. As a compromise the window is
    ``[tau_*, t(<J_R> = 4 J_*)]``: the ceiling is where the paper's broken power
    laws turn over (2-4 J_*, Sec. III.3, App. A), i.e. where the measured
    coefficients stop following the long-wavelength branch, and before tau_*
    the growth is still coherent (free slopes ~2 and ~1 instead of 1 and 1/2).
    If that window spans less than a factor 2 in time (the ceiling comes before
    2 tau_*, as for LGR4 or strong fields) it becomes ``[t_hi/3, t_hi]``, with
    a warning that part of it precedes tau_* (the caveat the paper makes for
    LGR4, App. A). An ensemble starting warm (<J_R>_0 > 0.25 J_*) has no
    long-wavelength regime.

    Short wavelength (``alpha_R = alpha_phi = -1/2``): from the time <J_R>
    reaches 20 J_* (5x the D_RR turnover; for an exponential distribution
    < 18% of stars remain below it) to the end; if that leaves less than a
    factor 2 in time, 10 J_* with a warning.

    Both windows also require ``<J_R>(t) >= 3 <J_R>_0``: Eqs. 29-30 assume a
    cold start. A window must hold >= 3 sampled times and span a factor >= 2
    (the relaxed long window: >= 3 times).

    Parameters
    ----------
    data : ActionChanges
    J_star : float (kpc^2/Myr) or Quantity, optional
        Overrides ``data.J_star``.
    tau_star : float (Myr) or Quantity, optional
        Overrides ``data.tau_star`` (default :data:`DEFAULT_TAU_STAR_MYR`).

    Returns
    -------
    dict
        ``{"long": info, "short": info}`` with ``info = {"window": (t0, t1) or None,
        "reason": str or None, "warnings": [str, ...]}``; times in Myr.

    Raises
    ------
    ValueError
        If no ``J_*`` is known (give it, or explicit windows).
    """
    Js = J_star if J_star is not None else data.J_star
    if Js is None:
        raise ValueError(
            "automatic windows need J_* = kappa / (2 k_*^2) (Eq. 42): pass J_star=... (kpc^2/Myr or a Quantity) "
            "or explicit windows={'long': (t0, t1), 'short': (t0, t1)} in Myr"
        )
    Js = float(units.to_internal(Js, "action", "J_star"))
    tau = tau_star if tau_star is not None else data.tau_star
    tau = DEFAULT_TAU_STAR_MYR if tau is None else float(units.to_internal(tau, "time", "tau_star"))
    keep = data.t_myr > 0
    t = data.t_myr[keep]
    x = data.mean_radial_action()[keep] / Js  # <J_R> / J_*
    J0 = float(data.mean_JR0)
    t_cold = 0.0
    if J0 > 0:
        t_cold = _first_crossing(t, data.mean_radial_action()[keep] / J0, COLD_START_FACTOR)
    out: dict[str, dict] = {}

    # -- long wavelength
    info: dict[str, Any] = {"window": None, "reason": None, "warnings": []}
    if J0 > LONG_MAX_INITIAL_MEAN_JR * Js:
        info["reason"] = (
            f"no long-wavelength regime: the ensemble starts warm, <J_R>_0 = {J0 / Js:.2g} J_* "
            f"(> {LONG_MAX_INITIAL_MEAN_JR} J_*), so k_* a is never << 1"
        )
    elif t.size == 0:
        info["reason"] = "no sampled times with t > 0"
    elif t_cold is None:
        info["reason"] = (
            f"no long-wavelength window: <J_R> never reaches {COLD_START_FACTOR:g} x its initial value, "
            "so Eqs. 29-30 (cold start) do not apply"
        )
    else:
        t_hi = _first_crossing(t, x, LONG_MAX_MEAN_JR)
        t_hi = float(t[-1]) if t_hi is None else t_hi
        t_lo = max(LONG_MIN_T_OVER_TAU * tau, t_cold)
        if t_hi >= MIN_SPAN * t_lo and _count(t, t_lo, t_hi) >= MIN_POINTS:
            info["window"] = (t_lo, t_hi)
        else:
            t_lo2 = max(t_hi / RELAXED_SPAN, t_cold)
            if _count(t, t_lo2, t_hi) >= MIN_POINTS:
                info["window"] = (t_lo2, t_hi)
                info["warnings"].append(
                    f"<J_R> reaches {LONG_MAX_MEAN_JR:g} J_* at t = {t_hi:.3g} Myr, before 2 tau_* = "
                    f"{2 * tau:.3g} Myr: long-wavelength window [{t_lo2:.3g}, {t_hi:.3g}] Myr starts before tau_*, "
                    "where growth is partly coherent; the diffusive long-wavelength fit is approximate "
                    "(cf. Modak et al. 2026, App. A, for LGR4)"
                )
            else:
                info["reason"] = (
                    f"no long-wavelength window: fewer than {MIN_POINTS} sampled times before <J_R> reaches "
                    f"{LONG_MAX_MEAN_JR:g} J_* (t = {t_hi:.3g} Myr)"
                )
    out["long"] = info

    # -- short wavelength
    info = {"window": None, "reason": None, "warnings": []}
    if t.size == 0:
        info["reason"] = "no sampled times with t > 0"
    elif t_cold is None:
        info["reason"] = (
            f"no short-wavelength window: <J_R> never reaches {COLD_START_FACTOR:g} x its initial value, "
            "so Eqs. 29-30 (cold start) do not apply"
        )
    else:
        t_end = float(t[-1])
        for level, relaxed in ((SHORT_MIN_MEAN_JR, False), (SHORT_MIN_MEAN_JR_RELAXED, True)):
            t_x = _first_crossing(t, x, level)
            if t_x is None:
                continue
            t_lo = max(t_x, t_cold)
            if t_end >= MIN_SPAN * t_lo and _count(t, t_lo, t_end) >= MIN_POINTS:
                info["window"] = (t_lo, t_end)
                if relaxed:
                    info["warnings"].append(
                        f"<J_R> >= {SHORT_MIN_MEAN_JR:g} J_* only for t >= {_first_crossing(t, x, SHORT_MIN_MEAN_JR) or float('nan'):.3g} Myr "
                        f"(too short a stretch); short-wavelength window starts at <J_R> = {level:g} J_*, where "
                        "up to a third of the stars are still below the D_RR turnover"
                    )
                break
        if info["window"] is None:
            info["reason"] = (
                f"no short-wavelength window: <J_R> reaches only {float(np.max(x)):.3g} J_*; the fit needs "
                f">= {SHORT_MIN_MEAN_JR_RELAXED:g} J_* over a factor {MIN_SPAN:g} in time"
            )
    out["short"] = info
    return out


