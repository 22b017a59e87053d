"""The likelihood of the Frankel et al. (2020) model for a noisy, selected red-clump catalogue.

Frankel et al. (2020), Eqs. 14-17 with Appendices A.2 and B:

    ln L(params) = sum_i ln p_dataset(obs_i | params),
    p_dataset(obs_i) = (1 / V_S) int p_MW(x) / (2 pi)^2 D^2 cos b g(v_z) S(l, b, D) f_RC(tau) p(obs_i | true) d true,

with ``x = (tau, [Fe/H], J_R, L_z, z)`` computed from the true
``(D, tau, [Fe/H], pmra, pmdec, v_los)`` at the star's (noise-free) ``(l, b)``.

What is integrated, over which measure
--------------------------------------
* **p_MW** (:func:`~diskorbits.migration.model.log_p_mw`, Eq. A1) is a density
  in ``(tau, [Fe/H], J_R, L_z, z)``. ``1 / (2 pi)^2`` spreads it over the
  in-plane angles ``(theta_R, theta_phi)``, which with ``(J_R, L_z)`` are
  canonical for in-plane phase space ``(x, y, v_x, v_y)`` (unit Jacobian; exact
  for epicycle actions, approximate for the Stäckel fudge, Eq. A3's note).
* ``D^2 cos b`` takes ``(x, y, z)`` to ``(l, b, D)`` (``l, b`` in radians).
* The model has no vertical velocity; a fixed, parameter-independent
  ``g(v_z) = N(0, sigma_vz)`` (:class:`~diskorbits.migration.samples.SurveySetup`)
  completes the phase-space density.
* The true velocities are sampled as ``(pmra, pmdec, v_los)``:
  ``d^3 v = (k D)^2 dpmra dpmdec dv_los`` with ``k D`` the transverse velocity
  of 1 mas/yr at distance ``D``.
* So the integrand per Monte Carlo sample is, in the variables
  ``(D, tau, [Fe/H], pmra, pmdec, v_los)``,
  ``p_MW(x) (2 pi)^-2 D^2 cos b (k D)^2 g(v_z) S f_RC`` times the importance
  weight ``p(obs | true) / q(true | obs)``.

Noise model and Monte Carlo samples (Sec. 2.3, App. A.2)
--------------------------------------------------------
Per star, ``n_mc`` (default 80, as the paper) samples of the truth are drawn
once from an approximate ``q(true | obs)`` and propagated once to actions:

* distance: ``ln D ~ N(ln D_obs, distance_err / distance)``, truncated to the
  distance range where the selection can be non-zero along the star's sight
  line (so no sample is wasted outside the survey); weight
  ``D Z_D / D_obs`` (``Z_D`` the truncated mass), exact for the log-normal
  noise ``ln D_obs ~ N(ln D, sigma)``;
* age: ``ln tau ~ N(ln tau_obs, ln(10) age_err_dex)`` truncated to
  ``(0, tau_m]`` (the model's support); weight ``tau Z_tau / tau_obs``;
* ``pmra``, ``pmdec``, ``v_los``: Gaussian around the observed value
  (weight 1, the noise being symmetric).

The [Fe/H] noise is integrated over the birth angular momentum instead
(a change of variables in Eq. A1, ``p_MW d[Fe/H] = p_birth dL_z0``):

    int p_MW([Fe/H]) N([Fe/H]_obs; [Fe/H], s) d[Fe/H]
        = int p_birth(L_z0) N([Fe/H]_obs; F(L_z0, tau), s) dL_z0,

with ``p_birth`` of :func:`~diskorbits.migration.model.log_p_birth` (Eq. 16)
and ``F`` the birth relation (Eqs. 7-10). Each Monte Carlo truth carries one
``L_z0 = c + w t``: ``c = F^-1([Fe/H]_obs, tau)`` at the current parameters,
``w`` the [Fe/H] error mapped through the local gradient, and ``t`` a fixed
Student-t variate (:data:`LZ0_T_DOF` degrees of freedom, stratified per
star) drawn once. The sample points move continuously with the parameters,
so the likelihood has no jumps: sampling [Fe/H] directly put samples on
either side of the gradient break and of the [Fe/H]_max edge, and every
crossing was a jump in ln L that stalled gradient optimisers and NUTS. Why
it stays continuous at the edges: ``p(L_z0)`` (Eq. 1) vanishes linearly at
``L_z0 = 0``, and the scale ``w`` blends the two gradients smoothly across
the break (:data:`BREAK_SOFTNESS_KPC`). The Student-t's heavier tails bound
the weight ``N / q`` and reach stars observed above the [Fe/H] edge.

A zero uncertainty gives the observed value itself (weight 1), so with no
noise and ``n_mc = 1`` the per-star term is exactly the noise-free density.
Everything else that does not depend on the parameters -- importance weights,
Jacobians, ``g``, ``S``, ``f_RC`` -- is folded into one log weight per sample,
so an evaluation is ``log_p_birth`` on ``(n_stars, n_mc)`` arrays, a
``logsumexp`` per star, and the survey volume. A star with zero [Fe/H]
error gets the exact Dirac collapse of :func:`~diskorbits.migration.model.log_p_mw`.

Survey volume (Eqs. 15-16, B8)
------------------------------
:class:`~diskorbits.migration.samples.VolumeSample`: fixed proposal draws of
the simple galaxy of Appendix B inside the selection, actions computed once,
importance-weighted with the model at each ``params``. The density there is
written with ``L_z0`` in place of [Fe/H] (the selection does not see [Fe/H]),
in the same measure as above. The effective sample size of its weights is
reported (:meth:`Likelihood.check`) and a :class:`LikelihoodWarning` is issued
when it falls below the number of stars: then the Monte Carlo error of
``N ln V_S``, about ``N / sqrt(ESS)``, exceeds ``sqrt(N)``, the scale of the
statistical scatter of ``ln L`` itself (our rule of thumb).

Catalogue columns (plain numbers in these units; columns with units are converted)
----------------------------------------------------------------------------------
``l, b`` [deg]; ``distance, distance_err`` [kpc]; ``pmra, pmdec, pmra_err,
pmdec_err`` [mas/yr] (``pmra`` is mu_alpha* = mu_alpha cos dec, ICRS);
``rv, rv_err`` [km/s]; ``age`` [Gyr], ``age_err_dex`` [dex]; ``feh, feh_err``
[dex] -- the columns of :func:`~diskorbits.migration.mock.make_mock`. ICRS
``(ra, dec)`` are computed from ``(l, b)``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from pathlib import Path

import astropy.units as u
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from scipy import special, stats

from .. import (
    _config,  # noqa: F401  (float64)
    frames,
    units,
)
from .model import StarInputs, birth_feh, birth_lz0, feh_slope, log_p_birth, mean_birth_lz
from .parameters import NAMES, ModelConstants, ModelParameters, table1
from .samples import (
    ProposalConfig,
    SurveySetup,
    VolumeEstimate,
    VolumeSample,
    _cylindrical,
    _f_rc,
    _rng,
    _safe_inputs,
    draw_volume_sample,
    galactic_to_icrs,
    sample_actions,
)
from .selection import NoSelection
from .vertical import AbstractVerticalAction

__all__ = [
    "CATALOGUE_COLUMNS",
    "BREAK_SOFTNESS_KPC",
    "LZ0_T_DOF",
    "Likelihood",
    "LikelihoodWarning",
    "build_likelihood",
    "read_observations",
]

_LOG_2PI = math.log(2.0 * math.pi)
_LN10 = math.log(10.0)

#: Required catalogue columns and the unit assumed when a column carries none.
CATALOGUE_COLUMNS: dict[str, str] = {
    "l": "deg",
    "b": "deg",
    "distance": "kpc",
    "distance_err": "kpc",
    "pmra": "mas / yr",
    "pmra_err": "mas / yr",
    "pmdec": "mas / yr",
    "pmdec_err": "mas / yr",
    "rv": "km / s",
    "rv_err": "km / s",
    "age": "Gyr",
    "age_err_dex": "",
    "feh": "",
    "feh_err": "",
}

class LikelihoodWarning(UserWarning):
    """The Monte Carlo integrals of the likelihood are poorly sampled at the checked parameters."""


# --------------------------------------------------------------------------- #
# Catalogue reading
# --------------------------------------------------------------------------- #
def _as_table(catalogue):
    from astropy.table import Table

    if isinstance(catalogue, (str, Path)):
        from ..io import read_table

        return read_table(catalogue)
    if isinstance(catalogue, Table):
        return catalogue
    if hasattr(catalogue, "to_dict") and hasattr(catalogue, "columns"):  # pandas DataFrame
        return Table.from_pandas(catalogue)
    if isinstance(catalogue, Mapping):
        return catalogue
    raise TypeError(f"'catalogue' must be an astropy Table, a mapping of columns, a DataFrame or a path, got {type(catalogue).__name__}")


def _column_values(col, name: str, unit: str) -> np.ndarray:
    """Values of one column in ``unit`` ("" = dimensionless); masked entries become NaN."""
    col_unit = getattr(col, "unit", None)
    if isinstance(col, u.Quantity):
        q = col
    elif col_unit is not None and str(col_unit) not in ("", "dex"):
        q = u.Quantity(np.asarray(col, dtype=np.float64), col_unit)
    else:
        q = None
    if np.ma.isMaskedArray(col) or hasattr(col, "mask"):
        data = np.ma.filled(np.ma.asarray(col, dtype=np.float64), np.nan)
        q = None if q is None else u.Quantity(data, q.unit)
    else:
        data = np.asarray(col.value if isinstance(col, u.Quantity) else col, dtype=np.float64)
    if q is None:
        return np.atleast_1d(data).astype(np.float64)
    target = u.dimensionless_unscaled if unit == "" else u.Unit(unit)
    try:
        return np.atleast_1d(q.to_value(target)).astype(np.float64)
    except u.UnitConversionError:
        raise ValueError(f"column {name!r} has unit {q.unit!s}, which cannot be converted to {unit or 'dimensionless'}") from None


def read_observations(catalogue, columns: Mapping[str, str] | None = None) -> dict[str, np.ndarray]:
    """Validated observables and uncertainties of a red-clump catalogue, in the units of :data:`CATALOGUE_COLUMNS`.

    Parameters
    ----------
    catalogue : astropy Table, mapping of arrays, pandas DataFrame, or path
        A path is read with :func:`diskorbits.io.read_table` (FITS, CSV, ECSV, Parquet).
    columns : mapping, optional
        Our column name -> the catalogue's, e.g. ``{"distance": "DIST", "rv": "VHELIO_AVG"}``.

    Returns
    -------
    dict of float64 arrays (n,), keyed by the names of :data:`CATALOGUE_COLUMNS`.

    Raises
    ------
    ValueError
        Naming the column: missing (the message lists the available ones),
        wrong unit, non-finite or masked values (with the first rows),
        ``distance`` or ``age`` not positive, a negative uncertainty,
        ``|b| > 90`` deg, columns of unequal length, or an empty catalogue.
    TypeError
        If ``catalogue`` is of an unsupported type.
    """
    table = _as_table(catalogue)
    mapping = dict(columns or {})
    unknown = sorted(set(mapping) - set(CATALOGUE_COLUMNS))
    if unknown:
        raise ValueError(f"'columns' maps unknown names {unknown}; expected some of {list(CATALOGUE_COLUMNS)}")
    available = list(table.colnames) if hasattr(table, "colnames") else list(table.keys())
    out = {}
    for name, unit in CATALOGUE_COLUMNS.items():
        key = mapping.get(name, name)
        if key not in available:
            raise ValueError(f"catalogue column {key!r} ({name}) is missing; available columns: {available}")
        values = _column_values(table[key], name, unit)
        bad = ~np.isfinite(values)
        if np.any(bad):
            rows = np.flatnonzero(bad)
            raise ValueError(f"catalogue column {key!r} has {rows.size} NaN, infinite or masked value(s), first at rows {rows[:5].tolist()}")
        out[name] = values
    lengths = {k: v.size for k, v in out.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"catalogue columns have unequal lengths: {lengths}")
    if next(iter(lengths.values())) == 0:
        raise ValueError("the catalogue has no rows")
    for name in ("distance", "age"):
        rows = np.flatnonzero(~(out[name] > 0))
        if rows.size:
            raise ValueError(f"catalogue column {mapping.get(name, name)!r} must be positive; {rows.size} row(s) are not, first {rows[:5].tolist()}")
    for name in CATALOGUE_COLUMNS:
        if name.endswith(("_err", "_err_dex")):
            rows = np.flatnonzero(out[name] < 0)
            if rows.size:
                raise ValueError(f"uncertainty column {mapping.get(name, name)!r} must be >= 0; {rows.size} row(s) are negative, first {rows[:5].tolist()}")
    rows = np.flatnonzero(np.abs(out["b"]) > 90.0)
    if rows.size:
        raise ValueError(f"catalogue column {mapping.get('b', 'b')!r} (Galactic latitude, deg) must lie in [-90, 90]; rows {rows[:5].tolist()}")
    return out


# --------------------------------------------------------------------------- #
# Per-star Monte Carlo samples (Appendix A.2)
# --------------------------------------------------------------------------- #
def _distance_support(selection, l, b) -> tuple[np.ndarray, np.ndarray]:
    """Per direction, ``[D_lo, D_hi]`` (kpc) outside which ``S(l, b, D) = 0``; ``hi <= lo`` outside the footprint."""
    if isinstance(selection, NoSelection):
        inside = np.abs(b) <= selection.b_max
        hi = np.inf if selection.d_max is None else selection.d_max
        return np.where(inside, selection.d_min, np.inf), np.where(inside, hi, 0.0)
    # Every Selection describes itself as regions with distance supports (selection.py).
    p, r = selection._region_pairs(l, b)
    r_lo, r_hi = selection._region_supports()
    lo = np.full(np.size(l), np.inf)
    hi = np.zeros(np.size(l))
    np.minimum.at(lo, p, r_lo[r])
    np.maximum.at(hi, p, r_hi[r])
    return lo, hi


def _log_interval_mass(a, b):
    """``ln(Phi(b) - Phi(a))`` for a <= b, accurate in both tails."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    upper = a > 0  # both in the upper tail: use the symmetric lower tail
    hi = np.where(upper, special.log_ndtr(-a), special.log_ndtr(b))
    lo = np.where(upper, special.log_ndtr(-b), special.log_ndtr(a))
    with np.errstate(divide="ignore", invalid="ignore"):
        return hi + np.log1p(-np.exp(lo - hi))


