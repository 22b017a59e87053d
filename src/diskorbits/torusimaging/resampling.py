"""Bootstrap resamples as star weights: every trial's Fourier coefficients from one tree query.

A bootstrap resample of N stars is fully described by the multiplicity
``m_j`` of each star (how often row j was drawn; most are 0, 1 or 2). PW2021
(Sec. 6.2) build each trial's abundance deviations on the resample, where a
star's own copies are not its neighbours (:mod:`.neighbours`) but another
star's copies count with their multiplicity. Walking through the star's
*distinct* nearest neighbours ``j_1, j_2, ...`` in order of distance and
counting copies until ``K`` are reached gives exactly the same neighbourhood:
neighbour ``j_i`` enters with weight ::

    c_i = clip(K - sum_{l < i} m_{j_l}, 0, m_{j_i})

(``sum_i c_i = K``; a partially counted last neighbour is what a tree query on
the resample returns when several copies tie at the K-th distance). The
Appendix-A local mean (Eqs. A3-A6) and its scatter become c-weighted sums, and
the unbinned Fourier fit (Eqs. 3-7) weights each star by ``m_j`` -- identical,
to rounding, to running :func:`.objective.evaluate_objective` on the resample
(``tests/torusimaging/test_oti_resampling.py`` checks this).

Why: the neighbours of the catalogue's distinct stars are found **once per
parameter vector** (``k_super`` of them, default ``2K + 16``: a resample needs
``K`` counted copies, the mean multiplicity is 1 and the Poisson spread
sqrt(2K), so 2K + 16 distinct neighbours fall short with probability ~1e-11
per star; shortfalls are counted and raise), and every one of hundreds of
trials and ratios then costs only dense arithmetic on an (N, k_super) array,
vectorised in JAX (``lax.map`` over resamples; on a GPU, batches of them).

Resamples are drawn by :func:`bootstrap_rows` with
``numpy.random.default_rng([seed, trial, column])``: one independent resample
per abundance ratio and trial, as PW2021 did, and the same rows whichever
optimiser or executor uses them.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)
from .fourier import fourier_design_matrix
from .local_mean import ILL_CONDITIONED_RTOL, WEIGHTINGS
from .neighbours import find_neighbours
from .objective import OTIData, OTISetup, _actions

__all__ = [
    "ResampledCoefficients",
    "bootstrap_counts",
    "bootstrap_rows",
    "default_k_super",
    "resampled_coefficients",
]


def bootstrap_rows(n_stars: int, seed: int, trial: int, column: int | None) -> np.ndarray:
    """Row indices of the resample of abundance column ``column`` in trial ``trial``.

    ``default_rng([seed, trial, column]).integers(0, n_stars, n_stars)``: each
    ratio gets its own resample (PW2021), reproducible from the three integers.
    ``column=None`` draws the resample that every ratio of trial ``trial``
    shares (``default_rng([seed, trial])``), used by the stacked joint fit
    (:func:`.stencil.stencil_bootstrap` with several columns): ratios measured
    on the same stars are correlated, and one resample per trial carries that
    correlation into the joint bootstrap covariance.
    """
    key = [int(seed), int(trial)] + ([] if column is None else [int(column)])
    rng = np.random.default_rng(key)
    return rng.integers(0, int(n_stars), int(n_stars))


def bootstrap_counts(n_stars: int, seed: int, trial: int, column: int | None) -> np.ndarray:
    """Multiplicity (N,) of every star in :func:`bootstrap_rows`' resample."""
    return np.bincount(bootstrap_rows(n_stars, seed, trial, column), minlength=int(n_stars))


def default_k_super(k: int) -> int:
    """Distinct neighbours queried per star so that a resample almost surely has ``k`` copies."""
    return 2 * int(k) + 16


