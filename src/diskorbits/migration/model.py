"""Components of the Frankel et al. (2020) disk model and their joint density p_MW (Eq. A1).

Every component is a small pure JAX function of a :class:`ModelParameters`
and arrays that broadcast together, in internal units (kpc, Myr,
kpc^2/Myr for angular momenta and actions, 1/Myr for frequencies, dex for
[Fe/H]). Densities are returned as natural logarithms and are ``-inf``
outside their support; gradients stay finite there (the unused branch of
every ``where`` sees a safe argument).

========================  =============================================  ========
function                  density / quantity                             equation
========================  =============================================  ========
:func:`log_p_lz0`         p(L_z0): L_z0 / <L_z0>^2 exp(-L_z0 / <L_z0>)   1
:func:`log_p_tau`         p(tau | L_z0), inside-out SFH on [0, tau_m]    2
:func:`drift`             D^(1) = -sigma^2 / (2 <L_z0>), steady state    Sec. 3.4
:func:`log_p_lz`          p(L_z | L_z0, tau), Gaussian truncated at 0    4
:func:`sigma_r`           sigma_R(tau, R_circ)                           6
:func:`log_p_jr`          p(J_R | tau, L_z), exponential on J_R >= 0     5
:func:`birth_feh`         [Fe/H](L_z0, tau), broken gradient             7-10
:func:`birth_lz0`         its inverse L_z0([Fe/H], tau)                  7-10
:func:`log_p_z`           p(z | L_z, L_z0, tau), sech^2                  11-12
:func:`log_p_mw`          p_MW(tau, [Fe/H], J_R, L_z, z)                 A1
========================  =============================================  ========

Resolved ambiguities (details in ``docs/migration.md``):

* Eq. 5 carries a factor 1/(2 pi), the measure of the radial angle. Here
  p(J_R | tau, L_z) is normalised over J_R >= 0; the angle factors belong to
  the phase-space Jacobian of the likelihood (the 1/(2 pi)^2 of Eq. A3).
* Eq. 9 as printed makes the offset b depend on L_z0, which would cancel the
  outer gradient. We use the intended constant offset that makes the birth
  profile continuous at the break: b = (grad_inner - grad_FeH) R_break.
* The 235 km/s that turns L_z0 into a radius in Eqs. 7-9 is
  ``ModelConstants.v_circ`` (Table 1 writes v_circ(L_z0); Sec. 3.6 235 km/s).

The joint density p_MW of Eq. A1 integrates over L_z0, but the birth
[Fe/H] relation is a Dirac delta, delta([Fe/H] - F(L_z0, tau)), so the
integral collapses onto L_z0* = F^-1([Fe/H], tau) with Jacobian
1 / |dF/dL_z0|:

    p_MW = p(L_z0*) p(tau | L_z0*) / |dF/dL_z0|(L_z0*)
           x p(L_z | L_z0*, tau) p(J_R | tau, L_z) p(z | L_z, L_z0*, tau).

The public functions are compiled (``jax.jit``) so that eager calls are
cheap; they compose under ``jit``, ``vmap`` and ``grad`` as usual.

The potential enters only through three per-star numbers, computed once at
the edge by :func:`prepare_inputs` from a :class:`GuidingTable`: the guiding
radius R_circ(L_z), kappa at R_circ (Eq. 5) and nu at the star's present
radius R (Eq. 12), so the likelihood never evaluates the potential inside
its parameter loop.
"""

from __future__ import annotations

import functools
import math

import astropy.units as u
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr

from .. import (
    _config,  # noqa: F401  (float64)
    units,
)
from .parameters import ModelConstants, ModelParameters
from .vertical import AbstractVerticalAction, TingRix2019

