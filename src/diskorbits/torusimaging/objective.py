"""The classical OTI objective as a pure function of the mass-model parameters (PW2021 Sec. 6.2).

Parameters ``theta = (M_disk / M*_disk, h_z, z_sun, v_z,sun)`` -- the disk mass
factor, the Miyamoto-Nagai scale height ``b`` (kpc), the Sun's height above
the midplane (kpc) and the Sun's vertical velocity (kpc/Myr) -- define a
potential (:meth:`MilkyWayPotential.with_disk`, halo re-solved so that
v_c(R_sun) stays fixed) and a Galactocentric frame (:class:`SolarParameters`
with that ``z_sun`` and ``v_sun[2]``). For one parameter vector the objective
follows the procedure box of PW2021 Sec. 6.1:

1. observed ICRS positions and velocities -> Galactocentric cylinder in the
   frame of ``theta`` (:mod:`diskorbits.frames`);
2. actions and ``theta_z`` (Stäckel fudge, :func:`compute_actions`);
3. abundance deviations from the K action-space neighbours (Eq. 2, App. A);
4. weighted least-squares Fourier fit in ``theta_z`` (Eqs. 3-7);
5. ``f = a1^2 + b1^2 + a2^2`` per abundance ratio (Eq. 8).

The neighbour metric is fixed
------------------------------
With ``metric="spread"`` the actions are divided by their spread before the
Euclidean neighbour search. That divisor must be computed **once** (at a
reference parameter vector, :meth:`OTISetup.fix_scale`) and then held fixed
for every ``theta``: if it were recomputed from each model's actions, the
shape of the neighbourhoods -- the resolution at which the local mean
abundance is taken -- would change with the potential, and the objective would
vary with ``theta`` for a reason that has nothing to do with the angle
dependence it is meant to measure (and its minimum could move). With the
paper's ``metric="raw"`` the divisors are ones and trivially fixed.

Two evaluation paths
--------------------
:func:`evaluate_objective` is the reference: concrete NumPy/JAX, neighbours
by a k-d tree, flagged stars dropped. :func:`differentiable_objective` is the
same number as a pure JAX function of ``theta`` **for given neighbour lists**:
the k-d tree search is a discrete choice and has no derivative, so the
gradient-based optimiser (:mod:`.inference`) recomputes the lists at each
evaluated ``theta`` and differentiates the objective with the lists held
fixed -- the gradient of the smooth piece of a piecewise-smooth function.
"""

from __future__ import annotations

import dataclasses

import astropy.units as u
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import (
    _config,  # noqa: F401  (float64)
    units,
)
from ..actions import compute_actions
from ..frames import MASYR_RADMYR, PW2021, SolarParameters, _cart_to_cyl, _icrs_to_gc
from ..potentials.presets import MilkyWayPotential
from .fourier import FourierFit, fit_fourier, oti_objective
from .local_mean import WEIGHTINGS, _neighbour_mean, abundance_deviations
from .neighbours import ACTION_METRICS, DEFAULT_K, action_scale, find_neighbours

__all__ = [
    "PARAMETER_NAMES",
    "OTIData",
    "OTISetup",
    "ObjectiveEvaluation",
    "differentiable_objective",
    "evaluate_objective",
    "fiducial_parameters",
    "galactocentric_cylinder",
    "model_at",
    "neighbour_lists",
]

#: Order of the parameter vector theta.
PARAMETER_NAMES: tuple[str, ...] = ("disk_mass_factor", "h_z", "z_sun", "v_z_sun")
#: Internal units of theta's entries.
PARAMETER_UNITS: tuple[str, ...] = ("", "kpc", "kpc", "kpc/Myr")
_DEG = np.pi / 180.0


def _column(value, unit, name, n=None):
    if isinstance(value, u.Quantity):
        try:
            arr = value.to_value(unit)
        except u.UnitConversionError:
            raise u.UnitConversionError(
                f"{name!r} has unit {value.unit!s}; expected {unit!s}"
            ) from None
    else:
        arr = value
    arr = np.asarray(arr, dtype=np.float64).reshape(-1)
    if n is not None and arr.shape != (n,):
        raise ValueError(
            f"{name!r} must have one value per star ({n},); got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name!r} contains non-finite values; select complete stars first"
        )
    return arr


