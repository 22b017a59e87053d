"""Monte-Carlo (Langevin) evolution of stellar actions under ``D_RR(J_R)``, ``D_phiphi(J_R)``.

The kinetic equation of Modak et al. (2026), Eq. 26, is a Fokker-Planck
equation in divergence form, ``df/dt = 1/2 d_i (D_ij d_j f)``. With the
diagonal, ``J_phi``-independent coefficients of Eqs. 27-28 (40-41) its Ito
stochastic differential equations are

* ``dJ_R = 1/2 dD_RR/dJ_R dt + sqrt(D_RR(J_R)) dW_R``,
* ``dJ_phi = sqrt(D_phiphi(J_R)) dW_phi``

(off-diagonal terms neglected, as in the paper). The paper's update rule
(Eq. 43) writes only the noise term; taken literally, a cold population
(``J_R = 0``, where ``D_RR = 0``) never heats. The Ito drift ``1/2 D_RR'`` is
therefore included; ``ito_drift=False`` keeps the literal Euler-Maruyama rule
of Eq. 43 (``J_R -> |J_R + X sqrt(D_RR dt)|``) for comparison. With the drift,
``D_RR = d J_R`` from ``J_R = 0`` gives an exactly exponential DF with
``<J_R> = d t / 2`` (Eq. C4 with ``c(1) = 1/2``; a squared Bessel process of
dimension 2), and a pure ``D_RR = d J_R^a`` from ``J_R = 0`` the self-similar
``f ~ exp(-J_R^(2-a) / ((2-a)^2 d t / 2))`` -- not the exponential Eq. C4
assumes (for ``a = -1/2`` its mean is 40% below Eq. C4; see the tests).

Radial action: exact where possible
-----------------------------------
``J_R`` is advanced through its Lamperti variable
``y(J_R) = int_0^J_R dJ / sqrt(D_RR(J))``, which has unit additive noise,
``dy = a(y) dt + dW`` with ``a = D_RR' / (4 sqrt(D_RR))``. On a branch
``D_RR = d J_R^alpha``, ``y`` is a Bessel process of dimension
``delta = 2 / (2 - alpha)``: ``a = (delta - 1) / (2 y)``.

* ``alpha = 1`` below the turnover (the long-wavelength branch): ``delta = 2``,
  the radius of a planar Brownian motion. Each star carries a 2-vector ``X``
  with ``|X| = y`` and moves as ``X' = X + dW + 1/2 (g(X) X + g(P) P) dt``
  (Heun predictor ``P = X + dW + g(X) X dt``), where ``dW`` is a 2-D Gaussian
  increment and ``g X`` the part of the radial drift the planar geometry does
  not already supply: ``g = 0`` below the turnover, so the update is *exact
  in distribution for any step* there -- no step error and no positivity
  issue while a cold population is in the long-wavelength regime; above it
  ``g`` is small and smooth (``|X| >= y_b``).
* A law that is not linear down to ``J_R = 0`` (e.g. a pure falling power
  law) has a singular drift at ``y -> 0``; there ``y = |X1|`` moves in one
  dimension (a sign change of ``X1`` is a reflection at ``J_R = 0``), and a
  drift displacement is capped at ``|X1|``: an inward drift may carry a star
  to ``J_R = 0`` within a step but not beyond. Capped inward steps are
  counted (``reflected_fraction``). Validated for the pure ``alpha = -1/2``
  law against its exact solution (1-3%, tests); other indices are supported
  but not validated.

``J_R = J(|X|) >= 0`` always. The relative-kick condition of Sec. III.3
(``dJ/J << 1``) bounds the *accuracy* only above the turnover, where the
Heun step has weak order 2. Measured on R8 from cold (``benchmarks/bench_langevin.py``,
10^5 stars, shared noise): at ``dt = 22 Myr`` rms dJ_R, rms dJ_phi and <J_R>
differ from ``dt / 4`` by at most 0.08%, 0.02%, 0.08% (Monte-Carlo error of
those curves: 0.4%); a J-space Milstein scheme (one normal per step, exact in
mean and positive below the turnover) errs by 1.2-2.5% in <J_R> at 11-22 Myr
and by 10% in rms dJ_R at the first output (one step) of a cold start. :func:`default_dt` is
``tau_b / 4`` with ``tau_b = J_b^2 / D_RR(J_b)`` at the turnover ``J_b``
(22 Myr for R8, 9 Myr for LGR4).

Azimuthal action
----------------
Given the ``J_R`` path, ``J_phi(t) - J_phi(t0)`` is exactly Gaussian with
variance ``V = int D_phiphi(J_R(s)) ds``. ``V`` is accumulated over each
output interval with the trapezoid rule and ``J_phi`` receives one
``N(0, V)`` draw per output instead of one per step.

Vertical suppression: ``xi(J_z)`` (Eq. 44, a scalar or one value per star,
fixed) multiplies both coefficients, i.e. it slows each star's clock.

Random numbers: explicit JAX keys. Stars are grouped in fixed blocks of
:data:`BLOCK`; star ``j`` draws from ``fold_in(key, j // BLOCK)`` at its
position in the block, step ``s`` from ``fold_in(., s)``. A result is
reproducible from ``(seed, dt, output times)`` and does not depend on ``N``
(the first ``n`` stars of a larger run are the same stars), on how blocks
are batched or threaded, or on checkpointing. Normals are drawn in float32
(3x faster on CPU than float64) and used in float64.

Units: t in Myr, actions kpc^2/Myr, D in (kpc^2/Myr)^2/Myr.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import math
import os
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)
from ..progress import as_progress
from .coefficients import BrokenPowerLaw, DiffusionCoefficients, PowerLaw

__all__ = [
    "LangevinResult",
    "evolve",
    "suggested_dt",
    "default_dt",
    "schwarzschild_radial_actions",
    "log_output_times",
    "BLOCK",
    "DEFAULT_EPS",
    "WARN_EPS",
]

#: Stars per random-number block (fixed: results never depend on batching).
BLOCK = 65536
#: Relative radial kick at the D_RR turnover that sets the default step (dt = tau_b / 4; R8: 22 Myr).
DEFAULT_EPS = 0.5
#: Relative radial kick at the turnover above which :func:`evolve` warns (dt > tau_b = 100 x suggested_dt(eps=0.1)).
WARN_EPS = 1.0
#: |dJ_R| / J_R above which a step counts as a "big kick" in the diagnostics.
BIG_KICK = 0.3

_MIN_PAD = 1024  # smallest padded size of the last (partial) block


# ----------------------------------------------------------------------------- coefficient description


def _branches(law):
    """``(d_lo, a_lo, d_hi, a_hi, J_b)`` of a PowerLaw (no turnover: J_b = inf) or BrokenPowerLaw."""
    if isinstance(law, BrokenPowerLaw):
        return float(law.low.d), float(law.low.alpha), float(law.high.d), float(law.high.alpha), float(law.turnover)
    if isinstance(law, PowerLaw):
        return float(law.d), float(law.alpha), float(law.d), float(law.alpha), math.inf
    raise TypeError(f"diffusion coefficient must be a PowerLaw or BrokenPowerLaw, got {type(law).__name__}")


@dataclasses.dataclass(frozen=True)
class _Spec:
    """Static structure of the kernel (power-law indices and flags); hashable for jit."""

    a_lo: float
    a_hi: float
    broken: bool
    p_lo_a: float  # D_phiphi indices
    p_hi_a: float
    p_broken: bool
    ito: bool


def _spec_and_params(coeffs: DiffusionCoefficients, ito: bool):
    d_lo, a_lo, d_hi, a_hi, J_b = _branches(coeffs.D_RR)
    e_lo, b_lo, e_hi, b_hi, K_b = _branches(coeffs.D_phiphi)
    broken = math.isfinite(J_b)
    p_broken = math.isfinite(K_b)
    q_lo, q_hi = 2.0 - a_lo, 2.0 - a_hi
    c_lo = 2.0 / (q_lo * math.sqrt(d_lo))  # y = c J^(q/2) on a pure branch
    c_hi = 2.0 / (q_hi * math.sqrt(d_hi))
    if broken:
        y_b = c_lo * J_b ** (q_lo / 2.0)
        u_b = c_hi * J_b ** (q_hi / 2.0)
    else:
        y_b = u_b = math.inf
    params = np.array(
        [d_lo, d_hi, J_b if broken else 0.0, c_lo, c_hi, y_b if broken else 0.0, u_b if broken else 0.0,
         e_lo, e_hi, K_b if p_broken else 0.0],
        dtype=np.float64,
    )  # fmt: skip
    return _Spec(a_lo, a_hi, broken, b_lo, b_hi, p_broken, bool(ito)), params


def _pow(x, a: float):
    """``x**a`` with the cheap special cases of the paper's indices."""
    if a == 0.0:
        return jnp.ones_like(x)
    if a == 1.0:
        return x
    if a == 0.5:
        return jnp.sqrt(x)
    if a == -0.5:
        return jax.lax.rsqrt(x)
    if a == 2.0:
        return x * x
    # exp(a log x): vectorises on CPU where XLA's pow does not (2.4x faster in float32)
    return jnp.exp(a * jnp.log(x))