__all__ = [
    "DEFAULT_CONSTANTS",
    "DEFAULT_VERTICAL",
    "GuidingTable",
    "StarInputs",
    "birth_feh",
    "birth_lz0",
    "default_guiding_table",
    "drift",
    "feh_slope",
    "log_p_birth",
    "log_p_jr",
    "log_p_lz",
    "log_p_lz0",
    "log_p_mw",
    "log_p_tau",
    "log_p_z",
    "mean_birth_lz",
    "prepare_inputs",
    "scale_height",
    "sfh_rate",
    "sigma_lz",
    "sigma_r",
]

#: The constants of Frankel et al. (2020) (tau_m = 6 Gyr, tau_1 = 110 Myr, 235 km/s, ...).
DEFAULT_CONSTANTS = ModelConstants()
#: The vertical-action law of Sec. 3.7 (Ting & Rix 2019).
DEFAULT_VERTICAL = TingRix2019()

_LOG_2PI = math.log(2.0 * math.pi)
_LOG2 = math.log(2.0)
_NEG_INF = -jnp.inf


def _f(x):
    return jnp.asarray(x, dtype=jnp.float64)


# ----------------------------------------------------------------------------- Eq. 1
@jax.jit
def mean_birth_lz(params: ModelParameters, constants: ModelConstants = DEFAULT_CONSTANTS):
    """<L_z0> = R_d0 v_circ in kpc^2/Myr (Eq. 1; also the steady-state scale of Sec. 3.4)."""
    return params.R_d0 * constants.v_circ


@jax.jit
def log_p_lz0(params: ModelParameters, lz0, constants: ModelConstants = DEFAULT_CONSTANTS):
    """ln p(L_z0): the birth angular-momentum density of Frankel et al. (2020), Eq. 1.

    ``p = L_z0 / <L_z0>^2 exp(-L_z0 / <L_z0>)`` for L_z0 > 0 (a Gamma(2)
    law, the angular-momentum image of an exponential disk of scale R_d0
    on circular orbits), ``-inf`` otherwise.

    Parameters
    ----------
    lz0 : array_like, kpc^2/Myr

    Returns
    -------
    array, ln(1 / (kpc^2/Myr))
    """
    lz0 = _f(lz0)
    L = mean_birth_lz(params, constants)
    pos = lz0 > 0
    safe = jnp.where(pos, lz0, L)
    return jnp.where(pos, jnp.log(safe) - 2.0 * jnp.log(L) - safe / L, _NEG_INF)


# ----------------------------------------------------------------------------- Eq. 2
@jax.jit
def sfh_rate(params: ModelParameters, lz0, constants: ModelConstants = DEFAULT_CONSTANTS):
    """Exponential rate of the SFH in age, ``(1 - x_io L_z0 / (v_circ R_io)) / tau_SFR`` (1/Myr), Eq. 2.

    Positive rates weight old ages (the inner disk formed early); the rate
    vanishes at ``L_z0 = v_circ R_io / x_io``.
    """
    return (1.0 - params.x_io * _f(lz0) / (constants.v_circ * constants.R_io)) / params.tau_SFR


def _log_expm1_over(u):
    """ln((e^u - 1) / u), stable for all real u (1/2 u + ln(sinh(u/2) / (u/2)))."""
    y = 0.5 * u
    ay = jnp.abs(y)
    small = ay < 5e-3
    ays = jnp.where(small, 1.0, ay)
    # ln(sinh y / y) = |y| + ln(1 - e^{-2|y|}) - ln 2 - ln|y|: no overflow for large |y|.
    big = ays + jnp.log1p(-jnp.exp(-2.0 * ays)) - _LOG2 - jnp.log(ays)
    y2 = y * y
    # Series y^2/6 - y^4/180: truncation error < 1e-17 for |y| < 5e-3.
    series = y2 / 6.0 - y2 * y2 / 180.0
    return y + jnp.where(small, series, big)


