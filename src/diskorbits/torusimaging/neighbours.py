"""K nearest neighbours of stars in action space (Price-Whelan et al. 2021, Sec. 6.1).

The abundance deviation of a star (PW2021 Eq. 2) compares its abundance with
the mean of its ``K`` nearest neighbours in ``(J_R, J_phi, J_z)``. This module
finds those neighbours with :class:`scipy.spatial.cKDTree` (parallel queries,
``workers=-1``), in chunks so that 1e6 stars need only ~(chunk x K) memory
beyond the (N, K) index array.

Metric
------
Distances are Euclidean in *scaled* actions ``x_i = J_i / s_i``:

* ``metric="raw"``: ``s = (1, 1, 1)`` -- the isotropic Euclidean distance in
  actions of PW2021 (Sec. 6.1). Because the spread of ``J_phi`` (a few hundred
  kpc km/s) dwarfs that of ``J_z`` (a few kpc km/s), the neighbourhoods are then
  long in ``J_z`` relative to its range.
* ``metric="spread"``: each action divided by its robust spread, the
  interquartile range over 1.349 (the standard deviation for a Gaussian), over
  the rows given; this balances the three directions.
* ``scale=`` explicit divisors (3,), e.g. to keep the metric fixed while the
  potential (hence the actions) changes during an optimisation.

Duplicates (bootstrap resamples)
--------------------------------
A bootstrap resample contains several copies of some stars, all at zero
distance from each other. A star's own copies carry no information about the
local mean (they *are* the star), so they must never count as its neighbours.
Pass ``ids`` (one integer per row, equal for copies of the same star): the
tree holds every row of the resample (other stars' copies count with their
multiplicity, as the bootstrap prescribes), each distinct id is queried once
for ``K + m`` neighbours (``m`` = the largest multiplicity), rows sharing the
query's id are dropped and the first ``K`` remaining kept; every copy of a star
then gets the same neighbour list. Without ``ids`` every row is its own star
and only the row itself is excluded (so exact duplicate rows *do* count as
each other's neighbours).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
from scipy.spatial import cKDTree

from .. import units

__all__ = ["ACTION_METRICS", "DEFAULT_K", "Neighbours", "action_scale", "find_neighbours"]

#: Neighbour count of PW2021 (Sec. 6.1); their analysis scripts used 32.
DEFAULT_K: int = 64
#: The accepted values of ``metric``.
ACTION_METRICS: tuple[str, ...] = ("raw", "spread")
#: Interquartile range of a unit Gaussian: IQR / 1.349 estimates sigma.
_IQR_TO_SIGMA: float = 1.3489795003921634
#: Queries per cKDTree call; bounds the (chunk, K + m) temporaries.
DEFAULT_CHUNK: int = 65536


@dataclasses.dataclass(frozen=True)
class Neighbours:
    """The K nearest neighbours of every row of an action table.

    Attributes
    ----------
    indices : numpy.ndarray, int, shape (N, K)
        Rows (of the input) of each row's neighbours, nearest first; never
        the row itself nor a row with the same id.
    distances : numpy.ndarray, float64, shape (N, K)
        Euclidean distances in the scaled actions ``J / scale``.
    scale : numpy.ndarray, float64, shape (3,)
        Divisors applied to (J_R, J_phi, J_z), kpc^2/Myr (ones for ``"raw"``).
    metric : str
        ``"raw"``, ``"spread"`` or ``"custom"`` (explicit ``scale``).
    """

    indices: np.ndarray
    distances: np.ndarray
    scale: np.ndarray
    metric: str

    @property
    def k(self) -> int:
        """Neighbours per star."""
        return int(self.indices.shape[1])


def _as_actions(actions, name="actions") -> np.ndarray:
    J = units.to_internal(actions, "action", name) if hasattr(actions, "unit") else np.asarray(actions, np.float64)
    if J.ndim != 2 or J.shape[1] != 3:
        raise ValueError(f"{name!r} must have shape (N, 3) = (J_R, J_phi, J_z); got {J.shape}")
    bad = ~np.all(np.isfinite(J), axis=1)
    if np.any(bad):
        raise ValueError(
            f"{name!r} has {int(bad.sum())} rows with non-finite actions (e.g. row {int(np.argmax(bad))}); "
            "drop flagged stars (ActionResult.ok) first"
        )
    return J


def action_scale(actions, metric: str = "raw") -> np.ndarray:
    """Per-action divisors that define the neighbour metric.

    Parameters
    ----------
    actions : array_like or Quantity (action), shape (N, 3)
        (J_R, J_phi, J_z) in kpc^2/Myr.
    metric : {"raw", "spread"}
        ``"raw"``: ones (isotropic Euclidean, PW2021). ``"spread"``: the
        interquartile range / 1.349 of each action over the rows.

    Returns
    -------
    numpy.ndarray, shape (3,)
        Divisors, kpc^2/Myr (dimensionless ones for ``"raw"``).

    Raises
    ------
    ValueError
        For an unknown metric, a bad shape, or an action with zero spread.

    Examples
    --------
    >>> import numpy as np
    >>> J = np.random.default_rng(1).normal(size=(100_000, 3)) * [1.0, 10.0, 0.1]
    >>> np.round(action_scale(J, "spread"), 1).tolist()
    [1.0, 10.0, 0.1]
    """
    if metric not in ACTION_METRICS:
        raise ValueError(f"'metric' must be one of {ACTION_METRICS}; got {metric!r}")
    J = _as_actions(actions)
    if metric == "raw":
        return np.ones(3)
    q75, q25 = np.percentile(J, [75.0, 25.0], axis=0)
    s = (q75 - q25) / _IQR_TO_SIGMA
    if not np.all(s > 0):
        raise ValueError(f"an action has zero interquartile spread ({s!r}); use metric='raw' or an explicit scale")
    return s


def _resolve_scale(J, metric, scale):
    if scale is None:
        return action_scale(J, metric), metric
    s = np.asarray(units.to_internal(scale, "action", "scale") if hasattr(scale, "unit") else scale, np.float64)
    if s.shape != (3,) or not np.all(np.isfinite(s) & (s > 0)):
        raise ValueError(f"'scale' must be 3 finite positive divisors; got {scale!r}")
    return s, "custom"


def _resolve_ids(ids, n):
    """(ids, representative rows, inverse, largest multiplicity)."""
    if ids is None:
        rows = np.arange(n)
        return rows, rows, rows, 1
    ids = np.asarray(ids)
    if ids.shape != (n,):
        raise ValueError(f"'ids' must have one entry per row, shape ({n},); got {ids.shape}")
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"'ids' must be integers (one per distinct star); got dtype {ids.dtype}")
    _, first, inverse, counts = np.unique(ids, return_index=True, return_inverse=True, return_counts=True)
    return ids, first, inverse.reshape(-1), int(counts.max())


def _check_k(k, n, m):
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"'k' must be a positive integer; got {k!r}")
    if n - m < k:
        raise ValueError(
            f"k={k} neighbours requested but a star has only {n - m} other rows "
            f"({n} rows, largest multiplicity {m})"
        )


def _iter_neighbours(x, ids, reps, k, m, workers, chunk) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
    """Yield (slice of ``reps``, neighbour rows (c, k), distances (c, k)) chunk by chunk."""
    n = x.shape[0]
    tree = cKDTree(x, balanced_tree=False, compact_nodes=False)
    kq = min(n, k + m)
    idx_dtype = np.int32 if n < np.iinfo(np.int32).max else np.int64
    # Query in the tree's own leaf order (nearby points one after another share
    # tree nodes in cache: ~10-15% faster); each point's answer does not depend
    # on the order, the results are put back in the order of ``reps``.
    leaf_rank = np.empty(n, dtype=np.intp)
    leaf_rank[tree.indices] = np.arange(n)
    for start in range(0, reps.size, chunk):
        sl = slice(start, min(start + chunk, reps.size))
        q = reps[sl]
        order = np.argsort(leaf_rank[q], kind="stable")
        dist, nbr = tree.query(x[q[order]], k=kq, workers=workers)
        back = np.empty_like(order)
        back[order] = np.arange(order.size)
        dist, nbr = dist.reshape(q.size, kq)[back], nbr.reshape(q.size, kq)[back]
        valid = ids[nbr] != ids[q][:, None]
        # first k valid entries per row, keeping the distance order
        order = np.argsort(~valid, axis=1, kind="stable")[:, :k]
        yield sl, np.take_along_axis(nbr, order, axis=1).astype(idx_dtype), np.take_along_axis(dist, order, axis=1)


def find_neighbours(
    actions,
    k: int = DEFAULT_K,
    *,
    metric: str = "raw",
    scale=None,
    ids=None,
    workers: int = -1,
    chunk_size: int = DEFAULT_CHUNK,
) -> Neighbours:
    """The ``k`` nearest neighbours in action space of every row (PW2021 Sec. 6.1).

    Parameters
    ----------
    actions : array_like or Quantity (action), shape (N, 3)
        (J_R, J_phi, J_z), kpc^2/Myr; must be finite.
    k : int
        Neighbours per star (default 64, PW2021).
    metric : {"raw", "spread"}
        Scaling of the actions before Euclidean distances (module docstring).
    scale : array_like (3,), optional
        Explicit divisors (kpc^2/Myr); overrides ``metric``.
    ids : array_like of int, shape (N,), optional
        Star identifiers; rows with the query's id (its bootstrap copies) are
        never its neighbours, and all copies share one neighbour list.
    workers : int
        Threads for the tree queries (-1: all).
    chunk_size : int
        Queries per tree call.

    Returns
    -------
    Neighbours
        ``indices`` and ``distances`` of shape (N, k).

    Raises
    ------
    ValueError
        For a bad shape, non-finite actions, ``k`` < 1 or larger than the
        number of other rows, or a bad ``scale``.

    Examples
    --------
    >>> import numpy as np
    >>> J = np.array([[0.0, 0, 0], [0.0, 0, 0], [1.0, 0, 0], [3.0, 0, 0]])
    >>> find_neighbours(J, 1, ids=[7, 7, 8, 9]).indices[[0, 1, 3], 0].tolist()  # copies 0, 1 skip each other
    [2, 2, 2]
    """
    J = _as_actions(actions)
    n = J.shape[0]
    ids, reps, inverse, m = _resolve_ids(ids, n)
    _check_k(k, n, m)
    s, label = _resolve_scale(J, metric, scale)
    x = J / s
    idx = np.empty((reps.size, k), dtype=np.int32 if n < np.iinfo(np.int32).max else np.int64)
    dist = np.empty((reps.size, k))
    for sl, nb, d in _iter_neighbours(x, ids, reps, k, m, workers, int(chunk_size)):
        idx[sl], dist[sl] = nb, d
    if reps.size != n:
        idx, dist = idx[inverse], dist[inverse]
    return Neighbours(indices=idx, distances=dist, scale=s, metric=label)
