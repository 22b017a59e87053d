"""Reference ("exact") actions and frequencies from surfaces of section.

For validating approximate action estimators (the Stäckel fudge) we need
actions that are limited only by numerical precision. For a regular orbit in
an axisymmetric potential the motion in the meridional plane (R, z) under

    H = (p_R^2 + p_z^2) / 2 + Phi(R, z) + L_z^2 / (2 R^2)

lies on a 2-torus, and each action is (1 / 2 pi) times the line integral of
p . dq around one of its fundamental cycles. Any closed curve on the torus in
the same homology class gives the same integral, so (e.g. Binney & Tremaine
2008, Sec. 3.5; Binney & McMillan 2016, MNRAS 456, 1982, for the same test):

* J_R = (1 / 2 pi) * area of the invariant curve traced by the consequents
  (R, p_R) on the surface z = 0, p_z > 0 (there dz = 0 so p . dq = p_R dR);
* J_z = (1 / 2 pi) * area of the invariant curve traced by (z, p_z) on the
  surface R = R_0, p_R > 0, where R_0 is the middle of the orbit's radial range.

Frequencies follow from the crossing times: each upward passage through z = 0
advances theta_z by exactly 2 pi *on average* (the surface is a graph
theta_z = g(theta_R) on the torus), so 2 pi / Omega_z is the long-time mean
interval between upward crossings, and likewise 2 pi / Omega_R for the outward
crossings of R = R_0. The intervals fluctuate quasi-periodically about their
mean; a weighted Birkhoff average (Das, Sander, Saiki, Yorke, Yorke & Yorke
2017, Nonlinearity 30, 4111) converges super-polynomially for such sequences,
where a plain mean converges only as 1/N. Omega_phi is the weighted time
average of L_z / R^2.

Numerics: a fixed-step 6th-order symplectic composition (Yoshida 1990, Phys.
Lett. A 150, 262, solution A) of the leapfrog integrates all orbits at once
(jitted, vmapped, float64). Crossings are detected in the step loop; each is
then located to integrator precision by Newton iterations on a sub-step of
the same integrator. Areas come from a periodic cubic spline of r^2(phi), with
(r, phi) polar coordinates of the normalised consequents about their centroid.

Every orbit gets a convergence estimate — the larger of (i) the difference
between the actions from the first and second half of the consequents and
(ii) the difference between the areas from the even- and odd-ranked points —
and a bit flag (:class:`ExactFlag`) marking orbits that are too short,
irregular (chaotic or resonantly trapped: the consequents do not fall on one
smooth star-shaped curve), unconverged, or badly integrated.

This module is a validation tool: the integration is jitted, the curve
analysis is plain NumPy/SciPy on the host.
"""

from __future__ import annotations

import enum

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from scipy.interpolate import CubicSpline

from .. import _config  # noqa: F401  (float64)

__all__ = ["ExactFlag", "ExactActions", "sos_actions", "YOSHIDA6"]

# Yoshida (1990) solution A: a symmetric product of seven leapfrogs with these
# step fractions has order 6; w0 makes the fractions sum to one.
_W1, _W2, _W3 = -1.17767998417887, 0.235573213359357, 0.784513610477560
_W0 = 1.0 - 2.0 * (_W1 + _W2 + _W3)
#: Step fractions of the 6th-order symplectic composition.
YOSHIDA6 = (_W3, _W2, _W1, _W0, _W1, _W2, _W3)

_NEWTON_ITERATIONS = 5  # quadratic convergence from a linear first guess: 3 suffice
_MIN_CROSSINGS = 24  # below this the curve and the averages are not trustworthy
_ROUGHNESS_MAX = 1e-2  # relative mid-point interpolation error marking a non-smooth curve
_ENERGY_TOL = 1e-9  # relative energy oscillation above which the step was too long


class ExactFlag(enum.IntFlag):
    """Bit flags of :class:`ExactActions` (0 = fine)."""

    OK = 0
    FEW_CROSSINGS = 1  #: fewer than 24 consequents on a section
    IRREGULAR = 2  #: consequents not on one smooth closed curve (chaos, resonance, bad R_0)
    UNCONVERGED = 4  #: half-vs-half or even-vs-odd difference above ``tol``
    BUFFER_FULL = 8  #: more crossings than ``max_crossings``; later ones dropped
    ENERGY = 16  #: relative energy oscillation above 1e-9
    NONFINITE = 32  #: non-finite input or energy