@jax.jit
def log_p_tau(params: ModelParameters, tau, lz0, constants: ModelConstants = DEFAULT_CONSTANTS):
    """ln p(tau | L_z0): the inside-out star-formation history of Frankel et al. (2020), Eq. 2.

    ``p ∝ exp(a tau)`` on ``0 <= tau <= tau_m`` with the rate ``a`` of
    :func:`sfh_rate`, normalised analytically at every L_z0:
    ``p = a e^{a tau} / (e^{a tau_m} - 1)``, written as
    ``e^{a tau} / (tau_m (e^u - 1)/u)`` with ``u = a tau_m`` so that it is
    exact and smooth through ``a -> 0`` (where it is uniform, 1 / tau_m).
    The constant ``-tau_m / tau_SFR`` of Eq. 2 cancels in the normalisation.

    Parameters
    ----------
    tau : array_like, Myr
    lz0 : array_like, kpc^2/Myr

    Returns
    -------
    array, ln(1/Myr); ``-inf`` outside [0, tau_m].
    """
    tau = _f(tau)
    a = sfh_rate(params, lz0, constants)
    inside = (tau >= 0) & (tau <= constants.tau_m)
    t = jnp.where(inside, tau, 0.0)
    logp = a * t - jnp.log(constants.tau_m) - _log_expm1_over(a * constants.tau_m)
    return jnp.where(inside, logp, _NEG_INF)


# ----------------------------------------------------------------------------- Sec. 3.4, Eq. 4
@jax.jit
def drift(params: ModelParameters, constants: ModelConstants = DEFAULT_CONSTANTS):
    """Drift coefficient D^(1) = -sigma^2 / (2 <L_z0>) in kpc^2/Myr^2 (Sec. 3.4).

    ``sigma^2 = sigma_Lz^2 / tau_m`` is the diffusion coefficient of Eq. 3;
    with this drift the exponential ``exp(-L_z / <L_z0>)`` is a steady state
    of Eq. 3 (zero flux), so the disk profile is kept while individual
    populations spread.
    """
    return -(params.sigma_Lz**2 / constants.tau_m) / (2.0 * mean_birth_lz(params, constants))


@jax.jit
def sigma_lz(params: ModelParameters, tau, constants: ModelConstants = DEFAULT_CONSTANTS):
    """Migration width sigma(tau) = sigma_Lz sqrt(tau / tau_m) in kpc^2/Myr (Eq. 4)."""
    return params.sigma_Lz * jnp.sqrt(jnp.maximum(_f(tau), 0.0) / constants.tau_m)


@jax.jit
def log_p_lz(params: ModelParameters, lz, lz0, tau, constants: ModelConstants = DEFAULT_CONSTANTS):
    """ln p(L_z | L_z0, tau): the churning kernel of Frankel et al. (2020), Eq. 4.

    A Gaussian of mean ``L_z0 + D tau`` (:func:`drift`) and width
    ``sigma(tau)`` (:func:`sigma_lz`), truncated to ``L_z > 0`` (no counter-
    rotating stars) and renormalised there: the normaliser is
    ``Phi((L_z0 + D tau) / sigma)``, taken in log form (``log_ndtr``) so
    that it stays accurate when almost all of the Gaussian lies below 0.

    Parameters
    ----------
    lz, lz0 : array_like, kpc^2/Myr
    tau : array_like, Myr
        Must be > 0 (at tau = 0 the kernel is a Dirac delta).

    Returns
    -------
    array, ln(1 / (kpc^2/Myr)); ``-inf`` for L_z <= 0.
    """
    lz = _f(lz)
    mu = _f(lz0) + drift(params, constants) * _f(tau)
    s = sigma_lz(params, tau, constants)
    pos = lz > 0
    x = (jnp.where(pos, lz, mu) - mu) / s
    logp = -0.5 * x * x - jnp.log(s) - 0.5 * _LOG_2PI - log_ndtr(mu / s)
    return jnp.where(pos, logp, _NEG_INF)