def _truncated_lognormal(gen, mu, sigma, log_lo, log_hi, n):
    """``n`` draws per row of ``ln x ~ N(mu, sigma)`` truncated to ``[log_lo, log_hi]`` and
    ``ln[p(obs | x) / q(x | obs)] = ln x - mu + ln Z`` for the log-normal noise (0 where ``sigma = 0``)."""
    mu, sigma = np.asarray(mu)[:, None], np.asarray(sigma)[:, None]
    zero = sigma == 0
    s = np.where(zero, 1.0, sigma)
    a = (np.asarray(log_lo)[:, None] - mu) / s
    b = (np.asarray(log_hi)[:, None] - mu) / s
    ok = (a < b) & ~zero
    a_ = np.where(ok, a, -1.0)
    b_ = np.where(ok, b, 1.0)
    z = stats.truncnorm.rvs(a_, b_, size=(mu.shape[0], n), random_state=gen)
    y = np.where(zero, mu, mu + s * z)
    log_ratio = np.where(zero, 0.0, (y - mu) + _log_interval_mass(a_, b_))
    return np.exp(y), log_ratio


#: Degrees of freedom of the Student-t law of the birth angular-momentum samples.
LZ0_T_DOF: float = 4.0
#: Width (kpc in birth radius) over which the L_z0 sampling scale blends the two [Fe/H] gradients.
BREAK_SOFTNESS_KPC: float = 0.25


