"""Reference ("exact") actions and frequencies from surfaces of section.

For validating approximate action estimators (the Stäckel fudge) we need
actions that are limited only by numerical precision. For a regular orbit in
an axisymmetric potential the motion in the meridional plane (R, z) under

    H = (p_R^2 + p_z^2) / 2 + Phi(R, z) + L_z^2 / (2 R^2)

lies on a 2-torus, and each action is (1 / 2 pi) times the line integral of
p . dq around one of its fundamental cycles. Any closed curve on the torus in
the same homology class gives the same integral (e.g. Binney & Tremaine 2008,
Sec. 3.5), so:

* J_R = (1 / 2 pi) * area of the invariant curve traced by the consequents
  (R, p_R) on the surface z = 0, p_z > 0 (there dz = 0 so p . dq = p_R dR);
* J_z = (1 / 2 pi) * area of the invariant curve traced by (z, p_z) on the
  surface R = R_0, p_R > 0, where R_0 is the middle of the orbit's radial range.

Frequencies follow from the crossing times: each upward passage through z = 0
advances theta_z by exactly 2 pi *on average* (the surface is a graph
theta_z = g(theta_R) on the torus), so 2 pi / Omega_z is the long-time mean
interval between upward crossings, and likewise 2 pi / Omega_R for the outward
crossings of R = R_0. The intervals fluctuate quasi-periodically about their
mean; a weighted Birkhoff average (Das, Saiki, Sander & Yorke 2017,
Nonlinearity 30, 4111) converges super-polynomially for such sequences,
where a plain mean converges only as 1/N. Omega_phi is the Birkhoff-averaged
azimuth advance per upward crossing divided by the averaged interval.

Downward crossings of z = 0 lie on the same (R, p_R) curve (z -> -z symmetry)
and inward crossings of R = R_0 on the same (z, p_z) curve after p_z -> -p_z
(time reversal), so both directions are used for the areas.

Numerics: a fixed-step 6th-order symplectic composition (Yoshida 1990, Phys.
Lett. A 150, 262, solution A) of the leapfrog integrates all orbits at once
(jitted, vmapped, float64) in chunks of steps; crossings are bracketed between
stored steps on the host, then each is located to integrator precision by Newton iterations on a sub-step of
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
_ENERGY_TOL = 1e-7  # relative energy oscillation above which the step is suspect (actions then still ~1e-8)


class ExactFlag(enum.IntFlag):
    """Bit flags of :class:`ExactActions` (0 = fine)."""

    OK = 0
    FEW_CROSSINGS = 1  #: fewer than ``min_crossings`` (below 24: no actions) on a section
    IRREGULAR = 2  #: consequents not on one smooth closed curve (chaos, resonance, bad R_0)
    UNCONVERGED = 4  #: half-vs-half or even-vs-odd difference above ``tol``
    ENERGY = 16  #: relative energy oscillation above 1e-7
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
        Number of upward crossings of z = 0 and outward crossings of R = R_0
        (each curve has about twice as many consequents).
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
# State of one orbit: (R, z, p_R, p_z, phi). L_z is conserved; phi is carried so
# that Omega_phi can be measured between crossings.
def _accel(potential, R, z, L2):
    dR, dz = potential._dphi(R, z)
    return -dR + L2 / R**3, -dz


def _step(potential, y, L, h):
    """One Yoshida-6 step of length h (7 drift-kick-drift leapfrogs, 7 force evaluations).

    phi is advanced in the kicks: dphi/dt = dH/dL_z = L_z / R^2 depends on
    position only, so it belongs to the same split as the forces and the
    composition keeps its order for phi as well.
    """
    R, z, pR, pz, phi = y[0], y[1], y[2], y[3], y[4]
    L2 = L * L
    for w in YOSHIDA6:
        R, z = R + 0.5 * w * h * pR, z + 0.5 * w * h * pz
        aR, az = _accel(potential, R, z, L2)
        pR, pz, phi = pR + w * h * aR, pz + w * h * az, phi + w * h * L / R**2
        R, z = R + 0.5 * w * h * pR, z + 0.5 * w * h * pz
    return jnp.stack([R, z, pR, pz, phi])


@eqx.filter_jit
def _advance(potential, y, L, dt, n):
    """Advance all orbits by n steps; return the final states and every state (n, N, 5)."""

    def body(y, _):
        y = jax.vmap(lambda yy, ll, hh: _step(potential, yy, ll, hh))(y, L, dt)
        return y, y

    return lax.scan(body, y, None, length=n)


@eqx.filter_jit
def _energy(potential, y, L):
    R, z, pR, pz = y[..., 0], y[..., 1], y[..., 2], y[..., 3]
    return 0.5 * (pR**2 + pz**2) + jnp.vectorize(potential._phi)(R, z) + 0.5 * (L / R) ** 2


@eqx.filter_jit
def _refine(potential, y, L, dt, coord, level):
    """Newton iterations on the sub-step length that puts y[coord] exactly on ``level``.

    ``y`` is the last state before a crossing (one row per crossing); returns the
    state on the surface and the sub-step length. One sub-step of the same
    integrator is exact to the integrator's precision, unlike interpolation.
    """

    def one(y, L, dt, coord, level):
        g0, gd0 = y[coord] - level, y[coord + 2]
        tau = jnp.clip(-g0 / gd0, 0.0, dt)

        def it(tau, _):
            yy = _step(potential, y, L, tau)
            return tau - (yy[coord] - level) / yy[coord + 2], None

        tau, _ = lax.scan(it, tau, None, length=_NEWTON_ITERATIONS)
        return _step(potential, y, L, tau), tau

    return jax.vmap(lambda a, b, c, d, e: one(a, b, c, d, e))(y, L, dt, coord, level)


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


def _birkhoff_weights(m):
    """The C-infinity bump exp(-1 / (s (1 - s))) on (0, 1) of Das et al. (2017), normalised to sum 1."""
    s = (np.arange(m) + 0.5) / m
    w = np.exp(-1.0 / (s * (1.0 - s)))
    return w / w.sum()


def _birkhoff_ratio(phi, t):
    """Omega_phi = <d phi> / <d t> between successive crossings (weighted Birkhoff averages).

    phi(t) = Omega_phi t + a quasi-periodic function, so the increments'
    fluctuations average out super-polynomially fast with these weights.
    """
    w = _birkhoff_weights(t.size - 1)
    return np.sum(w * np.diff(phi)) / np.sum(w * np.diff(t))


def _birkhoff_period(t):
    """Mean interval of the crossing times ``t`` by a weighted Birkhoff average, and halves' spread."""

    def wba(dt):
        return np.sum(_birkhoff_weights(dt.size) * dt)

    d = np.diff(t)
    P = wba(d)
    h = d.size // 2
    err = abs(wba(d[:h]) - wba(d[h:])) / P
    return P, err