# ----------------------------------------------------------------------------- Eqs. 5-6
@jax.jit
def sigma_r(params: ModelParameters, tau, r_circ, constants: ModelConstants = DEFAULT_CONSTANTS):
    """Radial velocity dispersion of Frankel et al. (2020), Eq. 6, in kpc/Myr.

    ``sigma_R = sigma_vR0 ((tau + tau_1) / (tau_m + tau_1))^beta exp((R_sigma - R_circ) / R_sigmaR)``
    with R_sigma = 8 kpc.

    Parameters
    ----------
    tau : array_like, Myr
    r_circ : array_like, kpc
        Guiding (circular-orbit) radius of the star's present L_z.
    """
    ratio = (jnp.maximum(_f(tau), 0.0) + constants.tau_1) / (constants.tau_m + constants.tau_1)
    return params.sigma_vR0 * ratio**params.beta * jnp.exp((constants.R_sigma - _f(r_circ)) / params.R_sigmaR)


@jax.jit
def log_p_jr(params: ModelParameters, jr, tau, kappa, r_circ, constants: ModelConstants = DEFAULT_CONSTANTS):
    """ln p(J_R | tau, L_z): radial heating of Frankel et al. (2020), Eq. 5.

    ``p = kappa / sigma_R^2 exp(-kappa J_R / sigma_R^2)`` on J_R >= 0, mean
    ``<J_R> = sigma_R^2 / kappa``. The paper's 1/(2 pi) (the radial-angle
    measure) is left out so that this density integrates to 1 over J_R;
    the likelihood supplies the angle factors (Eq. A3).

    Parameters
    ----------
    jr : array_like, kpc^2/Myr
    tau : array_like, Myr
    kappa : array_like, 1/Myr
        Epicycle frequency at ``r_circ``.
    r_circ : array_like, kpc
        Guiding radius of the present L_z (enters sigma_R, Eq. 6).

    Returns
    -------
    array, ln(1 / (kpc^2/Myr)); ``-inf`` for J_R < 0.
    """
    jr = _f(jr)
    s2 = sigma_r(params, tau, r_circ, constants) ** 2
    rate = _f(kappa) / s2
    ok = jr >= 0
    return jnp.where(ok, jnp.log(rate) - rate * jnp.where(ok, jr, 0.0), _NEG_INF)


# ----------------------------------------------------------------------------- Eqs. 7-10
def _enrichment(params, tau, constants):
    """[Fe/H]_max f(tau), f = (1 - tau / 12 Gyr)^gamma (Eq. 10); tau clipped to [0, tau_FeH)."""
    t = jnp.clip(_f(tau), 0.0, constants.tau_m)
    return params.FeH_max * (1.0 - t / constants.tau_FeH) ** params.gamma_FeH


@jax.jit
def birth_feh(params: ModelParameters, lz0, tau, constants: ModelConstants = DEFAULT_CONSTANTS):
    """Birth [Fe/H](L_z0, tau) of Frankel et al. (2020), Eqs. 7-10, in dex.

    ``[Fe/H] = [Fe/H]_max (1 - tau / 12 Gyr)^gamma + g(R0)`` with
    ``R0 = L_z0 / v_circ`` and the broken profile
    ``g = grad_inner R0`` for ``R0 < R_break`` and
    ``g = grad_inner R_break + grad_FeH (R0 - R_break)`` otherwise: the
    continuous form of Eqs. 8-9 (Eq. 9 as printed is inconsistent).
    Ages are clipped to [0, tau_m], the model's support.

    Parameters
    ----------
    lz0 : array_like, kpc^2/Myr
    tau : array_like, Myr
    """
    R0 = _f(lz0) / constants.v_circ
    inner = constants.grad_inner * R0
    outer = constants.grad_inner * constants.R_break + params.grad_FeH * (R0 - constants.R_break)
    return _enrichment(params, tau, constants) + jnp.where(R0 < constants.R_break, inner, outer)