def _pair_coefficients(d, nb, y, e, design, m, col, *, k, weighting):
    """Fourier coefficients of one resample (multiplicities ``m``) of abundance column ``col``.

    d (N, S, 3) neighbour offsets, nb (N, S) neighbour rows, y/e (N, R),
    design (N, P). Returns (coefficients (P,), errors
    (P,), shortfall count).
    """
    kf = jnp.float64(k)
    mn = m[nb]  # int32: XLA's integer cumsum is ~2x faster than float64's here
    c = jnp.clip(k - (jnp.cumsum(mn, axis=1) - mn), 0, mn).astype(jnp.float64)  # counted copies
    m = m.astype(jnp.float64)
    csum = jnp.sum(c, axis=1)
    short = jnp.sum((csum < kf - 0.5) & (m > 0))
    yk = y[:, col][nb]
    # Appendix A with copy weights c (Eqs. A3-A6): xi = d . dbar, w = xi s1 - s2
    dbar = jnp.einsum("nk,nkd->nd", c, d) / kf
    xi = jnp.einsum("nkd,nd->nk", d, dbar)
    s1 = jnp.sum(c * xi, axis=1, keepdims=True)
    s2 = jnp.sum(c * xi * xi, axis=1, keepdims=True)
    w = xi * s1 - s2
    wsum = jnp.sum(c * w, axis=1, keepdims=True)
    fallback = ~(-wsum > ILL_CONDITIONED_RTOL * kf * s2) | ~jnp.isfinite(wsum)
    if weighting == "naive":
        fallback = jnp.ones_like(fallback)
    omega = jnp.where(fallback, 1.0 / kf, w / jnp.where(fallback, -1.0, wsum))  # per copy
    mean = jnp.sum(c * omega * yk, axis=1)
    om2 = jnp.sum(c * omega * omega, axis=1)
    if e is not None:
        ek = e[:, col][nb]
        mean_var = jnp.sum(c * omega * omega * ek * ek, axis=1)
        own_var = e[:, col] ** 2
    else:
        fb = fallback[:, 0]
        xc = xi - jnp.sum(c * xi, axis=1, keepdims=True) / kf
        yc = yk - jnp.sum(c * yk, axis=1, keepdims=True) / kf
        sxx = jnp.where(fb, 1.0, jnp.sum(c * xc * xc, axis=1))
        slope = jnp.where(fb, 0.0, jnp.sum(c * xc * yc, axis=1) / sxx)
        resid = yc - xc * slope[:, None]
        dof = jnp.where(fb, kf - 1.0, kf - 2.0)
        own_var = jnp.sum(c * resid * resid, axis=1) / dof
        mean_var = own_var * om2
    dev = jnp.where(m > 0, y[:, col] - mean, 0.0)
    err = jnp.where(m > 0, jnp.sqrt(own_var + mean_var), 1.0)
    wts = m / (err * err)
    A = jnp.einsum("np,n,nq->pq", design, wts, design)
    b = jnp.einsum("np,n,n->p", design, wts, dev)
    cov = jnp.linalg.inv(A)
    g = cov @ b
    return g, jnp.sqrt(jnp.diagonal(cov)), short


@functools.partial(jax.jit, static_argnames=("k", "weighting", "batch_size"))
def _all_pairs(x, nb, y, e, theta_z, counts, cols, *, k, weighting, batch_size):
    d = x[nb] - x[:, None, :]
    design = fourier_design_matrix(theta_z, 2)
    fn = functools.partial(_pair_coefficients, d, nb, y, e, design, k=k, weighting=weighting)
    return jax.lax.map(lambda a: fn(*a), (counts, cols), batch_size=batch_size)


@dataclasses.dataclass(frozen=True)
class ResampledCoefficients:
    """Fourier coefficients of many (resample, ratio) pairs at one parameter vector.

    Attributes
    ----------
    theta : numpy.ndarray (4,)
    coefficients, errors : numpy.ndarray (B, 5)
        ``(c0, a1, b1, a2, b2)`` of each pair and their formal errors, dex.
    n_used, n_flagged : int
        Distinct stars with valid / flagged actions.
    """

    theta: np.ndarray
    coefficients: np.ndarray
    errors: np.ndarray
    n_used: int
    n_flagged: int