def _lz0_variates(gen, n: int, n_mc: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed Student-t variates for the L_z0 samples, (n, n_mc), and their log density.

    Stratified per star (one draw in each of ``n_mc`` equal-probability
    strata, then shuffled so that the pairing with the other truths is
    random): the per-star integral then converges faster than with
    independent draws. With ``n_mc = 1`` the single variate is 0 (the centre).
    """
    if n_mc == 1:
        t = np.zeros((n, 1))
    else:
        strata = (np.arange(n_mc) + gen.uniform(0.0, 1.0, (n, n_mc))) / n_mc
        t = stats.t.ppf(strata, LZ0_T_DOF)
        t = np.take_along_axis(t, np.argsort(gen.uniform(size=(n, n_mc)), axis=1), axis=1)
    return t, stats.t.logpdf(t, LZ0_T_DOF)


def _star_samples(gen, obs: dict, setup: SurveySetup, n_mc: int, executor) -> tuple[StarInputs, np.ndarray]:
    """Monte Carlo truths of every star, their StarInputs and parameter-independent log weights (n, n_mc)."""
    l, b = obs["l"], obs["b"]
    n = l.size
    lo, hi = _distance_support(setup.selection, l, b)
    outside = ~(hi > lo)
    if np.any(outside):
        rows = np.flatnonzero(outside)
        raise ValueError(
            f"{rows.size} star(s) lie outside the selection's footprint (S = 0 at every distance), "
            f"first at rows {rows[:5].tolist()}; the catalogue and the selection do not match"
        )
    with np.errstate(divide="ignore"):
        log_lo, log_hi = np.log(lo), np.log(hi)
    D, lw_D = _truncated_lognormal(gen, np.log(obs["distance"]), obs["distance_err"] / obs["distance"], log_lo, log_hi, n_mc)
    tau_obs = obs["age"] * units.GYR
    tau, lw_tau = _truncated_lognormal(
        gen, np.log(tau_obs), obs["age_err_dex"] * _LN10, np.full(n, -np.inf), np.full(n, math.log(setup.tau_m)), n_mc
    )
    eps = gen.standard_normal((3, n, n_mc))
    pmra = obs["pmra"][:, None] + obs["pmra_err"][:, None] * eps[0]
    pmdec = obs["pmdec"][:, None] + obs["pmdec_err"][:, None] * eps[1]
    rv = obs["rv"][:, None] + obs["rv_err"][:, None] * eps[2]

    ra, dec = galactic_to_icrs(l, b)
    cyl = _cylindrical(ra[:, None], dec[:, None], D, pmra, pmdec, rv, setup.sun)
    act = sample_actions(setup, cyl["R"], cyl["z"], cyl["v_R"], cyl["v_phi"], cyl["v_z"], executor=executor)
    sel = np.asarray(setup.selection(l[:, None], b[:, None], D), dtype=np.float64)
    f_rc = _f_rc(setup, tau)
    k_D = D * frames.MASYR_RADMYR  # kpc/Myr per mas/yr at distance D
    with np.errstate(divide="ignore"):
        log_w = (
            lw_D + lw_tau
            + 2.0 * np.log(D) + np.log(np.cos(np.radians(b)))[:, None]  # (x, y, z) -> (l, b, D)
            + 2.0 * np.log(k_D)  # (v_x, v_y, v_z) -> (pmra, pmdec, v_los)
            - 2.0 * _LOG_2PI  # uniform in-plane angles
            + setup.log_vz_density(cyl["v_z"])
            + np.log(sel) + np.log(f_rc)
        )  # fmt: skip
    bad = act["flag"] != 0
    log_w = np.where(bad, -np.inf, log_w)
    dead = ~np.any(np.isfinite(log_w), axis=1)
    if np.any(dead):
        rows = np.flatnonzero(dead)
        raise ValueError(
            f"{rows.size} star(s) have zero weight in all {n_mc} Monte Carlo samples (S(l, b, D) f_RC(tau) = 0, or the "
            f"actions failed), first at rows {rows[:5].tolist()}; check them against the selection or raise n_mc"
        )
    nbad = int(np.count_nonzero(bad))
    if nbad:
        warnings.warn(f"actions failed for {nbad} of {bad.size} Monte Carlo samples; they get zero weight", LikelihoodWarning, stacklevel=3)
    feh = np.broadcast_to(obs["feh"][:, None], tau.shape)  # the observed value: see the module notes
    inputs = _safe_inputs(setup, tau, feh, act["J_R"], act["L_z"], cyl["z"], cyl["R"], bad)
    return inputs, log_w


# --------------------------------------------------------------------------- #
# The likelihood
# --------------------------------------------------------------------------- #
class Likelihood(eqx.Module):
    """ln L(params) of Frankel et al. (2020), Eq. 17, for one catalogue, with everything precomputed.

    ``ln L = sum_i ln[(1/n_mc) sum_s exp(log_weight_is) p_birth(L_z0_is, x_is) N([Fe/H]_i | F(L_z0_is)) / q(L_z0_is)]
    - n_stars ln V_S(params)`` (see the module notes for the L_z0 samples).

    Build it with :func:`build_likelihood`. Calling it with a parameter
    vector in display units (order :data:`~diskorbits.migration.NAMES`,
    units :data:`~diskorbits.migration.UNITS`) returns ``ln L`` as a float64
    scalar; the call is jit-compiled, vectorises over stars, and is
    differentiable (``jax.grad``) and ``vmap``-able over parameter vectors.
    Outside the parameters' physical range (``ModelParameters.is_valid``) it
    returns ``-inf`` with zero gradient.

    Attributes
    ----------
    inputs : StarInputs, (n_stars, n_mc)
        Monte Carlo truths, propagated once.
    log_weight : array (n_stars, n_mc)
        Parameter-independent log weights (importance weights, Jacobians,
        ``g(v_z)``, ``S``, ``f_RC``; see the module notes); ``-inf`` for unusable samples.
    feh_obs, feh_err : array (n_stars, 1), dex
        Observed [Fe/H] and its Gaussian uncertainty (0: no noise, exact collapse).
    lz0_t : array (n_stars, n_mc)
        Fixed Student-t variates placing the L_z0 samples (:func:`_lz0_variates`).
    lz0_log_t : array (n_stars, n_mc)
        Their log density.
    volume : VolumeSample
        Survey-volume proposal set.
    constants : ModelConstants
    vertical : AbstractVerticalAction
    reference : array (11,)
        A valid display-unit vector standing in for invalid ones (default Table 1).
    """

    inputs: StarInputs
    log_weight: jax.Array
    feh_obs: jax.Array
    feh_err: jax.Array
    lz0_t: jax.Array
    lz0_log_t: jax.Array
    volume: VolumeSample
    constants: ModelConstants
    vertical: AbstractVerticalAction
    reference: jax.Array

    def __check_init__(self):
        if isinstance(self.log_weight, jax.core.Tracer):
            return
        if jnp.ndim(self.log_weight) != 2 or jnp.shape(self.inputs.tau) != jnp.shape(self.log_weight):
            raise ValueError(f"'inputs' and 'log_weight' must share one shape (n_stars, n_mc); got {jnp.shape(self.inputs.tau)} and {jnp.shape(self.log_weight)}")
        if jnp.shape(self.reference) != (len(NAMES),):
            raise ValueError(f"'reference' must be a vector of {len(NAMES)} parameters, got shape {jnp.shape(self.reference)}")

    @property
    def n_stars(self) -> int:
        return int(self.log_weight.shape[0])

    @property
    def n_mc(self) -> int:
        return int(self.log_weight.shape[1])

    # -- internals -------------------------------------------------------------
    def _params(self, vector):
        v = jnp.asarray(vector, dtype=jnp.float64)
        valid = ModelParameters.from_vector(v).is_valid()
        # Evaluate at a valid stand-in where the vector is out of range, so that
        # no NaN leaks into the gradient of the final where (double-where pattern).
        return ModelParameters.from_vector(jnp.where(valid, v, self.reference)), valid

    def _sample_terms(self, params):
        """ln of each Monte Carlo sample's contribution, (n_stars, n_mc): the parameter-dependent
        ``ln[p_birth(L_z0) N([Fe/H]_obs; F(L_z0, tau), sigma) / q(L_z0)]`` plus :attr:`log_weight`."""
        c = self.constants
        tau = self.inputs.tau
        centre = birth_lz0(params, self.feh_obs, tau, c)
        noisy = self.feh_err > 0
        # kpc of birth radius per dex, blended smoothly across the break so the samples never jump
        inner = jax.nn.sigmoid((c.R_break - centre / c.v_circ) / BREAK_SOFTNESS_KPC)
        # a star observed above the [Fe/H]_max edge has its centre at L_z0 < 0: keep the samples
        # in the support with a smooth floor (any continuous centre is a valid proposal)
        floor = BREAK_SOFTNESS_KPC * c.v_circ
        centre = jnp.where(noisy, floor * jax.nn.softplus(centre / floor), centre)
        kpc_per_dex = inner / jnp.abs(c.grad_inner) + (1.0 - inner) / jnp.abs(params.grad_FeH)
        scale = jnp.where(noisy, self.feh_err * c.v_circ * kpc_per_dex, 1.0)
        lz0 = jnp.where(noisy, centre + scale * self.lz0_t, centre)
        err = jnp.where(noisy, self.feh_err, 1.0)
        resid = (self.feh_obs - birth_feh(params, lz0, tau, c)) / err
        log_noise_over_q = -0.5 * resid**2 - jnp.log(err) - 0.5 * _LOG_2PI - (self.lz0_log_t - jnp.log(scale))
        # no [Fe/H] noise: the Dirac collapse of Eq. A1 (Jacobian 1 / |dF/dL_z0|)
        safe = jnp.where(lz0 > 0, lz0, mean_birth_lz(params, c))
        log_jacobian = -jnp.log(feh_slope(params, safe, c))
        lp = log_p_birth(params, lz0, self.inputs, c, self.vertical)
        return lp + jnp.where(noisy, log_noise_over_q, log_jacobian) + self.log_weight

    def _star_terms(self, params):
        return logsumexp(self._sample_terms(params), axis=1) - math.log(self.n_mc)

    def _check_vector(self, vector):
        if jnp.shape(vector) != (len(NAMES),):
            raise ValueError(f"'vector' must have shape ({len(NAMES)},) in the order {NAMES}; got shape {jnp.shape(vector)}")

    # -- public evaluation -------------------------------------------------------
    def __call__(self, vector) -> jax.Array:
        """ln L at a display-unit parameter vector (NAMES order); ``-inf`` outside the physical range."""
        self._check_vector(vector)
        return _log_likelihood(self, vector)

    def log_likelihood(self, params: ModelParameters) -> jax.Array:
        """ln L at a :class:`ModelParameters` (internal units)."""
        return self(params.to_vector())

    def per_star(self, vector) -> jax.Array:
        """``ln[(1/n_mc) sum_s w_is p_MW(x_is)]`` per star, shape (n_stars,): Eq. A3 without ``1/V_S``."""
        self._check_vector(vector)
        return _star_stats(self, vector)[0]

    def star_ess(self, vector) -> jax.Array:
        """Effective sample size of each star's Monte Carlo weights, shape (n_stars,)."""
        self._check_vector(vector)
        return _star_stats(self, vector)[1]

    def log_volume(self, vector) -> jax.Array:
        """``ln V_S`` at a display-unit vector (Eqs. 15-16, B8)."""
        return self.volume_estimate(vector).log_volume

    def volume_estimate(self, vector) -> VolumeEstimate:
        """``ln V_S`` with its relative Monte Carlo error and the effective sample size of its weights.

        NaN entries outside the parameters' physical range.
        """
        self._check_vector(vector)
        params, valid = self._params(vector)
        est = self.volume.estimate(params)  # the VolumeSample's own compiled program
        nan = jnp.where(valid, 0.0, jnp.nan)
        return VolumeEstimate(est.log_volume + nan, est.relative_error + nan, est.ess + nan, est.n)

    def check(self, vector=None, *, min_ess: float | None = None) -> dict:
        """Monte Carlo diagnostics at ``vector`` (default :attr:`reference`), warning when they are poor.

        Returns
        -------
        dict
            ``log_volume``, ``volume_relative_error``, ``volume_ess``,
            ``n_volume``, ``star_ess_min``, ``star_ess_median`` and ``n_stars``.

        Warns
        -----
        LikelihoodWarning
            If the survey-volume ESS is below ``min_ess`` (default: the number
            of stars; see the module notes), or if any star's Monte Carlo ESS
            is below 1.5 (its evidence rests on a single sample) for more than
            1% of the stars.
        """
        vector = self.reference if vector is None else jnp.asarray(vector, dtype=jnp.float64)
        est = self.volume_estimate(vector)
        ess_i = np.asarray(self.star_ess(vector))
        out = {
            "log_volume": float(est.log_volume),
            "volume_relative_error": float(est.relative_error),
            "volume_ess": float(est.ess),
            "n_volume": est.n,
            "star_ess_min": float(np.min(ess_i)),
            "star_ess_median": float(np.median(ess_i)),
            "n_stars": self.n_stars,
        }
        threshold = float(self.n_stars if min_ess is None else min_ess)
        if not out["volume_ess"] >= threshold:
            warnings.warn(
                f"the survey-volume importance weights have an effective sample size of {out['volume_ess']:.0f} "
                f"(of {est.n} samples), below {threshold:.0f}: ln V_S is uncertain by ~{out['volume_relative_error']:.2g} "
                "per star; draw more proposal samples or bring the ProposalConfig closer to these parameters",
                LikelihoodWarning,
                stacklevel=2,
            )
        n_single = int(np.count_nonzero(ess_i < 1.5))
        if self.n_mc > 1 and n_single > max(1, 0.01 * self.n_stars):
            warnings.warn(
                f"{n_single} star(s) have a Monte Carlo effective sample size below 1.5 of {self.n_mc}; raise n_mc",
                LikelihoodWarning,
                stacklevel=2,
            )
        return out

    def describe(self) -> dict:
        """Plain-number description for run metadata (sizes, fixed constants, reference point)."""
        c = self.constants
        return {
            "model": "Frankel et al. (2020), Eqs. 14-17, A1-A3, B8",
            "n_stars": self.n_stars,
            "n_mc": self.n_mc,
            "n_volume": self.volume.n,
            "constants": {
                "tau_m_gyr": float(c.tau_m) / units.GYR, "tau_1_myr": float(c.tau_1),
                "v_circ_kms": float(c.v_circ) / units.KMS, "R_io_kpc": float(c.R_io),
                "R_sigma_kpc": float(c.R_sigma), "grad_inner_dex_kpc": float(c.grad_inner),
                "R_break_kpc": float(c.R_break), "tau_FeH_gyr": float(c.tau_FeH) / units.GYR,
            },
            "vertical": type(self.vertical).__name__,
            "reference": dict(zip(NAMES, [float(x) for x in np.asarray(self.reference)])),
        }  # fmt: skip

    def problem(self, bounds: Mapping[str, tuple[float, float]] | None = None):
        """A :class:`diskorbits.sampling.Problem` over the display-unit vector, uniform priors in a box.

        Parameters
        ----------
        bounds : mapping, optional
            ``{name: (lower, upper)}`` in display units replacing entries of the
            default box :data:`diskorbits.migration.inference.PRIOR_BOUNDS`.
        """
        from .inference import make_problem

        return make_problem(self, bounds)


@eqx.filter_jit
def _log_likelihood(lik: Likelihood, vector):
    params, valid = lik._params(vector)
    value = jnp.sum(lik._star_terms(params)) - lik.n_stars * lik.volume.log_volume(params)
    return jnp.where(valid, value, -jnp.inf)


@eqx.filter_jit
def _star_stats(lik: Likelihood, vector):
    # One program for both per-star numbers (one compilation per catalogue shape).
    params, valid = lik._params(vector)
    a = lik._sample_terms(params)
    lse = logsumexp(a, axis=1)
    ess = jnp.exp(2.0 * lse - logsumexp(2.0 * a, axis=1))
    return jnp.where(valid, lse - math.log(lik.n_mc), -jnp.inf), jnp.where(valid, ess, jnp.nan)


def build_likelihood(
    catalogue,
    setup: SurveySetup,
    *,
    n_mc: int = 80,
    volume: VolumeSample | None = None,
    n_volume: int = 100_000,
    rng=0,
    proposal: ProposalConfig | None = None,
    columns: Mapping[str, str] | None = None,
    reference=None,
    min_ess: float | None = None,
    check: bool = True,
    executor=None,
) -> Likelihood:
    """Precompute everything the likelihood of a catalogue needs (Frankel et al. 2020, Sec. 4, App. A.2, B).

    Parameters
    ----------
    catalogue : astropy Table, mapping, DataFrame or path
        Observables and uncertainties (see :func:`read_observations`), e.g.
        from :func:`~diskorbits.migration.mock.make_mock`.
    setup : SurveySetup
        Selection, potential, action method, frame, f_RC -- the same as the
        mock's when analysing a mock.
    n_mc : int
        Monte Carlo samples of the truth per star (default 80, Sec. 2.3).
    volume : VolumeSample, optional
        A survey-volume proposal set (e.g. shared between catalogues);
        drawn here with ``n_volume`` samples when not given.
    n_volume : int
        Size of the survey-volume proposal set (default 10^5).
    rng : numpy.random.Generator or int
        Randomness for the Monte Carlo truths (and the proposal set).
    proposal : ProposalConfig, optional
        The simple galaxy of the survey-volume proposal set (default ``ProposalConfig()``).
    columns : mapping, optional
        Our column name -> the catalogue's.
    reference : array_like (11,) or ModelParameters, optional
        Valid parameters at which the diagnostics are checked and which stand
        in for invalid vectors (default :func:`~diskorbits.migration.table1`).
    min_ess : float, optional
        Survey-volume ESS below which :meth:`Likelihood.check` warns (default: the number of stars).
    check : bool
        Run :meth:`Likelihood.check` at ``reference`` (default True; it compiles
        two small diagnostics programs).
    executor : diskorbits.parallel.Executor, optional
        For the action computations (chunks of 8192 samples).

    Returns
    -------
    Likelihood

    Raises
    ------
    ValueError
        For catalogue problems (naming the column), stars outside the
        selection, stars whose samples all have zero weight, ``n_mc < 1``,
        or a ``volume`` drawn with different model constants.
    TypeError
        For arguments of the wrong type.

    Warns
    -----
    LikelihoodWarning
        If the Monte Carlo integrals are poorly sampled at ``reference``.
    """
    if not isinstance(setup, SurveySetup):
        raise TypeError(f"'setup' must be a SurveySetup, got {type(setup).__name__}")
    if int(n_mc) != n_mc or n_mc < 1:
        raise ValueError(f"'n_mc' must be a positive integer, got {n_mc!r}")
    obs = read_observations(catalogue, columns)
    gen = _rng(rng)
    if reference is None:
        reference = table1()
    if isinstance(reference, ModelParameters):
        reference = reference.to_vector()
    reference = jnp.asarray(reference, dtype=jnp.float64)
    if reference.shape != (len(NAMES),) or not bool(ModelParameters.from_vector(reference).is_valid()):
        raise ValueError(f"'reference' must be a valid parameter vector of length {len(NAMES)} in display units")

    inputs, log_w = _star_samples(gen, obs, setup, int(n_mc), executor)
    lz0_t, lz0_log_t = _lz0_variates(gen, obs["feh"].size, int(n_mc))
    if volume is None:
        volume = draw_volume_sample(gen, n_volume, setup, ProposalConfig() if proposal is None else proposal, executor=executor)
    elif not isinstance(volume, VolumeSample):
        raise TypeError(f"'volume' must be a VolumeSample (draw_volume_sample), got {type(volume).__name__}")
    elif not eqx.tree_equal(volume.constants, setup.constants) or not eqx.tree_equal(volume.vertical, setup.vertical):
        raise ValueError("'volume' was drawn with other ModelConstants or vertical law than 'setup'")
    lik = Likelihood(
        inputs, jnp.asarray(log_w), jnp.asarray(obs["feh"][:, None]), jnp.asarray(obs["feh_err"][:, None]),
        jnp.asarray(lz0_t), jnp.asarray(lz0_log_t), volume, setup.constants, setup.vertical, reference,
    )  # fmt: skip
    if check:
        lik.check(min_ess=min_ess)
    return lik
