"""Orbit diagnostics for shearing-box stars (Modak et al. 2026, Secs. II.1, II.4, III.2, App. C).

Pure JAX functions of a :class:`~diskorbits.shearingbox.integrator.BoxState`
in internal units (kpc, Myr; actions in kpc^2/Myr, energies in
kpc^2/Myr^2). Quantities that depend on the radial position itself (guiding
centre, azimuthal action, Jacobi energy) use the position in the unbounded
sheet, ``x + nwrap * L``, so they are continuous when a star crosses the
shearing-periodic boundary; those that depend only on ``x - x_g`` (radial
action) are unaffected by the boundary anyway.

The observers (:func:`ensemble_observer`, :func:`per_star_observer`) are
:class:`equinox.Module` callables for the ``observe`` hook of
:func:`~diskorbits.shearingbox.integrator.integrate`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ..diffusion.analytic import cold_ensemble_rms_prediction, heating_constant, mean_radial_action_prediction
from .box import ShearingBox
from .integrator import BoxState

__all__ = [
    "guiding_centre",
    "radial_action",
    "azimuthal_action",
    "vertical_action",
    "vertical_energy",
    "jacobi_energy",
    "guiding_centre_shift_from_snapshots",
    "EnsembleObserver",
    "PerStarObserver",
    "ensemble_observer",
    "per_star_observer",
    "power_law_slope",
    "heating_constant",
    "mean_radial_action_prediction",
    "cold_ensemble_rms_prediction",
]


def _vy_tilde(box: ShearingBox, state: BoxState):
    # Invariant under the boundary map: vy gains q Omega L as x loses L.
    return state.vy + box.q * box.Omega * state.x


def guiding_centre(box: ShearingBox, state: BoxState):
    """Guiding-centre radius ``x_g = x + v~_y / ((2 - q) Omega)`` (Eq. 22), kpc.

    Uses the unwrapped position ``x + nwrap L``, so it is continuous across
    boundary crossings and may lie outside the box.

    Parameters
    ----------
    box : ShearingBox
    state : BoxState

    Returns
    -------
    Array, shape (N,)
        Guiding centre in kpc.
    """
    x_sheet = state.x + state.nwrap * box.L
    return x_sheet + _vy_tilde(box, state) / ((2.0 - box.q) * box.Omega)


def radial_action(box: ShearingBox, state: BoxState):
    """Epicyclic radial action ``J_R = [v_x^2 + kappa^2 (x - x_g)^2] / (2 kappa)`` (Eq. 8).

    Written as ``(v_x^2 + gamma^2 v~_y^2) / (2 kappa)`` using Eq. 22, which
    avoids the cancellation in ``x - x_g`` and is boundary-invariant.

    Returns
    -------
    Array, shape (N,)
        ``J_R`` in kpc^2/Myr.
    """
    vt = _vy_tilde(box, state)
    return (state.vx**2 + box.gamma**2 * vt**2) / (2.0 * box.kappa)


def azimuthal_action(box: ShearingBox, state: BoxState):
    """Azimuthal action ``J_phi = Omega R0^2 + (2 - q) Omega R0 x_g`` (Eq. 7), kpc^2/Myr.

    Uses the unwrapped guiding centre of :func:`guiding_centre`. For changes
    in ``J_phi`` prefer ``(2 - q) Omega R0 * delta x_g``, which avoids the
    large constant ``Omega R0^2``.
    """
    return box.Omega * box.R0**2 + (2.0 - box.q) * box.Omega * box.R0 * guiding_centre(box, state)


def vertical_action(box: ShearingBox, state: BoxState):
    """Vertical action in the epicycle approximation, ``(v_z^2 + nu^2 z^2) / (2 nu)`` (Eq. 14), kpc^2/Myr."""
    nu = box.nu
    return (state.vz**2 + nu**2 * state.z**2) / (2.0 * nu)


def vertical_energy(box: ShearingBox, state: BoxState):
    """Vertical energy ``v_z^2 / 2 + phi_vert(z)`` in the full Eq. 16 potential, kpc^2/Myr^2."""
    return 0.5 * state.vz**2 + box.vertical.potential(state.z)


def jacobi_energy(box: ShearingBox, state: BoxState):
    """Jacobi energy of the unperturbed box, kpc^2/Myr^2.

    ``E_J = |v|^2 / 2 - q Omega^2 x^2 + phi_vert(z)``, conserved by Eqs. 1-3
    with ``phi_g = 0`` (the Coriolis force does no work and the tidal force
    ``2 q Omega^2 x`` derives from ``-q Omega^2 x^2``). Evaluated in the
    unbounded sheet (``x + nwrap L``, ``v_y - nwrap q Omega L``), where it
    is continuous; equivalently
    ``E_J = kappa J_R - q (2 - q) Omega^2 x_g^2 / 2 + v_z^2/2 + phi_vert(z)``.
    Add ``phi_g`` for a static perturbation to get a conserved quantity.
    """
    shift = box.q * box.Omega * box.L
    x_sheet = state.x + state.nwrap * box.L
    vy_sheet = state.vy - state.nwrap * shift
    kinetic = 0.5 * (state.vx**2 + vy_sheet**2 + state.vz**2)
    return kinetic - box.q * box.Omega**2 * x_sheet**2 + box.vertical.potential(state.z)


def guiding_centre_shift_from_snapshots(box: ShearingBox, t, vx, vy_tilde):
    """Guiding-centre shift from stored snapshots, Eq. 24 (Modak et al. 2026).

    ``delta x_g(t) = int_0^t v_x dt' + delta v~_y(t) / ((2 - q) Omega)``, with
    the integral by the cumulative trapezoid rule over the snapshot times.
    Neither ``v_x`` nor ``v~_y = v_y + q Omega x`` jumps at a boundary
    crossing, so this needs no crossing bookkeeping.

    Parameters
    ----------
    box : ShearingBox
    t : Array, shape (n_t,)
        Snapshot times in Myr, increasing.
    vx : Array, shape (n_t, N)
        Radial velocities in kpc/Myr.
    vy_tilde : Array, shape (n_t, N)
        ``v_y + q Omega x`` (Eq. 21) in kpc/Myr.

    Returns
    -------
    Array, shape (n_t, N)
        ``x_g(t) - x_g(t[0])`` in kpc (zero in the first row).

    Raises
    ------
    ValueError
        If the shapes do not match.
    """
    t = jnp.asarray(t, dtype=jnp.float64)
    vx = jnp.asarray(vx, dtype=jnp.float64)
    vy_tilde = jnp.asarray(vy_tilde, dtype=jnp.float64)
    if t.ndim != 1 or vx.ndim < 1 or vx.shape != vy_tilde.shape or vx.shape[0] != t.shape[0]:
        raise ValueError(
            "guiding_centre_shift_from_snapshots: need 't' of shape (n_t,) and 'vx', 'vy_tilde' of the same "
            f"shape (n_t, ...); got t {t.shape}, vx {vx.shape}, vy_tilde {vy_tilde.shape}"
        )
    dt = jnp.diff(t).reshape((-1,) + (1,) * (vx.ndim - 1))
    increments = 0.5 * (vx[1:] + vx[:-1]) * dt
    integral = jnp.concatenate([jnp.zeros_like(vx[:1]), jnp.cumsum(increments, axis=0)], axis=0)
    return integral + (vy_tilde - vy_tilde[:1]) / ((2.0 - box.q) * box.Omega)


def _rms(a):
    return jnp.sqrt(jnp.mean(a**2))


class EnsembleObserver(eqx.Module):
    """Ensemble transport statistics relative to a reference state (Eqs. 10, 15, 25).

    Call with a :class:`BoxState` to get a dict of scalars (internal units):
    ``sigma_R = <v_x^2>^(1/2)``, ``sigma_z = <v_z^2>^(1/2)`` (kpc/Myr);
    ``rms_dJR``, ``rms_dJphi`` (Eq. 25, kpc^2/Myr); ``rms_dxg`` (kpc);
    ``mean_JR``, ``mean_Jz`` (kpc^2/Myr); ``ratio = rms_dJR / rms_dJphi``
    (nan when both vanish, e.g. at t = 0).
    Build with :func:`ensemble_observer`.
    """

    box: ShearingBox
    J_R0: jax.Array
    x_g0: jax.Array

    def __call__(self, state: BoxState) -> dict:
        per = PerStarObserver(self.box, self.J_R0, self.x_g0)(state)
        rms_dJR = _rms(per["dJ_R"])
        rms_dJphi = _rms(per["dJ_phi"])
        return {
            "sigma_R": _rms(state.vx),
            "sigma_z": _rms(state.vz),
            "rms_dJR": rms_dJR,
            "rms_dJphi": rms_dJphi,
            "rms_dxg": _rms(per["dx_g"]),
            "mean_JR": jnp.mean(self.J_R0 + per["dJ_R"]),
            "mean_Jz": jnp.mean(per["J_z"]),
            "ratio": rms_dJR / rms_dJphi,
        }


class PerStarObserver(eqx.Module):
    """Per-star action changes relative to a reference state.

    Call with a :class:`BoxState` to get a dict of ``(N,)`` arrays:
    ``dJ_R``, ``dJ_phi`` (kpc^2/Myr), ``dx_g`` (kpc) and ``J_z``
    (epicycle approximation, Eq. 14, kpc^2/Myr). Build with
    :func:`per_star_observer`.
    """

    box: ShearingBox
    J_R0: jax.Array
    x_g0: jax.Array

    def __call__(self, state: BoxState) -> dict:
        box = self.box
        dxg = guiding_centre(box, state) - self.x_g0
        return {
            "dJ_R": radial_action(box, state) - self.J_R0,
            # delta J_phi = (2 - q) Omega R0 delta x_g (Eq. 7) without the large Omega R0^2.
            "dJ_phi": (2.0 - box.q) * box.Omega * box.R0 * dxg,
            "dx_g": dxg,
            "J_z": vertical_action(box, state),
        }


def ensemble_observer(box: ShearingBox, initial_state: BoxState) -> EnsembleObserver:
    """Observer of ensemble statistics relative to ``initial_state`` (see :class:`EnsembleObserver`)."""
    return EnsembleObserver(box, radial_action(box, initial_state), guiding_centre(box, initial_state))


def per_star_observer(box: ShearingBox, initial_state: BoxState) -> PerStarObserver:
    """Observer of per-star action changes relative to ``initial_state`` (see :class:`PerStarObserver`)."""
    return PerStarObserver(box, radial_action(box, initial_state), guiding_centre(box, initial_state))


def power_law_slope(t, y, t_min, t_max):
    """Least-squares slope of ``log y`` against ``log t`` for ``t_min <= t <= t_max``.

    Parameters
    ----------
    t : Array, shape (n,)
        Times (any unit), > 0 inside the window.
    y : Array, shape (n,)
        Values, > 0 inside the window.
    t_min, t_max : float
        Window, same unit as ``t``.

    Returns
    -------
    slope : Array, scalar
        Best-fitting exponent ``p`` of ``y ~ t^p``.
    stderr : Array, scalar
        Its standard error from the residual scatter (nan with fewer than
        three points in the window).

    Raises
    ------
    ValueError
        If ``t_min >= t_max`` (when concrete) or the shapes differ.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> t = jnp.linspace(1.0, 10.0, 50)
    >>> round(float(power_law_slope(t, 3 * t**0.4, 2.0, 8.0)[0]), 12)
    0.4
    """
    t = jnp.asarray(t, dtype=jnp.float64)
    y = jnp.asarray(y, dtype=jnp.float64)
    if t.shape != y.shape or t.ndim != 1:
        raise ValueError(f"power_law_slope: 't' and 'y' must be 1-d of the same shape, got {t.shape} and {y.shape}")
    if not isinstance(t_min, jax.core.Tracer) and not isinstance(t_max, jax.core.Tracer):
        if not float(t_min) < float(t_max):
            raise ValueError(f"power_law_slope: need t_min < t_max, got t_min={t_min!r}, t_max={t_max!r}")
    inside = (t >= t_min) & (t <= t_max)
    m = inside.astype(jnp.float64)
    # Points outside the window get a harmless placeholder before the log.
    X = jnp.log(jnp.where(inside, t, 1.0))
    Y = jnp.log(jnp.where(inside, y, 1.0))
    n = jnp.sum(m)
    Xm = jnp.sum(m * X) / n
    Ym = jnp.sum(m * Y) / n
    Sxx = jnp.sum(m * (X - Xm) ** 2)
    slope = jnp.sum(m * (X - Xm) * (Y - Ym)) / Sxx
    resid = m * (Y - Ym - slope * (X - Xm))
    var = jnp.sum(resid**2) / (n - 2.0)
    stderr = jnp.where(n > 2, jnp.sqrt(var / Sxx), jnp.nan)
    return slope, stderr
