"""Action-local mean abundances and abundance deviations (PW2021 Eq. 2 and Appendix A).

For star ``*`` with neighbours ``k = 1..K`` at scaled actions ``x_k`` (see
:mod:`.neighbours`), Price-Whelan et al. (2021, Appendix A) replace the naive
neighbour mean (Eq. A1) by the intercept of a straight-line fit of the
neighbours' abundances against their displacement projected on the offset of
the neighbours' centroid (Eqs. A3-A4)::

    d_k  = x_k - x_*,     d_bar = mean_k d_k,     xi_k = d_k . d_bar
    y_*  = sum_k w_k y_k / sum_k w_k,   w_k = xi_k sum_j xi_j - sum_j xi_j^2     (A5, A6)

We use the normalised weights ``omega_k = w_k / sum_j w_j`` (they sum to 1 and
satisfy ``sum_k omega_k xi_k = 0``, i.e. the weighted centroid has no
component along ``d_bar``: a linear trend along the direction in which the
neighbours are lopsided is removed exactly). When the fit is ill-conditioned
-- ``sum_j w_j = -K^2 var(xi)`` is zero or negligible, e.g. when ``d_bar``
vanishes or underflows, or all neighbours share one position -- the naive mean
``omega_k = 1/K`` is used instead and the star is marked in ``fallback``.

Uncertainties
-------------
With measurement errors ``sigma_k`` the local mean has variance
``sum_k omega_k^2 sigma_k^2`` and the deviation
``Delta_n = y_n - <y>_J`` (Eq. 2) the variance ``sigma_n^2 + sum_k omega_k^2
sigma_k^2``. Without errors (``abundance_errors=None``) the per-star scatter
``s^2`` is estimated from the neighbours' residuals about the fitted line
(``K - 2`` degrees of freedom; about their mean, ``K - 1``, for the naive
mean), which includes any intrinsic scatter at fixed actions, and
``sigma_Delta^2 = s^2 (1 + sum_k omega_k^2)``. Deviations of stars that share
neighbours are correlated; like PW2021 (Eq. 6) we report only the diagonal.

The kernels are pure JAX (``jit``/``vmap``/``grad`` through them work for fixed
neighbour lists), the driver :func:`abundance_deviations` chains
:mod:`.neighbours` and the kernels chunk by chunk.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)
from .neighbours import (
    DEFAULT_CHUNK,
    DEFAULT_K,
    _as_actions,
    _check_k,
    _iter_neighbours,
    _resolve_ids,
    _resolve_scale,
)

__all__ = [
    "WEIGHTINGS",
    "AbundanceDeviations",
    "abundance_deviations",
    "linear_correction_weights",
    "neighbour_mean",
]

#: The accepted values of ``weighting``.
WEIGHTINGS: tuple[str, ...] = ("linear", "naive")
#: The line fit counts as ill-conditioned when var(xi) <= this x mean(xi^2).
ILL_CONDITIONED_RTOL: float = 1e-10


def _weights(xp, d):
    """Appendix-A weights with array module ``xp`` (numpy or jax.numpy)."""
    K = d.shape[-2]
    dbar = xp.mean(d, axis=-2)
    xi = xp.einsum("...kd,...d->...k", d, dbar)  # A3
    s1 = xp.sum(xi, axis=-1, keepdims=True)
    s2 = xp.sum(xi * xi, axis=-1, keepdims=True)
    w = xi * s1 - s2  # A6
    wsum = xp.sum(w, axis=-1, keepdims=True)  # = s1^2 - K s2 = -K^2 var(xi) <= 0
    fallback = ~(-wsum > ILL_CONDITIONED_RTOL * K * s2) | ~xp.isfinite(wsum)
    safe = xp.where(fallback, -1.0, wsum)
    omega = xp.where(fallback, 1.0 / K, w / safe)  # A5, normalised
    return omega, fallback[..., 0], xi


def _neighbour_mean(xp, d, y, e, weighting):
    """:func:`neighbour_mean` with array module ``xp`` (numpy for the driver: no compilation)."""
    K = d.shape[-2]
    omega, fallback, xi = _weights(xp, d)
    if weighting == "naive":
        omega = xp.full(d.shape[:-1], 1.0 / K)
        fallback = xp.ones(d.shape[:-2], dtype=bool)
    mean = xp.einsum("...k,...kr->...r", omega, y)
    if e is not None:
        return mean, xp.einsum("...k,...kr->...r", omega * omega, e * e), xp.full_like(mean, xp.nan), fallback

    # residual scatter about the fitted line (about the mean for the naive estimate)
    sum_w2 = xp.sum(omega * omega, axis=-1)[..., None]
    xc = xi - xp.mean(xi, axis=-1, keepdims=True)
    yc = y - xp.mean(y, axis=-2, keepdims=True)
    sxx = xp.sum(xc * xc, axis=-1)[..., None]
    slope = xp.einsum("...k,...kr->...r", xc, yc) / xp.where(fallback[..., None], 1.0, sxx)
    slope = xp.where(fallback[..., None], 0.0, slope)
    resid = yc - xc[..., :, None] * slope[..., None, :]
    dof = xp.where(fallback, K - 1, K - 2)[..., None]
    s2 = xp.sum(resid * resid, axis=-2) / dof
    return mean, s2 * sum_w2, s2, fallback


def _gathered_mean(xt, yt, et, q, nb, weighting):
    """:func:`_neighbour_mean` in NumPy for rows ``q`` with neighbour rows ``nb`` (c, K).

    Same arithmetic, but the neighbours' positions, abundances and errors are
    gathered one component at a time from the transposed tables ``xt`` (3, N),
    ``yt`` / ``et`` (R, N), so that no (c, K, 3) or (c, K, R) temporaries are
    built (the driver's cost was dominated by those gathers).
    """
    nb = nb.astype(np.intp, copy=False)
    c, K = nb.shape
    d = []
    for comp in range(xt.shape[0]):
        g = np.take(xt[comp], nb)
        g -= xt[comp, q][:, None]
        d.append(g)
    dbar = [g.mean(axis=1) for g in d]
    xi = d[0] * dbar[0][:, None]
    for g, b in zip(d[1:], dbar[1:]):
        xi += g * b[:, None]
    del d
    s1 = xi.sum(axis=1, keepdims=True)
    s2 = np.sum(xi * xi, axis=1, keepdims=True)
    w = xi * s1 - s2
    wsum = w.sum(axis=1, keepdims=True)
    fallback = ~(-wsum > ILL_CONDITIONED_RTOL * K * s2) | ~np.isfinite(wsum)
    omega = np.where(fallback, 1.0 / K, w / np.where(fallback, -1.0, wsum))
    fallback = fallback[:, 0]
    if weighting == "naive":
        omega = np.full((c, K), 1.0 / K)
        fallback = np.ones(c, dtype=bool)
    R = yt.shape[0]
    mean = np.empty((c, R))
    var = np.empty((c, R))
    scat = np.full((c, R), np.nan)
    om2 = omega * omega
    if et is None:
        sum_w2 = om2.sum(axis=1)
        xc = xi - xi.mean(axis=1, keepdims=True)
        sxx = np.where(fallback, 1.0, np.sum(xc * xc, axis=1))
        dof = np.where(fallback, K - 1, K - 2)
    for r in range(R):
        yk = np.take(yt[r], nb)
        mean[:, r] = np.sum(omega * yk, axis=1)
        if et is not None:
            ek = np.take(et[r], nb)
            var[:, r] = np.sum(om2 * (ek * ek), axis=1)
            continue
        yk -= yk.mean(axis=1, keepdims=True)
        slope = np.where(fallback, 0.0, np.sum(xc * yk, axis=1) / sxx)
        yk -= xc * slope[:, None]
        scat[:, r] = np.sum(yk * yk, axis=1) / dof
        var[:, r] = scat[:, r] * sum_w2
    return mean, var, scat, fallback


def linear_correction_weights(offsets):
    """Normalised Appendix-A weights of one or many stars' neighbours (PW2021 Eqs. A3-A6).

    Pure JAX (jit/vmap/grad).

    Parameters
    ----------
    offsets : array_like, shape (..., K, D)
        Neighbour positions minus the star's position, ``x_k - x_*``, in the
        neighbour metric (any consistent units).

    Returns
    -------
    weights : jax.Array, shape (..., K)
        ``omega_k``, summing to 1; ``1/K`` where the fit is ill-conditioned.
    fallback : jax.Array, bool, shape (...)
        True where the naive mean was used.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> d = jnp.array([[1.0], [2.0], [3.0]])         # star at the edge, y = 5 + 2 x
    >>> w, fb = linear_correction_weights(d)
    >>> round(float(w @ (5.0 + 2.0 * d[:, 0])), 12), bool(fb)  # the intercept, not the mean 9
    (5.0, False)
    """
    omega, fallback, _ = _weights(jnp, jnp.asarray(offsets, dtype=jnp.float64))
    return omega, fallback


def neighbour_mean(offsets, values, errors=None, *, weighting: str = "linear"):
    """Action-local mean of neighbour abundances and its uncertainty (PW2021 Eqs. A1, A5).

    Pure JAX (jit/vmap/grad for a fixed neighbour list); :func:`abundance_deviations`
    runs the same code with NumPy.

    Parameters
    ----------
    offsets : array_like, shape (..., K, D)
        ``x_k - x_*`` in the neighbour metric.
    values : array_like, shape (..., K, R)
        Abundances (dex) of the K neighbours, R ratios sharing the neighbours.
    errors : array_like, shape (..., K, R), optional
        Their measurement uncertainties (dex). ``None``: estimate the scatter
        from the neighbours' residuals (module docstring).
    weighting : {"linear", "naive"}
        Appendix-A linear correction (default) or the plain mean (Eq. A1).

    Returns
    -------
    mean : jax.Array, shape (..., R)
        The local mean abundance.
    mean_var : jax.Array, shape (..., R)
        Its variance.
    scatter_var : jax.Array, shape (..., R)
        Per-star scatter ``s^2`` estimated from the residuals (NaN when
        ``errors`` is given: then the star's own error is used instead).
    fallback : jax.Array, bool, shape (...)
        Where the naive mean is used (everywhere for ``weighting="naive"``).

    Raises
    ------
    ValueError
        For an unknown ``weighting``.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"'weighting' must be one of {WEIGHTINGS}; got {weighting!r}")
    d = jnp.asarray(offsets, dtype=jnp.float64)
    y = jnp.asarray(values, dtype=jnp.float64)
    e = None if errors is None else jnp.asarray(errors, dtype=jnp.float64)
    return _neighbour_mean(jnp, d, y, e, weighting)


@dataclasses.dataclass(frozen=True)
class AbundanceDeviations:
    """Abundance deviations Delta_n = y_n - <y>_J of every row (PW2021 Eq. 2).

    Attributes
    ----------
    deviation, deviation_error : numpy.ndarray, shape (N,) or (N, R)
        Delta_n and sigma_Delta_n (dex), the shape of the input abundances.
    local_mean, local_mean_error : numpy.ndarray, same shape
        <y>_J and its standard error (dex).
    fallback : numpy.ndarray, bool, shape (N,)
        Rows whose local mean fell back to the naive mean.
    k : int
    metric : str
    scale : numpy.ndarray, shape (3,)
        Action divisors of the metric.
    weighting : str
    """

    deviation: np.ndarray
    deviation_error: np.ndarray
    local_mean: np.ndarray
    local_mean_error: np.ndarray
    fallback: np.ndarray
    k: int
    metric: str
    scale: np.ndarray
    weighting: str


def abundance_deviations(
    actions,
    abundances,
    abundance_errors=None,
    *,
    k: int = DEFAULT_K,
    metric: str = "raw",
    scale=None,
    ids=None,
    weighting: str = "linear",
    workers: int = -1,
    chunk_size: int = DEFAULT_CHUNK,
) -> AbundanceDeviations:
    """Abundance deviations from the K-nearest-neighbour mean in action space (PW2021 Eq. 2).

    Parameters
    ----------
    actions : array_like or Quantity (action), shape (N, 3)
        (J_R, J_phi, J_z), kpc^2/Myr, finite.
    abundances : array_like, shape (N,) or (N, R)
        Abundance ratios (dex); all R ratios share the neighbours.
    abundance_errors : array_like, same shape, optional
        Measurement uncertainties (dex). ``None``: use the neighbours' scatter.
    k : int
        Neighbours per star (default 64).
    metric : {"raw", "spread"}
        Action scaling, see :mod:`diskorbits.torusimaging.neighbours`.
    scale : array_like (3,), optional
        Explicit action divisors (kpc^2/Myr), overriding ``metric``.
    ids : array_like of int, shape (N,), optional
        Star identifiers for bootstrap resamples: a star's copies are never its
        neighbours and share its local mean.
    weighting : {"linear", "naive"}
        Appendix-A linear correction (default) or the naive mean.
    workers : int
        Threads for the tree queries (-1: all).
    chunk_size : int
        Stars per chunk (bounds memory to ~chunk x K x (3 + 2R) floats).

    Returns
    -------
    AbundanceDeviations

    Raises
    ------
    ValueError
        For mismatched shapes, non-finite actions or abundances, or a bad
        ``k``, ``metric``, ``scale`` or ``weighting``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> J = rng.uniform(size=(2000, 3))
    >>> y = 0.3 * J[:, 2] + rng.normal(0, 0.01, 2000)
    >>> dev = abundance_deviations(J, y, np.full(2000, 0.01), k=32)
    >>> bool(abs(np.mean(dev.deviation)) < 1e-3)
    True
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"'weighting' must be one of {WEIGHTINGS}; got {weighting!r}")
    J = _as_actions(actions)
    n = J.shape[0]
    y = np.asarray(abundances, dtype=np.float64)
    squeeze = y.ndim == 1
    y2 = y[:, None] if squeeze else y
    if y2.ndim != 2 or y2.shape[0] != n:
        raise ValueError(f"'abundances' must have shape ({n},) or ({n}, R); got {y.shape}")
    if not np.all(np.isfinite(y2)):
        raise ValueError("'abundances' contains non-finite values; select the stars with a measurement first")
    e2 = None
    if abundance_errors is not None:
        e = np.asarray(abundance_errors, dtype=np.float64)
        e2 = e[:, None] if e.ndim == 1 else e
        if e2.shape != y2.shape:
            raise ValueError(f"'abundance_errors' must have the shape of 'abundances' {y.shape}; got {e.shape}")
        if not np.all(np.isfinite(e2) & (e2 >= 0)):
            raise ValueError("'abundance_errors' must be finite and >= 0")

    ids_, reps, inverse, m = _resolve_ids(ids, n)
    _check_k(k, n, m)
    s, label = _resolve_scale(J, metric, scale)
    x = J / s
    R = y2.shape[1]
    lm = np.empty((reps.size, R))
    lm_var = np.empty((reps.size, R))
    s2 = np.empty((reps.size, R))
    fb = np.empty(reps.size, dtype=bool)
    # column-major copies: each gather below is a fast 1-D ``np.take`` (no (chunk, K, 3) temporaries)
    xt = np.ascontiguousarray(x.T)
    yt = np.ascontiguousarray(y2.T)
    et = None if e2 is None else np.ascontiguousarray(e2.T)
    for sl, nb, _ in _iter_neighbours(x, ids_, reps, k, m, workers, int(chunk_size)):
        with np.errstate(invalid="ignore", divide="ignore"):
            lm[sl], lm_var[sl], s2[sl], fb[sl] = _gathered_mean(xt, yt, et, reps[sl], nb, weighting)

    lm, lm_var, s2, fb = lm[inverse], lm_var[inverse], s2[inverse], fb[inverse]
    dev = y2 - lm
    own_var = s2 if e2 is None else e2 * e2
    dev_err = np.sqrt(own_var + lm_var)
    lm_err = np.sqrt(lm_var)
    if squeeze:
        dev, dev_err, lm, lm_err = dev[:, 0], dev_err[:, 0], lm[:, 0], lm_err[:, 0]
    return AbundanceDeviations(
        deviation=dev,
        deviation_error=dev_err,
        local_mean=lm,
        local_mean_error=lm_err,
        fallback=fb,
        k=int(k),
        metric=label,
        scale=s,
        weighting=weighting,
    )