def _J_of_r(spec: _Spec, prm, r2, r):
    """Radial action (kpc^2/Myr) from the Lamperti radius ``r = |X|`` (``r2 = r^2``)."""
    c_lo, c_hi, y_b, u_b = prm[3], prm[4], prm[5], prm[6]
    if spec.a_lo == 1.0:
        J_lo = r2 / (c_lo * c_lo)
    else:
        J_lo = _pow(r / c_lo, 2.0 / (2.0 - spec.a_lo))
    if not spec.broken:
        return J_lo
    below = r < y_b
    u = jnp.where(below, u_b, r - y_b + u_b)
    J_hi = _pow(u / c_hi, 2.0 / (2.0 - spec.a_hi))
    return jnp.where(below, J_lo, J_hi)


def _y_of_J(spec: _Spec, prm, J):
    """Lamperti radius ``y(J_R) = int_0^J dJ' / sqrt(D_RR)`` (sqrt(Myr)); NumPy."""
    J_b, c_lo, c_hi, y_b, u_b = (float(v) for v in prm[2:7])
    J = np.asarray(J, dtype=np.float64)
    y_lo = c_lo * J ** ((2.0 - spec.a_lo) / 2.0)
    if not spec.broken:
        return y_lo
    Jh = np.maximum(J, J_b)
    y_hi = y_b + c_hi * Jh ** ((2.0 - spec.a_hi) / 2.0) - u_b
    return np.where(J < J_b, y_lo, y_hi)


def _J_of_y(spec: _Spec, prm, y):
    """Inverse of :func:`_y_of_J` (NumPy, float64)."""
    c_lo, c_hi, y_b, u_b = (float(v) for v in prm[3:7])
    y = np.abs(np.asarray(y, dtype=np.float64))
    J_lo = (y / c_lo) ** (2.0 / (2.0 - spec.a_lo))
    if not spec.broken:
        return J_lo
    u = np.maximum(y - y_b + u_b, u_b)
    return np.where(y < y_b, J_lo, (u / c_hi) ** (2.0 / (2.0 - spec.a_hi)))