# ----------------------------------------------------------------------------- data
@dataclasses.dataclass(frozen=True, eq=False)
class OTIData:
    """An observed catalogue for OTI, in internal units (N stars, R abundance ratios).

    Build with :meth:`from_observed` (Gaia-like units or Quantities) or
    :meth:`from_mock`. Plain NumPy arrays: the catalogue is data, it does not
    cross JAX transforms (the objective converts what it needs).

    Attributes
    ----------
    ra, dec : numpy.ndarray (N,)
        ICRS position, rad.
    distance : numpy.ndarray (N,)
        Heliocentric distance, kpc.
    pm_ra_cosdec, pm_dec : numpy.ndarray (N,)
        Proper motions mu_alpha* and mu_delta, rad/Myr.
    radial_velocity : numpy.ndarray (N,)
        Line-of-sight velocity, kpc/Myr.
    abundances : numpy.ndarray (N, R)
        Abundance ratios, dex.
    abundance_errors : numpy.ndarray (N, R) or None
        Their uncertainties, dex (``None``: neighbours' scatter, see
        :func:`abundance_deviations`).
    ids : numpy.ndarray of int (N,)
        Star identifiers; equal for bootstrap copies of one star (they are
        then never each other's neighbours).
    ratio_names : tuple of str (R,)
    """

    ra: np.ndarray
    dec: np.ndarray
    distance: np.ndarray
    pm_ra_cosdec: np.ndarray
    pm_dec: np.ndarray
    radial_velocity: np.ndarray
    abundances: np.ndarray
    abundance_errors: np.ndarray | None
    ids: np.ndarray
    ratio_names: tuple[str, ...]

    def __post_init__(self):
        n = self.ra.shape[0]
        for name in (
            "dec",
            "distance",
            "pm_ra_cosdec",
            "pm_dec",
            "radial_velocity",
            "ids",
        ):
            if getattr(self, name).shape != (n,):
                raise ValueError(
                    f"{name!r} must have shape ({n},); got {getattr(self, name).shape}"
                )
        if self.abundances.ndim != 2 or self.abundances.shape[0] != n:
            raise ValueError(
                f"'abundances' must have shape ({n}, R); got {self.abundances.shape}"
            )
        if (
            self.abundance_errors is not None
            and self.abundance_errors.shape != self.abundances.shape
        ):
            raise ValueError("'abundance_errors' must have the shape of 'abundances'")
        if len(self.ratio_names) != self.abundances.shape[1]:
            raise ValueError(
                f"{len(self.ratio_names)} ratio_names for {self.abundances.shape[1]} abundance columns"
            )
        if not np.all(self.distance > 0):
            raise ValueError("'distance' must be > 0 kpc")

    @classmethod
    def from_observed(
        cls,
        ra,
        dec,
        distance,
        pmra,
        pmdec,
        rv,
        abundances,
        abundance_errors=None,
        *,
        ratio_names=None,
        ids=None,
    ) -> OTIData:
        """From observables: plain numbers in deg, kpc, mas/yr (mu_alpha*), mas/yr, km/s; or Quantities.

        ``abundances`` (and errors) are (N,) or (N, R) in dex. Raises
        ``ValueError`` for non-finite or mismatched columns.
        """
        ra_ = _column(ra, u.deg, "ra") * _DEG
        n = ra_.shape[0]
        y = np.asarray(abundances, dtype=np.float64)
        y = y[:, None] if y.ndim == 1 else y
        if not np.all(np.isfinite(y)):
            raise ValueError("'abundances' contains non-finite values")
        e = None
        if abundance_errors is not None:
            e = np.asarray(abundance_errors, dtype=np.float64)
            e = e[:, None] if e.ndim == 1 else e
            if e.shape != y.shape or not np.all(np.isfinite(e) & (e >= 0)):
                raise ValueError(
                    "'abundance_errors' must be finite, >= 0 and shaped like 'abundances'"
                )
        names = (
            tuple(ratio_names)
            if ratio_names is not None
            else tuple(f"ratio{r}" for r in range(y.shape[1]))
        )
        return cls(
            ra=ra_,
            dec=_column(dec, u.deg, "dec", n) * _DEG,
            distance=_column(distance, u.kpc, "distance", n),
            pm_ra_cosdec=_column(pmra, u.mas / u.yr, "pmra", n) * MASYR_RADMYR,
            pm_dec=_column(pmdec, u.mas / u.yr, "pmdec", n) * MASYR_RADMYR,
            radial_velocity=_column(rv, u.km / u.s, "rv", n) * units.KMS,
            abundances=y,
            abundance_errors=e,
            ids=np.arange(n)
            if ids is None
            else np.asarray(ids).astype(np.int64).reshape(-1),
            ratio_names=names,
        )

    @classmethod
    def from_mock(cls, mock, *, ratio_names=None) -> OTIData:
        """Observe a :class:`MockCatalogue` in its own solar frame."""
        obs = mock.observed()
        return cls.from_observed(
            *(np.asarray(c) for c in obs),
            np.asarray(mock.abundances),
            np.asarray(mock.abundance_errors),
            ratio_names=ratio_names,
        )

    @property
    def n_stars(self) -> int:
        return int(self.ra.shape[0])

    @property
    def n_ratios(self) -> int:
        return int(self.abundances.shape[1])

    def ratio_index(self, ratio) -> int:
        """Column of ``ratio`` (a name or an index); ``ValueError`` if unknown."""
        if isinstance(ratio, (int, np.integer)) and not isinstance(ratio, bool):
            if not 0 <= ratio < self.n_ratios:
                raise ValueError(
                    f"ratio index {ratio} out of range for {self.n_ratios} ratios"
                )
            return int(ratio)
        try:
            return self.ratio_names.index(ratio)
        except ValueError:
            raise ValueError(
                f"unknown abundance ratio {ratio!r}; have {self.ratio_names}"
            ) from None

    def observed_arrays(self) -> tuple:
        """``(ra, dec, distance, pm_ra_cosdec, pm_dec, radial_velocity)`` as JAX arrays (internal units)."""
        return tuple(
            jnp.asarray(a)
            for a in (self.ra, self.dec, self.distance, self.pm_ra_cosdec, self.pm_dec, self.radial_velocity)
        )

    def take(self, rows, ratios=None) -> OTIData:
        """Rows (with repetition: a bootstrap resample keeps the ids) and optionally some ratios."""
        rows = np.asarray(rows)
        cols = (
            slice(None)
            if ratios is None
            else [self.ratio_index(r) for r in np.atleast_1d(ratios)]
        )
        names = (
            self.ratio_names
            if ratios is None
            else tuple(self.ratio_names[c] for c in cols)
        )
        e = (
            None
            if self.abundance_errors is None
            else self.abundance_errors[rows][:, cols]
        )
        return OTIData(
            ra=self.ra[rows],
            dec=self.dec[rows],
            distance=self.distance[rows],
            pm_ra_cosdec=self.pm_ra_cosdec[rows],
            pm_dec=self.pm_dec[rows],
            radial_velocity=self.radial_velocity[rows],
            abundances=self.abundances[rows][:, cols],
            abundance_errors=e,
            ids=self.ids[rows],
            ratio_names=names,
        )


