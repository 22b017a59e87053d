"""Phase-mixed mock catalogues with known truth for Orbital Torus Imaging tests.

How the mock is made (:func:`make_mock`)
----------------------------------------
1. Initial conditions from a quasi-isothermal-like disk
   (:class:`DiskInitialConditions`): surface density ``exp(-R/R_d)`` between
   ``r_min`` and ``r_max``, Gaussian ``v_R``, ``v_phi - v_c(R)``, ``z`` and
   ``v_z`` with dispersions falling as ``exp(-(R - r_ref)/R_sigma)``. These need
   not be an equilibrium: step 2 mixes them.
2. Each star is integrated in the meridional plane (``L_z`` conserved) with a
   kick-drift-kick leapfrog for its own random time ``t ~ U(t_min, t_max)``
   (a fixed number of steps, so the step is ``t / n_steps``). With ``t_max -
   t_min`` of many vertical and radial periods the angles of every star are
   uniformly distributed to ~1/(Omega (t_max - t_min)), while its actions are
   those of its initial condition: whatever the initial distribution, the
   resulting distribution function depends on the actions only.
3. The azimuth is uniform (axisymmetry). For a selection on a sphere of
   radius ``r`` around the Sun the azimuths that put a star at ``(R, z)`` inside
   the sphere form one arc of half-width ``h(R, z)``; the star is kept with
   probability ``h / h_max`` and given a uniform azimuth on the arc. This is
   exactly uniform azimuth followed by rejection, ~2 pi / (2 h_max) times
   cheaper. Pencil beams (:class:`PencilBeams`) then reject stars outside
   the survey fields.
4. Abundances depend only on the initial condition's actions (Stäckel fudge
   in the same potential, so the fudge's own angle-dependent errors enter
   the observed actions as they would for real data):
   :class:`LinearAbundanceModel` ``y = offset + gradient . (J - J_ref) +
   noise``. Optional ``angle_terms`` add ``cos/sin (m theta_z)`` terms in the
   true vertical angle, deliberately violating phase mixing.

The Sun sits at ``phi = 0`` of diskorbits' cylindrical convention, at the
position defined by ``sun`` (:mod:`diskorbits.frames`); sky positions for the
pencil beams use heliocentric directions in the Galactocentric axes (they
differ from Galactic ``(l, b)`` by the ~0.15 deg tilt of the Sun's height).
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
from ..frames import (
    PW2021,
    SolarParameters,
    cylindrical_to_cartesian,
    galactocentric_to_observed,
)
from ..potentials.base import AbstractPotential
from .selection import PencilBeams, SphereSelection, _num, _sun_geometry

__all__ = [
    "DiskInitialConditions",
    "LinearAbundanceModel",
    "MockCatalogue",
    "PencilBeams",
    "SphereSelection",
    "make_mock",
]

#: Candidates per integrated batch (one compiled shape).
BATCH: int = 8192
#: Give up after this many batches without reaching ``n_stars``.
MAX_BATCHES: int = 10_000
#: Stars whose leapfrog energy error |dE / E| exceeds this are discarded: only
#: integration failures (orbits plunging through the nucleus). With the
#: default settings the largest error is ~4e-4, far below, so the cut does not
#: select on the (phase-dependent) size of the leapfrog's energy oscillation.
ENERGY_RTOL: float = 1e-2


# ----------------------------------------------------------------------------- initial conditions
@dataclasses.dataclass(frozen=True)
class DiskInitialConditions:
    """Quasi-isothermal-like initial conditions of a stellar disk (before phase mixing).

    Plain numbers are internal units (kpc, kpc/Myr); Quantities are converted.

    Parameters
    ----------
    scale_length : float or Quantity (length)
        Surface-density scale length R_d (default 2.6 kpc).
    r_min, r_max : float or Quantity (length)
        Radial range of the initial positions (default 4-14 kpc).
    sigma_R, sigma_z : float or Quantity (velocity)
        Radial and vertical velocity dispersions at ``r_ref`` (35, 20 km/s).
    sigma_phi_ratio : float
        sigma_phi / sigma_R (0.7, about kappa / 2 Omega).
    scale_height : float or Quantity (length)
        Dispersion of the Gaussian initial ``z`` (0.3 kpc).
    dispersion_scale_length : float or Quantity (length)
        R_sigma in ``sigma(R) = sigma(r_ref) exp(-(R - r_ref)/R_sigma)`` (2 R_d).
    r_ref : float or Quantity (length)
        Reference radius of the dispersions (8.122 kpc).

    Raises
    ------
    ValueError
        If a length or dispersion is not positive or ``r_min >= r_max``.
    """

    scale_length: float = 2.6
    r_min: float = 4.0
    r_max: float = 14.0
    sigma_R: float = 35.0 * units.KMS
    sigma_z: float = 20.0 * units.KMS
    sigma_phi_ratio: float = 0.7
    scale_height: float = 0.3
    dispersion_scale_length: float = 5.2
    r_ref: float = 8.122

    def __post_init__(self):
        kinds = {
            "scale_length": "length",
            "r_min": "length",
            "r_max": "length",
            "sigma_R": "velocity",
            "sigma_z": "velocity",
            "sigma_phi_ratio": "dimensionless",
            "scale_height": "length",
            "dispersion_scale_length": "length",
            "r_ref": "length",
        }
        for name, kind in kinds.items():
            object.__setattr__(self, name, _num(getattr(self, name), kind, name))
        if not self.r_min < self.r_max:
            raise ValueError(f"need r_min < r_max; got {self.r_min!r}, {self.r_max!r} kpc")

    def sample(self, key, potential: AbstractPotential, n: int):
        """Draw ``n`` initial conditions ``(R, z, v_R, v_phi, v_z)`` (JAX arrays, internal units)."""
        return _sample_ic(self._params(), key, potential, int(n))

    def _params(self) -> dict:
        """The settings as traced scalars (other settings reuse the compiled sampler)."""
        return {f.name: jnp.asarray(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _sample_ic_impl(ic: dict, key, potential, n):
    k_r, k_v = jax.random.split(key)
    # radii by inverting the cumulative R Sigma(R) on a grid in [0, 1] mapped onto [r_min, r_max]
    grid = ic["r_min"] + (ic["r_max"] - ic["r_min"]) * jnp.linspace(0.0, 1.0, 2049)
    pdf = grid * jnp.exp(-grid / ic["scale_length"])
    cdf = jnp.concatenate([jnp.zeros(1), jnp.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * jnp.diff(grid))])
    R = jnp.interp(jax.random.uniform(k_r, (n,)) * cdf[-1], cdf, grid)
    g = jax.random.normal(k_v, (4, n))
    shrink = jnp.exp(-(R - ic["r_ref"]) / ic["dispersion_scale_length"])
    sR, sz = ic["sigma_R"] * shrink, ic["sigma_z"] * shrink
    vc = jax.vmap(lambda r: jnp.sqrt(r * potential._dphi(r, 0.0)[0]))(R)
    return R, ic["scale_height"] * g[0], sR * g[1], vc + ic["sigma_phi_ratio"] * sR * g[2], sz * g[3]


_sample_ic = eqx.filter_jit(_sample_ic_impl)


# ----------------------------------------------------------------------------- integration
def _leapfrog_star(potential, R, z, vR, vz, Lz, dt, n_steps):
    """Meridional-plane kick-drift-kick leapfrog for one star (effective potential Phi + L_z^2 / 2R^2)."""

    def acc(R, z):
        dR, dz = potential._dphi(R, z)
        return -dR + Lz * Lz / (R * R * R), -dz

    def step(_, s):
        R, z, vR, vz, aR, az = s
        vR, vz = vR + 0.5 * dt * aR, vz + 0.5 * dt * az
        R, z = R + dt * vR, z + dt * vz
        aR, az = acc(R, z)
        return R, z, vR + 0.5 * dt * aR, vz + 0.5 * dt * az, aR, az

    s = jax.lax.fori_loop(0, n_steps, step, (R, z, vR, vz, *acc(R, z)))
    return s[:4]


def _energy(potential, R, z, vR, vz, Lz):
    return potential._phi(R, z) + 0.5 * (vR * vR + vz * vz + (Lz / R) ** 2)


def _evolve(potential, R, z, vR, vz, Lz, dt, n_steps):
    """Final (R, z, v_R, v_z) and the relative energy error |E1 - E0| / |E0| of every star."""
    f = jax.vmap(_leapfrog_star, in_axes=(None, 0, 0, 0, 0, 0, 0, None))
    R1, z1, vR1, vz1 = f(potential, R, z, vR, vz, Lz, dt, n_steps)
    energy = jax.vmap(_energy, in_axes=(None, 0, 0, 0, 0, 0))
    E0 = energy(potential, R, z, vR, vz, Lz)
    E1 = energy(potential, R1, z1, vR1, vz1, Lz)
    return R1, z1, vR1, vz1, jnp.abs(E1 - E0) / jnp.abs(E0)


@eqx.filter_jit
def _candidates(ic, key, potential, t_min, t_max, n_steps):
    """One batch: initial conditions, random times, the evolved states and two uniform deviates per star.

    ``t_min``, ``t_max`` and ``n_steps`` are traced, so other settings reuse the compilation.
    """
    k_ic, k_t, k_acc, k_phi = jax.random.split(key, 4)
    R0, z0, vR0, vphi0, vz0 = _sample_ic_impl(ic, k_ic, potential, BATCH)
    t = t_min + (t_max - t_min) * jax.random.uniform(k_t, (BATCH,))
    Lz = R0 * vphi0
    final = _evolve(potential, R0, z0, vR0, vz0, Lz, t / n_steps, n_steps)
    u_acc = jax.random.uniform(k_acc, (BATCH,))
    u_phi = jax.random.uniform(k_phi, (BATCH,), minval=-1.0, maxval=1.0)
    return (R0, z0, vR0, vphi0, vz0, t), final, u_acc, u_phi


# ----------------------------------------------------------------------------- selection
def _inverse_action(value, name):
    if isinstance(value, u.Quantity):
        try:
            return jnp.asarray(value.to_value(1 / units.ACTION), dtype=jnp.float64)
        except u.UnitConversionError:
            raise u.UnitConversionError(f"{name!r} has unit {value.unit!s}; expected 1 / action") from None
    return jnp.asarray(value, dtype=jnp.float64)


class LinearAbundanceModel(eqx.Module):
    """Abundances linear in the actions, with optional angle terms and Gaussian noise.

    ``y_r = offset_r + sum_i gradient_ri (J_i - reference_i)
    + A_r cos th + B_r sin th + C_r cos 2 th + D_r sin 2 th + noise_r * N(0, 1)``,
    ``th = theta_z`` the true vertical angle. With zero ``angle_terms`` the
    abundances depend on the actions only (phase mixed).

    Parameters
    ----------
    offset : array_like (R,)
        Abundance at the reference actions, dex.
    gradient : array_like (R, 3) or Quantity (1 / action)
        d y / d (J_R, J_phi, J_z), dex per kpc^2/Myr for plain numbers (e.g.
        ``0.01 / (u.kpc * u.km / u.s)``).
    reference : array_like (3,) or Quantity (action), optional
        Reference actions (default ``(0, 8.122 kpc x 229 km/s, 0)``).
    noise : array_like (R,)
        Gaussian measurement noise, dex (reported as the abundance errors).
    angle_terms : array_like (R, 4), optional
        Amplitudes (dex) of ``cos theta_z, sin theta_z, cos 2 theta_z, sin 2 theta_z``.

    Raises
    ------
    ValueError
        For inconsistent shapes or negative noise.

    Examples
    --------
    >>> import astropy.units as u
    >>> m = LinearAbundanceModel([0.1], [[0.0, 0.0, 0.01]] / (u.kpc * u.km / u.s), noise=[0.02])
    >>> m.n_ratios, bool(m.depends_on_angle)
    (1, False)
    """

    offset: jax.Array
    gradient: jax.Array
    reference: jax.Array
    noise: jax.Array
    angle_terms: jax.Array

    def __init__(self, offset, gradient, reference=None, noise=0.0, angle_terms=None):
        self.offset = jnp.atleast_1d(jnp.asarray(offset, dtype=jnp.float64))
        n = self.offset.shape[0]
        self.gradient = jnp.broadcast_to(_inverse_action(gradient, "gradient"), (n, 3))
        if reference is None:
            reference = [0.0, 8.122 * 229.0 * units.KPC_KMS, 0.0]
        self.reference = jnp.asarray(units.to_internal(reference, "action", "reference"))
        self.noise = jnp.broadcast_to(jnp.asarray(noise, dtype=jnp.float64), (n,))
        at = jnp.zeros((n, 4)) if angle_terms is None else jnp.asarray(angle_terms, dtype=jnp.float64)
        self.angle_terms = jnp.broadcast_to(at, (n, 4))

    def __check_init__(self):
        if self.offset.ndim != 1 or self.reference.shape != (3,):
            raise ValueError(
                f"offset must be (R,) and reference (3,); got {self.offset.shape}, {self.reference.shape}"
            )
        if not isinstance(self.noise, jax.core.Tracer) and not np.all(np.asarray(self.noise) >= 0):
            raise ValueError(f"noise must be >= 0; got {self.noise!r}")

    @property
    def n_ratios(self) -> int:
        """Number of abundance ratios R."""
        return int(self.offset.shape[0])

    @property
    def depends_on_angle(self):
        """Whether any angle term is non-zero."""
        return jnp.any(self.angle_terms != 0)

    def mean(self, actions, theta_z=None):
        """Noise-free abundances (N, R) for actions (N, 3) (and true theta_z (N,) if angle terms)."""
        return self._mean(jnp, jnp.asarray(actions, dtype=jnp.float64), theta_z)

    def _mean(self, xp, J, theta_z):
        y = xp.asarray(self.offset) + (J - xp.asarray(self.reference)) @ xp.asarray(self.gradient).T
        if theta_z is not None:
            th = xp.asarray(theta_z, dtype=xp.float64)[:, None]
            basis = xp.concatenate([xp.cos(th), xp.sin(th), xp.cos(2 * th), xp.sin(2 * th)], axis=-1)
            y = y + basis @ xp.asarray(self.angle_terms).T
        return y


# ----------------------------------------------------------------------------- the catalogue
class MockCatalogue(eqx.Module):
    """A phase-mixed mock with known truth (all arrays internal units, N stars).

    Attributes
    ----------
    R, phi, z, v_R, v_phi, v_z : jax.Array (N,)
        Galactocentric cylindrical phase space (diskorbits convention: Sun at
        phi = 0, v_phi > 0 for rotation), kpc, rad, kpc/Myr.
    actions : jax.Array (N, 3)
        True (J_R, J_phi, J_z) of the initial conditions, kpc^2/Myr.
    theta_z : jax.Array (N,)
        True vertical angle at the observed point (NaN unless the abundance
        model depends on angle; then also NaN -- with NaN abundances -- for
        the rare star whose observed-point actions are flagged).
    abundances, abundance_errors, abundance_means : jax.Array (N, R)
        Noisy abundances, their (known) uncertainties and noise-free values, dex.
    time : jax.Array (N,)
        Integration time of each star, Myr.
    sun : SolarParameters
        Frame the mock was placed in.
    """

    R: jax.Array
    phi: jax.Array
    z: jax.Array
    v_R: jax.Array
    v_phi: jax.Array
    v_z: jax.Array
    actions: jax.Array
    theta_z: jax.Array
    abundances: jax.Array
    abundance_errors: jax.Array
    abundance_means: jax.Array
    time: jax.Array
    sun: SolarParameters

    @property
    def n_stars(self) -> int:
        return int(self.R.shape[0])

    @property
    def cylindrical(self):
        """``(R, phi, z, v_R, v_phi, v_z)``."""
        return self.R, self.phi, self.z, self.v_R, self.v_phi, self.v_z

    def cartesian(self):
        """Galactocentric Cartesian phase space (astropy frame), :class:`CartesianCoordinates`."""
        return cylindrical_to_cartesian(*self.cylindrical)

    def observed(self):
        """Heliocentric observables in the mock's ``sun`` frame, :class:`ObservedCoordinates`."""
        return galactocentric_to_observed(*self.cartesian(), sun=self.sun)


