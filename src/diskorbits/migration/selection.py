"""Survey selection functions S(l, b, D) for the Frankel et al. (2020) model.

Frankel et al. (2020), Eq. 14, write the data model as the Milky Way model
times ``S(l, b, D) f_RC(tau)``: the probability that a red-clump star at
Galactic position ``(l, b)`` and heliocentric distance ``D`` is in the
catalogue, times the probability that a star of age ``tau`` is a red-clump
star (:mod:`~diskorbits.migration.redclump`). Sec. 4 makes ``S`` piecewise:
inside APOGEE field ``i`` it is a function of distance only, ``S_i(D)``,
because the field's magnitude window maps onto a distance window for a
standard candle, and dust (:mod:`~diskorbits.migration.dust`) pulls that
window in. The survey volume (Eq. 16) is then a sum over fields of
``Omega_i int S_i(D) D^2 (...) dD``, and Appendix B samples positions
field by field from ``D^2 rho S_i(D)`` (Eqs. B4-B6).

What is here
------------
* :class:`Field` -- one circular field: centre ``(l, b)``, radius, H window,
  sampling fraction.
* :class:`SurveySelection` -- many fields: ``S(l, b, D)`` (vectorised),
  :meth:`~SurveySelection.field_index`, per-field ``S_i(D)``
  (:meth:`~SurveySelection.field_selection`), distance limits, a table
  summary, :meth:`~Selection.sample_positions` (Appendix B, steps 1-2),
  and constructors :meth:`~SurveySelection.from_table` /
  :meth:`~SurveySelection.from_toml` for user-defined fields.
* :func:`apogee_dr17` -- the APOGEE DR17 fields, built from the sampling
  fractions that ship with the ``gaiaunlimited`` package.
* :func:`kepler_field` -- the Kepler field as one circular field (for the
  Miglio et al. 2021 APOKASC-like sample).
* :class:`NoSelection` -- ``S = 1`` inside a user-given region.

How S is defined
----------------
For field ``i`` with H window ``[h_min, h_max]`` and sampling fraction
``f_i``, a red-clump star seen in direction ``k`` has ``H = M_H + 5
log10(D/10 pc) + A_H(l_k, b_k, D)``, selected with probability ``f_i`` when
``h_min <= H <= h_max``. ``S_i(D)`` is that probability averaged over
``n_dust_directions`` fixed, equal-area directions inside the field (the
"effective selection function" of Bovy et al. 2014): without dust it is the
step ``f_i`` on ``[D_min, D_max]``; with dust it steps down as more of the
field's sight lines become too extinguished. Fields can overlap (75 of the
410 APOGEE short-cohort fields at ``|b| < 25 deg`` touch a neighbour); a
star inside several fields is selected if any of them targeted it, ``S = 1 -
prod_i (1 - S_i(D))``. The field-by-field sum of Eq. 16 and the sampler count
such a star once per field, i.e. use ``sum_i S_i`` there; the two differ by
``S_i S_j`` -- for the APOGEE short-cohort overlaps 3e-4 (median pair),
at most 0.055 -- on the ~19 deg^2 where caps overlap (1% of the 2065 deg^2
footprint).

Conventions: ``l``, ``b`` and field radii in degrees (angle Quantities are
accepted), distances in kpc (length Quantities accepted), magnitudes in mag,
solid angles in sr. Selection is parameter-independent, so it is plain
NumPy at the edge of the package, not JAX.
"""

from __future__ import annotations

import abc
import dataclasses
import importlib.util
import math
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table
from scipy.spatial import cKDTree

from .. import units
from .dust import DoubleExponentialDust, DustModel, NoDust, _lbd
from .redclump import RC_ABSOLUTE_MAGNITUDE_H, RC_JK0, distance_from_modulus

__all__ = [
    "Field",
    "Selection",
    "SurveySelection",
    "NoSelection",
    "PositionSample",
    "apogee_dr17",
    "kepler_field",
    "APOGEE_COHORTS",
    "APOGEE_FIELD_COLUMNS",
    "KEPLER_BORESIGHT",
    "KEPLER_ACTIVE_AREA_DEG2",
]

_DEG = math.pi / 180.0
_SR_TO_DEG2 = (180.0 / math.pi) ** 2
_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))

#: APOGEE cohorts (H-magnitude bins of the targeting; Zasowski et al. 2013).
APOGEE_COHORTS: tuple[str, ...] = ("short", "medium", "long")
#: Columns of gaiaunlimited's ``apogee_sampling_fractions.csv`` that :func:`apogee_dr17` reads.
APOGEE_FIELD_COLUMNS: tuple[str, ...] = (
    "FIELD", "RADIUS", "cohort", "Hmin", "Hmax", "JK0min", "JK0max", "fracSampling", "fracAK", "GLON", "GLAT",
)
#: Kepler boresight in Galactic (l, b), deg: RA 19h22m40s, Dec +44d30m (Koch et al. 2010).
KEPLER_BORESIGHT: tuple[float, float] = (76.3210, 13.4958)
#: Active CCD area of the Kepler field of view, deg^2 (the ~105 deg^2 usually quoted, Koch et al. 2010).
KEPLER_ACTIVE_AREA_DEG2: float = 105.0


# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #
def _angle_deg(value, name: str) -> np.ndarray:
    """Angles in degrees: Quantities converted, plain numbers taken as degrees."""
    if isinstance(value, u.Quantity):
        return units.to_internal(value, "angle", name) / _DEG
    return np.asarray(value, dtype=np.float64)


def _inputs(l, b, D):
    """(l, b, D) as broadcast float arrays in (deg, deg, kpc), validated."""
    return _lbd(_angle_deg(l, "l"), _angle_deg(b, "b"), units.to_internal(D, "length", "D"))


def _unit_vectors(l_deg, b_deg) -> np.ndarray:
    l, b = np.asarray(l_deg) * _DEG, np.asarray(b_deg) * _DEG
    cb = np.cos(b)
    return np.stack([cb * np.cos(l), cb * np.sin(l), np.sin(b)], axis=-1)


def _from_unit_vectors(v) -> tuple[np.ndarray, np.ndarray]:
    l = np.degrees(np.arctan2(v[..., 1], v[..., 0])) % 360.0
    b = np.degrees(np.arcsin(np.clip(v[..., 2], -1.0, 1.0)))
    return l, b


def _offset_directions(l0, b0, cos_theta, phi):
    """Directions at angular distance theta (cos given) and position angle phi from (l0, b0), deg."""
    l0, b0 = np.asarray(l0) * _DEG, np.asarray(b0) * _DEG
    e_r = np.stack([np.cos(b0) * np.cos(l0), np.cos(b0) * np.sin(l0), np.sin(b0)], axis=-1)
    e_l = np.stack([-np.sin(l0), np.cos(l0), np.zeros_like(l0)], axis=-1)
    e_b = np.stack([-np.sin(b0) * np.cos(l0), -np.sin(b0) * np.sin(l0), np.cos(b0)], axis=-1)
    sin_theta = np.sqrt(np.clip(1.0 - cos_theta**2, 0.0, None))
    v = (
        cos_theta[..., None] * e_r
        + (sin_theta * np.cos(phi))[..., None] * e_l
        + (sin_theta * np.sin(phi))[..., None] * e_b
    )
    return _from_unit_vectors(v)