@jax.jit
def birth_lz0(params: ModelParameters, feh, tau, constants: ModelConstants = DEFAULT_CONSTANTS):
    """Inverse of :func:`birth_feh`: L_z0 in kpc^2/Myr with ``birth_feh(L_z0, tau) = feh``.

    The profile is strictly decreasing in L_z0 (both gradients negative), so
    the inverse is unique; it is negative where ``feh`` exceeds the central
    value ``[Fe/H]_max f(tau)`` (no physical birth place; p(L_z0) = 0 there).

    Parameters
    ----------
    feh : array_like, dex
    tau : array_like, Myr
    """
    g = _f(feh) - _enrichment(params, tau, constants)
    g_break = constants.grad_inner * constants.R_break
    R0_inner = g / constants.grad_inner
    R0_outer = constants.R_break + (g - g_break) / params.grad_FeH
    # g > g_break  <=>  R0 < R_break on the decreasing profile.
    return jnp.where(g > g_break, R0_inner, R0_outer) * constants.v_circ


@jax.jit
def feh_slope(params: ModelParameters, lz0, constants: ModelConstants = DEFAULT_CONSTANTS):
    """|d[Fe/H] / dL_z0| in dex / (kpc^2/Myr): the Jacobian of the Dirac collapse of Eq. A1."""
    R0 = _f(lz0) / constants.v_circ
    grad = jnp.where(R0 < constants.R_break, constants.grad_inner, params.grad_FeH)
    return jnp.abs(grad) / constants.v_circ


# ----------------------------------------------------------------------------- Eqs. 11-12
@jax.jit
def scale_height(
    params: ModelParameters, lz, lz0, tau, nu, vertical: AbstractVerticalAction = DEFAULT_VERTICAL
):
    """h_z = a_z sqrt(2 <J_z>(L_z, L_z0, tau) / nu) in kpc (Frankel et al. 2020, Eq. 12).

    Parameters
    ----------
    lz, lz0 : array_like, kpc^2/Myr
    tau : array_like, Myr
    nu : array_like, 1/Myr
        Vertical frequency at the star's present radius (see :func:`prepare_inputs`).
    vertical : AbstractVerticalAction
        The <J_z> law (default Ting & Rix 2019).
    """
    jz = vertical.mean_jz(lz, lz0, tau)
    return params.a_z * jnp.sqrt(2.0 * jz / _f(nu))


@jax.jit
def log_p_z(
    params: ModelParameters, z, lz, lz0, tau, nu, vertical: AbstractVerticalAction = DEFAULT_VERTICAL
):
    """ln p(z | L_z, L_z0, tau) = ln[sech^2(z / h_z) / (2 h_z)] (Frankel et al. 2020, Eq. 11), ln(1/kpc).

    Normalised over -inf < z < inf; h_z from :func:`scale_height`.
    """
    h = scale_height(params, lz, lz0, tau, nu, vertical)
    x = jnp.abs(_f(z)) / h
    # ln sech^2 x = 2 (ln 2 - x - ln(1 + e^{-2x})), no overflow for large |z|.
    return 2.0 * (_LOG2 - x - jnp.log1p(jnp.exp(-2.0 * x))) - jnp.log(2.0 * h)