def _D_RR(spec: _Spec, prm, J):
    d_lo, d_hi, J_b = prm[0], prm[1], prm[2]
    if not spec.broken:
        return d_lo * _pow(J, spec.a_lo)
    below = J < J_b
    return jnp.where(below, d_lo * _pow(jnp.where(below, J, J_b), spec.a_lo),
                     d_hi * _pow(jnp.where(below, J_b, J), spec.a_hi))  # fmt: skip


def _D_phiphi(spec: _Spec, prm, J):
    e_lo, e_hi, K_b = prm[7], prm[8], prm[9]
    if not spec.p_broken:
        return e_lo * _pow(J, spec.p_lo_a)
    below = J < K_b
    return jnp.where(below, e_lo * _pow(jnp.where(below, J, K_b), spec.p_lo_a),
                     e_hi * _pow(jnp.where(below, K_b, J), spec.p_hi_a))  # fmt: skip


def _lamperti_drift(spec: _Spec, prm, r):
    """Drift ``a(y) = D_RR' / (4 sqrt(D_RR))`` of the Lamperti radius ``y`` (1/sqrt(Myr)), ``r > 0``.

    On a branch ``D = d J^alpha`` the radius is a Bessel process of dimension
    ``delta = 2 / (2 - alpha)``, ``a = (delta - 1) / (2 y)``; above the turnover
    ``y = u + y_b - u_b`` with ``u`` the branch's own radius.
    """
    y_b, u_b = prm[5], prm[6]
    a_lo = (1.0 / (2.0 - spec.a_lo) - 0.5) / r
    if not spec.broken:
        return a_lo
    above = r >= y_b
    u = jnp.where(above, r, y_b) - y_b + u_b
    return jnp.where(above, (1.0 / (2.0 - spec.a_hi) - 0.5) / u, a_lo)


# ----------------------------------------------------------------------------- compiled kernel


def _block_normals(keys, S, *path):
    """float32 normals (as float64), shape ``[nb, S]``: row ``b`` from ``keys[b]`` folded with ``path``.

    Each row is drawn with shape ``(S,)``; threefry being partitionable, star
    ``i`` of a block gets the same number whatever ``S`` (the padding) is.
    """

    def one(k):
        for p in path:
            k = jax.random.fold_in(k, p)
        return jax.random.normal(k, (S,), jnp.float32)

    return jax.vmap(one)(keys).astype(jnp.float64)


def _block_keys(key, blocks):
    return jax.vmap(lambda b: jax.random.fold_in(key, b))(blocks)