# ----------------------------------------------------------------------------- public entry
def _pad_size(n):
    """Round up to a power of two (>= 64) so that the refinement compiles for few shapes."""
    return max(64, 1 << int(np.ceil(np.log2(max(n, 1)))))


def _refine_all(potential, states, orbit, L, dt, coord, level):
    """Refine bracketing states (rows) for crossings of y[coord] = level[orbit]."""
    n = states.shape[0]
    if n == 0:
        return np.zeros((0, 5)), np.zeros(0)
    m = _pad_size(n)
    pad = lambda a: np.concatenate([a, np.repeat(a[-1:], m - n, axis=0)])  # noqa: E731
    y, tau = _refine(
        potential,
        jnp.asarray(pad(states)),
        jnp.asarray(pad(L[orbit])),
        jnp.asarray(pad(dt[orbit])),
        jnp.full(m, coord),
        jnp.asarray(pad(level[orbit])),
    )
    return np.asarray(y)[:n], np.asarray(tau)[:n]


def _orbit_sections(i, sec):
    """Consequents of orbit i: (R, p_R) on z = 0 and (z, p_z) on R = R_0, time-ordered.

    Both crossing directions are used. Downward crossings of z = 0 lie on the
    same (R, p_R) curve as upward ones (z -> -z symmetry); inward crossings of
    R = R_0 map onto the outward curve under time reversal, (z, p_z) -> (z, -p_z).
    """

    def pick(kind):
        sel = sec[kind][0] == i
        return sec[kind][1][sel], sec[kind][2][sel]

    (tu, yu), (td, yd) = pick("z_up"), pick("z_down")
    (to, yo), (ti, yi) = pick("R_out"), pick("R_in")
    o1 = np.argsort(np.concatenate([tu, td]), kind="stable")
    o2 = np.argsort(np.concatenate([to, ti]), kind="stable")
    R_sec = (np.concatenate([yu[:, 0], yd[:, 0]])[o1], np.concatenate([yu[:, 2], yd[:, 2]])[o1])
    z_sec = (np.concatenate([yo[:, 1], yi[:, 1]])[o2], np.concatenate([yo[:, 3], -yi[:, 3]])[o2])
    return R_sec, z_sec, (tu, yu[:, 4]), to