def _default_abundance_model():
    per_action = 1.0 / units.KPC_KMS  # dex per kpc km/s -> dex per internal action unit
    return LinearAbundanceModel([0.0], [[0.0, 0.0, 0.01 * per_action]], noise=[0.02])


def make_mock(
    key,
    potential: AbstractPotential,
    n_stars: int,
    *,
    abundance_model: LinearAbundanceModel | None = None,
    initial: DiskInitialConditions | None = None,
    selection: SphereSelection | None = SphereSelection(),
    sun: SolarParameters = PW2021,
    time_range=(1000.0, 5000.0),
    n_steps: int = 4000,
    action_method=None,
) -> MockCatalogue:
    """A phase-mixed mock catalogue with abundances that depend on the actions (module docstring).

    Parameters
    ----------
    key : jax.Array
        PRNG key; the catalogue is a deterministic function of it and the settings.
    potential : AbstractPotential
        The true potential (orbits and true actions).
    n_stars : int
        Stars in the catalogue (after selection).
    abundance_model : LinearAbundanceModel, optional
        Default: one ratio rising with J_z by 0.01 dex per kpc km/s, 0.02 dex noise.
    initial : DiskInitialConditions, optional
        Default ``DiskInitialConditions()``.
    selection : SphereSelection or None
        Positional selection (default: 3 kpc sphere around the Sun); ``None``
        keeps all stars, with uniform azimuths.
    sun : SolarParameters
        Position of the Sun (default PW2021).
    time_range : (float, float) or Quantity (time)
        ``(t_min, t_max)`` of the random integration times, Myr.
    n_steps : int
        Leapfrog steps per star (step ``t / n_steps``; the default gives
        <= 1.25 Myr for 5 Gyr).
    action_method : AbstractActionMethod, optional
        For the true actions and angles (default ``StaeckelFudge()``).

    Returns
    -------
    MockCatalogue

    Raises
    ------
    ValueError
        For bad settings (``n_stars < 1``, ``t_min >= t_max``, ...).
    RuntimeError
        If the selection keeps too few stars to reach ``n_stars``.
    """
    if not isinstance(potential, AbstractPotential):
        raise TypeError(f"potential must be an AbstractPotential; got {type(potential).__name__}")
    if not isinstance(n_stars, (int, np.integer)) or n_stars < 1:
        raise ValueError(f"'n_stars' must be a positive integer; got {n_stars!r}")
    if not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"'n_steps' must be a positive integer; got {n_steps!r}")
    t_min, t_max = (float(t) for t in units.to_internal(time_range, "time", "time_range"))
    if not 0 <= t_min < t_max:
        raise ValueError(f"need 0 <= t_min < t_max; got time_range={time_range!r}")
    model = _default_abundance_model() if abundance_model is None else abundance_model
    initial = DiskInitialConditions() if initial is None else initial
    if selection is not None and not isinstance(selection, SphereSelection):
        raise TypeError(f"'selection' must be a SphereSelection or None; got {type(selection).__name__}")

    R_sun, _, sun_pos = _sun_geometry(sun)
    wanted = n_stars + max(16, n_stars // 100)  # spares replace stars whose actions are flagged
    kept: list[np.ndarray] = []
    n_kept = 0
    for _ in range(MAX_BATCHES):
        if n_kept >= wanted:
            break
        key, sub = jax.random.split(key)
        draws = _candidates(initial._params(), sub, potential, jnp.asarray(t_min), jnp.asarray(t_max), jnp.asarray(int(n_steps)))
        start, final, u_acc, u_phi = jax.tree_util.tree_map(np.asarray, draws)
        R0, z0, vR0, vphi0, vz0, t = start
        R1, z1, vR1, vz1, dE = final
        Lz = R0 * vphi0
        # unbound or badly integrated orbits (plunging through the nucleus) are dropped
        ok = np.isfinite(R1) & np.isfinite(z1) & (R1 > 0) & (dE < ENERGY_RTOL)
        if selection is None:
            phi = np.pi * u_phi
        else:
            half = selection.half_arc(np.where(ok, R1, R_sun), z1, sun)
            ok &= u_acc * selection.max_half_arc(sun) < half
            phi = u_phi * half
            if selection.beams is not None:
                dx, dy, dz = -R1 * np.cos(phi) - sun_pos[0], R1 * np.sin(phi) - sun_pos[1], z1 - sun_pos[2]
                ok &= selection.beams.contains(dx, dy, dz)
        vphi1 = Lz / np.where(ok, R1, 1.0)
        cols = [R0, z0, vR0, vphi0, vz0, R1, phi, z1, vR1, vphi1, vz1, t]
        batch = np.stack(cols, axis=-1)[ok]
        kept.append(batch)
        n_kept += batch.shape[0]
    else:
        raise RuntimeError(
            f"only {n_kept} of {n_stars} stars selected after {MAX_BATCHES} batches of {BATCH}: "
            "the selection and the initial conditions hardly overlap"
        )
    table = np.concatenate(kept)

    # True actions of the initial conditions, replacing (rare) flagged stars by spares.
    kw = {} if action_method is None else {"method": action_method}
    take = np.arange(n_stars)
    res = compute_actions(potential, *table[take, :5].T, **kw)
    J = np.asarray(res.actions)
    bad = ~np.asarray(res.ok)
    if np.any(bad):
        spares = np.arange(n_stars, table.shape[0])
        res2 = compute_actions(potential, *table[spares, :5].T, **kw)
        good_spares = spares[np.asarray(res2.ok)]
        if good_spares.size < bad.sum():
            raise RuntimeError(f"{int(bad.sum())} stars have flagged actions and too few spares replace them")
        take = np.concatenate([take[~bad], good_spares[: bad.sum()]])
        J = np.concatenate([J[~bad], np.asarray(res2.actions)[np.asarray(res2.ok)][: bad.sum()]])
    obs = table[take]
    R1, phi, z1, vR1, vphi1, vz1, t = obs[:, 5:].T

    theta_z = np.full(n_stars, np.nan)
    if bool(model.depends_on_angle):
        theta_z = np.asarray(compute_actions(potential, R1, z1, vR1, vphi1, vz1, **kw).theta_z)
    means = model._mean(np, J, None if np.all(np.isnan(theta_z)) else theta_z)
    key, k_noise = jax.random.split(key)
    eps = np.asarray(jax.random.normal(k_noise, means.shape))
    noise = np.broadcast_to(np.asarray(model.noise), means.shape)
    arr = lambda a: jnp.asarray(np.ascontiguousarray(a), dtype=jnp.float64)
    return MockCatalogue(
        R=arr(R1),
        phi=arr(phi),
        z=arr(z1),
        v_R=arr(vR1),
        v_phi=arr(vphi1),
        v_z=arr(vz1),
        actions=arr(J),
        theta_z=arr(theta_z),
        abundances=arr(means + noise * eps),
        abundance_errors=arr(noise),
        abundance_means=arr(means),
        time=arr(t),
        sun=sun,
    )
