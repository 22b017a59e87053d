"""Vertical structure of the gas layer: zeta, chi and the suppression factor xi.

Modak et al. (2026) model a gas density fluctuation as
``delta_rho(x, y, z) = delta_Sigma(x, y) zeta(z~) / (2h)`` with ``z~ = z / H``
(gas mid-plane at ``z = 0``), ``H`` the rms thickness and
``2h = int zeta dz = 2 alpha_w H``. A planar Fourier mode of wavenumber ``k``
then has the potential (their Eqs. 45 and 50)::

    delta_phi_k(z) = -(2 pi G Sigma_bar delta_k / k) chi(kH, z~) / alpha_w
    chi(k~, z~)    = 1/2 int dz~' exp(-k~ |z~ - z~'|) zeta(z~')

with the mixed profile of their Eq. 47,
``zeta = (1 - w) sech^2(z~/alpha_s) + w exp(-|z~|/alpha_e)``.

How chi is evaluated. chi is linear in zeta, so it splits into

- the exponential part, which has a closed form (:func:`_chi_exponential`);
- the sech^2 part, ``alpha_s S(k~ alpha_s, z~ / alpha_s)`` with one universal
  function ``S(K, Z) = 1/2 int exp(-K |Z - u|) sech^2(u) du``. ``log((1+K) S)``
  and ``d log S / dZ`` are tabulated once (on first use) by an exact recursion over
  Gauss-Legendre cells, in the variables ``s = K/(1+K)`` and ``Z``, and read
  back with a 4x4-point cubic Lagrange stencil (relative accuracy ~1e-8).
  For ``K > 50`` the asymptotic series ``S = sum_j f^(2j)(Z) / K^(2j+1)``
  (``f = sech^2``) is used; beyond the tabulated ``Z`` the exact tail
  ``S = exp(-K Z) (pi K / 2) / sin(pi K / 2)`` (``K < 2``).

Everything is in dimensionless ``k~ = kH`` and ``z~ = z/H``. The public
functions take NumPy (returning NumPy, no compilation: tables for the mock
fields are built this way) or JAX arrays (returning traceable JAX, so xi can
sit inside jit/grad). :func:`chi_quadrature` is an independent
adaptive-quadrature reference (NumPy/SciPy) for validation.
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)

__all__ = [
    "GasProfile",
    "chi",
    "chi_dz",
    "chi_quadrature",
    "suppression_factor",
    "suppression_factor_fit",
]

# Universal S(K, Z) table: s = K / (1 + K) on [0, _S_MAX], Z on [0, _Z_MAX].
_K_SWITCH = 50.0  # above: asymptotic series in 1/K (error < 1e-11 relative)
_S_MAX = _K_SWITCH / (1.0 + _K_SWITCH)
_N_S = 241
_Z_MAX = 60.0  # in units of alpha_s; sech^2 ~ 4 exp(-120) beyond
_DZ = 0.02
_N_GAUSS = 6


class GasProfile(eqx.Module):
    """Dimensionless vertical gas profile of Modak et al. (2026), Eq. 47.

    ``zeta(z~) = (1 - w) sech^2(z~/alpha_s) + w exp(-|z~|/alpha_e)``, with
    ``z~ = z / H``; ``zeta(0) = 1`` and ``int zeta dz~ = 2 alpha_w``.

    Attributes
    ----------
    w : float
        Weight of the exponential component, 0 <= w <= 1.
    alpha_s, alpha_e : float
        Scale heights of the sech^2 and exponential components in units of H.

    Examples
    --------
    >>> p = GasProfile(w=0.38, alpha_s=0.64, alpha_e=0.82)
    >>> round(p.alpha_w, 4)
    0.7084
    """

    w: float
    alpha_s: float
    alpha_e: float

    def __check_init__(self):
        if not 0.0 <= float(self.w) <= 1.0:
            raise ValueError(f"profile weight 'w' must lie in [0, 1], got {self.w!r}")
        for name in ("alpha_s", "alpha_e"):
            v = float(getattr(self, name))
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name!r} must be a finite positive number, got {v!r}")

    @property
    def alpha_w(self) -> float:
        """``h / H = (1 - w) alpha_s + w alpha_e`` (half the integral of zeta over z~)."""
        return (1 - self.w) * self.alpha_s + self.w * self.alpha_e

    def zeta(self, zt):
        """Profile ``zeta(z~)`` (dimensionless, 1 at the mid-plane)."""
        xp = jnp if _is_jax(zt) else np
        zt = xp.abs(xp.asarray(zt, dtype=float))
        return (1 - self.w) / xp.cosh(zt / self.alpha_s) ** 2 + self.w * xp.exp(-zt / self.alpha_e)

    def chi(self, kt, zt):
        """``chi(k~, z~)`` of Eq. 45; see :func:`chi`."""
        return chi(kt, zt, self)

    def chi_dz(self, kt, zt):
        """``d chi / d z~``; see :func:`chi_dz`."""
        return chi_dz(kt, zt, self)


# --------------------------------------------------------------------------
# The universal sech^2 kernel S(K, Z) and its Z-derivative.


def _sech2(z):
    return 1.0 / np.cosh(z) ** 2


@functools.lru_cache(maxsize=1)
def _s_table():
    """Tabulate ``log((1+K) S)`` and ``d log S / dZ`` on the (s, Z) grid; NumPy, built once.

    For fixed K, ``F(Z) = int_{-inf}^Z e^{-K(Z-u)} f du`` and
    ``B(Z) = int_Z^inf e^{-K(u-Z)} f du`` obey first-order recursions from
    cell to cell; each cell integral is done by Gauss-Legendre, exact to
    round-off because f is smooth and K dZ <= 1. Then ``S = (F + B)/2`` and
    ``dS/dZ = K (B - F) / 2``.
    """
    s = np.linspace(0.0, _S_MAX, _N_S)
    K = s / (1.0 - s)
    nz = int(round(_Z_MAX / _DZ))
    Z = np.arange(nz + 1) * _DZ
    xg, wg = np.polynomial.legendre.leggauss(_N_GAUSS)
    u = 0.5 * _DZ * (xg + 1.0)  # nodes in [0, dZ]
    wg = 0.5 * _DZ * wg
    f_nodes = _sech2(Z[:-1, None] + u[None, :])  # [nz, ng]
    decay = np.exp(-K)[:, None] ** _DZ  # [nK, 1]
    # Cell contributions: forward weights exp(-K (dZ - u)), backward exp(-K u).
    fwd = np.einsum("kg,zg->kz", np.exp(-K[:, None] * (_DZ - u[None, :])) * wg, f_nodes)
    bwd = np.einsum("kg,zg->kz", np.exp(-K[:, None] * u[None, :]) * wg, f_nodes)
    B = np.empty((K.size, nz + 1))
    # Tail beyond Z_max: sech^2 = 4 sum (-1)^(m+1) m e^{-2mu}; first two terms suffice.
    zt = Z[-1]
    B[:, -1] = 4 * np.exp(-2 * zt) / (K + 2) - 8 * np.exp(-4 * zt) / (K + 4)
    for i in range(nz - 1, -1, -1):
        B[:, i] = decay[:, 0] * B[:, i + 1] + bwd[:, i]
    F = np.empty_like(B)
    F[:, 0] = B[:, 0]  # f is even
    for i in range(nz):
        F[:, i + 1] = decay[:, 0] * F[:, i] + fwd[:, i]
    S = 0.5 * (F + B)
    dS = 0.5 * K[:, None] * (B - F)
    # Tabulate log((1+K) S) and the log-derivative: S ~ exp(-K Z) varies on a
    # scale 1/Z in K, far too fast for a cubic in s at large Z, while its log
    # is nearly linear in K; the factor (1+K) removes the log(1-s)
    # singularity of S ~ 1/K as s -> 1.
    logS = np.log((1.0 + K[:, None]) * S)
    dlogS = dS / S
    # Mirror two ghost rows in Z so that cubic stencils at Z ~ 0 stay centred.
    logS = np.concatenate([logS[:, 2:0:-1], logS], axis=1)
    dlogS = np.concatenate([-dlogS[:, 2:0:-1], dlogS], axis=1)
    return logS, dlogS


@functools.lru_cache(maxsize=1)
def _s_table_jax():
    logS, dlogS = _s_table()
    # Concrete device arrays even when first requested inside a trace.
    with jax.ensure_compile_time_eval():
        return jnp.asarray(logS), jnp.asarray(dlogS)


def _lagrange4(t, xp):
    """Cubic Lagrange weights for nodes at -1, 0, 1, 2 evaluated at t (shape [..., 4])."""
    return xp.stack(
        [
            -t * (t - 1) * (t - 2) / 6,
            (t + 1) * (t - 1) * (t - 2) / 2,
            -(t + 1) * t * (t - 2) / 2,
            (t + 1) * t * (t - 1) / 6,
        ],
        axis=-1,
    )


def _table_lookup(table, s, Z, xp):
    """4x4-point cubic interpolation of an (s, Z) table; ``Z >= 0`` inside the table range."""
    us = s / (_S_MAX / (_N_S - 1))
    i = xp.clip(xp.floor(us).astype(np.int32), 1, _N_S - 3)
    ws = _lagrange4(us - i, xp)
    uz = Z / _DZ + 2.0  # two ghost rows
    j = xp.clip(xp.floor(uz).astype(np.int32), 1, table.shape[1] - 3)
    wz = _lagrange4(uz - j, xp)
    off = xp.arange(4) - 1
    vals = table[(i[..., None] + off)[..., :, None], (j[..., None] + off)[..., None, :]]
    return xp.einsum("...a,...b,...ab->...", ws, wz, vals)


def _sech2_series(K, Z, xp):
    """Large-K series ``S = f/K + f''/K^3 + ...`` and its Z-derivative (f = sech^2)."""
    t = xp.tanh(Z)
    f = 1.0 - t * t
    fp = -2.0 * f * t
    d2 = 4 * f - 6 * f**2
    d4 = 16 * f - 120 * f**2 + 120 * f**3
    d6 = 64 * f - 2016 * f**2 + 6720 * f**3 - 5040 * f**4
    # Odd derivatives are (d/df of the even ones) * f'.
    d3 = (4 - 12 * f) * fp
    d5 = (16 - 240 * f + 360 * f**2) * fp
    d7 = (64 - 4032 * f + 20160 * f**2 - 20160 * f**3) * fp
    iK = 1.0 / K
    iK2 = iK * iK
    S = iK * (f + iK2 * (d2 + iK2 * (d4 + iK2 * d6)))
    dS = iK * (fp + iK2 * (d3 + iK2 * (d5 + iK2 * d7)))
    return S, dS


def _sech2_kernel(K, Z, xp):
    """``S(K, Z)`` and ``dS/dZ`` for any K >= 0 and real Z."""
    S_tab, dS_tab = _s_table() if xp is np else _s_table_jax()
    sign = xp.sign(Z)
    Z = xp.abs(Z)
    big = K > _K_SWITCH
    Ks = xp.where(big, 1.0, K)
    s = Ks / (1.0 + Ks)
    Zc = xp.minimum(Z, _Z_MAX)
    S_in = xp.exp(_table_lookup(S_tab, s, Zc, xp)) / (1.0 + Ks)
    dS_in = S_in * _table_lookup(dS_tab, s, Zc, xp)
    # Exact tail for Z > Z_max: S = exp(-K Z) (pi K/2)/sin(pi K/2) for K < 2,
    # negligible (< e^-120) otherwise.
    Kt = xp.clip(K, 1e-12, 1.9)
    m = xp.where(K < 1e-6, 1.0, (0.5 * np.pi * Kt) / xp.sin(0.5 * np.pi * Kt))
    tail = xp.where(K < 1.9, m * xp.exp(-K * Z), 0.0)
    far = Z > _Z_MAX
    S = xp.where(far, tail, S_in)
    dS = xp.where(far, -K * tail, dS_in)
    Kb = xp.where(big, K, _K_SWITCH + 1.0)
    S_big, dS_big = _sech2_series(Kb, Z, xp)
    S = xp.where(big, S_big, S)
    dS = xp.where(big, dS_big, dS)
    return S, sign * dS


def _phi1(x, xp):
    """``(1 - exp(-x)) / x`` for x >= 0, stable at 0."""
    xs = xp.where(x < 1e-8, 1.0, x)
    return xp.where(x < 1e-8, 1.0 - 0.5 * x, -xp.expm1(-xs) / xs)


def _chi_exponential(kt, zt, alpha_e, xp):
    """chi for ``zeta = exp(-|z~|/alpha_e)`` alone, closed form, and its z~-derivative."""
    b = 1.0 / alpha_e
    z = xp.abs(zt)
    ek = xp.exp(-kt * z)
    eb = xp.exp(-b * z)
    m = xp.minimum(kt, b)
    d = xp.abs(kt - b)
    # mid = (e^{-bz} - e^{-kz})/(k - b), written without cancellation or overflow.
    mid = xp.exp(-m * z) * z * _phi1(d * z, xp)
    chi_e = 0.5 * ((ek + eb) / (kt + b) + mid)
    # mid' = (k e^{-kz} - b e^{-bz})/(k - b) = e^{-kz} - b mid.
    dchi_e = 0.5 * (-(kt * ek + b * eb) / (kt + b) + ek - b * mid)
    return chi_e, xp.sign(zt) * dchi_e


def _chi_both(kt, zt, profile, xp):
    kt, zt = xp.broadcast_arrays(xp.asarray(kt, dtype=float), xp.asarray(zt, dtype=float))
    a_s = profile.alpha_s
    S, dS = _sech2_kernel(kt * a_s, zt / a_s, xp)
    ce, dce = _chi_exponential(kt, zt, profile.alpha_e, xp)
    w = profile.w
    return (1 - w) * a_s * S + w * ce, (1 - w) * dS + w * dce


_chi_both_jit = jax.jit(functools.partial(_chi_both, xp=jnp))


def _chi_numpy(kt, zt, profile):
    """NumPy twin of :func:`chi`/:func:`chi_dz` for building tables (no compilation)."""
    with np.errstate(all="ignore"):  # both branches of every where() are evaluated
        return _chi_both(kt, zt, profile, np)


def _is_jax(*args):
    return any(isinstance(a, jax.Array) for a in jax.tree_util.tree_leaves(args))


def _chi_dispatch(kt, zt, profile):
    # NumPy inputs take the NumPy twin (no compilation latency at build time);
    # JAX arrays and tracers the jitted JAX version.
    if _is_jax(kt, zt, profile):
        return _chi_both_jit(kt, zt, profile)
    return _chi_numpy(kt, zt, profile)


def chi(kt, zt, profile):
    """Vertical response ``chi(k~, z~)`` of a gas layer (Modak et al. 2026, Eq. 45).

    Parameters
    ----------
    kt : array_like
        ``k~ = k H`` (dimensionless, >= 0).
    zt : array_like
        ``z~ = z / H`` (dimensionless); broadcast against ``kt``.
    profile : GasProfile
        The layer's shape.

    Returns
    -------
    numpy.ndarray or jax.Array
        ``chi`` (NumPy for NumPy/scalar inputs, JAX for JAX arrays, traceable);
        ``chi(0, z~) = alpha_w`` and ``chi(k~, 0) -> 1/k~`` for large k~.

    Examples
    --------
    >>> p = GasProfile(w=1.0, alpha_s=1.0, alpha_e=0.82)
    >>> round(float(chi(2.0, 0.0, p)), 6) == round(0.82 / (1 + 2.0 * 0.82), 6)
    True
    """
    return _chi_dispatch(kt, zt, profile)[0]


def chi_dz(kt, zt, profile):
    """``d chi / d z~`` (odd in z~, zero at the mid-plane); arguments as :func:`chi`."""
    return _chi_dispatch(kt, zt, profile)[1]


def chi_quadrature(kt, zt, profile):
    """Reference chi by adaptive quadrature (SciPy, slow; for validation only).

    Integrates Eq. 45 directly, split at ``z~' = z~`` where the kernel has a kink.
    Scalars or arrays (evaluated element by element), returns a NumPy array.
    """
    from scipy.integrate import quad

    def one(k, z):
        def g(u):
            zeta = (1 - profile.w) / np.cosh(u / profile.alpha_s) ** 2 + profile.w * np.exp(
                -abs(u) / profile.alpha_e
            )
            return np.exp(-k * abs(z - u)) * zeta

        pieces = sorted({-np.inf, min(0.0, z), max(0.0, z), np.inf})
        tot = 0.0
        for a, b in zip(pieces[:-1], pieces[1:]):
            if a == b:
                continue
            tot += quad(g, a, b, epsabs=1e-14, epsrel=1e-12, limit=400)[0]
        return 0.5 * tot

    k, z = np.broadcast_arrays(np.asarray(kt, float), np.asarray(zt, float))
    with np.errstate(over="ignore"):  # cosh overflows to inf far out, where 1/cosh^2 -> 0 is right
        out = np.array([one(a, b) for a, b in zip(k.ravel(), z.ravel())])
    return out.reshape(k.shape)


# --------------------------------------------------------------------------
# Suppression of radial transport by vertical motion (Modak et al. 2026, Sec. IV.1).


@functools.lru_cache(maxsize=8)
def _theta_rule(n):
    x, w = np.polynomial.legendre.leggauss(n)
    theta = 0.25 * np.pi * (x + 1.0)  # [0, pi/2]
    return np.cos(theta), w * 0.5  # weights of the mean over [0, pi/2]


def suppression_factor(J_z, k_star, H, nu, profile, *, n_theta=64):
    """Vertical suppression factor xi of radial diffusion, Eq. 46 evaluated numerically.

    ``xi = <chi(k~*, -a cos theta)^2>_theta / chi(k~*, 0)^2`` with
    ``k~* = k_star H`` and ``a = sqrt(2 J_z / (nu H^2))`` (vertical epicycle
    amplitude in units of H), averaged over the vertical phase by
    Gauss-Legendre quadrature (chi is even in z~, so a quarter period suffices).

    Parameters
    ----------
    J_z : array_like
        Vertical action, kpc^2/Myr (``J_z = sigma_z^2 / nu`` for a population
        of dispersion sigma_z, Eq. 15).
    k_star : float or array_like
        Dominant wavenumber, 1/kpc.
    H : float or array_like
        rms thickness of the gas layer, kpc.
    nu : float
        Vertical epicyclic frequency, 1/Myr.
    profile : GasProfile
        Shape of the gas layer (Eq. 47).
    n_theta : int
        Quadrature nodes on a quarter period.

    Returns
    -------
    numpy.ndarray or jax.Array
        xi in (0, 1], broadcast over ``J_z``, ``k_star`` and ``H`` (NumPy for
        NumPy inputs; JAX arrays and tracers give a traceable JAX result).
    """
    c, w = _theta_rule(int(n_theta))
    if _is_jax(J_z, k_star, H, nu, profile):
        return _xi_jit(J_z, k_star, H, nu, profile, jnp.asarray(c), jnp.asarray(w))
    with np.errstate(all="ignore"):
        return _xi(J_z, k_star, H, nu, profile, c, w, np)


def _xi(J_z, k_star, H, nu, profile, c, w, xp):
    H = xp.asarray(H, dtype=float)
    kt = xp.asarray(k_star, dtype=float) * H
    a = xp.sqrt(2.0 * xp.asarray(J_z, dtype=float) / (nu * H**2))
    kt, a = xp.broadcast_arrays(kt, a)
    zt = a[..., None] * c
    chi2 = _chi_both(kt[..., None], zt, profile, xp)[0] ** 2
    return xp.sum(w * chi2, axis=-1) / _chi_both(kt, 0.0, profile, xp)[0] ** 2


_xi_jit = jax.jit(functools.partial(_xi, xp=jnp))


def suppression_factor_fit(J_z, k_star, H, nu, profile):
    """Fitting formula for xi, Modak et al. (2026) Eq. 48.

    ``xi ~ (1 + alpha_w k~)^2 / (1 + [(1 + alpha_w k~)^2 - 1][1 + k~^(1/3) (2 J_z/(nu H^2))^(3/4)])``
    with ``k~ = k_star H``; stated accurate to 0.07 absolute for the R8 profile.
    Arguments and units as :func:`suppression_factor`.
    """
    xp = jnp if _is_jax(J_z, k_star, H, nu) else np
    kt = xp.asarray(k_star, dtype=float) * xp.asarray(H, dtype=float)
    x = 2.0 * xp.asarray(J_z, dtype=float) / (nu * xp.asarray(H, dtype=float) ** 2)
    g = (1.0 + profile.alpha_w * kt) ** 2
    return g / (1.0 + (g - 1.0) * (1.0 + kt ** (1.0 / 3.0) * x**0.75))