def _rng(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"'rng' must be a numpy.random.Generator or an integer seed, got {type(rng).__name__}")


def _finite_number(name: str, value, *, lo=None, hi=None, lo_open=False) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name!r} must be finite, got {value!r}")
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise ValueError(f"{name!r} must be {'>' if lo_open else '>='} {lo}, got {value!r}")
    if hi is not None and v > hi:
        raise ValueError(f"{name!r} must be <= {hi}, got {value!r}")
    return v


# --------------------------------------------------------------------------- #
# Fields
# --------------------------------------------------------------------------- #
@dataclasses.dataclass(frozen=True)
class Field:
    """One circular survey field (a spectroscopic pointing).

    Attributes
    ----------
    l, b : float or angle Quantity
        Galactic longitude and latitude of the centre, deg (``l`` is wrapped to [0, 360)).
    radius : float or angle Quantity
        Angular radius, deg, in (0, 90].
    h_min, h_max : float
        Apparent H window of the selection, mag, ``h_min < h_max``.
    fraction : float
        Probability that a star inside the field and the window was observed
        (the sampling fraction), in [0, 1].
    name : str
        Label (e.g. the APOGEE field name).

    Examples
    --------
    >>> f = Field(l=30.0, b=0.0, radius=1.49, h_min=7.0, h_max=12.2, fraction=0.3, name="030+00")
    >>> round(f.solid_angle_deg2, 3)     # 2 pi (1 - cos r), in deg^2
    6.974
    """

    l: float
    b: float
    radius: float
    h_min: float
    h_max: float
    fraction: float = 1.0
    name: str = ""

    def __post_init__(self):
        set_ = object.__setattr__
        l = _finite_number("l", np.asarray(_angle_deg(self.l, "l")).item())
        b = _finite_number("b", np.asarray(_angle_deg(self.b, "b")).item(), lo=-90.0, hi=90.0)
        r = _finite_number("radius", np.asarray(_angle_deg(self.radius, "radius")).item(), lo=0.0, hi=90.0, lo_open=True)
        h_min = _finite_number("h_min", self.h_min)
        h_max = _finite_number("h_max", self.h_max)
        if not h_min < h_max:
            raise ValueError(f"field {self.name!r}: 'h_min' ({h_min}) must be smaller than 'h_max' ({h_max})")
        frac = _finite_number("fraction", self.fraction, lo=0.0, hi=1.0)
        set_(self, "l", l % 360.0)
        set_(self, "b", b)
        set_(self, "radius", r)
        set_(self, "h_min", h_min)
        set_(self, "h_max", h_max)
        set_(self, "fraction", frac)
        set_(self, "name", str(self.name))

    @property
    def solid_angle(self) -> float:
        """Solid angle of the cap, ``2 pi (1 - cos radius)``, sr."""
        return 2.0 * math.pi * (1.0 - math.cos(self.radius * _DEG))

    @property
    def solid_angle_deg2(self) -> float:
        """Solid angle in deg^2."""
        return self.solid_angle * _SR_TO_DEG2

    def distance_window(self, absolute_magnitude: float = RC_ABSOLUTE_MAGNITUDE_H) -> tuple[float, float]:
        """Dust-free distance window ``(D_min, D_max)`` in kpc of a standard candle of ``absolute_magnitude``."""
        return (
            float(distance_from_modulus(self.h_min - absolute_magnitude)),
            float(distance_from_modulus(self.h_max - absolute_magnitude)),
        )


# --------------------------------------------------------------------------- #
# Position samples (Appendix B, steps 1-2)
# --------------------------------------------------------------------------- #
@dataclasses.dataclass(frozen=True)
class PositionSample:
    """Positions drawn from ``rho(l, b, D) D^2 S(l, b, D)`` by :meth:`Selection.sample_positions`.

    Attributes
    ----------
    l, b : ndarray (n,)
        Galactic coordinates, deg.
    D : ndarray (n,)
        Heliocentric distance, kpc.
    field : ndarray of int (n,)
        Region each position was drawn in (field index for a
        :class:`SurveySelection`, sky cell for :class:`NoSelection`).
    log_density : ndarray (n,)
        ``ln q(l, b, D)``, the normalised density the samples were drawn
        from, per steradian per kpc (``q dOmega dD``; in ``(l, b)`` in
        radians multiply by ``cos b``, as in Eq. B4). Exact for the draw:
        use it as the proposal density in importance sampling (Eq. B8).
    log_norm : float
        ``ln Z``, ``Z = sum_i int_{Omega_i} int rho D^2 S_i dD dOmega``: the
        expected number of selected stars if ``rho`` is a number density in
        kpc^-3 (Eq. 16 without the age and velocity integrals).
    log_field_norms : ndarray (n_regions,)
        ``ln F_i`` per region, ``F_i = Omega_i int rho D^2 S_i dD`` (Eq. B6 times
        the solid angle); ``-inf`` for regions nothing can be drawn from.
    """

    l: np.ndarray
    b: np.ndarray
    D: np.ndarray
    field: np.ndarray
    log_density: np.ndarray
    log_norm: float
    log_field_norms: np.ndarray

    def __len__(self) -> int:
        return int(self.D.shape[0])