class ExactActions(eqx.Module):
    """Surface-of-section actions and frequencies (internal units) with diagnostics.

    Attributes
    ----------
    J_R, J_z, L_z : np.ndarray, action (kpc^2/Myr)
    Omega_R, Omega_phi, Omega_z : np.ndarray, frequency (1/Myr)
    err_J_R, err_J_z, err_Omega_R, err_Omega_z : np.ndarray
        Relative convergence estimates (see module docstring).
    n_z, n_R : np.ndarray of int
        Number of consequents on the z = 0 and R = R_0 sections.
    R_0 : np.ndarray, length (kpc)
        Radius of the J_z section.
    energy_error : np.ndarray
        Max - min of E over the orbit, relative to |E|.
    flag : np.ndarray of int
        :class:`ExactFlag` bits.
    """

    J_R: np.ndarray
    J_z: np.ndarray
    L_z: np.ndarray
    Omega_R: np.ndarray
    Omega_phi: np.ndarray
    Omega_z: np.ndarray
    err_J_R: np.ndarray
    err_J_z: np.ndarray
    err_Omega_R: np.ndarray
    err_Omega_z: np.ndarray
    n_z: np.ndarray
    n_R: np.ndarray
    R_0: np.ndarray
    energy_error: np.ndarray
    flag: np.ndarray


# ----------------------------------------------------------------------------- integrator
def _accel(potential, q, L2):
    dR, dz = potential._dphi(q[0], q[1])
    return jnp.stack([-dR + L2 / q[0] ** 3, -dz])


def _energy(potential, q, p, L2):
    return 0.5 * (p[0] ** 2 + p[1] ** 2) + potential._phi(q[0], q[1]) + 0.5 * L2 / q[0] ** 2


def _step(potential, q, p, L2, h):
    """One Yoshida-6 step of length h (drift-kick-drift leapfrogs; 7 force evaluations)."""
    for w in YOSHIDA6:
        q = q + 0.5 * w * h * p
        p = p + w * h * _accel(potential, q, L2)
        q = q + 0.5 * w * h * p
    return q, p


def _birkhoff_weight(s):
    """The C-infinity bump exp(-1 / (s (1 - s))) on (0, 1) of Das et al. (2017)."""
    s = jnp.clip(s, 1e-12, 1.0 - 1e-12)
    return jnp.exp(-1.0 / (s * (1.0 - s)))


def _integrate_one(potential, q0, p0, L2, dt, n_pre, n_steps, nbuf_z, nbuf_R):
    """Integrate one meridional orbit; return crossing brackets and diagnostics."""

    # Pre-pass: radial range -> R_0 in the middle of it.
    def pre(carry, _):
        q, p, rmin, rmax = carry
        q, p = _step(potential, q, p, L2, dt)
        return (q, p, jnp.minimum(rmin, q[0]), jnp.maximum(rmax, q[0])), None

    (q, p, rmin, rmax), _ = lax.scan(pre, (q0, p0, q0[0], q0[0]), None, length=n_pre)
    R0 = 0.5 * (rmin + rmax)
    E0 = _energy(potential, q, p, L2)

    bz0 = jnp.zeros((nbuf_z, 5))
    bR0 = jnp.zeros((nbuf_R, 5))

    def body(carry, n):
        q, p, kz, kR, bz, bR, emin, emax, wsum, wphi = carry
        q1, p1 = _step(potential, q, p, L2, dt)
        rec = jnp.concatenate([q, p, jnp.asarray(n, float)[None]])
        up = (q[1] < 0.0) & (q1[1] >= 0.0)
        out = (q[0] < R0) & (q1[0] >= R0)
        bz = bz.at[jnp.minimum(kz, nbuf_z - 1)].set(jnp.where(up, rec, bz[jnp.minimum(kz, nbuf_z - 1)]))
        bR = bR.at[jnp.minimum(kR, nbuf_R - 1)].set(jnp.where(out, rec, bR[jnp.minimum(kR, nbuf_R - 1)]))
        E = _energy(potential, q1, p1, L2)
        # Omega_phi as the Birkhoff-weighted time average of L / R^2 (midpoint rule).
        w = _birkhoff_weight((n + 0.5) / n_steps)
        Rm = 0.5 * (q[0] + q1[0])
        return (
            q1,
            p1,
            kz + up.astype(int),
            kR + out.astype(int),
            bz,
            bR,
            jnp.minimum(emin, E),
            jnp.maximum(emax, E),
            wsum + w,
            wphi + w / Rm**2,
        ), None

    init = (q, p, 0, 0, bz0, bR0, E0, E0, 0.0, 0.0)
    (q, p, kz, kR, bz, bR, emin, emax, wsum, wphi), _ = lax.scan(body, init, jnp.arange(n_steps))
    omega_phi = jnp.sqrt(L2) * wphi / wsum

    # Locate each crossing to integrator precision: Newton on the sub-step length.
    def refine(rec, coord, level):
        qn, pn = rec[:2], rec[2:4]
        g0, gd0 = qn[coord] - level, pn[coord]
        tau = jnp.clip(-g0 / gd0, 0.0, dt)

        def it(tau, _):
            qq, pp = _step(potential, qn, pn, L2, tau)
            return tau - (qq[coord] - level) / pp[coord], None

        tau, _ = lax.scan(it, tau, None, length=_NEWTON_ITERATIONS)
        qq, pp = _step(potential, qn, pn, L2, tau)
        return jnp.concatenate([qq, pp, (rec[4] * dt + tau)[None]])

    cz = jax.vmap(lambda r: refine(r, 1, 0.0))(bz)
    cR = jax.vmap(lambda r: refine(r, 0, R0))(bR)
    return cz, cR, kz, kR, R0, (emax - emin) / jnp.abs(E0), omega_phi, E0