# ----------------------------------------------------------------------------- settings
@dataclasses.dataclass(frozen=True, eq=False)
class OTISetup:
    """Everything but theta and the data that the objective depends on.

    Parameters
    ----------
    potential : MilkyWayPotential
        Base model; theta replaces its disk mass and scale height (halo re-solved).
    sun : SolarParameters
        Base frame; theta replaces ``z_sun`` and ``v_sun[2]`` (R_sun, v_x, v_y, roll kept).
    k : int
        Neighbours per star (64, PW2021; their scripts used 32).
    metric : {"raw", "spread"}
        Neighbour metric (:mod:`.neighbours`).
    scale : array_like (3,), optional
        Fixed action divisors, kpc^2/Myr. Required for ``"spread"`` (see
        :meth:`fix_scale` and the module docstring); ones for ``"raw"``.
    weighting : {"linear", "naive"}
        Appendix-A weighted or naive neighbour mean.
    include_c0, include_b2 : bool
        Add ``c0^2`` / ``b2^2`` to Eq. 8.
    action_method : AbstractActionMethod, optional
        Default ``StaeckelFudge()``.
    """

    potential: MilkyWayPotential = dataclasses.field(default_factory=MilkyWayPotential)
    sun: SolarParameters = PW2021
    k: int = DEFAULT_K
    metric: str = "raw"
    scale: np.ndarray | None = None
    weighting: str = "linear"
    include_c0: bool = False
    include_b2: bool = False
    action_method: object = None

    def __post_init__(self):
        if not isinstance(self.potential, MilkyWayPotential):
            raise TypeError(
                f"'potential' must be a MilkyWayPotential; got {type(self.potential).__name__}"
            )
        if self.metric not in ACTION_METRICS:
            raise ValueError(
                f"'metric' must be one of {ACTION_METRICS}; got {self.metric!r}"
            )
        if self.weighting not in WEIGHTINGS:
            raise ValueError(
                f"'weighting' must be one of {WEIGHTINGS}; got {self.weighting!r}"
            )
        if not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ValueError(f"'k' must be a positive integer; got {self.k!r}")
        if self.scale is not None:
            s = np.asarray(self.scale, dtype=np.float64)
            if s.shape != (3,) or not np.all(np.isfinite(s) & (s > 0)):
                raise ValueError(
                    f"'scale' must be 3 finite positive divisors; got {self.scale!r}"
                )
            object.__setattr__(self, "scale", s)

    @property
    def fixed_scale(self) -> np.ndarray:
        """The action divisors every evaluation uses."""
        if self.scale is not None:
            return self.scale
        if self.metric == "raw":
            return np.ones(3)
        raise ValueError(
            "metric='spread' needs a fixed scale: call setup.fix_scale(data, theta) first"
        )

    def fix_scale(self, data: OTIData, theta) -> OTISetup:
        """A copy whose ``scale`` is the metric's divisor at ``theta`` (held fixed from then on)."""
        if self.scale is not None or self.metric == "raw":
            return dataclasses.replace(self, scale=self.fixed_scale)
        J, ok, _ = _actions(theta, data, self)
        return dataclasses.replace(self, scale=action_scale(J[ok], "spread"))

    def describe(self) -> dict:
        """Plain-number summary for run metadata."""
        return {
            "k": int(self.k),
            "metric": self.metric,
            "scale_kpc2_per_myr": None
            if self.scale is None
            else [float(s) for s in self.scale],
            "weighting": self.weighting,
            "include_c0": bool(self.include_c0),
            "include_b2": bool(self.include_b2),
            "base_disk_mass_factor": float(self.potential.disk_mass_factor),
            "base_h_z_kpc": float(self.potential.disk.b),
            "sun": self.sun.describe(),
            "action_method": repr(self.action_method)
            if self.action_method is not None
            else "StaeckelFudge()",
        }