class Selection(abc.ABC):
    """Interface of a spatial selection function ``S(l, b, D)`` in [0, 1].

    Subclasses describe themselves as a set of sky *regions* (fields, or
    cells of a sky grid), each with a centre, a solid angle, a uniform
    direction sampler and a selection along its central line of sight;
    :meth:`sample_positions` is written once for all of them.
    """

    @abc.abstractmethod
    def __call__(self, l, b, D) -> np.ndarray:
        """``S(l, b, D)`` for Galactic ``l``, ``b`` (deg) and distance ``D`` (kpc); arrays broadcast."""

    # -- region description used by the sampler ------------------------------
    @abc.abstractmethod
    def _region_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """(l, b) of each region's centre, deg."""

    @abc.abstractmethod
    def _region_solid_angles(self) -> np.ndarray:
        """Solid angle of each region, sr."""

    @abc.abstractmethod
    def _region_supports(self) -> tuple[np.ndarray, np.ndarray]:
        """(D_lo, D_hi) per region, kpc: where its selection can be non-zero."""

    @abc.abstractmethod
    def _region_selection(self, D: np.ndarray) -> np.ndarray:
        """Selection along each region's line of sight; ``D`` has shape (n_regions, m)."""

    @abc.abstractmethod
    def _draw_directions(self, rng: np.random.Generator, region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Directions (deg) uniform within the given regions, one per entry of ``region``."""

    @abc.abstractmethod
    def _region_pairs(self, l, b) -> tuple[np.ndarray, np.ndarray]:
        """(point index, region index) for every region containing each point (flattened input)."""

    def sample_positions(
        self,
        rng,
        n: int,
        log_density: Callable,
        *,
        n_grid: int = 512,
    ) -> PositionSample:
        """Draw ``n`` positions from ``rho(l, b, D) D^2 S(l, b, D)`` region by region (Appendix B, steps 1-2).

        Each region (field) ``i`` gets a share of the ``n`` positions drawn
        from a multinomial with probabilities ``F_i / sum F`` (the paper's
        down-sampling by ``F_i / F_max``, Eq. B5, with the total fixed);
        directions are uniform over the region and distances follow
        ``rho(l_i, b_i, D) D^2 S_i(D)`` along the region's *central* sight
        line (the paper's assumption that the density does not vary across
        a ~3 deg field), tabulated on ``n_grid`` points between the region's
        distance limits and interpolated linearly. The returned
        ``log_density`` is the exact density of this draw.

        Parameters
        ----------
        rng : numpy.random.Generator or int
            Source of randomness (an integer is used as a seed).
        n : int
            Number of positions.
        log_density : callable
            ``log_density(l_deg, b_deg, D_kpc) -> ln rho``, vectorised with
            NumPy broadcasting (it is called with arrays of shape
            ``(n_regions, 1)``, ``(n_regions, 1)`` and ``(n_regions, n_grid)``);
            ``-inf`` where ``rho = 0``. E.g. the simple disk of Eq. B4,
            ``-R/R_ds + ln sech^2(z/h_zs)``.
        n_grid : int
            Distance nodes per region (default 512).

        Returns
        -------
        PositionSample

        Raises
        ------
        ValueError
            If ``n < 1``, ``n_grid < 2``, ``log_density`` returns NaN or
            ``+inf`` or the wrong shape, or the density vanishes on every
            region.
        """
        gen = _rng(rng)
        if int(n) != n or n < 1:
            raise ValueError(f"'n' must be a positive integer, got {n!r}")
        if int(n_grid) != n_grid or n_grid < 2:
            raise ValueError(f"'n_grid' must be an integer >= 2, got {n_grid!r}")
        n, n_grid = int(n), int(n_grid)
        lc, bc = self._region_centres()
        omega = self._region_solid_angles()
        lo, hi = self._region_supports()
        n_reg = lc.shape[0]
        usable = (hi > lo) & (omega > 0)
        lo = np.where(usable, lo, 0.0)
        hi = np.where(usable, hi, 1.0)
        t = np.linspace(0.0, 1.0, n_grid)
        grid = lo[:, None] + (hi - lo)[:, None] * t
        lr = np.asarray(log_density(lc[:, None], bc[:, None], grid), dtype=np.float64)
        try:
            lr = np.broadcast_to(lr, grid.shape)
        except ValueError:
            raise ValueError(
                f"'log_density' returned shape {np.shape(lr)}, which does not broadcast to the grid shape {grid.shape}"
            ) from None
        if np.any(np.isnan(lr)) or np.any(lr == np.inf):
            raise ValueError("'log_density' returned NaN or +inf; return -inf where the density is zero")
        finite = np.isfinite(lr) & usable[:, None]
        if not np.any(finite):
            raise ValueError("the density is zero on every region's line of sight; nothing to sample")
        shift = float(np.max(lr[finite]))  # work with rho / max(rho) to avoid overflow
        s = self._region_selection(grid)
        q = np.where(finite, np.exp(np.where(finite, lr, 0.0) - shift), 0.0) * grid**2 * s
        dD = (hi - lo) / (n_grid - 1)
        cell = 0.5 * (q[:, 1:] + q[:, :-1]) * dD[:, None]  # mass of each grid cell (exact for the linear interpolant)
        los = cell.sum(axis=1)
        F = np.where(usable, omega * los, 0.0)
        Z = float(F.sum())
        if not Z > 0:
            raise ValueError("rho D^2 S integrates to zero over all regions; nothing to sample")

        counts = gen.multinomial(n, F / Z)
        region = np.repeat(np.arange(n_reg), counts)
        D = np.empty(n)
        start = 0
        for i in np.flatnonzero(counts):
            k = counts[i]
            cdf = np.cumsum(cell[i])
            j = np.searchsorted(cdf, gen.uniform(0.0, cdf[-1], k), side="right")
            j = np.minimum(j, n_grid - 2)
            a, c = q[i, j], q[i, j + 1]
            v = gen.uniform(0.0, 1.0, k)
            # Inverse CDF of the linear density a + (c - a) x on [0, 1], written
            # in the form that is stable for a = c and for a = 0.
            x = v * (a + c) / (a + np.sqrt(a * a + v * (c * c - a * a)))
            D[start : start + k] = grid[i, j] + x * dD[i]
            start += k
        l, b = self._draw_directions(gen, region)

        # Density of the draw at each point: the interpolated q of every region
        # that contains it (its own region always counts).
        own = self._interp_q(q, lo, hi, region, D)
        p_idx, r_idx = self._region_pairs(l, b)
        other = r_idx != region[p_idx]
        extra = np.bincount(p_idx[other], weights=self._interp_q(q, lo, hi, r_idx[other], D[p_idx[other]]), minlength=n)
        with np.errstate(divide="ignore"):
            log_q = np.log(own + extra) - math.log(Z)
            log_F = np.log(F) + shift
        return PositionSample(
            l=l,
            b=b,
            D=D,
            field=region,
            log_density=log_q,
            log_norm=math.log(Z) + shift,
            log_field_norms=log_F,
        )

    @staticmethod
    def _interp_q(q, lo, hi, region, D):
        n_grid = q.shape[1]
        pos = (D - lo[region]) / (hi[region] - lo[region]) * (n_grid - 1)
        inside = (pos >= 0) & (pos <= n_grid - 1)
        pos = np.clip(pos, 0.0, n_grid - 1)
        j = np.minimum(np.floor(pos).astype(np.int64), n_grid - 2)
        x = pos - j
        val = q[region, j] + (q[region, j + 1] - q[region, j]) * x
        return np.where(inside, val, 0.0)


# --------------------------------------------------------------------------- #
# Many fields
# --------------------------------------------------------------------------- #
def _field_directions(l, b, radius, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``k`` fixed equal-area ("sunflower") directions inside each cap; the centre when k = 1."""
    if k == 1:
        return np.asarray(l)[:, None], np.asarray(b)[:, None]
    idx = np.arange(k)
    one_minus_cos = 1.0 - np.cos(np.asarray(radius) * _DEG)
    cos_t = 1.0 - one_minus_cos[:, None] * (idx + 0.5) / k
    phi = np.broadcast_to(idx * _GOLDEN_ANGLE, cos_t.shape)
    return _offset_directions(np.asarray(l)[:, None], np.asarray(b)[:, None], cos_t, phi)


def _solve_distance(dust: DustModel, absolute_magnitude: float, h, l, b, *, tol: float = 1e-12, max_iter: int = 100):
    """Distance (kpc) where ``M + 5 log10(D/10pc) + A_H(l, b, D) = h``, elementwise.

    Needs ``A_H`` non-decreasing in ``D``. The root is bracketed by the
    dust-free distance ``D0(h)`` and ``D0(h - A_H(D0))``; Illinois
    regula falsi in ``ln D`` then converges superlinearly.
    """
    h, l, b = np.broadcast_arrays(np.asarray(h, float), np.asarray(l, float), np.asarray(b, float))
    D0 = distance_from_modulus(h - absolute_magnitude)
    if isinstance(dust, NoDust):
        return D0
    shape = D0.shape
    D0, h, l, b = D0.ravel(), h.ravel(), l.ravel(), b.ravel()
    A0 = dust.extinction_H(l, b, D0)
    if np.any(~np.isfinite(A0)) or np.any(A0 < 0):
        raise ValueError("the dust model returned negative or non-finite extinction")
    out = D0.copy()
    todo = A0 > 0
    if not np.any(todo):
        return out.reshape(shape)
    idx = np.flatnonzero(todo)
    ua = np.log(distance_from_modulus(h[idx] - absolute_magnitude - A0[idx]))
    ub = np.log(D0[idx])
    c5 = 5.0 / math.log(10.0)

    def g(uu, ii):
        return absolute_magnitude + c5 * (uu - math.log(0.01)) + dust.extinction_H(l[ii], b[ii], np.exp(uu)) - h[ii]

    ga = g(ua, idx)
    gb = A0[idx].copy()
    side = np.zeros(idx.size, dtype=np.int8)
    root = ub.copy()
    active = np.ones(idx.size, dtype=bool)
    for _ in range(max_iter):
        act = np.flatnonzero(active)
        if act.size == 0:
            break
        denom = gb[act] - ga[act]
        um = np.where(denom > 0, ub[act] - gb[act] * (ub[act] - ua[act]) / np.where(denom > 0, denom, 1.0), ua[act])
        um = np.clip(um, ua[act], ub[act])
        gm = g(um, idx[act])
        root[act] = um
        done = (np.abs(gm) < tol) | (ub[act] - ua[act] < tol)
        right = gm > 0  # root below um: replace the upper end
        ub[act] = np.where(right, um, ub[act])
        gb[act] = np.where(right, gm, gb[act])
        ua[act] = np.where(right, ua[act], um)
        ga[act] = np.where(right, ga[act], gm)
        # Illinois: halve the stale end's value when the same end is kept twice.
        ga[act] = np.where(right & (side[act] == 1), 0.5 * ga[act], ga[act])
        gb[act] = np.where(~right & (side[act] == -1), 0.5 * gb[act], gb[act])
        side[act] = np.where(right, 1, -1)
        active[act[done]] = False
    if np.any(active):
        warnings.warn(
            f"distance-window root finding did not converge on {int(active.sum())} sight line(s) "
            f"after {max_iter} iterations; is the dust model's extinction non-decreasing in D?",
            RuntimeWarning,
            stacklevel=3,
        )
    out[idx] = np.exp(root)
    return out.reshape(shape)


def _read_columns(table, columns: Mapping[str, str] | None, required, optional):
    """Column arrays of a table-like object, by our names, with a clear error for missing ones."""
    if isinstance(table, (str, Path)):
        from ..io.catalogues import read_table

        table = read_table(table)
    mapping = {k: k for k in (*required, *optional)}
    if columns:
        unknown = sorted(set(columns) - set(mapping))
        if unknown:
            raise ValueError(f"'columns' maps unknown name(s) {unknown}; allowed: {sorted(mapping)}")
        mapping.update(columns)
    if isinstance(table, Table):
        names = list(table.colnames)
    elif hasattr(table, "columns") and not isinstance(table, Mapping):  # e.g. a pandas DataFrame
        names = [str(c) for c in table.columns]
    elif isinstance(table, Mapping):
        names = list(table.keys())
    else:
        raise TypeError(
            f"'table' must be an astropy Table, a mapping of columns, a DataFrame or a file path, got {type(table).__name__}"
        )
    missing = [mapping[k] for k in required if mapping[k] not in names]
    if missing:
        raise ValueError(f"the field table is missing column(s) {missing}; it has {names}")
    out = {}
    for key in (*required, *optional):
        col = mapping[key]
        if col not in names:
            continue
        values = table[col]
        if isinstance(table, Table) and getattr(values, "unit", None) is not None:
            values = u.Quantity(values)
        elif hasattr(values, "to_numpy"):
            values = values.to_numpy()
        out[key] = values
    return out


@dataclasses.dataclass(frozen=True)
class SurveySelection(Selection):
    """A survey made of circular fields, for a standard candle behind dust.

    Parameters
    ----------
    fields : sequence of Field
        The fields (at least one).
    absolute_magnitude : float
        ``M_H`` of the standard candle, mag (default: red clump, Hawkins et al. 2017).
    dust : DustModel, optional
        Extinction model (default :class:`~diskorbits.migration.dust.NoDust`).
    n_dust_directions : int
        Sight lines per field over which ``S_i(D)`` is averaged when there is
        dust (default 8; 1 = the centre only). Ignored without dust.
    name : str
        Label.

    Examples
    --------
    >>> sel = SurveySelection([Field(l=90.0, b=10.0, radius=1.5, h_min=7.0, h_max=12.0, fraction=0.5)])
    >>> d_min, d_max = sel.distance_limits()       # kpc, dust-free red clump
    >>> round(float(d_min[0]), 3), round(float(d_max[0]), 3)
    (0.492, 4.92)
    >>> float(sel(90.0, 10.0, 2.0)), float(sel(90.0, 10.0, 6.0)), float(sel(0.0, 10.0, 2.0))
    (0.5, 0.0, 0.0)
    """

    fields: tuple
    absolute_magnitude: float = RC_ABSOLUTE_MAGNITUDE_H
    dust: DustModel | None = None
    n_dust_directions: int = 8
    name: str = "survey"

    def __post_init__(self):
        set_ = object.__setattr__
        fields = tuple(self.fields)
        if not fields:
            raise ValueError("'fields' must contain at least one Field")
        bad = [type(f).__name__ for f in fields if not isinstance(f, Field)]
        if bad:
            raise TypeError(f"'fields' must hold Field objects, got {sorted(set(bad))}")
        set_(self, "fields", fields)
        set_(self, "absolute_magnitude", _finite_number("absolute_magnitude", self.absolute_magnitude))
        dust = NoDust() if self.dust is None else self.dust
        if not isinstance(dust, DustModel):
            raise TypeError(f"'dust' must be a DustModel, got {type(dust).__name__}")
        set_(self, "dust", dust)
        k = self.n_dust_directions
        if int(k) != k or k < 1:
            raise ValueError(f"'n_dust_directions' must be a positive integer, got {k!r}")
        set_(self, "n_dust_directions", int(k))

        # Derived arrays (read-only; recomputed only by constructing a new selection).
        arr = {
            "_l": np.array([f.l for f in fields]),
            "_b": np.array([f.b for f in fields]),
            "_radius": np.array([f.radius for f in fields]),
            "_h_min": np.array([f.h_min for f in fields]),
            "_h_max": np.array([f.h_max for f in fields]),
            "_fraction": np.array([f.fraction for f in fields]),
        }
        arr["_centres"] = _unit_vectors(arr["_l"], arr["_b"])
        arr["_cos_radius"] = np.cos(arr["_radius"] * _DEG)
        arr["_omega"] = 2.0 * np.pi * (1.0 - arr["_cos_radius"])
        kk = 1 if isinstance(dust, NoDust) else int(k)
        ld, bd = _field_directions(arr["_l"], arr["_b"], arr["_radius"], kk)
        n = len(fields)
        both = _solve_distance(
            dust,
            self.absolute_magnitude,
            np.concatenate([np.broadcast_to(arr["_h_min"][:, None], ld.shape), np.broadcast_to(arr["_h_max"][:, None], ld.shape)]),
            np.concatenate([ld, ld]),
            np.concatenate([bd, bd]),
        )
        arr["_d_lo"], arr["_d_hi"] = both[:n], both[n:]
        for key, value in arr.items():
            value.setflags(write=False)
            set_(self, key, value)
        set_(self, "_tree", cKDTree(arr["_centres"]))

    # -- basic properties ---------------------------------------------------
    def __len__(self) -> int:
        return len(self.fields)

    @property
    def n_fields(self) -> int:
        return len(self.fields)

    @property
    def solid_angles(self) -> np.ndarray:
        """Solid angle of each field, sr (shape (n_fields,))."""
        return self._omega

    @property
    def fractions(self) -> np.ndarray:
        """Sampling fraction of each field."""
        return self._fraction

    @property
    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """(l, b) of the field centres, deg."""
        return self._l, self._b

    def distance_limits(self) -> tuple[np.ndarray, np.ndarray]:
        """``(D_min_i, D_max_i)`` in kpc: where ``S_i(D) > 0`` (over all of the field's dust sight lines)."""
        return self._d_lo.min(axis=1), self._d_hi.max(axis=1)

    def apparent_magnitude(self, l, b, D) -> np.ndarray:
        """``H = M_H + 5 log10(D/10 pc) + A_H(l, b, D)`` of the standard candle, mag."""
        l, b, D = _inputs(l, b, D)
        with np.errstate(divide="ignore"):
            return self.absolute_magnitude + 5.0 * np.log10(D / 0.01) + self.dust.extinction_H(l, b, D)

    # -- S_i(D) and S(l, b, D) ----------------------------------------------
    def field_selection(self, D, fields=None) -> np.ndarray:
        """``S_i(D)`` per field: the selection along field ``i``, averaged over its dust sight lines.

        Parameters
        ----------
        D : array_like or length Quantity
            Distances, kpc, any shape ``s``.
        fields : int or array of int, optional
            Field indices (default: all).

        Returns
        -------
        ndarray, shape ``(n_selected_fields,) + s`` (``s`` for a single integer index).
        """
        D = units.to_internal(D, "length", "D")
        if not np.all(np.isfinite(D)):
            raise ValueError("'D' must be finite")
        if np.any(D < 0):
            raise ValueError("'D' (heliocentric distance, kpc) must be >= 0")
        single = fields is not None and np.ndim(fields) == 0
        idx = np.arange(self.n_fields) if fields is None else np.atleast_1d(np.asarray(fields, dtype=np.int64))
        if np.any((idx < -self.n_fields) | (idx >= self.n_fields)):
            raise ValueError(f"field index out of range for {self.n_fields} fields")
        lo = self._d_lo[idx].reshape(idx.shape + (self._d_lo.shape[1],) + (1,) * D.ndim)
        hi = self._d_hi[idx].reshape(lo.shape)
        inside = (lo <= D) & (D <= hi)
        out = self._fraction[idx].reshape(idx.shape + (1,) * D.ndim) * inside.mean(axis=1)
        return out[0] if single else out

    def _pairs(self, v):
        """(point, field, cos separation) for every field containing each unit vector in ``v`` (m, 3)."""
        # Candidate pairs from a k-d tree within the largest field's chord,
        # then the exact per-field test on the cosine of the separation.
        chord = 2.0 * math.sin(0.5 * float(self._radius.max()) * _DEG) * (1.0 + 1e-12)
        res = cKDTree(v).sparse_distance_matrix(self._tree, chord, output_type="ndarray")
        p, f = res["i"].astype(np.int64), res["j"].astype(np.int64)
        cos = np.einsum("ij,ij->i", v[p], self._centres[f])
        keep = cos >= self._cos_radius[f]
        order = np.argsort(p[keep], kind="stable")
        return p[keep][order], f[keep][order], cos[keep][order]

    def field_index(self, l, b) -> np.ndarray:
        """Index of the field containing each direction, -1 if none.

        Where fields overlap, the field whose centre is nearest is returned.

        Parameters
        ----------
        l, b : array_like or angle Quantity
            Galactic coordinates, deg; broadcast together.

        Returns
        -------
        ndarray of int, the broadcast shape of ``l`` and ``b``.
        """
        l, b, _ = _inputs(l, b, 0.0)
        shape = l.shape
        v = _unit_vectors(l.ravel(), b.ravel())
        p, f, c = self._pairs(v)
        out = np.full(v.shape[0], -1, dtype=np.int64)
        if p.size:
            order = np.lexsort((-c, p))  # by point, nearest centre first
            first = np.unique(p[order], return_index=True)[1]
            out[p[order][first]] = f[order][first]
        return out.reshape(shape)

    def __call__(self, l, b, D) -> np.ndarray:
        """``S(l, b, D) = 1 - prod_{fields i containing (l, b)} (1 - S_i(D))``; 0 outside all fields."""
        l, b, D = _inputs(l, b, D)
        shape = D.shape
        D = D.ravel()
        v = _unit_vectors(l.ravel(), b.ravel())
        p, f, _ = self._pairs(v)
        if p.size == 0:
            return np.zeros(shape)
        Dp = D[p][:, None]
        s = self._fraction[f] * ((self._d_lo[f] <= Dp) & (Dp <= self._d_hi[f])).mean(axis=1)
        with np.errstate(divide="ignore"):
            log_miss = np.bincount(p, weights=np.log1p(-s), minlength=D.size)
        out = 0.0 - np.expm1(log_miss)  # "0.0 -": no negative zeros
        # Inside a single field S is exactly S_i (no round trip through logs).
        single = np.bincount(p, minlength=D.size)[p] == 1
        out[p[single]] = s[single]
        return out.reshape(shape)

    # -- region interface for the sampler ------------------------------------
    def _region_centres(self):
        return self._l, self._b

    def _region_solid_angles(self):
        return self._omega

    def _region_supports(self):
        return self.distance_limits()

    def _region_selection(self, D):
        inside = (self._d_lo[:, :, None] <= D[:, None, :]) & (D[:, None, :] <= self._d_hi[:, :, None])
        return self._fraction[:, None] * inside.mean(axis=1)

    def _draw_directions(self, rng, region):
        cos_t = 1.0 - rng.uniform(0.0, 1.0, region.size) * (1.0 - self._cos_radius[region])
        phi = rng.uniform(0.0, 2.0 * np.pi, region.size)
        return _offset_directions(self._l[region], self._b[region], cos_t, phi)

    def _region_pairs(self, l, b):
        p, f, _ = self._pairs(_unit_vectors(np.ravel(l), np.ravel(b)))
        return p, f

    # -- summaries and constructors --------------------------------------------
    def summary(self) -> QTable:
        """One row per field in the field's units: name, l, b [deg], radius [deg], solid angle [deg^2],
        H window [mag], sampling fraction, distance limits [kpc]."""
        d_min, d_max = self.distance_limits()
        return QTable(
            {
                "name": [f.name for f in self.fields],
                "l": self._l * u.deg,
                "b": self._b * u.deg,
                "radius": self._radius * u.deg,
                "solid_angle": self._omega * _SR_TO_DEG2 * u.deg**2,
                "h_min": self._h_min * u.mag,
                "h_max": self._h_max * u.mag,
                "fraction": self._fraction,
                "d_min": d_min * u.kpc,
                "d_max": d_max * u.kpc,
            },
            meta={"name": self.name, "absolute_magnitude": self.absolute_magnitude, "dust": self.dust.describe()},
        )

    def describe(self) -> dict:
        """Plain-number description for run metadata."""
        return {
            "name": self.name,
            "n_fields": self.n_fields,
            "absolute_magnitude": self.absolute_magnitude,
            "dust": self.dust.describe(),
            "n_dust_directions": self.n_dust_directions,
            "solid_angle_deg2": float(self._omega.sum() * _SR_TO_DEG2),
        }

    @classmethod
    def from_table(
        cls,
        table,
        *,
        columns: Mapping[str, str] | None = None,
        absolute_magnitude: float = RC_ABSOLUTE_MAGNITUDE_H,
        dust: DustModel | None = None,
        n_dust_directions: int = 8,
        name: str = "user fields",
    ) -> SurveySelection:
        """Fields from a table with columns ``l, b, radius, h_min, h_max, fraction`` (and optional ``name``).

        Parameters
        ----------
        table : astropy Table, mapping of arrays, pandas DataFrame, or path
            A path is read with :func:`diskorbits.io.read_table` (FITS, CSV, ECSV, Parquet).
            Angle columns with units are converted; plain numbers are degrees.
        columns : mapping, optional
            Our column name -> the table's, e.g. ``{"l": "GLON", "b": "GLAT"}``.

        Raises
        ------
        ValueError
            If a required column is missing (the message lists the table's columns) or a value is invalid.
        """
        cols = _read_columns(table, columns, ("l", "b", "radius", "h_min", "h_max", "fraction"), ("name",))
        n = len(np.atleast_1d(cols["h_min"]))
        names = [str(x) for x in np.atleast_1d(cols["name"])] if "name" in cols else [str(i) for i in range(n)]
        l = np.atleast_1d(_angle_deg(cols["l"], "l"))
        b = np.atleast_1d(_angle_deg(cols["b"], "b"))
        r = np.atleast_1d(_angle_deg(cols["radius"], "radius"))
        fields = []
        for i in range(n):
            try:
                fields.append(
                    Field(
                        l=float(l[i]),
                        b=float(b[i]),
                        radius=float(r[i]),
                        h_min=float(np.atleast_1d(cols["h_min"])[i]),
                        h_max=float(np.atleast_1d(cols["h_max"])[i]),
                        fraction=float(np.atleast_1d(cols["fraction"])[i]),
                        name=names[i],
                    )
                )
            except ValueError as exc:
                raise ValueError(f"row {i} ({names[i]!r}) of the field table: {exc}") from None
        return cls(
            tuple(fields), absolute_magnitude=absolute_magnitude, dust=dust, n_dust_directions=n_dust_directions, name=name
        )

    @classmethod
    def from_toml(cls, source) -> SurveySelection:
        """Fields from a TOML file, TOML text or dict.

        Layout::

            name = "my survey"            # optional
            absolute_magnitude = -1.46    # optional (red clump)
            n_dust_directions = 8         # optional

            [dust]                        # optional; default: no dust
            model = "double_exponential"  # or "none"
            a_v_per_kpc = 1.0             # any DoubleExponentialDust attribute
            scale_height = 0.1

            [[fields]]
            name = "disk-1"
            l = 30.0                      # deg
            b = 0.0                       # deg
            radius = 1.5                  # deg
            h_min = 7.0                   # mag
            h_max = 12.0                  # mag
            fraction = 0.25

        Raises
        ------
        diskorbits._tomlconfig.ConfigError
            (a ``ValueError``) naming the offending key.
        """
        from .._tomlconfig import ConfigError, _check_keys, read_toml

        doc, _ = read_toml(source)
        _check_keys("top level", doc, {"name", "absolute_magnitude", "n_dust_directions", "dust", "fields"})
        if "fields" not in doc or not isinstance(doc["fields"], list) or not doc["fields"]:
            raise ConfigError("the selection needs at least one [[fields]] table")
        fields = []
        for i, row in enumerate(doc["fields"]):
            where = f"fields[{i}]"
            if not isinstance(row, dict):
                raise ConfigError(f"{where} must be a table")
            _check_keys(where, row, {"name", "l", "b", "radius", "h_min", "h_max", "fraction"})
            missing = sorted({"l", "b", "radius", "h_min", "h_max", "fraction"} - set(row))
            if missing:
                raise ConfigError(f"{where} is missing key(s) {', '.join(missing)}")
            try:
                fields.append(Field(**{**row, "name": str(row.get("name", i))}))
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{where}: {exc}") from None
        dust_doc = dict(doc.get("dust", {}))
        model = str(dust_doc.pop("model", "none")).lower()
        if model == "none":
            if dust_doc:
                raise ConfigError(f"[dust] model = 'none' takes no other keys; got {sorted(dust_doc)}")
            dust: DustModel = NoDust()
        elif model == "double_exponential":
            allowed = {f.name for f in dataclasses.fields(DoubleExponentialDust)}
            _check_keys("dust", dust_doc, allowed)
            try:
                dust = DoubleExponentialDust(**dust_doc)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"[dust]: {exc}") from None
        else:
            raise ConfigError(f"dust.model must be 'none' or 'double_exponential'; got {model!r}")
        try:
            return cls(
                tuple(fields),
                absolute_magnitude=doc.get("absolute_magnitude", RC_ABSOLUTE_MAGNITUDE_H),
                dust=dust,
                n_dust_directions=doc.get("n_dust_directions", 8),
                name=str(doc.get("name", "user fields")),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(str(exc)) from None


# --------------------------------------------------------------------------- #
# No selection
# --------------------------------------------------------------------------- #
@dataclasses.dataclass(frozen=True)
class NoSelection(Selection):
    """``S = 1`` inside a region of the sky and of distance, 0 outside.

    With the defaults (``d_max=None``, ``b_max=90``) ``S = 1`` everywhere;
    a finite ``d_max`` is needed to sample positions. Sampling tiles the
    region ``|b| <= b_max`` with ``n_l x n_sinb`` equal-area cells (uniform
    in ``l`` and ``sin b``), each treated like a field.

    Attributes
    ----------
    d_max : float or None
        Outer heliocentric distance, kpc (``None``: unbounded).
    d_min : float
        Inner distance, kpc (default 0).
    b_max : float
        Latitude limit ``|b| <= b_max``, deg (default 90).
    n_l, n_sinb : int
        Sampling cells in longitude and in ``sin b`` (defaults 72 x 36, 16 deg^2 each on the full sky).

    Examples
    --------
    >>> sel = NoSelection(d_max=3.0, b_max=25.0)
    >>> [float(x) for x in sel([10.0, 10.0, 10.0], [0.0, 30.0, 0.0], [1.0, 1.0, 4.0])]
    [1.0, 0.0, 0.0]
    """

    d_max: float | None = None
    d_min: float = 0.0
    b_max: float = 90.0
    n_l: int = 72
    n_sinb: int = 36

    def __post_init__(self):
        set_ = object.__setattr__
        d_min = _finite_number("d_min", units.to_internal(self.d_min, "length", "d_min"), lo=0.0)
        set_(self, "d_min", d_min)
        if self.d_max is not None:
            d_max = _finite_number("d_max", units.to_internal(self.d_max, "length", "d_max"), lo=d_min, lo_open=True)
            set_(self, "d_max", d_max)
        b_max = _finite_number("b_max", np.asarray(_angle_deg(self.b_max, "b_max")).item(), lo=0.0, hi=90.0, lo_open=True)
        set_(self, "b_max", b_max)
        for name in ("n_l", "n_sinb"):
            v = getattr(self, name)
            if int(v) != v or v < 1:
                raise ValueError(f"{name!r} must be a positive integer, got {v!r}")
            set_(self, name, int(v))

    def __call__(self, l, b, D) -> np.ndarray:
        l, b, D = _inputs(l, b, D)
        inside = (np.abs(b) <= self.b_max) & (D >= self.d_min)
        if self.d_max is not None:
            inside &= D <= self.d_max
        return inside.astype(np.float64)

    @property
    def solid_angle(self) -> float:
        """Solid angle of ``|b| <= b_max``, sr."""
        return 4.0 * np.pi * math.sin(self.b_max * _DEG)

    def _cells(self):
        s = math.sin(self.b_max * _DEG)
        l_edges = np.linspace(0.0, 360.0, self.n_l + 1)
        s_edges = np.linspace(-s, s, self.n_sinb + 1)
        return l_edges, s_edges

    def _region_centres(self):
        l_edges, s_edges = self._cells()
        lc = 0.5 * (l_edges[1:] + l_edges[:-1])
        sc = 0.5 * (s_edges[1:] + s_edges[:-1])
        L, S = np.meshgrid(lc, sc, indexing="ij")
        return L.ravel(), np.degrees(np.arcsin(S.ravel()))

    def _region_solid_angles(self):
        l_edges, s_edges = self._cells()
        return np.full(self.n_l * self.n_sinb, (l_edges[1] - l_edges[0]) * _DEG * (s_edges[1] - s_edges[0]))

    def _region_supports(self):
        if self.d_max is None:
            raise ValueError("NoSelection needs a finite 'd_max' to sample positions")
        n = self.n_l * self.n_sinb
        return np.full(n, self.d_min), np.full(n, self.d_max)

    def _region_selection(self, D):
        return np.ones_like(D)

    def _draw_directions(self, rng, region):
        l_edges, s_edges = self._cells()
        il, isb = np.divmod(region, self.n_sinb)
        l = l_edges[il] + rng.uniform(0.0, 1.0, region.size) * (l_edges[1] - l_edges[0])
        s = s_edges[isb] + rng.uniform(0.0, 1.0, region.size) * (s_edges[1] - s_edges[0])
        return l, np.degrees(np.arcsin(np.clip(s, -1.0, 1.0)))

    def _region_pairs(self, l, b):
        l_edges, s_edges = self._cells()
        l = np.ravel(l) % 360.0
        s = np.sin(np.ravel(b) * _DEG)
        il = np.clip(np.floor(l / (l_edges[1] - l_edges[0])).astype(np.int64), 0, self.n_l - 1)
        isb = np.clip(np.floor((s - s_edges[0]) / (s_edges[1] - s_edges[0])).astype(np.int64), 0, self.n_sinb - 1)
        ok = np.abs(np.ravel(b)) <= self.b_max
        p = np.flatnonzero(ok)
        return p, (il * self.n_sinb + isb)[ok]


# --------------------------------------------------------------------------- #
# Ready-made surveys
# --------------------------------------------------------------------------- #
def _apogee_csv_path() -> Path:
    # Locate the package without importing it: importing gaiaunlimited pulls
    # in astroquery, healpy, ... and takes ~10 s; we only need one data file.
    spec = importlib.util.find_spec("gaiaunlimited")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "apogee_dr17 reads the APOGEE DR17 sampling fractions shipped with the 'gaiaunlimited' package; "
            "install it with `pip install gaiaunlimited` (or pass path= to the CSV file)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "apogee_sampling_fractions.csv"
    if not path.is_file():
        raise ImportError(f"gaiaunlimited is installed but {path} is missing; reinstall with `pip install gaiaunlimited`")
    return path


def apogee_dr17(
    *,
    cohort: str = "short",
    h_range: tuple[float, float] = (7.0, 12.0),
    b_max: float = 25.0,
    jk0: float = RC_JK0,
    dust: DustModel | None = None,
    absolute_magnitude: float = RC_ABSOLUTE_MAGNITUDE_H,
    include_ak_fraction: bool = True,
    n_dust_directions: int = 8,
    path: str | Path | None = None,
) -> SurveySelection:
    """An APOGEE-like red-clump survey from the APOGEE DR17 field sampling fractions.

    Reads ``gaiaunlimited/data/apogee_sampling_fractions.csv`` (one row per
    field, cohort and, for APOGEE-2 fields, colour bin) and keeps, per field,
    the row of ``cohort`` whose ``(J - Ks)_0`` bin contains ``jk0`` (the red
    clump's 0.68 mag falls in APOGEE-2's blue bin, Frankel et al. 2020,
    Sec. 4). Each field's H window is the cohort's, intersected with
    ``h_range``; fields with ``|b| >= b_max``, an empty window or a zero
    fraction are dropped. The defaults reproduce the paper's cuts:
    short cohort, ``7 <= H <= 12``, ``|b| < 25 deg`` (Sec. 2.1).

    Parameters
    ----------
    cohort : {'short', 'medium', 'long'}
    h_range : (float, float)
        Global H window, mag.
    b_max : float
        Keep fields with ``|b| < b_max``, deg.
    jk0 : float
        Intrinsic ``(J - Ks)_0`` of the tracer, mag (default: red clump, 0.68).
    dust : DustModel, optional
        Default :class:`~diskorbits.migration.dust.DoubleExponentialDust` (the
        paper used the Green et al. 2019 map: see
        :func:`~diskorbits.migration.dust.bayestar_dust`).
    absolute_magnitude : float
        ``M_H`` of the tracer, mag.
    include_ak_fraction : bool
        Multiply the sampling fraction by the table's ``fracAK`` column, as
        ``gaiaunlimited``'s own ``apogee_sf`` does (default True). The column
        is, per field and cohort, a completeness factor of the stars for
        which an extinction (``A_K``) could be determined.
    n_dust_directions : int
        See :class:`SurveySelection`.
    path : str or Path, optional
        Read this CSV instead of the copy inside ``gaiaunlimited``.

    Raises
    ------
    ImportError
        If ``gaiaunlimited`` is not installed and no ``path`` is given.
    ValueError
        For an unknown cohort, an empty H range, or a table without the
        expected columns.
    """
    if cohort not in APOGEE_COHORTS:
        raise ValueError(f"unknown APOGEE cohort {cohort!r}; expected one of {APOGEE_COHORTS}")
    h_lo = _finite_number("h_range[0]", h_range[0])
    h_hi = _finite_number("h_range[1]", h_range[1])
    if not h_lo < h_hi:
        raise ValueError(f"'h_range' must be increasing, got {tuple(h_range)}")
    b_max = _finite_number("b_max", b_max, lo=0.0, hi=90.0, lo_open=True)
    jk0 = _finite_number("jk0", jk0)
    csv = Path(path) if path is not None else _apogee_csv_path()
    tab = Table.read(csv, format="ascii.csv")
    missing = [c for c in APOGEE_FIELD_COLUMNS if c not in tab.colnames]
    if missing:
        raise ValueError(f"{csv} is missing column(s) {missing}")
    base = np.array([str(c).split("_")[0] for c in tab["cohort"]])
    keep = (
        (base == cohort)
        & (np.asarray(tab["JK0min"], float) <= jk0)
        & (jk0 < np.asarray(tab["JK0max"], float))
        & (np.abs(np.asarray(tab["GLAT"], float)) < b_max)
    )
    rows = tab[keep]
    frac = np.asarray(rows["fracSampling"], float)
    if include_ak_fraction:
        frac = frac * np.asarray(rows["fracAK"], float)
    h_min = np.maximum(np.asarray(rows["Hmin"], float), h_lo)
    h_max = np.minimum(np.asarray(rows["Hmax"], float), h_hi)
    ok = (h_min < h_max) & (frac > 0)
    names = np.asarray(rows["FIELD"]).astype(str)
    if len(set(names[ok])) != int(ok.sum()):
        raise ValueError(f"{csv}: more than one row per field for cohort {cohort!r} and (J-Ks)_0 = {jk0}")
    fields = tuple(
        Field(l=float(lv), b=float(bv), radius=float(rv), h_min=float(h0), h_max=float(h1), fraction=float(fv), name=nm)
        for lv, bv, rv, h0, h1, fv, nm in zip(
            np.asarray(rows["GLON"], float)[ok],
            np.asarray(rows["GLAT"], float)[ok],
            np.asarray(rows["RADIUS"], float)[ok],
            h_min[ok],
            h_max[ok],
            frac[ok],
            names[ok],
        )
    )
    if not fields:
        raise ValueError("no APOGEE field passes the cuts")
    return SurveySelection(
        fields,
        absolute_magnitude=absolute_magnitude,
        dust=DoubleExponentialDust() if dust is None else dust,
        n_dust_directions=n_dust_directions,
        name=f"APOGEE DR17 {cohort} cohort, {h_lo:g} <= H <= {h_hi:g}, |b| < {b_max:g} deg",
    )


def kepler_field(
    *,
    radius: float = 8.0,
    active_area_deg2: float = KEPLER_ACTIVE_AREA_DEG2,
    h_range: tuple[float, float] = (7.0, 11.0),
    targeting_fraction: float = 1.0,
    dust: DustModel | None = None,
    absolute_magnitude: float = RC_ABSOLUTE_MAGNITUDE_H,
    n_dust_directions: int = 8,
) -> SurveySelection:
    """The Kepler field as one circular field (for the Miglio et al. 2021 giants).

    Kepler's focal plane is a mosaic of 21 CCD modules with gaps, not a disk.
    This approximation uses the cap of ``radius`` (8 deg) around the
    boresight that circumscribes the mosaic (every star of Miglio et al. 2021
    lies within 7.8 deg of it) and spreads the ~105 deg^2 of active area
    uniformly over it: ``S`` inside the cap is the fill factor
    ``active_area / cap area`` (0.52) times ``targeting_fraction``. What it
    gets right: the sky-integrated area, the pointing, and the distance
    window of a standard candle. What it does not: the module gaps (a star in
    a gap is given probability 0.52, not 0) and the targeting of APOKASC,
    which was not a random fraction of all giants (``targeting_fraction`` = 1
    by default: for a single field, a constant factor cancels in a normalised
    likelihood).

    The default H window 7 <= H <= 11 is the one the sample itself shows
    (all 3315 stars have H >= 7.0; 99.7% have H <= 11.0): for the red clump
    (M_H = -1.46) without dust it is 0.49 < D < 3.10 kpc.
    """
    r = _finite_number("radius", radius, lo=0.0, hi=90.0, lo_open=True)
    area = _finite_number("active_area_deg2", active_area_deg2, lo=0.0, lo_open=True)
    cap = 2.0 * math.pi * (1.0 - math.cos(r * _DEG)) * _SR_TO_DEG2
    if area > cap:
        raise ValueError(f"'active_area_deg2' ({area}) exceeds the area of a {r} deg cap ({cap:.1f} deg^2)")
    frac = _finite_number("targeting_fraction", targeting_fraction, lo=0.0, hi=1.0)
    field = Field(
        l=KEPLER_BORESIGHT[0],
        b=KEPLER_BORESIGHT[1],
        radius=r,
        h_min=float(h_range[0]),
        h_max=float(h_range[1]),
        fraction=frac * area / cap,
        name="Kepler",
    )
    return SurveySelection(
        (field,),
        absolute_magnitude=absolute_magnitude,
        dust=DoubleExponentialDust() if dust is None else dust,
        n_dust_directions=n_dust_directions,
        name="Kepler field (one circular field, fill factor for the CCD mosaic)",
    )