def resampled_coefficients(
    theta,
    data: OTIData,
    setup: OTISetup,
    counts,
    columns,
    *,
    k_super: int | None = None,
    batch_size: int | None = None,
) -> ResampledCoefficients:
    """Fourier coefficients (PW2021 Eqs. 3-7) of B bootstrap resamples at ``theta``, all at once.

    Parameters
    ----------
    theta : array_like (4,)
        ``(disk_mass_factor, h_z [kpc], z_sun [kpc], v_z_sun [kpc/Myr])``.
    data : OTIData
        The catalogue of distinct stars (unique ``ids``).
    setup : OTISetup
        With a fixed neighbour scale for ``metric="spread"``.
    counts : array_like (B, N)
        Multiplicity of every star in each resample (:func:`bootstrap_counts`;
        all ones: the catalogue itself).
    columns : array_like of int (B,)
        Abundance column of each resample.
    k_super : int, optional
        Distinct neighbours per star (default :func:`default_k_super`).
    batch_size : int, optional
        Resamples evaluated together (memory ~ batch x N x k_super x 8 floats);
        default 1 on CPU, 16 on an accelerator.

    Returns
    -------
    ResampledCoefficients

    Raises
    ------
    ValueError
        For repeated ids, mismatched shapes, too few valid stars, or a
        resample whose distinct neighbours hold fewer than K copies (raise
        ``k_super``).
    """
    th = np.asarray(theta, dtype=np.float64)
    if th.shape != (4,) or not np.all(np.isfinite(th)):
        raise ValueError(f"'theta' must be 4 finite numbers; got {theta!r}")
    if np.unique(data.ids).size != data.n_stars:
        raise ValueError("resampled_coefficients needs a catalogue of distinct stars (unique 'ids')")
    if setup.weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {setup.weighting!r}")
    counts = np.asarray(counts)
    if not np.issubdtype(counts.dtype, np.integer) and not np.array_equal(counts, np.round(counts)):
        raise ValueError("'counts' must be whole multiplicities")
    counts = counts.astype(np.int32)
    if counts.ndim != 2 or counts.shape[1] != data.n_stars or np.any(counts < 0):
        raise ValueError(f"'counts' must be non-negative, shape (B, {data.n_stars}); got {counts.shape}")
    cols = np.asarray(columns, dtype=np.int64).reshape(-1)
    if cols.shape != (counts.shape[0],) or np.any((cols < 0) | (cols >= data.n_ratios)):
        raise ValueError(f"'columns' must be {counts.shape[0]} column indices < {data.n_ratios}")
    k = int(setup.k)
    ks = default_k_super(k) if k_super is None else int(k_super)
    if ks < k:
        raise ValueError(f"'k_super' must be >= k={k}; got {ks}")

    J, ok, theta_z = _actions(th, data, setup)  # flagged stars: never neighbours, zero weight
    rows = np.flatnonzero(ok)
    if rows.size <= ks:
        raise ValueError(f"only {rows.size} stars have valid actions; need more than k_super={ks}")
    nb = find_neighbours(J[ok], ks, scale=setup.fixed_scale).indices
    x = J[ok] / setup.fixed_scale
    e = None if data.abundance_errors is None else jnp.asarray(data.abundance_errors[ok])
    if batch_size is None:
        batch_size = 1 if jax.default_backend() == "cpu" else 16
    g, err, short = _all_pairs(
        jnp.asarray(x),
        jnp.asarray(nb),
        jnp.asarray(data.abundances[ok]),
        e,
        jnp.asarray(theta_z[ok]),
        jnp.asarray(counts[:, ok]),
        jnp.asarray(cols),
        k=k,
        weighting=setup.weighting,
        batch_size=int(batch_size),
    )
    short = np.asarray(short)
    if np.any(short > 0):
        raise ValueError(
            f"{int(short.sum())} resampled stars have fewer than k={k} neighbour copies among their "
            f"k_super={ks} distinct neighbours; raise 'k_super'"
        )
    return ResampledCoefficients(
        theta=th,
        coefficients=np.asarray(g),
        errors=np.asarray(err),
        n_used=int(rows.size),
        n_flagged=int((~ok).sum()),
    )