def fiducial_parameters(setup: OTISetup | None = None) -> np.ndarray:
    """theta of the base model and frame: ``(factor, b, z_sun, v_sun[2])`` (internal units)."""
    s = OTISetup() if setup is None else setup
    return np.array(
        [
            float(s.potential.disk_mass_factor),
            float(s.potential.disk.b),
            float(s.sun.z_sun),
            float(s.sun.v_sun[2]),
        ]
    )


def model_at(theta, setup: OTISetup):
    """The potential and the solar frame of ``theta`` (pure; theta may be traced).

    Returns
    -------
    (MilkyWayPotential, SolarParameters)
    """
    th = jnp.asarray(theta, dtype=jnp.float64)
    pot = setup.potential.with_disk(th[0], th[1])
    sun = eqx.tree_at(
        lambda s: (s.z_sun, s.v_sun),
        setup.sun,
        (th[2], setup.sun.v_sun.at[2].set(th[3])),
    )
    return pot, sun


def galactocentric_cylinder(theta, data: OTIData, setup: OTISetup):
    """``(R, z, v_R, v_phi, v_z)`` of every row in the frame of ``theta`` (pure JAX)."""
    _, sun = model_at(theta, setup)
    R, _, z, vR, vphi, vz = _cart_to_cyl(*_icrs_to_gc(*data.observed_arrays(), sun))
    return R, z, vR, vphi, vz