# ----------------------------------------------------------------------------- potential at the edge
class GuidingTable(eqx.Module):
    """Midplane kinematics of a potential, tabulated once on a log-spaced radius grid.

    Holds ln R, ln L_c = ln(R v_c(R)), ln kappa and ln nu; values between
    nodes are linearly interpolated in these logarithms (relative error
    ~1e-6 for the default 2000 nodes over 0.01-200 kpc). Outside the grid
    the end values are used.

    Build it with :meth:`from_potential`; the paper's potential is
    :func:`default_guiding_table` (MWPotential2014 with ro = 8.2 kpc,
    vo = 235 km/s).
    """

    ln_R: jax.Array
    ln_lz: jax.Array
    ln_kappa: jax.Array
    ln_nu: jax.Array

    def __check_init__(self):
        if isinstance(self.ln_lz, jax.core.Tracer):
            return
        if not np.all(np.diff(np.asarray(self.ln_lz)) > 0):
            raise ValueError("the circular angular momentum R v_c(R) must increase with R over the table")

    @classmethod
    def from_potential(cls, potential, R_min=0.01, R_max=200.0, n: int = 2000) -> GuidingTable:
        """Tabulate ``potential`` (an :class:`~diskorbits.potentials.AbstractPotential`) on [R_min, R_max] kpc.

        Raises
        ------
        ValueError
            If the range or ``n`` is unusable, or L_c(R) is not increasing.
        """
        R_min = float(units.to_internal(R_min, "length", "R_min"))
        R_max = float(units.to_internal(R_max, "length", "R_max"))
        if not (0 < R_min < R_max) or not (math.isfinite(R_max)):
            raise ValueError(f"need 0 < R_min < R_max (kpc), got R_min={R_min}, R_max={R_max}")
        if int(n) < 16:
            raise ValueError(f"'n' must be at least 16, got {n}")
        R = jnp.geomspace(R_min, R_max, int(n))
        vc, kappa, nu = _midplane(potential, R)
        return cls(jnp.log(R), jnp.log(R * vc), jnp.log(kappa), jnp.log(nu))

    @eqx.filter_jit
    def r_circ(self, lz):
        """Guiding radius (kpc) of angular momentum |L_z| (kpc^2/Myr)."""
        ln_lz = jnp.log(jnp.maximum(jnp.abs(_f(lz)), 1e-300))
        return jnp.exp(jnp.interp(ln_lz, self.ln_lz, self.ln_R))

    @eqx.filter_jit
    def kappa(self, R):
        """Epicycle frequency (1/Myr) at radius R (kpc)."""
        return jnp.exp(jnp.interp(jnp.log(_f(R)), self.ln_R, self.ln_kappa))

    @eqx.filter_jit
    def nu(self, R):
        """Vertical frequency (1/Myr) at radius R (kpc)."""
        return jnp.exp(jnp.interp(jnp.log(_f(R)), self.ln_R, self.ln_nu))


@eqx.filter_jit
def _midplane(potential, R):
    """v_c, kappa, nu at (R, z = 0) from the potential's Phi by autodiff, in one compilation.

    Same definitions as :class:`~diskorbits.potentials.AbstractPotential`
    (v_c^2 = R Phi_R, kappa^2 = Phi_RR + 3 Phi_R / R, nu^2 = Phi_zz); the
    second derivatives are forward-mode derivatives of the gradient, which
    compiles in about half the time of three separate Hessians.
    """
    grad = jax.grad(potential._phi, argnums=(0, 1))

    def one(r):
        zero = jnp.zeros_like(r)
        pR, _ = grad(r, zero)
        _, pRR = jax.jvp(lambda x: grad(x, zero)[0], (r,), (jnp.ones_like(r),))
        _, pzz = jax.jvp(lambda y: grad(r, y)[1], (zero,), (jnp.ones_like(r),))
        return jnp.sqrt(r * pR), jnp.sqrt(pRR + 3.0 * pR / r), jnp.sqrt(pzz)

    return jax.vmap(one)(jnp.asarray(R, dtype=jnp.float64))


@functools.lru_cache(maxsize=1)
def default_guiding_table() -> GuidingTable:
    """The table for MWPotential2014(ro = 8.2 kpc, vo = 235 km/s), Frankel et al. (2020) Sec. 3.3.

    Built on first use (a few seconds) and memoised: it is a pure function of
    no arguments, so every call returns the same immutable table. The bulge
    is the ``"exact"`` (incomplete-gamma) form: it is quicker to set up than
    the interpolated one, and the table is evaluated only once.
    """
    from ..potentials import MWPotential2014

    return GuidingTable.from_potential(MWPotential2014(ro=8.2, vo=235.0, bulge="exact"))