@functools.partial(jax.jit, static_argnums=(0, 16))
def _advance(spec: _Spec, prm, X1, X2, xi, valid, J_R0, J_phi, J_phi0, key, key_phi, blocks, step0, i_out, n, h,
             sub=1, fine=False):  # fmt: skip
    """Advance a group of blocks of stars (arrays ``[nb, S]``) by ``n`` steps of ``h`` Myr to output ``i_out``.

    Returns the new state ``X1, X2``, the float64 ``J_R``, ``J_phi`` after its
    conditionally Gaussian draw (variance ``V = int xi D_phiphi dt``, trapezoid
    rule), the group's sums for the ensemble statistics and the counters
    ``(n_reflect, n_approx_steps, n_big)``. ``sub > 1`` (convergence studies
    only) draws ``sub`` increments per step and either takes them as ``sub``
    substeps of ``h / sub`` (``fine``, a traced flag) or as one step with their
    sum -- the two runs then share their Brownian paths.
    """
    S = X1.shape[1]
    keys = _block_keys(key, blocks)
    f32 = jnp.float32
    prm32 = prm.astype(f32)

    def J_fast(r2):
        # J_R and D_phiphi only feed D_phiphi's trapezoid and diagnostics: float32 is ample
        r2 = r2.astype(f32)
        return _J_of_r(spec, prm32, r2, jnp.sqrt(r2))

    def approx_region(J):
        # steps not handled exactly: above the turnover, or everywhere on a non-linear pure law
        if spec.broken:
            return valid & (J >= prm32[2])
        return valid & (spec.a_lo != 1.0)

    def one_ito(X1, X2, w1, w2, hh):
        xh = xi * hh
        if spec.a_lo == 1.0:
            if not spec.broken:  # D_RR = d J_R: planar Brownian motion, exact
                return X1 + w1, X2 + w2, jnp.zeros(X1.shape, bool)
            # Planar motion supplies the Bessel-2 drift 1/(2y) by itself; add the rest,
            # g X with g = (a(y) - 1/(2y)) / y: zero below the turnover, small and
            # smooth above it (|X| >= y_b).
            def mult(p1, p2):
                rr2 = p1 * p1 + p2 * p2
                ok = rr2 > 0
                rr = jnp.sqrt(jnp.where(ok, rr2, 1.0))
                m = xh * (_lamperti_drift(spec, prm, rr) - 0.5 / rr) / rr
                return jnp.where(ok, m, 0.0)

            m0 = mult(X1, X2)
            P1, P2 = X1 + w1 + m0 * X1, X2 + w2 + m0 * X2
            m1 = mult(P1, P2)
            Y1 = X1 + w1 + 0.5 * (m0 * X1 + m1 * P1)
            Y2 = X2 + w2 + 0.5 * (m0 * X2 + m1 * P2)
            return Y1, Y2, jnp.zeros(X1.shape, bool)

        # D_RR = d J_R^alpha (alpha != 1) down to J_R = 0: the Lamperti radius is a
        # Bessel process of dimension 2/(2 - alpha) with a singular drift; move it in
        # one dimension as the signed coordinate X1 (y = |X1|, so crossing 0 is the
        # reflection) and cap each drift displacement at |X1| -- a drift may carry
        # a star to the origin within one step but not beyond. Capped steps are
        # counted as reflections.
        def disp(x):
            ax = jnp.abs(x)
            ok = ax > 0
            d = xh * jnp.sign(x) * _lamperti_drift(spec, prm, jnp.where(ok, ax, 1.0))
            d = jnp.where(ok, d, 0.0)
            # inward: stop at the origin (a reflection); outward (delta > 1): at most double y
            return jnp.clip(d, -ax, ax), jnp.sign(x) * d < -ax

        d0, c0 = disp(X1)
        d1, c1 = disp(X1 + w1 + d0)
        return X1 + w1 + 0.5 * (d0 + d1), X2, c0 | c1

    def one_literal(X1, X2, w1, w2, hh):
        # Eq. 43 as written: Euler-Maruyama without drift, J_R -> |J_R| (J_R kept in X1)
        D = jnp.where(X1 > 0, _D_RR(spec, prm, jnp.maximum(X1, 1e-300)), 0.0 if spec.a_lo > 0 else jnp.inf)
        Jn = X1 + jnp.sqrt(D) * w1
        return jnp.abs(Jn), X2, Jn < 0

    one = one_ito if spec.ito else one_literal
    planar = spec.ito and spec.a_lo == 1.0  # two noise components per step only for the planar motion

    def J_of_state(X1, X2):
        return J_fast(X1 * X1 + X2 * X2) if spec.ito else X1.astype(f32)

    xi32 = xi.astype(f32)

    def finish(X1, X2, V, Dp, Jp, cross, nref, nap, nbig, hh, r2n=None):
        Jn = J_of_state(X1, X2) if r2n is None else J_fast(r2n)
        Dn = xi32 * _D_phiphi(spec, prm32, Jn)
        ap = approx_region(Jp)
        big = ap & (jnp.abs(Jn - Jp) > BIG_KICK * Jp)
        return (X1, X2, V + (0.5 * hh) * (Dp + Dn).astype(jnp.float64), Dn, Jn,
                nref + jnp.sum(valid & cross, dtype=jnp.int32), nap + jnp.sum(ap, dtype=jnp.int32),
                nbig + jnp.sum(big, dtype=jnp.int32))  # fmt: skip

    def body(i, c):
        s = step0 + i.astype(step0.dtype)
        sx = jnp.sqrt(xi)

        def draw(j):
            z1 = _block_normals(keys, S, s, j, 0)
            return z1, (_block_normals(keys, S, s, j, 1) if planar else jnp.zeros_like(z1))

        if sub == 1:
            z1, z2 = draw(0)
            X1, X2, cross = one(c[0], c[1], z1 * (jnp.sqrt(h) * sx), z2 * (jnp.sqrt(h) * sx), h)
            return finish(X1, X2, *c[2:5], cross, *c[5:], h)
        zs = [draw(j) for j in range(sub)]
        hs = h / sub

        def fine_path(c):
            for z1, z2 in zs:
                X1, X2, cross = one(c[0], c[1], z1 * (jnp.sqrt(hs) * sx), z2 * (jnp.sqrt(hs) * sx), hs)
                c = finish(X1, X2, *c[2:5], cross, *c[5:], hs)
            return c

        def coarse_path(c):
            z1 = sum(z[0] for z in zs)
            z2 = sum(z[1] for z in zs)
            X1, X2, cross = one(c[0], c[1], z1 * (jnp.sqrt(hs) * sx), z2 * (jnp.sqrt(hs) * sx), h)
            return finish(X1, X2, *c[2:5], cross, *c[5:], h)

        return jax.lax.cond(fine, fine_path, coarse_path, c)

    # The production path (broken law with a linear low branch, no substeps):
    # the same update as one_ito, with the drift multipliers in float32 (they are
    # ~5% corrections to steps of O(1)) and loop invariants hoisted.
    y_b32, u_b32 = prm32[5], prm32[6]
    cexp = 1.0 / (2.0 - spec.a_hi) - 0.5
    sig = jnp.sqrt(xi * h)
    xh32 = (xi * h).astype(f32)

    def mult32(rr2):
        r = jnp.sqrt(rr2.astype(f32))
        above = r >= y_b32
        rs = jnp.maximum(r, y_b32)
        m = jnp.where(above, xh32 * (cexp / (rs - y_b32 + u_b32) - 0.5 / rs) / rs, 0.0)
        return m.astype(jnp.float64)

    def body_fast(i, c):
        X1, X2, V, Dp, Jp, nref, nap, nbig = c
        s = step0 + i.astype(step0.dtype)
        w1 = _block_normals(keys, S, s, 0, 0) * sig
        w2 = _block_normals(keys, S, s, 0, 1) * sig
        m0 = mult32(X1 * X1 + X2 * X2)
        P1, P2 = X1 + w1 + m0 * X1, X2 + w2 + m0 * X2
        m1 = mult32(P1 * P1 + P2 * P2)
        Y1 = X1 + w1 + 0.5 * (m0 * X1 + m1 * P1)
        Y2 = X2 + w2 + 0.5 * (m0 * X2 + m1 * P2)
        return finish(Y1, Y2, V, Dp, Jp, jnp.zeros(X1.shape, bool), nref, nap, nbig, h, Y1 * Y1 + Y2 * Y2)

    fast = _FAST and spec.ito and spec.a_lo == 1.0 and spec.broken and sub == 1

    J0 = J_of_state(X1, X2)
    D0 = xi32 * _D_phiphi(spec, prm32, J0)
    zero = jnp.zeros((), jnp.int32)
    init = (X1, X2, jnp.zeros_like(X1), D0, J0, zero, zero, zero)
    X1, X2, V, _, _, nref, nap, nbig = jax.lax.fori_loop(0, n, body_fast if fast else body, init)
    if spec.ito:
        r2 = X1 * X1 + X2 * X2
        J = _J_of_r(spec, prm, r2, jnp.sqrt(r2))
    else:
        J = X1
    # J_phi: one N(0, V) draw per output, exact given the J_R path
    J_phi = J_phi + jnp.sqrt(V) * _block_normals(_block_keys(key_phi, blocks), S, i_out)
    dR = J - J_R0
    dP = J_phi - J_phi0
    w = valid.astype(jnp.float64)
    sums = jnp.stack([
        jnp.sum(w * dR * dR), jnp.sum(w * dP * dP), jnp.sum(w * J), jnp.sum(w * J * J), jnp.sum(w * dP),
        jnp.sum(w * dR), jnp.sum(w * (J >= prm[2])) if spec.broken else jnp.zeros(()),
    ])  # fmt: skip
    return X1, X2, J, J_phi, sums, jnp.stack([nref, nap, nbig])


