"""Dust extinction along a line of sight, A_H(l, b, D), for survey selection functions.

Frankel et al. (2020, Sec. 4) turn the H-band window of each APOGEE field
into a distance window for red-clump stars, with the dust taken from the 3D
map of Green et al. (2019, "Bayestar19"). That map cannot be downloaded here,
so this module provides

* :class:`DustModel` -- the small interface a selection function needs:
  ``extinction_H(l, b, D)`` in mag, vectorised, non-decreasing in ``D``;
* :class:`NoDust` -- ``A_H = 0``;
* :class:`DoubleExponentialDust` -- an analytic dust disk, exponential in
  Galactocentric radius and height, integrated along the line of sight
  (Gauss-Legendre quadrature on pieces split where the sight line crosses the
  mid-plane and where it passes closest to the Galactic centre: accurate to
  ~1e-12 mag, ~1e-5 mag on sight lines within ~0.1 kpc of the centre);
* :class:`CallableDust` and :func:`bayestar_dust` -- the hook for a real 3D
  map: any function of ``(l, b, D)`` returning a cumulative reddening, times a
  band coefficient. :func:`bayestar_dust` wraps ``dustmaps``' Bayestar query.

Angles are Galactic longitude/latitude in degrees and distances are
heliocentric in kpc, as everywhere in :mod:`diskorbits.migration.selection`.
The dust disk is placed with a simplified geometry (the Sun at Galactocentric
radius ``r_sun`` and height ``z_sun``, Galactic and Galactocentric planes
parallel): the ~0.15 deg tilt between them is far below the accuracy of any
analytic dust model.

Extinction law: ``A_H / A_V = 0.178`` from Cardelli, Clayton & Mathis (1989,
ApJ 345, 245), Eqs. 2a-2b (infrared branch) at ``R_V = 3.1`` and the 2MASS H
isophotal wavelength 1.662 um (Cohen, Wheaton & Megeath 2003);
:func:`ccm89_infrared_ratio` computes it.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Callable

import numpy as np

__all__ = [
    "A_H_OVER_A_V",
    "H_WAVELENGTH_UM",
    "ccm89_infrared_ratio",
    "DustModel",
    "NoDust",
    "DoubleExponentialDust",
    "CallableDust",
    "bayestar_dust",
]

#: 2MASS H isophotal wavelength in micron (Cohen, Wheaton & Megeath 2003).
H_WAVELENGTH_UM: float = 1.662

_DEG = math.pi / 180.0
# Sight lines are integrated only while |z| < this many dust scale heights:
# beyond, the integrand is below exp(-30) of its mid-plane value.
_Z_CUT_SCALE_HEIGHTS = 30.0


def ccm89_infrared_ratio(wavelength_um: float, r_v: float = 3.1) -> float:
    """``A_lambda / A_V`` of Cardelli, Clayton & Mathis (1989), infrared branch (Eqs. 2a-2b).

    Parameters
    ----------
    wavelength_um : float
        Wavelength in micron, 0.909 <= lambda <= 3.33 (``x = 1/lambda`` in [0.3, 1.1] 1/um).
    r_v : float
        Total-to-selective extinction ``R_V`` (default 3.1, the diffuse ISM).

    >>> round(ccm89_infrared_ratio(H_WAVELENGTH_UM), 3)
    0.178
    """
    x = 1.0 / float(wavelength_um)
    if not 0.3 <= x <= 1.1:
        raise ValueError(f"'wavelength_um' must lie in [0.909, 3.33] um for the infrared branch, got {wavelength_um!r}")
    if not (math.isfinite(r_v) and r_v > 0):
        raise ValueError(f"'r_v' must be positive, got {r_v!r}")
    p = x**1.61
    return 0.574 * p - 0.527 * p / float(r_v)


#: ``A_H / A_V`` for the diffuse ISM (CCM89 at R_V = 3.1, 2MASS H).
A_H_OVER_A_V: float = ccm89_infrared_ratio(H_WAVELENGTH_UM)


def _lbd(l, b, D):
    """Broadcast and validate (l, b, D) in (deg, deg, kpc)."""
    l, b, D = np.broadcast_arrays(
        np.asarray(l, dtype=np.float64), np.asarray(b, dtype=np.float64), np.asarray(D, dtype=np.float64)
    )
    for name, v in (("l", l), ("b", b), ("D", D)):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name!r} must be finite; got {int(np.sum(~np.isfinite(v)))} non-finite value(s)")
    if np.any(np.abs(b) > 90.0):
        raise ValueError("'b' (Galactic latitude, deg) must lie in [-90, 90]")
    if np.any(D < 0):
        raise ValueError("'D' (heliocentric distance, kpc) must be >= 0")
    return l, b, D


class DustModel(abc.ABC):
    """Cumulative H-band extinction to distance ``D`` along ``(l, b)``.

    Implementations must return ``A_H >= 0`` that is zero at ``D = 0`` and
    non-decreasing in ``D`` (cumulative extinction): the selection function
    relies on this to turn a magnitude window into one distance interval.
    """

    @abc.abstractmethod
    def extinction_H(self, l, b, D) -> np.ndarray:
        """``A_H`` in mag for Galactic ``l``, ``b`` (deg) and distance ``D`` (kpc); arrays broadcast."""

    def describe(self) -> dict:
        """Plain-number description for run metadata."""
        return {"model": type(self).__name__}


@dataclasses.dataclass(frozen=True)
class NoDust(DustModel):
    """No extinction: ``A_H = 0`` everywhere."""

    def extinction_H(self, l, b, D) -> np.ndarray:
        l, b, D = _lbd(l, b, D)
        return np.zeros(D.shape)


@dataclasses.dataclass(frozen=True)
class DoubleExponentialDust(DustModel):
    """Analytic dust disk ``dA_V/ds = a_v exp(-(R - r_sun)/h_R) exp(-|z|/h_z)``.

    ``A_H(D) = (A_H/A_V) int_0^D dA_V/ds ds`` along the sight line, with
    Galactocentric ``R(s)`` and ``z(s) = z_sun + s sin b``. The default numbers
    are representative round values for the Milky Way's dust layer (about
    1 mag/kpc of visual extinction in the solar neighbourhood, a ~100 pc thin
    layer, a scale length close to the stellar disk's), not a fit; swap in a
    3D map through :class:`CallableDust` for real work.

    Attributes
    ----------
    a_v_per_kpc : float
        Visual extinction per kpc in the mid-plane at ``r_sun``, mag/kpc (default 1.0).
    scale_length : float
        ``h_R`` in kpc (default 3.0).
    scale_height : float
        ``h_z`` in kpc (default 0.1).
    r_sun, z_sun : float
        Sun's Galactocentric radius and height in kpc (defaults 8.2 and 0.0208,
        Frankel et al. 2020, Sec. 2.3).
    a_h_over_a_v : float
        ``A_H / A_V`` (default :data:`A_H_OVER_A_V`).
    n_quad : int
        Gauss-Legendre nodes per integration segment (default 16).

    Examples
    --------
    Towards the anticentre in the plane the integral has a closed form:

    >>> dust = DoubleExponentialDust(z_sun=0.0)
    >>> a = float(dust.extinction_H(180.0, 0.0, 3.0))
    >>> exact = A_H_OVER_A_V * 1.0 * 3.0 * (1 - np.exp(-1.0))
    >>> bool(abs(a - exact) < 1e-10)
    True
    """

    a_v_per_kpc: float = 1.0
    scale_length: float = 3.0
    scale_height: float = 0.1
    r_sun: float = 8.2
    z_sun: float = 0.0208
    a_h_over_a_v: float = A_H_OVER_A_V
    n_quad: int = 16

    def __post_init__(self):
        for name in ("a_v_per_kpc", "a_h_over_a_v"):
            v = float(getattr(self, name))
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{name!r} must be finite and >= 0, got {v!r}")
        for name in ("scale_length", "scale_height", "r_sun"):
            v = float(getattr(self, name))
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name!r} must be positive (kpc), got {v!r}")
        if not math.isfinite(float(self.z_sun)):
            raise ValueError(f"'z_sun' must be finite (kpc), got {self.z_sun!r}")
        if int(self.n_quad) != self.n_quad or self.n_quad < 4:
            raise ValueError(f"'n_quad' must be an integer >= 4, got {self.n_quad!r}")

    def density(self, l, b, s) -> np.ndarray:
        """``dA_V/ds`` in mag/kpc at distance ``s`` (kpc) along ``(l, b)``."""
        cb = np.cos(np.asarray(b) * _DEG)
        x = self.r_sun - s * cb * np.cos(np.asarray(l) * _DEG)
        y = s * cb * np.sin(np.asarray(l) * _DEG)
        R = np.hypot(x, y)
        z = self.z_sun + s * np.sin(np.asarray(b) * _DEG)
        return self.a_v_per_kpc * np.exp(-(R - self.r_sun) / self.scale_length - np.abs(z) / self.scale_height)

    def extinction_H(self, l, b, D) -> np.ndarray:
        l, b, D = _lbd(l, b, D)
        if self.a_v_per_kpc == 0 or self.a_h_over_a_v == 0:
            return np.zeros(D.shape)
        x, w = np.polynomial.legendre.leggauss(int(self.n_quad))
        x, w = 0.5 * (x + 1.0), 0.5 * w  # nodes and weights on [0, 1]
        sb = np.sin(b * _DEG)
        # Break the sight line where the integrand is not smooth or peaks --
        # the mid-plane crossing (kink of |z|) and the closest approach to the
        # Galactic centre (peak of the radial exponential) -- and stop where
        # |z| exceeds _Z_CUT_SCALE_HEIGHTS scale heights (the rest is
        # negligible). Gauss-Legendre on each smooth piece then converges fast.
        with np.errstate(divide="ignore", invalid="ignore"):
            s_cross = np.where(sb != 0, -self.z_sun / sb, np.inf)
            z_cut = _Z_CUT_SCALE_HEIGHTS * self.scale_height
            s_cut = np.where(sb > 0, (z_cut - self.z_sun) / sb, np.where(sb < 0, (-z_cut - self.z_sun) / sb, np.inf))
        s_end = np.minimum(D, np.maximum(s_cut, 0.0))
        s_peak = self.r_sun * np.cos(b * _DEG) * np.cos(l * _DEG)
        breaks = np.sort(np.stack([np.clip(s_cross, 0.0, s_end), np.clip(s_peak, 0.0, s_end)], axis=-1), axis=-1)
        edges = np.concatenate([np.zeros(D.shape + (1,)), breaks, s_end[..., None]], axis=-1)
        total = np.zeros(D.shape)
        for i in range(edges.shape[-1] - 1):
            lo, hi = edges[..., i], edges[..., i + 1]
            width = hi - lo
            s = lo[..., None] + width[..., None] * x
            f = self.density(l[..., None], b[..., None], s)
            total += width * (f @ w)
        return self.a_h_over_a_v * total

    def describe(self) -> dict:
        return {"model": "DoubleExponentialDust", **dataclasses.asdict(self)}


@dataclasses.dataclass(frozen=True)
class CallableDust(DustModel):
    """A 3D dust map (or any function) as a :class:`DustModel`: ``A_H = coefficient * function(l, b, D)``.

    Attributes
    ----------
    function : callable
        ``function(l_deg, b_deg, D_kpc) -> array`` of cumulative reddening or
        extinction in the map's own unit; NaN where the map has no coverage.
    coefficient : float
        ``A_H`` per unit of the map (e.g. the 2MASS H coefficient of
        Green et al. 2019, Table 1, for Bayestar19).
    fallback : DustModel or None
        Used where ``function`` returns NaN (e.g. south of the map's
        declination limit); without it, NaN raises ``ValueError``.
    name : str
        Label for :meth:`describe`.
    """

    function: Callable
    coefficient: float = 1.0
    fallback: DustModel | None = None
    name: str = "callable"

    def __post_init__(self):
        if not callable(self.function):
            raise TypeError(f"'function' must be callable, got {type(self.function).__name__}")
        if not (math.isfinite(float(self.coefficient)) and self.coefficient >= 0):
            raise ValueError(f"'coefficient' must be finite and >= 0, got {self.coefficient!r}")
        if self.fallback is not None and not isinstance(self.fallback, DustModel):
            raise TypeError("'fallback' must be a DustModel or None")

    def extinction_H(self, l, b, D) -> np.ndarray:
        l, b, D = _lbd(l, b, D)
        a = self.coefficient * np.broadcast_to(np.asarray(self.function(l, b, D), dtype=np.float64), D.shape).copy()
        bad = ~np.isfinite(a)
        if np.any(bad):
            if self.fallback is None:
                raise ValueError(
                    f"dust map {self.name!r} returned non-finite extinction for {int(bad.sum())} sight line(s); "
                    "give a 'fallback' DustModel for directions outside its coverage"
                )
            a[bad] = self.fallback.extinction_H(l[bad], b[bad], D[bad])
        return a

    def describe(self) -> dict:
        out = {"model": "CallableDust", "name": self.name, "coefficient": float(self.coefficient)}
        if self.fallback is not None:
            out["fallback"] = self.fallback.describe()
        return out


def bayestar_dust(
    coefficient: float,
    *,
    mode: str = "median",
    version: str = "bayestar2019",
    map_fname: str | None = None,
    fallback: DustModel | None = None,
) -> CallableDust:
    """The Bayestar 3D dust map (Green et al. 2019) through ``dustmaps``, as a :class:`DustModel`.

    Parameters
    ----------
    coefficient : float
        ``A_H`` per Bayestar reddening unit: take the 2MASS H entry of Green
        et al. (2019), Table 1 (Bayestar19 uses its own reddening unit).
    mode : str
        ``dustmaps`` query mode (``'median'``, ``'mean'``, ``'best'``, ...).
    version : str
        Map version, default ``'bayestar2019'``.
    map_fname : str, optional
        Path to the map file; default ``dustmaps``' configured data directory
        (fetch it once with ``dustmaps.bayestar.fetch()``).
    fallback : DustModel, optional
        Used outside the map's coverage (declination < -30 deg).

    Raises
    ------
    ImportError
        If ``dustmaps`` is not installed (``pip install dustmaps``).
    """
    try:
        from dustmaps.bayestar import BayestarQuery
    except ImportError as exc:
        raise ImportError(
            "bayestar_dust needs the 'dustmaps' package and the Bayestar map: "
            "pip install dustmaps, then python -c 'import dustmaps.bayestar; dustmaps.bayestar.fetch()'"
        ) from exc
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    query = BayestarQuery(map_fname=map_fname, version=version)

    def _reddening(l, b, D):
        c = SkyCoord(l=l * u.deg, b=b * u.deg, distance=np.maximum(D, 1e-6) * u.kpc, frame="galactic")
        return np.where(D > 0, query(c, mode=mode), 0.0)

    return CallableDust(_reddening, coefficient=coefficient, fallback=fallback, name=f"{version}:{mode}")
