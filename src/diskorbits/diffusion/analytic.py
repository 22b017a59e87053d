"""Closed-form consequences of power-law diffusion coefficients (Modak et al. 2026, App. C).

For ``D_RR = d_RR J_R^alpha_R`` and ``D_phiphi = d_phiphi J_R^alpha_phi``
(Eqs. 27-28) acting on an ensemble that keeps the Schwarzschild (exponential
in J_R) form, the mean radial action obeys Eq. C4 and the rms action changes
of an initially cold ensemble follow Eqs. 29-30. All functions are pure JAX,
in internal units: t in Myr, actions in kpc^2/Myr, ``d_ii`` in
(kpc^2/Myr)^(2 - alpha_i) / Myr.

Two closures relate coefficients to rms curves of an initially cold ensemble:

* ``"exponential"`` -- the paper's (App. C): the DF is assumed to stay
  exponential in J_R with the mean of Eq. C4, giving Eqs. 29-30.
* ``"self-similar"`` -- the exact solution of Eq. 26 for a pure power law
  ``D_RR = d J_R^alpha`` from ``J_R = 0``: ``f ~ exp(-J_R^p / (p^2 d t / 2))``
  with ``p = 2 - alpha`` (substitute and the zero-flux condition at J_R = 0
  holds). For ``alpha = 1`` (long wavelength) it *is* the exponential, so the
  closures agree; for ``alpha = -1/2`` (short wavelength) the DF is
  ``exp(-J^(5/2))``-shaped and rms dJ_R = 1.015 (d t)^(2/5) instead of
  Eq. 29's 1.944 (d t)^(2/5). The shearing-box runs show this shape (late
  ``<J_R^2>/<J_R>^2`` = 1.6; exponential: 2, self-similar: 1.5), and the
  Langevin evolution (which solves Eq. 26) follows it, so coefficients that
  should reproduce a run in a Langevin model must be fitted with this closure.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
from jax.scipy.special import gamma as _gamma_fn

__all__ = [
    "CLOSURES",
    "cold_ensemble_rms",
    "late_ratio_factor",
    "cold_ensemble_rms_prediction",
    "self_similar_moment",
    "self_similar_rms_prediction",
    "heating_constant",
    "mean_azimuthal_coefficient",
    "mean_radial_action_prediction",
]


def heating_constant(alpha_R):
    """``c(alpha_R) = [(1 - alpha_R/2) Gamma(1 + alpha_R)]^(1/(2 - alpha_R))`` (Modak et al. 2026, Eq. C5).

    Dimensionless; ``alpha_R < 2`` and ``alpha_R > -1``.
    """
    alpha_R = jnp.asarray(alpha_R, dtype=jnp.float64)
    return ((1.0 - 0.5 * alpha_R) * _gamma_fn(1.0 + alpha_R)) ** (1.0 / (2.0 - alpha_R))


def mean_radial_action_prediction(t, d_RR, alpha_R, mean_JR0=0.0):
    """Mean radial action of a Schwarzschild ensemble heated by ``D_RR = d_RR J_R^alpha_R`` (Eq. C4).

    ``<J_R>(t) = [<J_R>_0^(2 - alpha_R) + (1 - alpha_R/2) Gamma(1 + alpha_R) d_RR t]^(1/(2 - alpha_R))``.

    Parameters
    ----------
    t : Array
        Time in Myr (>= 0).
    d_RR : float
        Coefficient of Eq. 27, in (kpc^2/Myr)^(2 - alpha_R) / Myr.
    alpha_R : float
        Power-law index of Eq. 27 (``-1 < alpha_R < 2``).
    mean_JR0 : float
        Initial mean radial action in kpc^2/Myr.

    Returns
    -------
    Array
        ``<J_R>`` in kpc^2/Myr, same shape as ``t``.
    """
    t = jnp.asarray(t, dtype=jnp.float64)
    alpha_R = jnp.asarray(alpha_R, dtype=jnp.float64)
    p = 2.0 - alpha_R
    growth = (1.0 - 0.5 * alpha_R) * _gamma_fn(1.0 + alpha_R) * d_RR * t
    return (jnp.asarray(mean_JR0, dtype=jnp.float64) ** p + growth) ** (1.0 / p)


def cold_ensemble_rms_prediction(t, d_RR, alpha_R, d_phiphi, alpha_phi):
    """rms action changes of an initially cold ensemble, Eqs. 29-30 (Modak et al. 2026).

    For diffusion coefficients ``D_RR = d_RR J_R^alpha_R`` and
    ``D_phiphi = d_phiphi J_R^alpha_phi`` (Eqs. 27-28) acting on a
    Schwarzschild ensemble with negligible initial ``<J_R>``:

    * ``rms dJ_R = sqrt(2) c(alpha_R) (d_RR t)^(1/(2 - alpha_R))`` (Eq. 29);
    * ``rms dJ_phi = [(2 - alpha_R) Gamma(1 + alpha_phi) c(alpha_R)^alpha_phi
      / (2 - alpha_R + alpha_phi)]^(1/2) d_phiphi^(1/2)
      d_RR^(alpha_phi / (2 (2 - alpha_R))) t^(1/2 + alpha_phi / (2 (2 - alpha_R)))`` (Eq. 30),

    with ``c`` of Eq. C5 (:func:`heating_constant`). The long-wavelength
    regime ``(alpha_R, alpha_phi) = (1, 0)`` gives ``t`` and ``t^(1/2)``; the
    short-wavelength regime ``(-1/2, -1/2)`` gives ``t^(2/5)`` for both.

    Parameters
    ----------
    t : Array
        Time in Myr (>= 0).
    d_RR : float
        In (kpc^2/Myr)^(2 - alpha_R) / Myr.
    alpha_R : float
        ``-1 < alpha_R < 2``.
    d_phiphi : float
        In (kpc^2/Myr)^(2 - alpha_phi) / Myr.
    alpha_phi : float
        ``alpha_phi > -1``.

    Returns
    -------
    rms_dJR, rms_dJphi : Array
        In kpc^2/Myr, same shape as ``t``.
    """
    t = jnp.asarray(t, dtype=jnp.float64)
    alpha_R = jnp.asarray(alpha_R, dtype=jnp.float64)
    alpha_phi = jnp.asarray(alpha_phi, dtype=jnp.float64)
    p = 2.0 - alpha_R
    c = heating_constant(alpha_R)
    rms_dJR = math.sqrt(2.0) * c * (d_RR * t) ** (1.0 / p)
    prefactor = jnp.sqrt(p * _gamma_fn(1.0 + alpha_phi) * c**alpha_phi / (p + alpha_phi))
    exponent = alpha_phi / (2.0 * p)
    rms_dJphi = prefactor * jnp.sqrt(d_phiphi) * d_RR**exponent * t ** (0.5 + exponent)
    return rms_dJR, rms_dJphi


def mean_azimuthal_coefficient(t, d_RR, alpha_R, d_phiphi, alpha_phi):
    """Ensemble-averaged ``<D_phiphi>(t)`` of a cold Schwarzschild ensemble (Eq. C8).

    ``Gamma(1 + alpha_phi) d_phiphi c(alpha_R)^alpha_phi (d_RR t)^(alpha_phi/(2 - alpha_R))``,
    in (kpc^2/Myr)^2 / Myr; ``t`` in Myr. Its time integral is ``(rms dJ_phi)^2`` (Eqs. C9-C12).
    """
    t = jnp.asarray(t, dtype=jnp.float64)
    alpha_R = jnp.asarray(alpha_R, dtype=jnp.float64)
    alpha_phi = jnp.asarray(alpha_phi, dtype=jnp.float64)
    c = heating_constant(alpha_R)
    return _gamma_fn(1.0 + alpha_phi) * d_phiphi * c**alpha_phi * (d_RR * t) ** (alpha_phi / (2.0 - alpha_R))


#: Names of the closures accepted by :func:`cold_ensemble_rms`.
CLOSURES = ("exponential", "self-similar")


def self_similar_moment(t, d_RR, alpha_R, beta):
    """``<J_R^beta>`` of the exact cold-start solution of Eq. 26 for ``D_RR = d_RR J_R^alpha_R``.

    ``f(J_R, t) ~ exp(-J_R^p / s)``, ``p = 2 - alpha_R``, ``s = p^2 d_RR t / 2``, so
    ``<J_R^beta> = s^(beta/p) Gamma((1 + beta)/p) / Gamma(1/p)`` (``beta > -1``).
    t in Myr; returns (kpc^2/Myr)^beta.
    """
    t = jnp.asarray(t, dtype=jnp.float64)
    alpha_R = jnp.asarray(alpha_R, dtype=jnp.float64)
    p = 2.0 - alpha_R
    s = 0.5 * p**2 * d_RR * t
    return s ** (beta / p) * _gamma_fn((1.0 + beta) / p) / _gamma_fn(1.0 / p)


def self_similar_rms_prediction(t, d_RR, alpha_R, d_phiphi, alpha_phi):
    """rms action changes of a cold ensemble under pure power laws, exact in J_R (self-similar closure).

    ``rms dJ_R = <J_R^2>^(1/2)`` of :func:`self_similar_moment`; ``(rms dJ_phi)^2
    = int_0^t d_phiphi <J_R^alpha_phi>(s) ds`` (Eqs. C6-C12 with the exact DF in
    place of the exponential). Identical to Eqs. 29-30 for ``alpha_R = 1``.
    Arguments and units as :func:`cold_ensemble_rms_prediction`.
    """
    t = jnp.asarray(t, dtype=jnp.float64)
    alpha_R = jnp.asarray(alpha_R, dtype=jnp.float64)
    alpha_phi = jnp.asarray(alpha_phi, dtype=jnp.float64)
    rms_dJR = jnp.sqrt(self_similar_moment(t, d_RR, alpha_R, 2.0))
    q = 1.0 + alpha_phi / (2.0 - alpha_R)
    rms_dJphi = jnp.sqrt(d_phiphi * self_similar_moment(t, d_RR, alpha_R, alpha_phi) * t / q)
    return rms_dJR, rms_dJphi


def cold_ensemble_rms(t, d_RR, alpha_R, d_phiphi, alpha_phi, closure: str = "exponential"):
    """Cold-ensemble ``(rms dJ_R, rms dJ_phi)`` under pure power laws, with the chosen closure.

    ``"exponential"``: the paper's Eqs. 29-30; ``"self-similar"``: the exact
    solution of Eq. 26 (:func:`self_similar_rms_prediction`).
    """
    if closure == "exponential":
        return cold_ensemble_rms_prediction(t, d_RR, alpha_R, d_phiphi, alpha_phi)
    if closure == "self-similar":
        return self_similar_rms_prediction(t, d_RR, alpha_R, d_phiphi, alpha_phi)
    raise ValueError(f"closure must be one of {CLOSURES}, got {closure!r}")


def late_ratio_factor(alpha, closure: str = "exponential") -> float:
    """``C`` in ``rms dJ_R / rms dJ_phi = (C d_RR / d_phiphi)^(1/2)`` when ``alpha_R = alpha_phi = alpha``.

    Exponential closure: ``C = 2`` for any alpha (Eq. 39). Self-similar closure:
    ``C = p Gamma(3/p) / Gamma((1 + alpha)/p)`` with ``p = 2 - alpha``: 2 for
    ``alpha = 1`` and exactly 1/2 for ``alpha = -1/2``, i.e. half Eq. 39's ratio.
    """
    if closure == "exponential":
        return 2.0
    if closure == "self-similar":
        p = 2.0 - float(alpha)
        return float(p * math.gamma(3.0 / p) / math.gamma((1.0 + float(alpha)) / p))
    raise ValueError(f"closure must be one of {CLOSURES}, got {closure!r}")