# ----------------------------------------------------------------------------- public helpers


def _tau_turnover(coeffs: DiffusionCoefficients, xi_max: float = 1.0) -> float:
    law = coeffs.D_RR
    if not isinstance(law, BrokenPowerLaw):
        raise ValueError("D_RR has no turnover (a single power law): give dt_myr explicitly")
    J_b = float(law.turnover)
    return J_b**2 / (float(xi_max) * float(law(J_b)))


def suggested_dt(coeffs: DiffusionCoefficients, eps: float = 0.1, *, xi_max: float = 1.0) -> float:
    """Step (Myr) at which a radial kick at the D_RR turnover is ``eps`` of the action.

    ``eps^2 J_b^2 / (xi_max D_RR(J_b))``: the relative kick ``sqrt(D_RR dt) / J_R``
    is largest at the turnover ``J_b`` within the falling (short-wavelength)
    branch, so this is the strictest form of the paper's ``dJ/J << 1``
    (Sec. III.3, below Eq. 43). It is conservative for :func:`evolve`, whose
    scheme is exact below the turnover and converged to ~0.1% at ``eps = 1/2``
    (R8: ``suggested_dt(R8) = 0.88`` Myr; :func:`default_dt` = 22 Myr).

    Parameters
    ----------
    coeffs : DiffusionCoefficients
        With a broken-power-law D_RR.
    eps : float
        Target relative kick at the turnover.
    xi_max : float
        Largest vertical suppression factor in the population (Eq. 44).
    """
    return float(eps) ** 2 * _tau_turnover(coeffs, xi_max)


def default_dt(coeffs: DiffusionCoefficients, *, xi_max: float = 1.0, t_end: float | None = None) -> float:
    """The default step of :func:`evolve` in Myr: ``suggested_dt(coeffs, DEFAULT_EPS)`` = ``tau_b / 4`` (R8: 22 Myr).

    For a single power-law D_RR (no turnover) there is no natural scale:
    ``t_end / 1000`` (exact anyway for ``D_RR = d J_R``).
    """
    if isinstance(coeffs.D_RR, BrokenPowerLaw):
        return suggested_dt(coeffs, DEFAULT_EPS, xi_max=max(float(xi_max), 1e-300))
    if t_end is None:
        raise ValueError("a single power-law D_RR needs dt_myr or t_end")
    return float(t_end) / 1000.0


def schwarzschild_radial_actions(key, n: int, mean_JR: float):
    """``n`` radial actions from the Schwarzschild DF ``f = exp(-J_R/<J_R>)/<J_R>`` (Eq. 19).

    ``mean_JR`` in kpc^2/Myr (``sigma_R^2 / kappa``); 0 gives a cold population
    (all zeros). Returns a float64 JAX array.
    """
    mean_JR = float(mean_JR)
    if mean_JR < 0 or not math.isfinite(mean_JR):
        raise ValueError(f"mean_JR must be finite and >= 0, got {mean_JR!r}")
    if mean_JR == 0.0:
        return jnp.zeros(int(n), jnp.float64)
    return mean_JR * jax.random.exponential(key, (int(n),), dtype=jnp.float64)


def log_output_times(t_end_myr: float, n: int, t_min_myr: float = 1.0) -> np.ndarray:
    """``n`` log-spaced output times from ``t_min_myr`` to ``t_end_myr`` (Myr), end included exactly."""
    t_end_myr, t_min_myr = float(t_end_myr), float(t_min_myr)
    if not 0 < t_min_myr <= t_end_myr:
        raise ValueError(f"need 0 < t_min ({t_min_myr}) <= t_end ({t_end_myr})")
    if n < 1:
        raise ValueError("n must be >= 1")
    if n == 1:
        return np.array([t_end_myr])
    t = np.geomspace(t_min_myr, t_end_myr, int(n))
    t[-1] = t_end_myr
    return np.unique(t)


# ----------------------------------------------------------------------------- result