@eqx.filter_jit
def _integrate_batch(potential, q0, p0, L2, dt, n_pre, n_steps, nbuf_z, nbuf_R):
    fn = lambda q, p, l2, h: _integrate_one(potential, q, p, l2, h, n_pre, n_steps, nbuf_z, nbuf_R)  # noqa: E731
    return jax.vmap(fn)(q0, p0, L2, dt)


# ----------------------------------------------------------------------------- curve analysis
def _star_area(x, y):
    """Area of the closed curve through points (x, y), and a roughness measure.

    Points are normalised by their spread, put in polar coordinates about their
    centroid and sorted by angle; r^2(phi) is interpolated by a periodic cubic
    spline whose exact integral gives the area (error O(h^4) for a smooth,
    star-shaped curve). Returns (area, area_even, area_odd, roughness), where the
    even/odd areas use every other sorted point and ``roughness`` is the largest
    relative error of the even-point spline at the odd points.
    """
    xc, yc = x.mean(), y.mean()
    sx, sy = x.std(), y.std()
    if not (sx > 0 and sy > 0):
        return 0.0, 0.0, 0.0, np.inf
    X, Y = (x - xc) / sx, (y - yc) / sy
    phi = np.arctan2(Y, X)
    r2 = X * X + Y * Y
    order = np.argsort(phi)
    phi, r2 = phi[order], r2[order]
    keep = np.concatenate([[True], np.diff(phi) > 1e-14])  # drop exact angle ties
    phi, r2 = phi[keep], r2[keep]

    def area(ph, rr):
        ph_ext = np.concatenate([ph, [ph[0] + 2 * np.pi]])
        rr_ext = np.concatenate([rr, [rr[0]]])
        spl = CubicSpline(ph_ext, rr_ext, bc_type="periodic")
        return 0.5 * spl.integrate(ph_ext[0], ph_ext[-1]) * sx * sy, spl

    a, _ = area(phi, r2)
    n = phi.size - phi.size % 2
    a_even, spl_even = area(phi[0:n:2], r2[0:n:2])
    a_odd, _ = area(phi[1:n:2], r2[1:n:2])
    rough = np.max(np.abs(spl_even(phi[1:n:2]) - r2[1:n:2])) / np.mean(r2)
    return a, a_even, a_odd, rough


def _section_action(x, y):
    """Action, relative error estimate and roughness from one section's consequents."""
    a, ae, ao, rough = _star_area(x, y)
    h = x.size // 2
    a1 = _star_area(x[:h], y[:h])[0]
    a2 = _star_area(x[h:], y[h:])[0]
    scale = max(abs(a), 1e-300)
    err = max(abs(a1 - a2), abs(ae - ao)) / scale
    return a / (2 * np.pi), err, rough


def _birkhoff_period(t):
    """Mean interval of the crossing times ``t`` by a weighted Birkhoff average, and halves' spread."""

    def wba(dt):
        s = (np.arange(dt.size) + 0.5) / dt.size
        w = np.exp(-1.0 / (s * (1.0 - s)))
        return np.sum(w * dt) / np.sum(w)

    d = np.diff(t)
    P = wba(d)
    h = d.size // 2
    err = abs(wba(d[:h]) - wba(d[h:])) / P
    return P, err