def _actions(theta, data: OTIData, setup: OTISetup):
    """Concrete actions (N, 3), validity mask and theta_z of every row; each distinct id computed once."""
    _, first, inverse = np.unique(data.ids, return_index=True, return_inverse=True)
    sub = data.take(first) if first.size < data.n_stars else data
    pot, _ = model_at(theta, setup)
    cyl = galactocentric_cylinder(theta, sub, setup)
    kw = {} if setup.action_method is None else {"method": setup.action_method}
    import warnings

    from ..actions import ActionWarning

    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", ActionWarning
        )  # flagged stars are dropped and counted
        res = compute_actions(pot, *cyl, **kw)
    J = np.asarray(res.actions)
    ok = np.asarray(res.ok)
    th = np.asarray(res.theta_z)
    if first.size < data.n_stars:
        inverse = inverse.reshape(-1)
        J, ok, th = J[inverse], ok[inverse], th[inverse]
    return J, ok, th


# ----------------------------------------------------------------------------- evaluation
@dataclasses.dataclass(frozen=True)
class ObjectiveEvaluation:
    """The objective at one theta.

    Attributes
    ----------
    theta : numpy.ndarray (4,)
    objective : numpy.ndarray (R,)
        Eq. 8 per abundance ratio, dex^2.
    fit : FourierFit
        Coefficients of shape (R, 5) (c0, a1, b1, a2, b2) with covariances.
    n_used, n_flagged : int
        Rows used and rows whose actions were flagged (dropped).
    """

    theta: np.ndarray
    objective: np.ndarray
    fit: FourierFit
    n_used: int
    n_flagged: int


def _fit_all(theta_z, dev, err, weights=None):
    """Fourier fits of R ratios sharing theta_z: dev, err (N, R) -> FourierFit batched over R."""
    th = jnp.broadcast_to(jnp.asarray(theta_z)[None, :], (dev.shape[1], dev.shape[0]))
    w = (
        None
        if weights is None
        else jnp.broadcast_to(jnp.asarray(weights)[None, :], th.shape)
    )
    return fit_fourier(
        th, jnp.asarray(dev).T, None if err is None else jnp.asarray(err).T, weights=w
    )


_fit_all_jit = jax.jit(_fit_all)


def evaluate_objective(theta, data: OTIData, setup: OTISetup) -> ObjectiveEvaluation:
    """Eq. 8 for every abundance ratio at ``theta`` (the reference, non-differentiable path).

    Parameters
    ----------
    theta : array_like (4,)
        ``(disk_mass_factor, h_z [kpc], z_sun [kpc], v_z_sun [kpc/Myr])``.
    data : OTIData
    setup : OTISetup
        With a fixed neighbour scale (:meth:`OTISetup.fix_scale` for ``"spread"``).

    Returns
    -------
    ObjectiveEvaluation

    Raises
    ------
    ValueError
        If theta does not have 4 entries, the disk is impossible (no positive
        halo mass) or too few stars remain for ``k`` neighbours.
    """
    th = np.asarray(theta, dtype=np.float64)
    if th.shape != (4,) or not np.all(np.isfinite(th)):
        raise ValueError(
            f"'theta' must be 4 finite numbers {PARAMETER_NAMES}; got {theta!r}"
        )
    scale = setup.fixed_scale
    J, ok, theta_z = _actions(th, data, setup)
    err = None if data.abundance_errors is None else data.abundance_errors[ok]
    dev = abundance_deviations(
        J[ok],
        data.abundances[ok],
        err,
        k=int(setup.k),
        scale=scale,
        ids=data.ids[ok],
        weighting=setup.weighting,
    )
    fit = _fit_all_jit(theta_z[ok], dev.deviation, dev.deviation_error)
    obj = oti_objective(fit, include_c0=setup.include_c0, include_b2=setup.include_b2)
    return ObjectiveEvaluation(
        theta=th,
        objective=np.asarray(obj),
        fit=fit,
        n_used=int(ok.sum()),
        n_flagged=int((~ok).sum()),
    )