@dataclasses.dataclass(frozen=True)
class LangevinResult:
    """Outcome of :func:`evolve`.

    Attributes
    ----------
    t_myr : ndarray [m]
        Output times, Myr.
    stats : dict of ndarray [m]
        Ensemble curves at the outputs: ``rms_dJR``, ``rms_dJphi``, ``mean_JR``,
        ``rms_JR``, ``mean_dJR``, ``mean_dJphi`` (kpc^2/Myr), ``ratio``
        (rms dJ_R / rms dJ_phi, Fig. 4c), ``short_fraction`` (stars above the
        D_RR turnover); per output interval: ``n_steps``, ``dt_myr``,
        ``reflected_fraction`` (star-steps in which the drift alone would have
        carried a star past J_R = 0 and was capped there -- only on a law that
        falls all the way to J_R = 0, or with ``ito_drift=False`` the steps
        reflected at 0), ``big_kick_fraction`` (steps, among those in the
        approximately integrated region -- above the turnover -- with
        ``|dJ_R| / J_R > 0.3``; large values are harmless there, see
        :func:`suggested_dt`).
    dJ_R, dJ_phi : ndarray [m, n_store]
        Per-star action changes of the first ``n_store`` stars, kpc^2/Myr.
    J_R0, J_R, J_phi0, J_phi : ndarray [N]
        Initial and final actions of every star, kpc^2/Myr.
    dt_myr : float
        Nominal step (each output interval is cut into equal steps no longer than it).
    seed : int or None
        The seed, when the run was started from one.
    ito_drift : bool
    name : str
        Name of the coefficient set.
    """

    t_myr: np.ndarray
    stats: dict
    dJ_R: np.ndarray
    dJ_phi: np.ndarray
    J_R0: np.ndarray
    J_R: np.ndarray
    J_phi0: np.ndarray
    J_phi: np.ndarray
    dt_myr: float
    seed: int | None
    ito_drift: bool = True
    name: str = ""

    @property
    def n_stars(self) -> int:
        return int(self.J_R.shape[0])

    def at(self, t_myr: float, name: str) -> float:
        """An ensemble curve interpolated (log-log where positive) at ``t_myr``."""
        y = np.asarray(self.stats[name], dtype=float)
        if np.all(y > 0):
            return float(np.exp(np.interp(np.log(t_myr), np.log(self.t_myr), np.log(y))))
        return float(np.interp(t_myr, self.t_myr, y))


# ----------------------------------------------------------------------------- driver


#: Blocks advanced together by one compiled call (vectorises the draws across blocks).
_GROUP = 4
#: Threads advancing groups concurrently (each compiled loop runs on one core).
_THREADS = max(1, min(4, os.cpu_count() or 1))
#: Use the float32-multiplier production loop where it applies (tests compare it with the plain one).
_FAST = True
_STATE = ("X1", "X2", "J", "J_R0", "J_phi", "J_phi0", "xi")


@dataclasses.dataclass
class _Engine:
    """Mutable state of a run between outputs (used by :func:`evolve` and the run driver).

    Stars live in groups of up to ``_GROUP`` blocks, arrays ``[nb, S]`` (``S`` =
    :data:`BLOCK`, or a power of two >= 1024 for a single small block); padding
    stars (``valid = False``) sit at the end of the last block and are excluded
    from every statistic.
    """

    spec: _Spec
    prm: Any
    t_out: np.ndarray
    dt: float
    min_steps: int
    key_R: Any
    key_phi: Any
    n: int
    groups: list
    i_out: int = 0
    step: int = 0
    sub: int = 1
    fine: bool = False

    @property
    def n_blocks(self) -> int:
        return sum(int(g["blocks"].shape[0]) for g in self.groups)

    def steps_for(self, i: int) -> tuple[int, float]:
        t0 = 0.0 if i == 0 else float(self.t_out[i - 1])
        L = float(self.t_out[i]) - t0
        k = max(self.min_steps, int(math.ceil(L / self.dt - 1e-9)))
        return k, L / k

    def total_steps(self) -> int:
        return sum(self.steps_for(i)[0] for i in range(len(self.t_out)))

    def advance_output(self, bar=None) -> dict:
        """Advance every star to the next output time; return that output's statistics."""
        i = self.i_out
        k, h = self.steps_for(i)
        step0 = jnp.asarray(self.step, jnp.uint32)
        kk, hh, ii = jnp.int32(k), jnp.float64(h), jnp.uint32(i)
        fine = jnp.bool_(self.fine)

        def run(g):
            out = _advance(
                self.spec, self.prm, g["X1"], g["X2"], g["xi"], g["valid"], g["J_R0"], g["J_phi"], g["J_phi0"],
                self.key_R, self.key_phi, g["blocks"], step0, ii, kk, hh, self.sub, fine,
            )  # fmt: skip
            return jax.block_until_ready(out)

        # XLA runs each call's loop on one core; independent groups go to a thread each.
        # Every group's numbers depend on its own keys only, so the result does not
        # depend on the order or the number of threads.
        nthreads = min(len(self.groups), _THREADS)
        if nthreads > 1:
            with concurrent.futures.ThreadPoolExecutor(nthreads) as ex:
                outs = list(ex.map(run, self.groups))
        else:
            outs = [run(g) for g in self.groups]
        sums = np.zeros(7)
        counts = np.zeros(3, dtype=np.int64)
        for g, (X1, X2, J, J_phi, s_, c_) in zip(self.groups, outs):
            g.update(X1=X1, X2=X2, J=J, J_phi=J_phi)
            sums += np.asarray(s_)
            counts += np.asarray(c_)
            if bar is not None:
                bar.advance(k * int(g["blocks"].shape[0]))
        nref, nap, nbig = (int(c) for c in counts)
        self.i_out += 1
        self.step += k
        N = self.n
        out = {
            "rms_dJR": math.sqrt(sums[0] / N),
            "rms_dJphi": math.sqrt(sums[1] / N),
            "mean_JR": sums[2] / N,
            "rms_JR": math.sqrt(sums[3] / N),
            "mean_dJphi": sums[4] / N,
            "mean_dJR": sums[5] / N,
            "short_fraction": sums[6] / N if self.spec.broken else float("nan"),
            "n_steps": k,
            "dt_myr": h,
            "reflected_fraction": nref / (N * k),
            "big_kick_fraction": (nbig / nap) if nap > 0 else 0.0,
        }
        rd = out["rms_dJphi"]
        out["ratio"] = out["rms_dJR"] / rd if rd > 0 else float("nan")
        return out

    def column(self, name: str, n_first: int | None = None) -> np.ndarray:
        """One per-star array over all (valid) stars, or over the first ``n_first``."""
        out, need = [], self.n if n_first is None else int(n_first)
        for g in self.groups:
            if need <= 0:
                break
            a = np.asarray(g[name]).reshape(-1)[: min(g["nvalid"], need)]
            out.append(a)
            need -= a.shape[0]
        return np.concatenate(out) if out else np.zeros(0)

    def state_arrays(self) -> dict:
        """The per-star state needed to resume (the RNG position is ``(i_out, step)``)."""
        return {k: self.column(k) for k in ("X1", "X2", "J_R0", "J_phi", "J_phi0", "xi")}