class StarInputs(eqx.Module):
    """Per-sample arrays that :func:`log_p_mw` needs, in internal units, all of one shape.

    Attributes
    ----------
    tau : Myr
        Age.
    feh : dex
        [Fe/H].
    J_R : kpc^2/Myr
        Radial action.
    L_z : kpc^2/Myr
        Angular momentum.
    z : kpc
        Height above the midplane.
    kappa : 1/Myr
        Epicycle frequency at the guiding radius of L_z (Eq. 5).
    R_circ : kpc
        Guiding radius of L_z (Eq. 6).
    nu : 1/Myr
        Vertical frequency at the present radius R (Eq. 12).
    """

    tau: jax.Array
    feh: jax.Array
    J_R: jax.Array
    L_z: jax.Array
    z: jax.Array
    kappa: jax.Array
    R_circ: jax.Array
    nu: jax.Array


def _dex(feh):
    """[Fe/H] as a float64 array: plain numbers, dimensionless or ``u.dex`` Quantities."""
    if isinstance(feh, u.Quantity) and feh.unit == u.dex:  # logarithmic: the value is [Fe/H] itself
        return np.asarray(feh.value, dtype=np.float64)
    return units.to_internal(feh, "dimensionless", "feh")


def prepare_inputs(tau, feh, J_R, L_z, z, R, *, table: GuidingTable | None = None) -> StarInputs:
    """Build :class:`StarInputs` from ages, abundances, actions and positions (done once, outside the fit).

    Parameters
    ----------
    tau : array_like or Quantity, time
        Age (plain numbers: Myr).
    feh : array_like or Quantity (dex or dimensionless)
        [Fe/H] in dex.
    J_R, L_z : array_like or Quantity, action
        Radial action and angular momentum (plain numbers: kpc^2/Myr).
    z, R : array_like or Quantity, length
        Height and cylindrical radius of the star now (kpc).
    table : GuidingTable, optional
        Potential tabulation; default :func:`default_guiding_table`.

    Returns
    -------
    StarInputs
        With ``R_circ = R_circ(L_z)``, ``kappa = kappa(R_circ)`` and
        ``nu = nu(R)`` -- nu at the present radius, as Eq. 12 writes it and
        as the first author's vertical model does (the thin, young red-clump
        stars are close to their guiding radius, so this choice matters little).

    Raises
    ------
    ValueError
        If an argument is not finite, or the arguments do not broadcast.
    astropy.units.UnitConversionError
        If a Quantity has the wrong physical type.
    """
    args = {
        "tau": units.to_internal(tau, "time", "tau"),
        "feh": _dex(feh),
        "J_R": units.to_internal(J_R, "action", "J_R"),
        "L_z": units.to_internal(L_z, "action", "L_z"),
        "z": units.to_internal(z, "length", "z"),
        "R": units.to_internal(R, "length", "R"),
    }
    for name, v in args.items():
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name!r} must be finite; {int(np.sum(~np.isfinite(v)))} entries are not")
    if not np.all(args["R"] > 0):
        raise ValueError("'R' must be positive (kpc)")
    try:
        arrays = np.broadcast_arrays(*args.values())
    except ValueError:
        shapes = {k: np.shape(v) for k, v in args.items()}
        raise ValueError(f"arguments do not broadcast together: {shapes}") from None
    tau_, feh_, jr_, lz_, z_, R_ = (jnp.asarray(a) for a in arrays)
    table = default_guiding_table() if table is None else table
    r_circ = table.r_circ(lz_)
    return StarInputs(tau_, feh_, jr_, lz_, z_, table.kappa(r_circ), r_circ, table.nu(R_))


