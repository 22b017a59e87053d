"""Derived quantities of the Frankel et al. (2020) model: Sec. 6, Eqs. 21-24, Fig. 7.

Each function accepts one parameter set or a batch of posterior samples --
a :class:`ModelParameters` (fields of shape ``()`` or ``(n,)``) or a vector
``(11,)`` / ``(n, 11)`` in display units (:data:`NAMES` order) -- and
returns astropy Quantities in field units (kpc km/s, kpc), with the batch
axis first. Ages and radii accept Quantities; plain numbers are internal
units (Myr, kpc).

=============================  ================================================  =============
function                       quantity                                          paper
=============================  ================================================  =============
:func:`rms_delta_lz`           sqrt(sigma(tau)^2 + (D tau)^2)                    Eq. 21, 23
:func:`rms_delta_lz_truncated` exact rms of L_z - L_z0 under the truncated Eq. 4  Eq. 4
:func:`drift_fraction`         (D tau)^2 / <(L_z - L_z0)^2>                      Sec. 6.1
:func:`mean_radial_action`     <J_R> = sigma_R^2 / kappa                         Eq. 5, 22
:func:`rms_delta_jr`           sqrt(<(J_R - J_R0)^2>), J_R0 = 0 by default       Eq. 22, 23
:func:`migration_distance`     rms Delta L_z / v_circ                            Sec. 6.1
:func:`action_change_ratio`    rms Delta J_R / rms Delta L_z                     Eq. 24
:func:`solar_birth`            the Sun's L_z0 and birth radius                   Sec. 6.4
:func:`solar_siblings`         95% ranges of the siblings' L_z and J_R           Sec. 6.5
=============================  ================================================  =============

Which parameter variant reproduces which published number is worked out in
``docs/migration.md``.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np

from .. import (
    _config,  # noqa: F401  (float64)
    units,
)
from .model import (
    DEFAULT_CONSTANTS,
    GuidingTable,
    birth_lz0,
    default_guiding_table,
    drift,
    feh_slope,
    sigma_lz,
    sigma_r,
)
from .parameters import NAMES, ModelConstants, ModelParameters

__all__ = [
    "SOLAR_AGE",
    "SiblingRanges",
    "SolarBirth",
    "action_change_ratio",
    "drift_fraction",
    "mean_radial_action",
    "migration_distance",
    "rms_delta_jr",
    "rms_delta_lz",
    "rms_delta_lz_truncated",
    "solar_birth",
    "solar_siblings",
]

#: Age of the Sun used in Sec. 6.4 (Bonanno et al. 2002), Myr.
SOLAR_AGE: float = 4.6 * units.GYR

_KPC_KMS = u.kpc * u.km / u.s


def _as_params(params) -> ModelParameters:
    if isinstance(params, ModelParameters):
        return params
    v = np.asarray(params, dtype=np.float64)
    if v.ndim not in (1, 2) or v.shape[-1] != len(NAMES):
        raise ValueError(f"'params' must be ModelParameters or a vector (11,) / (n, 11) in display units, got shape {v.shape}")
    return ModelParameters.from_vector(v)


def _batched(kernel, params: ModelParameters, *args, **static):
    """kernel(params, *args) with a leading parameter-batch axis broadcast against the arguments' shape.

    The kernels are compiled, broadcasting functions: a batch of ``n``
    parameter sets becomes fields of shape ``(n, 1, ..., 1)`` so that the
    result has shape ``(n,) + broadcast(args)``.
    """
    if params.batch_shape != ():
        if len(params.batch_shape) != 1:
            raise ValueError(f"parameter batches must be one-dimensional, got batch shape {params.batch_shape}")
        ndim = max([jnp.ndim(a) for a in args if isinstance(a, (jax.Array, np.ndarray, float, int))] + [0])
        params = jax.tree_util.tree_map(lambda x: jnp.reshape(x, x.shape + (1,) * ndim), params)
    return kernel(params, *args, **static)


def _time(tau, name="tau"):
    return jnp.asarray(units.to_internal(tau, "time", name))


def _length(R, name="R"):
    return jnp.asarray(units.to_internal(R, "length", name))


# ----------------------------------------------------------------------------- compiled kernels
@jax.jit
def _rms_lz(p, t, constants):
    return jnp.sqrt(sigma_lz(p, t, constants) ** 2 + (drift(p, constants) * t) ** 2)


@jax.jit
def _rms_lz_truncated(p, t, L0, constants):
    mu = L0 + drift(p, constants) * t
    s = sigma_lz(p, t, constants)
    b = mu / s
    lam = jnp.exp(-0.5 * b * b - 0.5 * math.log(2 * math.pi) - jax.scipy.special.log_ndtr(b))  # phi(b)/Phi(b)
    mean = mu + s * lam
    var = s * s * (1.0 - b * lam - lam * lam)
    return jnp.sqrt(var + (mean - L0) ** 2)


@jax.jit
def _drift_fraction(p, t, constants):
    d2 = (drift(p, constants) * t) ** 2
    return d2 / (sigma_lz(p, t, constants) ** 2 + d2)


@jax.jit
def _mean_jr(p, t, r, table, constants):
    return sigma_r(p, t, r, constants) ** 2 / table.kappa(r)


@jax.jit
def _solar(p, t, feh, feh_err, constants):
    lz0 = birth_lz0(p, feh, t, constants)
    return lz0, feh_err / feh_slope(p, lz0, constants)


@functools.partial(jax.jit, static_argnames=("n",))
def _siblings(p, keys, t, feh, feh_err, qs, table, constants, *, n):
    """Quantiles of sibling L_z and J_R for a batch of parameter sets (leading axis) and keys."""

    def one(p, key):
        k1, k2, k3 = jax.random.split(key, 3)
        fe = feh + feh_err * jax.random.normal(k1, (n,))
        lz0 = birth_lz0(p, fe, t, constants)
        mu = lz0 + drift(p, constants) * t
        s = sigma_lz(p, t, constants)
        # Eq. 4: Gaussian truncated to L_z > 0
        lz = mu + s * jax.random.truncated_normal(k2, -mu / s, jnp.inf, (n,))
        rc = table.r_circ(lz)
        # Eq. 5: exponential in J_R with mean sigma_R^2 / kappa at the guiding radius
        jr = sigma_r(p, t, rc, constants) ** 2 / table.kappa(rc) * jax.random.exponential(k3, (n,))
        q_lz = jnp.quantile(lz, qs[:2])
        return q_lz[0], q_lz[1], jnp.quantile(jr, qs[2])

    return jax.vmap(one)(p, keys)


# ----------------------------------------------------------------------------- L_z (Eqs. 21, 23)
def rms_delta_lz(params, tau, *, constants: ModelConstants = DEFAULT_CONSTANTS) -> u.Quantity:
    """sqrt<(L_z - L_z0)^2> = sqrt(sigma(tau)^2 + (D tau)^2), Frankel et al. (2020) Eq. 21.

    The moment of the untruncated Gaussian of Eq. 4 -- what the paper uses;
    valid for populations born far from L_z = 0
    (:func:`rms_delta_lz_truncated` gives the exact value at a given L_z0).

    Parameters
    ----------
    params : ModelParameters or array (11,) / (n, 11)
    tau : float, array or Quantity, time (plain numbers Myr)

    Returns
    -------
    Quantity, kpc km/s, shape ``batch + tau.shape``.

    Examples
    --------
    >>> from diskorbits.migration import text_values
    >>> import astropy.units as u
    >>> round(float(rms_delta_lz(text_values(sigma_Lz=572.0), 6 * u.Gyr).value))   # paper: 619
    620
    """
    out = _batched(_rms_lz, _as_params(params), _time(tau), constants)
    return np.asarray(out) / units.KPC_KMS * _KPC_KMS


def rms_delta_lz_truncated(params, tau, lz0, *, constants: ModelConstants = DEFAULT_CONSTANTS) -> u.Quantity:
    """Exact sqrt<(L_z - L_z0)^2> under the Eq. 4 Gaussian truncated to L_z > 0.

    With ``mu = L_z0 + D tau``, ``s = sigma(tau)``, ``b = mu / s`` and
    ``lam = phi(b) / Phi(b)``: ``<L_z> = mu + s lam``,
    ``Var = s^2 (1 - b lam - lam^2)``, and the second moment about L_z0 is
    ``Var + (<L_z> - L_z0)^2``. Tends to :func:`rms_delta_lz` for L_z0 >> s.

    Parameters
    ----------
    lz0 : float, array or Quantity, action (plain numbers kpc^2/Myr)
        Broadcast against ``tau``.
    """
    t = _time(tau)
    L0 = jnp.asarray(units.to_internal(lz0, "action", "lz0"))
    t, L0 = jnp.broadcast_arrays(t, L0)
    out = _batched(_rms_lz_truncated, _as_params(params), t, L0, constants)
    return np.asarray(out) / units.KPC_KMS * _KPC_KMS


def drift_fraction(params, tau, *, constants: ModelConstants = DEFAULT_CONSTANTS) -> np.ndarray:
    """Share of the drift in the variance of Eq. 21, (D tau)^2 / (sigma(tau)^2 + (D tau)^2) (dimensionless).

    The paper says "~20%"; the share grows linearly with tau at small tau.
    """
    return np.asarray(_batched(_drift_fraction, _as_params(params), _time(tau), constants))


def migration_distance(params, tau, *, constants: ModelConstants = DEFAULT_CONSTANTS) -> u.Quantity:
    """rms Delta L_z / v_circ in kpc (Sec. 6.1, Fig. 7 top right axis; v_circ = 235 km/s)."""
    lz = rms_delta_lz(params, tau, constants=constants)
    v = float(constants.v_circ) / units.KMS * u.km / u.s
    return (lz / v).to(u.kpc)


# ----------------------------------------------------------------------------- J_R (Eqs. 22, 23)
def mean_radial_action(
    params, tau, R, *, table: GuidingTable | None = None, constants: ModelConstants = DEFAULT_CONSTANTS
) -> u.Quantity:
    """<J_R> = sigma_R(tau, R)^2 / kappa(R) in kpc km/s (mean of Eq. 5 with Eq. 6).

    Parameters
    ----------
    tau : time (plain numbers Myr)
    R : length (plain numbers kpc)
        Guiding radius; broadcast against ``tau``.
    table : GuidingTable, optional
        Source of kappa; default MWPotential2014(8.2 kpc, 235 km/s).
    """
    table = default_guiding_table() if table is None else table
    t, r = jnp.broadcast_arrays(_time(tau), _length(R))
    out = _batched(_mean_jr, _as_params(params), t, r, table, constants)
    return np.asarray(out) / units.KPC_KMS * _KPC_KMS


def rms_delta_jr(
    params,
    tau,
    R,
    *,
    jr0=0.0,
    table: GuidingTable | None = None,
    constants: ModelConstants = DEFAULT_CONSTANTS,
) -> u.Quantity:
    """sqrt<(J_R - J_R0)^2> in kpc km/s (Frankel et al. 2020, Eq. 22).

    For the exponential of Eq. 5 with mean m = <J_R>,
    ``<(J_R - J_R0)^2> = 2 m^2 - 2 J_R0 m + J_R0^2``; with the paper's
    J_R0 = 0 (stars born on near-circular orbits) this is ``sqrt(2) m``.
    (Eq. 22 as printed has ``2 J_R0^2``; the exponential's moment has
    ``J_R0^2``. The difference vanishes at J_R0 = 0.)

    Parameters
    ----------
    jr0 : float or Quantity, action (plain numbers kpc^2/Myr)
        Radial action at birth.
    """
    m = mean_radial_action(params, tau, R, table=table, constants=constants).to_value(_KPC_KMS)
    j0 = float(units.to_internal(jr0, "action", "jr0")) / units.KPC_KMS
    return np.sqrt(2 * m * m - 2 * j0 * m + j0 * j0) * _KPC_KMS


def action_change_ratio(
    params, tau, R, *, table: GuidingTable | None = None, constants: ModelConstants = DEFAULT_CONSTANTS
) -> np.ndarray:
    """rms Delta J_R (at guiding radius R) / rms Delta L_z, Frankel et al. (2020) Eq. 24 (paper: ~0.1)."""
    jr = rms_delta_jr(params, tau, R, table=table, constants=constants)
    lz = rms_delta_lz(params, tau, constants=constants)
    return np.asarray((jr / lz).to_value(u.dimensionless_unscaled))


# ----------------------------------------------------------------------------- the Sun (Sec. 6.4)
@dataclasses.dataclass(frozen=True)
class SolarBirth:
    """The Sun's birth angular momentum and radius (Sec. 6.4).

    Attributes
    ----------
    lz0, lz0_err : Quantity, kpc km/s
        L_z0 = F^-1([Fe/H]_sun, tau_sun) and the spread from the [Fe/H]
        uncertainty, ``feh_err / |dF/dL_z0|``.
    R0, R0_err : Quantity, kpc
        The same divided by v_circ (235 km/s).
    """

    lz0: u.Quantity
    lz0_err: u.Quantity
    R0: u.Quantity
    R0_err: u.Quantity


def solar_birth(
    params,
    *,
    tau=SOLAR_AGE,
    feh=0.0,
    feh_err=0.05,
    constants: ModelConstants = DEFAULT_CONSTANTS,
) -> SolarBirth:
    """The Sun's birth L_z0 from the birth [Fe/H] relation (Eqs. 7-10), Frankel et al. (2020) Sec. 6.4.

    Parameters
    ----------
    tau : time
        The Sun's age (default 4.6 Gyr).
    feh, feh_err : float, dex
        Its [Fe/H] and uncertainty (default 0 +- 0.05, Asplund et al. 2009).

    Examples
    --------
    >>> from diskorbits.migration import table1
    >>> sun = solar_birth(table1())
    >>> round(float(sun.R0.value), 2), round(float(sun.lz0_err.value))   # paper: 7.8 +- 0.6 kpc; +- 127
    (8.04, 126)
    """
    p, t = _as_params(params), _time(tau)
    if not (np.isfinite(feh) and np.isfinite(feh_err) and feh_err >= 0):
        raise ValueError(f"'feh' must be finite and 'feh_err' finite and >= 0, got {feh!r}, {feh_err!r}")

    lz0, err = (np.asarray(x) for x in _batched(_solar, p, t, float(feh), float(feh_err), constants))
    v = float(constants.v_circ)
    return SolarBirth(
        lz0 / units.KPC_KMS * _KPC_KMS, err / units.KPC_KMS * _KPC_KMS, lz0 / v * u.kpc, err / v * u.kpc
    )


# ----------------------------------------------------------------------------- siblings (Sec. 6.5)
@dataclasses.dataclass(frozen=True)
class SiblingRanges:
    """Central ``level`` range of the siblings' L_z and the ``level`` upper quantile of their J_R.

    Attributes
    ----------
    lz_low, lz_high : Quantity, kpc km/s
    jr_high : Quantity, kpc km/s
    level : float
    """

    lz_low: u.Quantity
    lz_high: u.Quantity
    jr_high: u.Quantity
    level: float


def solar_siblings(
    params,
    key,
    *,
    n: int = 200_000,
    tau=SOLAR_AGE,
    feh=0.0,
    feh_err=0.05,
    level: float = 0.95,
    table: GuidingTable | None = None,
    constants: ModelConstants = DEFAULT_CONSTANTS,
) -> SiblingRanges:
    """Where the Sun's siblings are today (Frankel et al. 2020, Sec. 6.5), by Monte Carlo.

    Siblings share the Sun's age and birth L_z0. L_z0 is drawn from the
    Sun's birth distribution ([Fe/H] ~ N(feh, feh_err) through Eqs. 7-10;
    ``feh_err = 0`` pins it), L_z from Eq. 4 (truncated Gaussian) and J_R
    from Eq. 5 at the guiding radius of each L_z (kappa from ``table``).

    Parameters
    ----------
    key : jax.random key
        Explicit randomness; the same key gives the same ranges.
    n : int
        Number of siblings drawn per parameter set.
    level : float in (0, 1)
        Central probability of the L_z range and upper quantile of J_R.

    Returns
    -------
    SiblingRanges
        Fields of shape ``batch``.

    Raises
    ------
    ValueError
        If ``n`` < 100, ``level`` outside (0, 1), or ``feh_err`` < 0.
    """
    if int(n) < 100:
        raise ValueError(f"'n' must be at least 100, got {n}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"'level' must lie in (0, 1), got {level!r}")
    if not (np.isfinite(feh) and np.isfinite(feh_err) and feh_err >= 0):
        raise ValueError(f"'feh' must be finite and 'feh_err' finite and >= 0, got {feh!r}, {feh_err!r}")
    p, t = _as_params(params), _time(tau)
    table = default_guiding_table() if table is None else table
    qs = jnp.array([(1.0 - level) / 2.0, (1.0 + level) / 2.0, level])
    args = (t, float(feh), float(feh_err), qs, table, constants)
    if p.batch_shape == ():
        single = jax.tree_util.tree_map(lambda x: x[None], p)
        lo, hi, jr = (x[0] for x in _siblings(single, key[None], *args, n=int(n)))
    else:
        lo, hi, jr = _siblings(p, jax.random.split(key, p.batch_shape[0]), *args, n=int(n))
    conv = lambda x: np.asarray(x) / units.KPC_KMS * _KPC_KMS
    return SiblingRanges(conv(lo), conv(hi), conv(jr), float(level))