def sos_actions(
    potential,
    R,
    z,
    v_R,
    v_phi,
    v_z,
    *,
    min_crossings: int = 200,
    max_steps: int = 400_000,
    steps_per_period: int = 64,
    chunk: int = 2000,
    tol: float = 1e-4,
) -> ExactActions:
    """Reference actions and frequencies of disk orbits from surfaces of section.

    Parameters
    ----------
    potential : AbstractPotential
    R, z : array_like, length (kpc)
    v_R, v_phi, v_z : array_like, velocity (kpc/Myr)
        Initial phase-space coordinates, broadcast to one shape (N,).
    min_crossings : int
        Integrate (in chunks of ``chunk`` steps) until every orbit has at least
        this many upward crossings of z = 0 and outward crossings of R = R_0 —
        i.e. this many radial periods — or ``max_steps`` is reached. Both
        crossing directions are used for the areas, so each curve gets ~2x as
        many points.
    max_steps : int
        Upper limit on the number of steps.
    steps_per_period : int
        Step = 2 pi / max(kappa, nu) / ``steps_per_period``, with kappa and nu
        the epicycle and vertical frequencies at the smaller of R and the
        guiding radius (where the orbit's fastest oscillation happens).
    chunk : int
        Steps per jitted call (host memory: chunk x N x 40 bytes).
    tol : float
        Relative convergence tolerance for :attr:`ExactFlag.UNCONVERGED`.

    Returns
    -------
    ExactActions
        NumPy arrays of shape (N,), internal units.

    Raises
    ------
    ValueError
        For integer settings out of range.

    Notes
    -----
    Cost: 7 force evaluations per step per orbit; a disk orbit needs ~40,000
    steps for 200 radial periods. Orbits with a tiny J_R (near-circular) or J_z
    have badly conditioned *relative* errors; their flags say so.
    """
    arrs = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, float)) for a in (R, z, v_R, v_phi, v_z)))
    R, z, vR, vphi, vz = (a.ravel() for a in arrs)
    for name, val, lo in (
        ("min_crossings", min_crossings, _MIN_CROSSINGS),
        ("max_steps", max_steps, 1),
        ("steps_per_period", steps_per_period, 16),
        ("chunk", chunk, 1),
    ):
        if int(val) != val or val < lo:
            raise ValueError(f"{name!r} must be an integer >= {lo}, got {val!r}")
    N = R.size
    L = R * vphi
    Rg = np.asarray(potential.circular_radius(np.abs(L)))
    Rf = np.minimum(R, Rg)
    freq = np.maximum(np.asarray(potential.kappa(Rf)), np.asarray(potential.nu(Rf)))
    dt = 2 * np.pi / freq / steps_per_period
    y = np.stack([R, z, vR, vz, np.zeros(N)], -1)
    Lj, dtj = jnp.asarray(L), jnp.asarray(dt)
    E0 = np.asarray(_energy(potential, jnp.asarray(y), Lj))
    emin, emax = E0.copy(), E0.copy()

    # crossings found so far: (step index, orbit index, state before the crossing)
    kinds = ("z_up", "z_down", "R_out", "R_in")
    found = {k: [] for k in kinds}
    count_zu = np.zeros(N, int)
    count_Ro = np.zeros(N, int)
    R0 = None
    done = 0
    while done < max_steps:
        n = min(chunk, max_steps - done)
        yj, traj = _advance(potential, jnp.asarray(y), Lj, dtj, n)
        traj = np.concatenate([y[None], np.asarray(traj)])  # (n + 1, N, 5)
        if R0 is None:
            # J_z section in the middle of the radial range seen in the first chunk
            R0 = 0.5 * (traj[..., 0].min(0) + traj[..., 0].max(0))
        zz, RR = traj[..., 1], traj[..., 0] - R0
        masks = {
            "z_up": (zz[:-1] < 0) & (zz[1:] >= 0),
            "z_down": (zz[:-1] >= 0) & (zz[1:] < 0),
            "R_out": (RR[:-1] < 0) & (RR[1:] >= 0),
            "R_in": (RR[:-1] >= 0) & (RR[1:] < 0),
        }
        for k, m in masks.items():
            i_step, i_orb = np.nonzero(m)
            found[k].append((done + i_step, i_orb, traj[i_step, i_orb]))
        count_zu += masks["z_up"].sum(0)
        count_Ro += masks["R_out"].sum(0)
        # energy on a subsample of the steps (it only monitors the step size)
        E = np.asarray(_energy(potential, jnp.asarray(traj[1::8]), Lj))
        emin, emax = np.minimum(emin, E.min(0)), np.maximum(emax, E.max(0))
        y = np.asarray(yj)
        done += n
        if np.all(count_zu >= min_crossings) and np.all(count_Ro >= min_crossings):
            break

    # refine every crossing; time = step index * dt + sub-step
    sec = {}
    for k in kinds:
        steps = np.concatenate([f[0] for f in found[k]])
        orbs = np.concatenate([f[1] for f in found[k]])
        states = np.concatenate([f[2] for f in found[k]])
        coord, level = (1, np.zeros(N)) if k.startswith("z") else (0, R0)
        ys, tau = _refine_all(potential, states, orbs, L, dt, coord, level)
        sec[k] = (orbs, steps * dt[orbs] + tau, ys)

    eerr = (emax - emin) / np.abs(E0)
    out = {k: np.full(N, np.nan) for k in ("J_R", "J_z", "Om_R", "Om_z", "Om_p", "eJR", "eJz", "eOR", "eOz")}
    flag = np.zeros(N, dtype=np.int64)
    for i in range(N):
        if not np.isfinite(E0[i]):
            flag[i] = ExactFlag.NONFINITE
            continue
        f = ExactFlag.OK
        if eerr[i] > _ENERGY_TOL:
            f |= ExactFlag.ENERGY
        if count_zu[i] < min_crossings or count_Ro[i] < min_crossings:
            f |= ExactFlag.FEW_CROSSINGS
            if count_zu[i] < _MIN_CROSSINGS or count_Ro[i] < _MIN_CROSSINGS:
                flag[i] = f
                continue
        (xR, pR), (xz, pz), (tu, phi_u), to = _orbit_sections(i, sec)
        out["J_R"][i], out["eJR"][i], rough_R = _section_action(xR, pR)
        out["J_z"][i], out["eJz"][i], rough_z = _section_action(xz, pz)
        (Pz, out["eOz"][i]), (PR, out["eOR"][i]) = _birkhoff_period(tu), _birkhoff_period(to)
        out["Om_z"][i], out["Om_R"][i] = 2 * np.pi / Pz, 2 * np.pi / PR
        out["Om_p"][i] = _birkhoff_ratio(phi_u, tu)
        if max(rough_R, rough_z) > _ROUGHNESS_MAX:
            f |= ExactFlag.IRREGULAR
        if max(out["eJR"][i], out["eJz"][i], out["eOR"][i], out["eOz"][i]) > tol:
            f |= ExactFlag.UNCONVERGED
        flag[i] = int(f)

    return ExactActions(
        J_R=out["J_R"],
        J_z=out["J_z"],
        L_z=L,
        Omega_R=out["Om_R"],
        Omega_phi=out["Om_p"],
        Omega_z=out["Om_z"],
        err_J_R=out["eJR"],
        err_J_z=out["eJz"],
        err_Omega_R=out["eOR"],
        err_Omega_z=out["eOz"],
        n_z=count_zu,
        n_R=count_Ro,
        R_0=np.asarray(R0),
        energy_error=eerr,
        flag=flag,
    )