# ----------------------------------------------------------------------------- Eq. A1
@jax.jit
def log_p_birth(
    params: ModelParameters,
    lz0,
    inputs: StarInputs,
    constants: ModelConstants = DEFAULT_CONSTANTS,
    vertical: AbstractVerticalAction = DEFAULT_VERTICAL,
):
    """ln p(L_z0, tau, J_R, L_z, z | params): the integrand of Eq. A1 before the L_z0 integral.

    ``ln p(L_z0) + ln p(tau | L_z0) + ln p(L_z | L_z0, tau) + ln p(J_R | tau, L_z)
    + ln p(z | L_z, L_z0, tau)`` (Eqs. 1, 2, 4, 5, 11). With the [Fe/H] delta
    integrated out this is the density of Eq. 16, so the survey volume does
    not depend on the enrichment parameters. ``inputs.feh`` is ignored.
    ``log_p_mw = log_p_birth(L_z0*) - ln|dF/dL_z0|`` at the birth
    ``L_z0* = F^-1([Fe/H], tau)``.

    Parameters
    ----------
    lz0 : array, kpc^2/Myr
    inputs : StarInputs
        Same shape as ``lz0``.

    Returns
    -------
    array, ln of a density per (kpc^2/Myr) x Myr x (kpc^2/Myr)^2 x kpc;
    ``-inf`` outside the support.
    """
    tau = _f(inputs.tau)
    lz0 = jnp.asarray(lz0)
    ok = (lz0 > 0) & (tau > 0) & (tau <= constants.tau_m) & (inputs.L_z > 0) & (inputs.J_R >= 0)
    # Safe stand-ins keep every term and its gradient finite where the result is -inf anyway.
    lz0_s = jnp.where(ok, lz0, mean_birth_lz(params, constants))
    tau_s = jnp.where(ok, tau, 0.5 * constants.tau_m)
    lz_s = jnp.where(ok, inputs.L_z, lz0_s)
    jr_s = jnp.where(ok, inputs.J_R, 0.0)
    total = (
        log_p_lz0(params, lz0_s, constants)
        + log_p_tau(params, tau_s, lz0_s, constants)
        + log_p_lz(params, lz_s, lz0_s, tau_s, constants)
        + log_p_jr(params, jr_s, tau_s, inputs.kappa, inputs.R_circ, constants)
        + log_p_z(params, inputs.z, lz_s, lz0_s, tau_s, inputs.nu, vertical)
    )
    return jnp.where(ok, total, _NEG_INF)


def log_p_mw(
    params: ModelParameters,
    inputs: StarInputs,
    constants: ModelConstants = DEFAULT_CONSTANTS,
    vertical: AbstractVerticalAction = DEFAULT_VERTICAL,
):
    """ln p_MW(tau, [Fe/H], J_R, L_z, z | params), Frankel et al. (2020) Eq. A1 with the L_z0 integral done.

    The birth relation p([Fe/H] | L_z0, tau) = delta([Fe/H] - F(L_z0, tau))
    (Sec. 3.6) collapses the L_z0 integral onto
    ``L_z0* = F^-1([Fe/H], tau)`` (:func:`birth_lz0`) with Jacobian
    ``1 / |dF/dL_z0|`` (:func:`feh_slope`):

    ``ln p_MW = ln p(L_z0*) + ln p(tau | L_z0*) - ln|dF/dL_z0| + ln p(L_z | L_z0*, tau)
    + ln p(J_R | tau, L_z) + ln p(z | L_z, L_z0*, tau)``  (Eqs. 1, 2, 4, 5, 11).

    Pure, elementwise, and jit/vmap/grad-safe (no potential calls).

    Parameters
    ----------
    params : ModelParameters
        One parameter set (scalar fields); vmap for batches.
    inputs : StarInputs
        From :func:`prepare_inputs`.
    constants : ModelConstants
    vertical : AbstractVerticalAction

    Returns
    -------
    array of ``inputs`` shape
        ln of a density per Myr x dex x (kpc^2/Myr)^2 x kpc; ``-inf`` outside
        the support (tau outside (0, tau_m], L_z <= 0, J_R < 0, or a [Fe/H]
        above the central value at that age). Converting to per
        Gyr x dex x (kpc km/s)^2 x kpc adds ``ln(1000) + 2 ln(KPC_KMS)``.
    """
    lz0 = birth_lz0(params, inputs.feh, _f(inputs.tau), constants)
    # a safe stand-in keeps the slope (and its gradient) finite where the result is -inf anyway
    lz0_s = jnp.where(lz0 > 0, lz0, mean_birth_lz(params, constants))
    return log_p_birth(params, lz0, inputs, constants, vertical) - jnp.log(feh_slope(params, lz0_s, constants))