# ----------------------------------------------------------------------------- public entry
def sos_actions(
    potential,
    R,
    z,
    v_R,
    v_phi,
    v_z,
    *,
    n_steps: int = 60_000,
    steps_per_period: int = 80,
    max_crossings: int = 2048,
    tol: float = 1e-4,
) -> ExactActions:
    """Reference actions and frequencies of disk orbits from surfaces of section.

    Parameters
    ----------
    potential : AbstractPotential
    R, z : array_like, length (kpc)
    v_R, v_phi, v_z : array_like, velocity (kpc/Myr)
        Initial phase-space coordinates, broadcast to one shape (N,).
    n_steps : int
        Number of integration steps after a pre-pass of ``n_steps // 20``
        steps that finds the radial range (hence R_0). The integration covers
        ``n_steps / steps_per_period`` vertical periods: the default gives
        ~750 consequents on z = 0 and ~200-300 on R = R_0 for disk orbits.
    steps_per_period : int
        Step = 2 pi / max(kappa, nu) / ``steps_per_period``, with kappa and nu
        the epicycle and vertical frequencies at the smaller of R and the
        guiding radius (where the orbit's fastest oscillation happens).
    max_crossings : int
        Size of the crossing buffers per orbit.
    tol : float
        Relative convergence tolerance for :attr:`ExactFlag.UNCONVERGED`.

    Returns
    -------
    ExactActions
        NumPy arrays of shape (N,).

    Notes
    -----
    Cost: 7 force evaluations per step per orbit, ~4.5e5 per orbit by default.
    Orbits with a tiny J_R (near-circular) or J_z have badly conditioned
    *relative* errors; their flags say so.
    """
    arrs = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, float)) for a in (R, z, v_R, v_phi, v_z)))
    R, z, vR, vphi, vz = (a.ravel() for a in arrs)
    if n_steps < 1000:
        raise ValueError(f"n_steps must be >= 1000, got {n_steps}")
    if steps_per_period < 16:
        raise ValueError(f"steps_per_period must be >= 16, got {steps_per_period}")
    Lz = R * vphi
    L2 = Lz**2
    Rg = np.asarray(potential.circular_radius(np.abs(Lz)))
    Rf = np.minimum(R, Rg)
    freq = np.maximum(np.asarray(potential.kappa(Rf)), np.asarray(potential.nu(Rf)))
    dt = 2 * np.pi / freq / steps_per_period
    q0 = np.stack([R, z], -1)
    p0 = np.stack([vR, vz], -1)
    n_pre = max(n_steps // 20, 1)
    cz, cR, kz, kR, R0, eerr, omphi, E0 = jax.device_get(
        _integrate_batch(
            potential,
            jnp.asarray(q0),
            jnp.asarray(p0),
            jnp.asarray(L2),
            jnp.asarray(dt),
            n_pre,
            n_steps,
            max_crossings,
            max_crossings,
        )
    )

    N = R.size
    out = {k: np.full(N, np.nan) for k in ("J_R", "J_z", "Om_R", "Om_z", "eJR", "eJz", "eOR", "eOz")}
    flag = np.zeros(N, dtype=np.int64)
    for i in range(N):
        f = 0
        if not np.isfinite(E0[i]):
            flag[i] = ExactFlag.NONFINITE
            continue
        if kz[i] > max_crossings or kR[i] > max_crossings:
            f |= ExactFlag.BUFFER_FULL
        nz, nR = min(kz[i], max_crossings), min(kR[i], max_crossings)
        if eerr[i] > _ENERGY_TOL:
            f |= ExactFlag.ENERGY
        if nz < _MIN_CROSSINGS or nR < _MIN_CROSSINGS:
            flag[i] = f | ExactFlag.FEW_CROSSINGS
            continue
        zc, Rc = cz[i, :nz], cR[i, :nR]
        out["J_R"][i], out["eJR"][i], rough_R = _section_action(zc[:, 0], zc[:, 2])
        out["J_z"][i], out["eJz"][i], rough_z = _section_action(Rc[:, 1], Rc[:, 3])
        PZ, out["eOz"][i] = _birkhoff_period(zc[:, 4])
        PR, out["eOR"][i] = _birkhoff_period(Rc[:, 4])
        out["Om_z"][i], out["Om_R"][i] = 2 * np.pi / PZ, 2 * np.pi / PR
        if max(rough_R, rough_z) > _ROUGHNESS_MAX:
            f |= ExactFlag.IRREGULAR
        if max(out["eJR"][i], out["eJz"][i], out["eOR"][i], out["eOz"][i]) > tol:
            f |= ExactFlag.UNCONVERGED
        flag[i] = f

    return ExactActions(
        J_R=out["J_R"],
        J_z=out["J_z"],
        L_z=Lz,
        Omega_R=out["Om_R"],
        Omega_phi=np.sign(Lz) * np.asarray(omphi),
        Omega_z=out["Om_z"],
        err_J_R=out["eJR"],
        err_J_z=out["eJz"],
        err_Omega_R=out["eOR"],
        err_Omega_z=out["eOz"],
        n_z=np.minimum(kz, max_crossings),
        n_R=np.minimum(kR, max_crossings),
        R_0=np.asarray(R0),
        energy_error=np.asarray(eerr),
        flag=flag,
    )