def _as_key(key, seed):
    if (key is None) == (seed is None):
        raise TypeError("give exactly one of key= (a JAX PRNG key) or seed= (an int)")
    if seed is not None:
        if isinstance(seed, bool) or int(seed) != seed or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        return jax.random.key(int(seed)), int(seed)
    if not jnp.issubdtype(jnp.asarray(key).dtype, jax.dtypes.prng_key):
        key = jax.random.wrap_key_data(jnp.asarray(key, dtype=jnp.uint32))
    return key, None


def _layout(n: int) -> list[tuple[int, int, int]]:
    """``(first block, n blocks, S)`` of each group for ``n`` stars."""
    if n <= BLOCK:
        return [(0, 1, max(_MIN_PAD, 1 << max(0, (n - 1).bit_length())))]
    nb = -(-n // BLOCK)
    # at most _GROUP blocks per call, and at least one call per thread when there are enough blocks
    per = -(-nb // max(-(-nb // _GROUP), min(nb, _THREADS)))
    return [(b, min(per, nb - b), BLOCK) for b in range(0, nb, per)]


def _padded(a, nb: int, S: int):
    """``a`` zero-padded to ``nb * S`` values, as a float64 ``[nb, S]`` JAX array."""
    out = np.zeros(nb * S, dtype=np.float64)
    out[: a.shape[0]] = a
    return jnp.asarray(out.reshape(nb, S))


def _make_engine(coeffs, J_R0, t_out, *, key, dt, J_phi0=None, xi=None, ito_drift=True, min_steps=1,
                 X=None, J_phi=None, i_out=0, step=0) -> _Engine:  # fmt: skip
    spec, params = _spec_and_params(coeffs, ito_drift)
    prm = jnp.asarray(params)
    J_R0 = np.asarray(J_R0, dtype=np.float64).reshape(-1)
    n = J_R0.shape[0]
    if n < 1:
        raise ValueError("J_R0 must hold at least one star")
    if not np.all(np.isfinite(J_R0)) or np.any(J_R0 < 0):
        raise ValueError("J_R0 must be finite and >= 0 (kpc^2/Myr)")
    J_phi0 = np.zeros(n) if J_phi0 is None else np.broadcast_to(np.asarray(J_phi0, np.float64), (n,)).copy()
    xi_arr = np.ones(n) if xi is None else np.broadcast_to(np.asarray(xi, np.float64), (n,)).copy()
    if not np.all(np.isfinite(xi_arr)) or np.any(xi_arr < 0):
        raise ValueError("xi must be finite and >= 0")
    if not np.all(np.isfinite(J_phi0)):
        raise ValueError("J_phi0 must be finite")
    if X is None:
        X1 = _y_of_J(spec, params, J_R0) if ito_drift else J_R0.copy()
        X2 = np.zeros(n)
    else:
        X1, X2 = (np.asarray(a, np.float64).reshape(-1) for a in X)
    J_phi = J_phi0.copy() if J_phi is None else np.asarray(J_phi, np.float64).reshape(-1)
    J = _J_of_y(spec, params, np.hypot(X1, X2)) if ito_drift else X1.copy()
    cols = {"X1": X1, "X2": X2, "J": J, "J_R0": J_R0, "J_phi": J_phi, "J_phi0": J_phi0, "xi": xi_arr}
    groups = []
    for b0, nb, S in _layout(n):
        lo = b0 * BLOCK
        m = min(n - lo, nb * S)
        g = {k: _padded(v[lo : lo + m], nb, S) for k, v in cols.items()}
        g["valid"] = jnp.asarray((np.arange(nb * S) < m).reshape(nb, S))
        g["blocks"] = jnp.arange(b0, b0 + nb, dtype=jnp.uint32)
        g["nvalid"] = m
        groups.append(g)
    key_R = jax.random.fold_in(key, 0)
    key_phi = jax.random.fold_in(key, 1)
    return _Engine(spec, prm, np.asarray(t_out, float), float(dt), int(min_steps), key_R, key_phi, n, groups, i_out, step)


def _check_times(t_out_myr) -> np.ndarray:
    t = np.asarray(t_out_myr, dtype=np.float64).reshape(-1)
    if t.size == 0 or not np.all(np.isfinite(t)) or t[0] <= 0 or np.any(np.diff(t) <= 0):
        raise ValueError("t_out_myr must be a non-empty, strictly increasing sequence of positive times (Myr)")
    return t


def _resolve_dt(coeffs, dt_myr, xi, t_end) -> float:
    xi_max = 1.0 if xi is None else float(np.max(np.asarray(xi)))
    if dt_myr is None or dt_myr == "auto":
        return default_dt(coeffs, xi_max=xi_max if xi_max > 0 else 1.0, t_end=t_end)
    dt = float(dt_myr)
    if not dt > 0 or not math.isfinite(dt):
        raise ValueError(f"dt_myr must be positive, got {dt_myr!r}")
    if isinstance(coeffs.D_RR, BrokenPowerLaw) and xi_max > 0:
        limit = suggested_dt(coeffs, WARN_EPS, xi_max=xi_max)
        if dt > limit:
            warnings.warn(
                f"dt = {dt:g} Myr gives radial kicks of {math.sqrt(dt / limit) * WARN_EPS:.2f} x J_R at the "
                f"D_RR turnover (> {WARN_EPS:g}): steps above {limit:.3g} Myr "
                f"({(WARN_EPS / 0.1) ** 2:.0f} x suggested_dt(eps=0.1)) are outside the validated range. "
                f"The default dt is {default_dt(coeffs, xi_max=xi_max):.3g} Myr.",
                stacklevel=3,
            )
    return dt


def evolve(
    coeffs: DiffusionCoefficients,
    J_R0,
    t_out_myr,
    *,
    key=None,
    seed: int | None = None,
    dt_myr: float | str | None = None,
    J_phi0=None,
    xi=None,
    ito_drift: bool = True,
    n_store: int = 1000,
    min_steps: int = 1,
    progress=None,
    _coupled: tuple[int, bool] = (1, False),
) -> LangevinResult:
    """Evolve radial and azimuthal actions with the diffusion coefficients ``coeffs`` (Eqs. 26, 43-44).

    See the module docstring for the scheme: the Ito drift ``1/2 D_RR'`` is
    included, ``J_R`` is advanced in its Lamperti variable (exact below the
    D_RR turnover, Heun above), ``J_phi`` exactly given the ``J_R`` path.

    Parameters
    ----------
    coeffs : DiffusionCoefficients
        ``D_RR`` and ``D_phiphi`` (broken power laws, or single :class:`PowerLaw`
        objects); e.g. :func:`~diskorbits.diffusion.coefficients.diffusion_preset`.
    J_R0 : array_like [N]
        Initial radial actions, kpc^2/Myr (e.g. :func:`schwarzschild_radial_actions`).
    t_out_myr : array_like [m]
        Increasing output times, Myr (> 0; e.g. :func:`log_output_times`).
    key, seed : JAX PRNG key or int
        Exactly one. The run is reproducible from it.
    dt_myr : float, "auto" or None
        Nominal step, Myr; None/"auto" -> :func:`default_dt` (R8: 22 Myr). Each
        output interval is cut into equal steps no longer than this (so early,
        short intervals get short steps). A step with relative kicks above
        :data:`WARN_EPS` at the turnover triggers a warning.
    J_phi0 : array_like [N], optional
        Initial azimuthal actions, kpc^2/Myr (default 0: J_phi is then the change).
    xi : float or array_like [N], optional
        Vertical suppression factor (Eq. 44) multiplying both coefficients, per
        star or for all; fixed in time.
    ito_drift : bool
        False: the literal Eq. 43 (no drift, Euler-Maruyama, reflection at 0) --
        for demonstrating why the drift is needed; not for science.
    n_store : int
        Number of stars (the first ones) whose action changes are kept at every output.
    min_steps : int
        Minimum number of steps per output interval.
    progress : bool or AbstractProgress, optional
        Progress in block-steps (silent by default).

    Returns
    -------
    LangevinResult

    Examples
    --------
    >>> from diskorbits.diffusion import diffusion_preset
    >>> res = evolve(diffusion_preset("R8"), np.zeros(2000), [100.0, 1000.0], seed=1)
    >>> res.stats["rms_dJR"].shape
    (2,)
    """
    t_out = _check_times(t_out_myr)
    if isinstance(min_steps, bool) or int(min_steps) < 1:
        raise ValueError("min_steps must be >= 1")
    dt = _resolve_dt(coeffs, dt_myr, xi, float(t_out[-1]))
    k, seed_used = _as_key(key, seed)
    eng = _make_engine(coeffs, J_R0, t_out, key=k, dt=dt, J_phi0=J_phi0, xi=xi, ito_drift=ito_drift, min_steps=min_steps)
    # (sub, fine): private hook for convergence studies with shared Brownian paths (see _advance)
    eng.sub, eng.fine = int(_coupled[0]), bool(_coupled[1])
    n_store = max(0, min(int(n_store), eng.n))
    rows = []
    dR, dP = [], []
    bar = as_progress(progress)
    with bar:
        bar.start(eng.total_steps() * eng.n_blocks, f"Langevin: {eng.n} stars to {t_out[-1] / 1e3:g} Gyr, dt {dt:.3g} Myr")
        while eng.i_out < len(t_out):
            rows.append(eng.advance_output(bar))
            if n_store:
                dR.append(eng.column("J", n_store) - eng.column("J_R0", n_store))
                dP.append(eng.column("J_phi", n_store) - eng.column("J_phi0", n_store))
    return _result_from(eng, rows, dR, dP, n_store, seed_used, ito_drift, getattr(coeffs, "name", ""))


def _stack_rows(rows: list[dict]) -> dict:
    return {k: np.asarray([r[k] for r in rows]) for k in rows[0]} if rows else {}


def _result_from(eng: _Engine, rows, dR, dP, n_store, seed, ito, name) -> LangevinResult:
    m = len(rows)
    return LangevinResult(
        t_myr=np.asarray(eng.t_out[:m]),
        stats=_stack_rows(rows),
        dJ_R=np.stack(dR) if dR else np.zeros((m, n_store)),
        dJ_phi=np.stack(dP) if dP else np.zeros((m, n_store)),
        J_R0=eng.column("J_R0"),
        J_R=eng.column("J"),
        J_phi0=eng.column("J_phi0"),
        J_phi=eng.column("J_phi"),
        dt_myr=eng.dt,
        seed=seed,
        ito_drift=ito,
        name=name,
    )