def neighbour_lists(theta, data: OTIData, setup: OTISetup):
    """Neighbour rows (N, k) at ``theta`` and the validity mask (N,) for :func:`differentiable_objective`.

    Rows whose actions are flagged get dummy neighbours (row 0 repeated) and
    are given zero weight by the differentiable objective; they are never
    anyone's neighbour.
    """
    J, ok, _ = _actions(theta, data, setup)
    rows = np.flatnonzero(ok)
    nb = find_neighbours(J[ok], int(setup.k), scale=setup.fixed_scale, ids=data.ids[ok])
    idx = np.zeros((data.n_stars, int(setup.k)), dtype=np.int64)
    idx[rows] = rows[nb.indices]
    return idx, ok


def differentiable_objective(theta, data: OTIData, setup: OTISetup, neighbours, ok):
    """Eq. 8 per ratio (R,) as a pure JAX function of theta, for fixed neighbour lists.

    Equal to :func:`evaluate_objective` when ``neighbours, ok =
    neighbour_lists(theta, ...)`` at the same ``theta``; ``jax.grad`` gives the
    derivative with the neighbour assignment held fixed (module docstring).
    Every row's actions are computed (duplicates too), so the array shapes and
    hence the compiled code do not depend on the resample.
    """
    obs = data.observed_arrays()
    e = None if data.abundance_errors is None else jnp.asarray(data.abundance_errors)
    return _objective_core(
        theta,
        obs,
        jnp.asarray(data.abundances),
        e,
        jnp.asarray(neighbours),
        jnp.asarray(ok),
        jnp.asarray(setup.fixed_scale),
        setup.potential,
        setup.sun,
        setup.weighting,
        setup.include_c0,
        setup.include_b2,
        setup.action_method,
    )


def _objective_core(
    theta,
    obs,
    y,
    e,
    idx,
    okj,
    scale,
    potential,
    sun,
    weighting,
    include_c0,
    include_b2,
    method,
):
    th = jnp.asarray(theta, dtype=jnp.float64)
    pot = potential.with_disk(th[0], th[1])
    sun = eqx.tree_at(
        lambda s: (s.z_sun, s.v_sun), sun, (th[2], sun.v_sun.at[2].set(th[3]))
    )
    R, _, z, vR, vphi, vz = _cart_to_cyl(*_icrs_to_gc(*obs, sun))
    kw = {} if method is None else {"method": method}
    res = compute_actions(pot, R, z, vR, vphi, vz, **kw)
    x = jnp.where(okj[:, None], res.actions, 0.0) / scale
    off = x[idx] - x[:, None, :]
    mean, mean_var, s2, _ = _neighbour_mean(
        jnp, off, y[idx], None if e is None else e[idx], weighting
    )
    own = s2 if e is None else e * e
    dev = jnp.where(okj[:, None], y - mean, 0.0)
    err = jnp.where(okj[:, None], jnp.sqrt(own + mean_var), 1.0)
    theta_z = jnp.where(okj, res.theta_z, 0.0)
    fit = _fit_all(theta_z, dev, err, weights=okj.astype(jnp.float64))
    return oti_objective(fit, include_c0=include_c0, include_b2=include_b2)
