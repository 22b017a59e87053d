"""Stäckel-fudge actions, angles and frequencies (Binney 2012, MNRAS 426, 1324).

The fudge treats the potential locally as if it were of Stäckel form in the
prolate spheroidal coordinates of :mod:`.coordinates`. The Hamilton-Jacobi
equation then separates into two one-dimensional problems (Binney 2012,
Eqs. 4-8; notation of galpy's ``actionAngleStaeckel``)::

    S_R(u) = p_u^2 / (2 Delta^2) = E sinh^2 u - I3_U - U(u) - L_z^2 / (2 Delta^2 sinh^2 u)
    S_z(v) = p_v^2 / (2 Delta^2) = E sin^2 v  + I3_V + V(v) - L_z^2 / (2 Delta^2 sin^2 v)

with U(u) = (sinh^2 u + sin^2 v0) Phi(u, v0) and
V(v) = -(sinh^2 u_x + sin^2 v) Phi(u_x, v) (up to constants absorbed in I3),
where (u_x, v_x) is the star. I3_U and I3_V are fixed so that S_R(u_x) and
S_z(v_x) equal the star's own momenta. The line v0 on which U(u) is read is
the option ``jr_line``: ``"midplane"`` (v0 = pi/2, what galpy does) or
``"star"`` (v0 = v_x, the star's own coordinate line -- more accurate for
stars away from the plane, see docs/actions.md).

Actions (Binney 2012, Eq. 8)::

    J_R = (sqrt(2) Delta / pi) int_{u_min}^{u_max} sqrt(S_R) du
    J_z = (2 sqrt(2) Delta / pi) int_{v_min}^{pi/2} sqrt(S_z) dv

Frequencies and angles follow from the derivatives of the actions with
respect to (E, L_z, I3) (Binney 2012, Sec. 2.3; Sanders & Binney 2016) by
inverting the Jacobian dJ/d(E, L_z, I3).

Numerics (all fixed-count, so the code vectorises on CPU and GPU):

* Turning points: solved in y = sinh^2 u and y = sin^2(pi/2 - v), where
  p^2 y is nearly quadratic and the coordinates need only square roots; a
  local quadratic model (difference quotients) gives first guesses, a short
  vectorised scan brackets u_max, then a fixed number of safeguarded
  Newton-type steps with secant slopes (one potential evaluation each; a
  Newton step from the other bracket end, or false position, when a step
  would leave the bracket).
* Quadrature: anomaly substitutions u = m - h cos(psi) and
  v = pi/2 - A sin(chi) remove the square-root endpoint behaviour, and make
  every integrand a smooth even periodic function of the anomaly. The
  midpoint rule on ``order`` nodes is then spectrally accurate, and the
  same samples give the partial integrals needed for the angles through the
  cosine-series interpolant (exact for the trigonometric interpolant).
* Near-circular / near-planar orbits: S/((u-u_min)(u_max-u)) is a 0/0
  cancellation there, so below a tiny amplitude it is replaced by its
  Taylor expansion about the orbit's centre (finite-difference stencil),
  giving the correct limits Omega_R -> kappa-like and Omega_z -> nu-like
  frequencies and J_R, J_z -> 0.
* Gradients: turning points are found on stop_gradient'ed inputs; the
  actions do not depend on them to first order (the momenta vanish there),
  while frequencies and angles get their root sensitivity through an
  implicit-function correction (-dS/dtheta / S').
* Speed on XLA:CPU (which decides most of the cost): no autodiff in the forward
  pass (forward-mode derivatives of the potential made XLA write every shared
  intermediate to memory); sin/cos and sinh/cosh from short polynomials and
  expm1 (:func:`_sin_cos`, :func:`_sinh_cosh`; XLA's float64 sin/cos are ~10x
  slower than exp); every batch of potential evaluations passes through
  :func:`_materialize`, so that XLA computes it once instead of once per consumer.
"""

from __future__ import annotations

import functools
import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np

from .. import _config  # noqa: F401  (float64)
from .. import units
from ._method import AbstractActionMethod
from .coordinates import momenta_uv, spheroidal_parts
from .result import ActionFlag

__all__ = ["StaeckelFudge"]

#: Focal-distance strategies selectable by name (``StaeckelFudge(delta="local")``, ...).
DELTA_METHODS = ("orbit-consistent", "local", "orbit-median")
#: The strategy of ``StaeckelFudge()`` (delta=None): the most accurate one that needs no orbit
#: integration (J_R, J_z within 1% at the 95th percentile, docs/validation/actions.md).
DEFAULT_DELTA = "orbit-consistent"

_SQRT2 = float(np.sqrt(2.0))
_TWO_PI = 2.0 * np.pi

#: Upper limit of the u_max search relative to u_x: sinh(u_x + 12) ~ 1e5 sinh(u_x),
#: far beyond any bound disk orbit; S_R < 0 there for E < 0.
_U_SPAN = 12.0
#: Trial multiples of sinh^2 u_x scanned for the u_max bracket.
_Y_SCAN = np.array([1.05, 1.15, 1.3, 1.6, 2.0, 3.0, 5.0, 10.0, 30.0])
#: Lower limit of the u_min search as a fraction of u_x (S_R -> -inf as u -> 0 for L_z != 0).
_U_FLOOR = 1e-8
#: Upper limit of the v-amplitude search, just short of the axis (S_z -> -inf there).
_W_CEIL = 0.5 * np.pi * (1.0 - 1e-9)

#: Relative width (in sinh^2 u) of the radial oscillation below which the turning
#: points come from the local harmonic model (root error ~ width^2 <~ 1e-6 relative;
#: such orbits have J_R < ~1e-6 of a typical disk J_R).
_COLD = 1e-3

#: Below this half-width of the oscillation in u (or amplitude in v), the
#: quotient Q = S / ((u - u_min)(u_max - u)) is taken from its Taylor series
#: about the centre. Balances rounding in the direct quotient (~eps / h^2 /
#: sin^2 psi_1 ~ 1e-7) against the O(h^3) truncation (~1e-9).
_TAYLOR_BELOW = 1e-3
#: Finite-difference step (in u and v) for the Taylor coefficients of S:
#: truncation O(step^4) ~ 1e-8, rounding eps / step^2 ~ 1e-12.
_FD_STEP = 1e-2

#: Roots closer than this (in u or v) are treated as a double root: no
#: implicit-function gradient correction (it would divide by S' ~ 0).
_DOUBLE_ROOT = 1e-9
#: A turning point whose estimated relative error (in sinh^2 u or sin^2 w) exceeds this is flagged.
_CONVERGED = 1e-9

#: Relative step of the differences for the local quadratic model (first guesses).
_GUESS_STEP = 1e-3
#: Relative step of the one-sided difference quotient giving S' at the start of the
#: turning-point iteration (~sqrt(eps): truncation and rounding both ~1e-8 relative).
_SLOPE_STEP = 2.0**-26
#: Floor of the difference steps, relative to y_x = sinh^2 u_x (u roots) or absolute in
#: y = sin^2 w (w root): S varies on scales of y_x and of ~(b / z)^2 >> 1e-4 respectively,
#: while a step relative to a y near 0 would drown in the rounding of S.
_SLOPE_SCALE = 1e-4


def _stop(tree):
    return jtu.tree_map(lambda x: jax.lax.stop_gradient(x) if eqx.is_array(x) else x, tree)


def _first_guesses(S, x, S0, scale=0.0):
    """Roots of the local quadratic model of S about the star (exact for harmonic oscillations).

    Returns offsets (d_lo <= 0 <= d_hi) of the lower and upper turning points from x > 0,
    given S(x) = S0 >= 0 (S vectorised over its argument's leading axis), with S' and
    S'' from three-point differences: steps b = :data:`_GUESS_STEP` max(x, scale)
    outwards and a = min(b, x/2) inwards (S is only evaluated at y > 0). The model
    only seeds the bracketed iteration, and two plain evaluations cost less than
    nested autodiff.
    """
    b = _GUESS_STEP * jnp.maximum(x, scale)
    a = jnp.minimum(b, 0.5 * x)
    xs = jnp.stack([x - a, x + b])
    f = _materialize(S(xs), xs)
    S1 = (a * a * (f[1] - S0) + b * b * (S0 - f[0])) / (a * b * (a + b))
    S2 = 2.0 * (a * (f[1] - S0) - b * (S0 - f[0])) / (a * b * (a + b))
    # Guard a non-concave model (rare, strongly anharmonic): a weak curvature
    # gives a far first guess; the bracketed Newton iteration then corrects it.
    S2 = jnp.minimum(S2, -1e-3 * (jnp.abs(S1) + jnp.abs(S0)) - 1e-300)
    disc = jnp.sqrt(jnp.maximum(S1 * S1 - 2.0 * S2 * S0, 0.0))
    return (S1 - disc) / (-S2), (S1 + disc) / (-S2)



def _materialize(x, ref):
    """x, computed once: a fusion boundary for XLA (``ref``: any finite array broadcasting to x).

    XLA:CPU regards the last stage of a potential evaluation (table polynomial,
    sums and products) as cheap and recomputes it inside every fused consumer:
    the bracket updates of the root finding, the reductions of the bracket scan
    and the quadrature sums have several consumers each, which multiplied the
    cost of the potential evaluations (~20% of the whole computation). A
    division is "expensive" to XLA and is never duplicated, so dividing by
    1 + 0 * ref (exactly 1 for finite ``ref``, not folded without fast-math)
    makes the value one fusion's output that the consumers read. The result is
    x exactly, also for infinite or NaN x. (``jax.lax.optimization_barrier``
    is removed before fusion on CPU and does not help.)
    """
    return x / (1.0 + 0.0 * ref)


def _value_and_slope(S, x, scale):
    """S(x) and a forward-difference S'(x) (relative error ~1e-8) for S vectorised over x's leading axis.

    The step is :data:`_SLOPE_STEP` max(|x|, scale): ``scale`` (broadcast against x)
    is the size of x below which a relative step would drown in the rounding of S.

    Two plain evaluations are much cheaper than one forward-mode derivative on
    XLA:CPU: the derivative shares intermediates with the value, which then are
    written to memory instead of staying in one fused loop. A relative error
    eps in S' only adds eps * step to the error of a Newton step, so the
    iteration stays quadratically convergent down to ~1e-15.
    """
    dx = _SLOPE_STEP * jnp.maximum(jnp.abs(x), scale)
    x2 = x + dx
    dx = x2 - x  # the step actually taken (exact in floating point)
    xs = jnp.concatenate([x, x2])
    f = _materialize(S(xs), jax.lax.stop_gradient(xs))
    k = x.shape[0]
    return f[:k], (f[k:] - f[:k]) / dx


def _newton(S, x0, x_neg, x_pos, n_steps, scale, f_neg=None, df_neg=None):
    """Root of S between x_neg (S < 0) and x_pos (S >= 0): fixed-count safeguarded Newton iteration.

    S' at the starting point comes from a forward difference (:func:`_value_and_slope`
    with the given ``scale``); afterwards each step costs one evaluation of S, the
    slope being the secant through the last two iterates (superlinear, order 1.6,
    i.e. more digits per evaluation than Newton with a difference quotient, which
    needs two). ``n_steps`` counts these one-evaluation steps; a last update from
    the final iterate follows without evaluation.

    The bracket invariant S(neg) < 0 <= S(pos) is kept at every step, so the
    iteration converges to the unique sign change even when x_pos is itself a
    root (a star sitting exactly at a turning point). A step that would leave the
    bracket is replaced by a Newton step from the bracket end on the other side of
    the root, where a slope is known (for a concave or convex S one of the two ends
    gives a monotonically converging sequence: a star near one turning point
    overshoots from the chord point), else by the false-position point of the
    bracket (the iteration resumes from there, so false position cannot stagnate).
    ``f_neg``, ``df_neg`` are S and S' at x_neg where known.

    Returns the root and an estimate of its relative error (a convergence diagnostic).
    """

    def update(carry):
        neg, pos, fneg, fpos, dneg, dpos, x, f, df, last = carry
        is_neg = f < 0.0
        neg, fneg, dneg = (jnp.where(is_neg, a, b) for a, b in ((x, neg), (f, fneg), (df, dneg)))
        pos, fpos, dpos = (jnp.where(is_neg, b, a) for a, b in ((x, pos), (f, fpos), (df, dpos)))
        lo, hi = jnp.minimum(neg, pos), jnp.maximum(neg, pos)
        inside = lambda c: (c >= lo) & (c <= hi)  # noqa: E731
        cand = x - f / jnp.where(df == 0.0, 1.0, df)
        ok = (df != 0.0) & inside(cand)
        # Newton from the end of the bracket that x did not replace
        xo, fo, do = jnp.where(is_neg, pos, neg), jnp.where(is_neg, fpos, fneg), jnp.where(is_neg, dpos, dneg)
        other = xo - fo / jnp.where(do == 0.0, 1.0, do)
        ok_other = ~ok & jnp.isfinite(fo) & jnp.isfinite(do) & (do != 0.0) & inside(other)
        denom = fpos - fneg
        falsi = pos + fpos * (neg - pos) / jnp.where(denom > 0.0, denom, 1.0)
        # f(neg) is unknown until a negative point has been evaluated: bisect then
        falsi = jnp.where((denom > 0.0) & jnp.isfinite(fneg), falsi, 0.5 * (neg + pos))
        new = jnp.where(ok, cand, jnp.where(ok_other, other, falsi))
        # relative to the root, floored at y = 1e-6: below that (z_max < ~1e-3 Delta) the
        # root is limited by rounding in S (p_v^2 ~ 1e-12 of the potential), not by
        # the iteration; an absolute error 1e-15 in sin^2 w is then still < 1e-6 of J_z
        step = jnp.abs(new - x) / jnp.maximum(jnp.abs(new), 1e-6)
        # Error estimate of the new point: superlinear convergence after a Newton-type
        # step, e ~ K e_x e_previous (the factor 100 covers |y S''/2S'| of anharmonic
        # orbits), else the step itself.
        err = jnp.where(ok, 100.0 * step * jnp.maximum(step, last), step)
        return (neg, pos, fneg, fpos, dneg, dpos), new, step, err

    def body(_, carry):
        bracket, new, step, _ = update(carry)
        x, f, df = carry[6], carry[7], carry[8]
        f_new = _materialize(S(new), jax.lax.stop_gradient(new))
        # secant slope, where the two points are far enough apart for it to be accurate
        # and it keeps the sign of the previous slope (else that slope is kept)
        dx = new - x
        sec = (f_new - f) / jnp.where(dx == 0.0, 1.0, dx)
        good = (jnp.abs(dx) > _SLOPE_STEP * jnp.maximum(jnp.abs(x), scale)) & (sec * df > 0.0)
        return (*bracket, new, f_new, jnp.where(good, sec, df), step)

    f0, df0 = _value_and_slope(S, x0, scale)
    # f(x_neg) unknown (only its sign) unless given: -inf makes the first false-position
    # point x_pos; the slopes at the ends are unknown (NaN) until evaluated.
    nan = jnp.full_like(x0, jnp.nan)
    f_neg = -jnp.inf * jnp.ones_like(x0) if f_neg is None else f_neg
    df_neg = nan if df_neg is None else df_neg
    init = (x_neg, x_pos, f_neg, jnp.zeros_like(x0), df_neg, nan, x0, f0, df0, jnp.ones_like(x0))
    carry = jax.lax.fori_loop(0, n_steps, body, init)
    _, root, _, err = update(carry)
    return root, err


#: pi/2 split into a double and its rounding remainder (argument reduction of :func:`_sin_cos`).
_PIO2_HI = 1.5707963267948966
_PIO2_LO = 6.123233995736766e-17
#: Taylor coefficients of sin x / x and cos x in x^2, enough for |x| <= pi/4 to < 1e-17.
_SIN_TAYLOR = tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(10))
_COS_TAYLOR = tuple((-1) ** k / math.factorial(2 * k) for k in range(10))


def _horner(coeffs, x):
    acc = coeffs[-1]
    for c in coeffs[-2::-1]:
        acc = acc * x + c
    return acc


def _sin_cos(w):
    """(sin w, cos w) for 0 <= w <= pi/2, to ~1 ulp (cos w near pi/2: to ~1e-16 absolute).

    XLA:CPU evaluates float64 sin and cos ~10x slower than exp or log (general
    argument reduction), and the vertical momentum function needs both at every
    node of every star. On [0, pi/2] a reduction to |x| <= pi/4 (x = w or
    pi/2 - w) and two short Taylor polynomials suffice, with full relative
    precision of sin w near 0. (XLA may fold the remainder of pi/2 into the
    constant, which leaves cos w near pi/2 with the absolute error ~6e-17 that
    w itself carries.)
    """
    hi = w > 0.25 * np.pi
    x = jnp.where(hi, (_PIO2_HI - w) + _PIO2_LO, w)
    x2 = x * x
    s = x * _horner(_SIN_TAYLOR, x2)
    c = _horner(_COS_TAYLOR, x2)
    return jnp.where(hi, c, s), jnp.where(hi, s, c)


def _sinh_cosh(u):
    """(sinh u, cosh u) from one expm1 (u >= 0; full relative precision also for small u).

    ~3x cheaper than separate sinh and cosh on XLA:CPU.
    """
    em = jnp.expm1(u)
    e = em + 1.0
    return 0.5 * (em + em / e), 0.5 * (e + 1.0 / e)


def _separated(args):
    """The separated momentum functions in the forms each stage needs.

    ``args`` = (potential, E, L_z^2/2Delta^2, S_R(u_x), S_z(w_x), Delta, sinh u_x, cosh u_x,
    u_x, w_x, sin v0, cos v0), where v0 is the line on which U(u) is read.

    Returns a dict of functions of one scalar:

    * ``"R_y"``, ``"z_y"``: S_R as a function of y = sinh^2 u and S_z of y = sin^2 w
      (w = pi/2 - v): the variables of the turning-point iteration, in which the
      coordinates need only square roots (no hyperbolic or trigonometric functions);
    * ``"R_sc"(sinh u, cosh u)``, ``"z_sc"(sin w, cos w)``: for nodes whose
      coordinates are already known;
    * ``"R_u"``, ``"z_w"``: functions of u and w (differentiable; implicit-function
      derivatives of the roots).

    In every form S equals the star's own momentum exactly at the star (the
    bracket of the turning-point iteration relies on that value being >= 0).
    """
    pot, E, L2, Pu, Pv, d, shx, chx, ux, wx, s0, c0 = args
    s02 = s0 * s0
    shx2 = shx * shx

    def F(sh2, sh, ch):
        return E * sh2 - (sh2 + s02) * pot._phi(d * sh * s0, d * ch * c0) - L2 / sh2

    def G(c2, cw, sw):
        return E * c2 - (shx2 + c2) * pot._phi(d * shx * cw, d * chx * sw) - L2 / c2

    Fy = lambda y: F(y, jnp.sqrt(y), jnp.sqrt(1.0 + y))  # noqa: E731
    Gy = lambda y: G(1.0 - y, jnp.sqrt(1.0 - y), jnp.sqrt(y))  # noqa: E731
    swx, cwx = _sin_cos(wx)
    # S(x) = P + [F(x) - F(x_star)]: exactly the star's own momentum term at the star,
    # which is what fixes the separation constants I3_U, I3_V. Each form gets the
    # constant evaluated in its own arithmetic (the y forms serve the root finding;
    # sqrt(y) would also give infinite derivatives at y = 0, z = 0); XLA drops the
    # pair a caller does not use.
    Fx_y, Gx_y = Fy(shx2), Gy(swx * swx)
    Fx, Gx = F(shx2, shx, chx), G(cwx * cwx, cwx, swx)

    def R_sc(sh, ch):
        return Pu + (F(sh * sh, sh, ch) - Fx)

    def z_sc(sw, cw):
        return Pv + (G(cw * cw, cw, sw) - Gx)

    return dict(
        R_y=lambda y: Pu + (Fy(y) - Fx_y),
        z_y=lambda y: Pv + (Gy(y) - Gx_y),
        R_sc=R_sc,
        z_sc=z_sc,
        R_u=lambda u: R_sc(*_sinh_cosh(u)),
        z_w=lambda w: z_sc(*_sin_cos(w)),
    )


def _make_S(args):
    """The two separated momentum functions S_R(u) = p_u^2/2Delta^2 and S_z(w) = p_v^2/2Delta^2 (w = pi/2 - v)."""
    S = _separated(args)
    return S["R_u"], S["z_w"]


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _pin(side, r, separated, args):
    """Identity on a root r of S (side 0: S_R, 1: S_z) whose derivative is given by the implicit function theorem.

    r comes from an iteration on stop_gradient'ed inputs; its sensitivity to
    ``args`` (phase-space point, potential parameters, Delta) is
    dr = -(dS/dargs . dargs) / S'(r). The primal is the identity, so the
    forward computation pays nothing for differentiability.
    """
    return r


@_pin.defjvp
def _pin_jvp(side, primals, tangents):
    r, separated, args = primals
    targs = tangents[2]
    # r may be a vector of roots of the same S: one vmapped copy of the potential.
    _, dS = jax.jvp(lambda a: jax.vmap(_make_S(a)[side])(r), (args,), (targs,))
    S = jax.vmap(_make_S(args)[side])
    dSdr = jax.jvp(S, (r,), (jnp.ones_like(r),))[1]
    ok = separated & (dSdr != 0.0)
    return r, jnp.where(ok, -dS / jnp.where(ok, dSdr, 1.0), 0.0)


def _partial_weights(psi, n):
    """Weights w_j with int_0^psi f = sum_j w_j f(psi_j) for the midpoint nodes psi_j = (j+1/2) pi/n.

    Exact for the cosine-series (DCT-II) interpolant f = a_0 + sum_{k<n} a_k cos(k psi)
    of an even, 2 pi-periodic f; valid for any psi (also beyond pi).
    """
    k = np.arange(1, n)
    nodes = (np.arange(n) + 0.5) * np.pi / n
    C = jnp.asarray(np.cos(np.outer(nodes, k)) / k)  # (n, n-1)
    # sin(k psi), k = 1..n-1, by rotation (one sin and cos instead of n-1 sines,
    # which XLA:CPU evaluates slowly); the error grows only as ~k eps.
    s1, c1 = jnp.sin(psi), jnp.cos(psi)
    sk, ck = [s1], c1
    for _ in range(n - 2):
        sk_prev = sk[-1]
        sk.append(sk_prev * c1 + ck * s1)
        ck = ck * c1 - sk_prev * s1
    return (psi + 2.0 * C @ jnp.stack(sk)) / n


def _extent_of(d, umin, umax, A):
    """Pericentre radius, apocentre radius and maximum height (galpy's definitions) from the roots."""
    r_peri = d * _sinh_cosh(umin)[0]
    sh, ch = _sinh_cosh(umax)
    sA, cA = _sin_cos(A)
    R_apo = d * sh * cA
    z_max = d * ch * sA
    return r_peri, jnp.sqrt(R_apo * R_apo + z_max * z_max), z_max


class StaeckelFudge(AbstractActionMethod):
    """Stäckel fudge of Binney (2012) with a per-star or fixed focal distance.

    Parameters
    ----------
    delta : None, str, float, array_like or Quantity, optional
        Focal distance Delta (kpc), or the strategy estimating it per star.
        ``None`` (default) means ``"orbit-consistent"``: a roots-only first fudge
        pass with the local Delta gives the orbit's extent (r_peri, r_apo, z_max),
        and the local estimate is repeated at a typical point of that orbit
        (:func:`diskorbits.actions.focal_distance.estimate_delta_orbit_consistent`);
        with ``jr_line="star"`` this gives J_R and J_z within 1% of exact actions at
        the 95th percentile of disk stars (docs/validation/actions.md).
        ``"local"``: the estimate of Sanders (2012, Eq. 9) at the star's own
        position (galpy's per-star ``estimateDeltaStaeckel(..., no_median=True)``;
        about 1.6x faster, J_R 95th percentile 1.9%). ``"orbit-median"``: median
        of the local estimate along a short orbit integration (slow). A scalar fixes
        Delta for all stars; an array gives one Delta per star (broadcast against
        the phase-space arrays).
    jr_line : {"star", "midplane"}
        Coordinate line along which U(u) -- hence J_R and the u-integrals -- is
        evaluated: ``"star"`` (default) the star's own v = v_x line,
        ``"midplane"`` v = pi/2, which reproduces galpy's ``actionAngleStaeckel``.
        Identical for stars at z = 0.
    order : int
        Quadrature nodes per anomaly integral (midpoint rule on the
        anomaly, spectrally convergent); 16 gives disk-orbit actions to
        ~1e-9 (J_z of vertically hot orbits to ~1e-6; 24 to ~3e-8).
    newton_steps : int
        Safeguarded Newton-type steps per turning point after the bracket scan,
        each costing one potential evaluation (slopes from secants; the start
        takes a difference quotient). 9 converges disk stars with a margin of
        3 steps and flags no more stars of hot (halo-like) populations than 7
        Newton steps with exact derivatives did.

    Notes
    -----
    Binney (2012), MNRAS 426, 1324, Eqs. 4-8 (separation and actions);
    angles and frequencies from the (E, L_z, I3) Jacobian as in galpy
    (Bovy 2015, ApJS 216, 29) and Sanders & Binney (2016). The angle zero
    points: theta_R = 0 at pericentre moving out; theta_z = 0 at the upward
    midplane crossing (galpy's convention since 2014).

    Examples
    --------
    >>> import diskorbits as do
    >>> from diskorbits.actions import compute_actions, StaeckelFudge
    >>> pot = do.MiyamotoNagaiPotential(6.8e10, 3.0, 0.28) + do.NFWPotential(5.4e11, 15.62)
    >>> kms = do.units.KMS
    >>> res = compute_actions(pot, 8.0, 0.1, 30 * kms, 220 * kms, 20 * kms,
    ...                       method=StaeckelFudge(delta=3.0))
    >>> bool(res.flag == 0)
    True
    """

    uses_delta: ClassVar[bool] = True

    delta: jax.Array | None
    delta_method: str = eqx.field(static=True)
    jr_line: str = eqx.field(static=True)
    order: int = eqx.field(static=True)
    newton_steps: int = eqx.field(static=True)

    def __init__(self, delta=None, jr_line: str = "star", order: int = 16, newton_steps: int = 9):
        if delta is None or isinstance(delta, str):
            self.delta_method = DEFAULT_DELTA if delta is None else delta
            delta = None
        else:
            self.delta_method = "fixed"
            if isinstance(delta, jax.Array):
                delta = delta.astype(jnp.float64)  # may be a tracer: keep it traceable
            else:
                delta = jnp.asarray(units.to_internal(delta, "length", "delta"))
        self.delta = delta
        self.jr_line = jr_line
        self.order = int(order)
        self.newton_steps = int(newton_steps)

    def __check_init__(self):
        if self.delta_method not in ("fixed", *DELTA_METHODS):
            raise ValueError(f"delta must be a length, an array or one of {DELTA_METHODS}, got {self.delta_method!r}")
        if self.jr_line not in ("star", "midplane"):
            raise ValueError(f"jr_line must be 'star' or 'midplane', got {self.jr_line!r}")
        if self.order < 4:
            raise ValueError(f"order must be >= 4, got {self.order}")
        if self.newton_steps < 1:
            raise ValueError(f"newton_steps must be >= 1, got {self.newton_steps}")

    # ------------------------------------------------------------------ delta
    def _explicit_delta(self):
        return self.delta

    def _without_delta(self):
        return StaeckelFudge(None, self.jr_line, self.order, self.newton_steps)

    def _deltas(self, potential, R, z, v_R, v_phi, v_z):
        from .focal_distance import _orbit_consistent_core, estimate_delta

        if self.delta_method == "orbit-consistent":
            # roots-only first pass (no quadratures), J_R line as for the actions
            return _orbit_consistent_core(potential, R, z, v_R, v_phi, v_z, jr_line=self.jr_line)
        return estimate_delta(potential, R, z, v_R, v_phi, v_z, method=self.delta_method)

    # ------------------------------------------------------------------ one star
    def _setup(self, potential, delta, R, z, v_R, v_phi, v_z):
        """The star's spheroidal coordinates, momenta and separated momentum functions."""
        d = delta
        Lz = R * v_phi
        E = potential._phi(R, z) + 0.5 * (v_R * v_R + v_phi * v_phi + v_z * v_z)
        shx, chx, svx, cvx = spheroidal_parts(R, z, d)
        ux = jnp.arcsinh(shx)
        # w = pi/2 - v measures the angular distance from the midplane (w > 0 for z > 0);
        # working in w keeps z = 0 exact (sin w = 0) where v = pi/2 would not be.
        wx_signed = jnp.arcsin(jnp.clip(cvx, -1.0, 1.0))
        wx = jnp.abs(wx_signed)
        p_u, p_v = momenta_uv(v_R, v_z, shx, chx, svx, cvx, d)
        L2 = Lz * Lz / (2.0 * d * d)
        Pu = p_u * p_u / (2.0 * d * d)
        Pv = p_v * p_v / (2.0 * d * d)
        if self.jr_line == "midplane":
            s0, c0 = jnp.ones_like(svx), jnp.zeros_like(cvx)
        else:
            s0, c0 = svx, cvx
        args = (potential, E, L2, Pu, Pv, d, shx, chx, ux, wx, s0, c0)
        return dict(Lz=Lz, ux=ux, wx_signed=wx_signed, wx=wx, p_u=p_u, p_v=p_v, args=args)

    def _turning_points(self, args):
        """Turning points (u_min, u_max, w amplitude A) on stop_gradient'ed inputs, and the flag."""
        _, _, _, Pu, Pv, _, shx, _, ux, wx, _, _ = args
        S0 = _separated(_stop(args))
        # Solved in y = sinh^2 u and y = sin^2 w, where S y and S_z (1 - y) are close to
        # quadratic polynomials (exactly so for a Stäckel potential with constant U, V):
        # the local quadratic model then gives first guesses within a few Newton steps,
        # and the -L^2/(2 Delta^2 y) barrier becomes a constant. A near-planar
        # oscillation (a double root in w) is a simple root in sin^2 w.
        ux0, wx0 = jax.lax.stop_gradient(ux), jax.lax.stop_gradient(wx)
        Pu0, Pv0 = jax.lax.stop_gradient(Pu), jax.lax.stop_gradient(Pv)
        n = self.newton_steps
        P_u = lambda y: S0["R_y"](y) * y  # noqa: E731
        P_w = lambda y: S0["z_y"](y) * (1.0 - y)  # noqa: E731
        yx = jax.lax.stop_gradient(shx) ** 2
        y_floor, y_ceil = _U_FLOOR**2 * yx, jnp.sinh(ux0 + _U_SPAN) ** 2
        # Differences in y need a floor on the step where y << y_x (u) or y << 1 (w):
        # there relative steps would be swamped by the rounding of S.
        u_scale = _SLOPE_SCALE * yx
        d_lo, d_hi = _first_guesses(jax.vmap(P_u), yx, Pu0 * yx)
        # The upper root can be far from the star (P_u need not be concave in y there),
        # so its quadratic guess is combined with a short vectorised scan outwards; the
        # iteration then starts inside a tight bracket, from its false-position point.
        trial = jnp.concatenate([yx * jnp.asarray(_Y_SCAN), jnp.clip(yx + d_hi, yx, y_ceil)[None]])
        Pt = _materialize(jax.vmap(P_u)(trial), trial)
        outer = jnp.min(jnp.where(Pt < 0.0, trial, y_ceil))
        is_in = (Pt >= 0.0) & (trial < outer)
        inner = jnp.max(jnp.where(is_in, trial, yx))
        P_out = jnp.min(jnp.where(trial == outer, Pt, jnp.inf))
        P_in = jnp.maximum(jnp.max(jnp.where(is_in & (trial == inner), Pt, -jnp.inf)), Pu0 * yx)
        start = inner + P_in * (outer - inner) / jnp.where(P_in - P_out > 0.0, P_in - P_out, 1.0)
        start = jnp.where(jnp.isfinite(P_out) & (P_in - P_out > 0.0), start, outer)
        # The chord is degenerate for a star at (or near) its lower turning point
        # (v_R ~ 0): P_in ~ 0 at inner = y_x, so the chord's root lies next to the
        # *lower* root, on the rising side of P_u, where a Newton step points out of
        # the bracket (towards the lower root) and the iteration falls back to
        # bisection and runs out of steps. A chord point where P_u rises (P_u' > 0)
        # is therefore replaced by a Newton step from the outer end, which does not
        # see the lower root (for a concave P_u it lands between the root and outer,
        # and Newton then converges monotonically), when that stays in the bracket.
        P2, dP2 = _value_and_slope(jax.vmap(P_u), jnp.stack([start, outer]), u_scale)
        t_out = outer - P_out / jnp.where(dP2[1] < 0.0, dP2[1], -1.0)
        use_t = (dP2[0] > 0.0) & jnp.isfinite(P_out) & (dP2[1] < 0.0) & (t_out >= inner) & (t_out <= outer)
        start = jnp.where(use_t, t_out, start)
        # both u roots in one vectorised iteration (one copy of the potential in the
        # graph); P_u and its slope at the outer end are known from above
        y_u, st_u = _newton(
            jax.vmap(P_u),
            jnp.stack([jnp.clip(yx + d_lo, y_floor, yx), start]),
            jnp.stack([y_floor, outer]),
            jnp.stack([yx, inner]),
            n,
            u_scale,
            f_neg=jnp.stack([-jnp.inf, P_out]),
            df_neg=jnp.stack([jnp.nan, dP2[1]]),
        )
        # Near-circular orbits: the roots approach a double root, where Newton slows to
        # halving; there the harmonic model is exact to O(width^2) and is used instead.
        cold = (d_hi - d_lo) < _COLD * yx
        y_min = jnp.where(cold, yx + d_lo, y_u[0])
        y_max = jnp.where(cold, yx + d_hi, y_u[1])
        st1 = st2 = jnp.where(cold, 0.0, jnp.max(st_u))
        yz = _sin_cos(wx0)[0] ** 2
        yz_ceil = jnp.sin(_W_CEIL) ** 2
        # sqrt(y) has an infinite derivative at y = 0 (z = 0), so the quadratic model is
        # not used for stars in the plane: there the root is simple in y, P_w is close to
        # linear, and Newton from y = 1e-8 (either side of the root) converges at once.
        _, d_z = _first_guesses(jax.vmap(P_w), jnp.maximum(yz, 1e-10), Pv0 * (1.0 - yz), _SLOPE_SCALE)
        z_start = jnp.where(yz < 1e-10, 1e-8, jnp.clip(yz + d_z, yz, yz_ceil))
        y_A, st3 = _newton(jax.vmap(P_w), z_start[None], yz_ceil[None], yz[None], n, _SLOPE_SCALE)
        y_A, st3 = y_A[0], st3[0]
        umin0 = jnp.minimum(jnp.arcsinh(jnp.sqrt(y_min)), ux0)
        umax0 = jnp.maximum(jnp.arcsinh(jnp.sqrt(y_max)), ux0)
        A0 = jnp.maximum(jnp.arcsin(jnp.sqrt(y_A)), wx0)
        # A star in the plane with no vertical momentum is exactly planar: J_z = 0 exactly.
        A0 = jnp.where((Pv0 == 0.0) & (wx0 == 0.0), 0.0, A0)
        planar = (Pv0 == 0.0) & (wx0 == 0.0)
        converged = (jnp.maximum(st1, st2) < _CONVERGED) & (planar | (st3 < _CONVERGED))
        flag = jnp.where(converged, 0, int(ActionFlag.NOT_CONVERGED)).astype(jnp.int32)
        return umin0, umax0, A0, flag

    def _extent(self, potential, delta, R, z, v_R, v_phi, v_z):
        """Roots only: (r_peri, r_apo, z_max) in galpy's definitions, and the flag (no quadratures)."""
        st = self._setup(potential, delta, R, z, v_R, v_phi, v_z)
        args = st["args"]
        umin0, umax0, A0, flag = self._turning_points(args)
        umin, umax = _pin(0, jnp.stack([umin0, umax0]), 0.5 * (umax0 - umin0) > _DOUBLE_ROOT, args)
        A = _pin(1, A0[None], A0 > _DOUBLE_ROOT, args)[0]
        return _extent_of(delta, umin, umax, A), flag

    def _star(self, potential, delta, R, z, v_R, v_phi, v_z, phi):
        d = delta
        M = self.order
        st = self._setup(potential, delta, R, z, v_R, v_phi, v_z)
        Lz, ux, wx_signed, p_u, p_v, args = (st[k] for k in ("Lz", "ux", "wx_signed", "p_u", "p_v", "args"))
        S = _separated(args)
        umin0, umax0, A0, flag = self._turning_points(args)

        h0 = 0.5 * (umax0 - umin0)
        # Differentiable roots: identity in value, implicit-function derivative.
        umin, umax = _pin(0, jnp.stack([umin0, umax0]), h0 > _DOUBLE_ROOT, args)
        A = _pin(1, A0[None], A0 > _DOUBLE_ROOT, args)[0]
        m, h = 0.5 * (umax + umin), 0.5 * (umax - umin)

        # ---------------------------------------------------------- nodes
        psi = (np.arange(M) + 0.5) * np.pi / M
        cpsi, spsi = jnp.asarray(np.cos(psi)), jnp.asarray(np.sin(psi))
        chi = 0.5 * psi  # v-anomaly nodes on (0, pi/2): the v integrands have period pi in chi
        schi, cchi = jnp.asarray(np.sin(chi)), jnp.asarray(np.cos(chi))

        # One vectorised evaluation per side: quadrature nodes plus the finite-difference
        # stencil for the Taylor coefficients (keeps the compiled graph small).
        dl = _FD_STEP
        uj = m - h * cpsi
        shq, chq = _sinh_cosh(jnp.concatenate([uj, m + dl * jnp.asarray([2.0, 1.0, 0.0, -1.0, -2.0])]))
        Su = _materialize(jax.vmap(S["R_sc"])(shq, chq), jax.lax.stop_gradient(shq))
        Sj, (f2, f1, f0, fm1, fm2) = Su[:M], Su[M:]
        wj = A * schi
        swq, cwq = _sin_cos(jnp.concatenate([wj, dl * jnp.asarray([0.0, 1.0, 2.0])]))
        Sw = _materialize(jax.vmap(S["z_sc"])(swq, cwq), jax.lax.stop_gradient(swq))
        Szj, (g0, g1, g2) = Sw[:M], Sw[M:]

        # Actions (the roots' derivatives do not matter here: p vanishes at them).
        sq = lambda s: jnp.sqrt(jnp.where(s > 0.0, s, 1.0)) * (s > 0.0)  # noqa: E731  (safe sqrt, zero grad at 0)
        J_R = _SQRT2 * d / M * jnp.sum(sq(Sj) * h * spsi)
        J_z = _SQRT2 * d / M * jnp.sum(sq(Szj) * A * cchi)

        # Frequencies/angles: quotients Q = S / (distance to both turning points).
        small_u = h < _TAYLOR_BELOW
        h_s = jnp.where(small_u, 1.0, h)
        Q_dir = Sj / (h_s * h_s * spsi * spsi)
        # Taylor coefficients of S about the centre m from the 5-point stencil.
        S2 = (-f2 + 16.0 * f1 - 30.0 * f0 + 16.0 * fm1 - fm2) / (12.0 * dl**2)
        S3 = (f2 - 2.0 * f1 + 2.0 * fm1 - fm2) / (2.0 * dl**3)
        S4 = (f2 - 4.0 * f1 + 6.0 * f0 - 4.0 * fm1 + fm2) / dl**4
        x = uj - m
        Q_tay = -0.5 * S2 - S3 / 6.0 * x - S4 / 24.0 * (x * x + h * h)
        Qu = jnp.maximum(jnp.where(small_u, Q_tay, Q_dir), 1e-300)

        small_v = A < _TAYLOR_BELOW
        A_s = jnp.where(small_v, 1.0, A)
        Qz_dir = Szj / (A_s * A_s * cchi * cchi)
        # S_z is even in w: S(w) = g0 + S_2 w^2/2 + S_4 w^4/24 + O(w^6) from S(0), S(dl), S(2 dl).
        a, b = g1 - g0, g2 - g0
        S2z = (16.0 * a - b) / (6.0 * dl**2)
        S4z = 2.0 * (b - 4.0 * a) / dl**4
        Qz_tay = -0.5 * S2z - S4z / 24.0 * (wj * wj + A * A)
        Qz = jnp.maximum(jnp.where(small_v, Qz_tay, Qz_dir), 1e-300)

        iu = 1.0 / jnp.sqrt(Qu)
        sh2j = shq[:M] ** 2
        fuE, fuI, fuL = sh2j * iu, -iu, -iu / sh2j  # d p_u/d(E, I3, Lz) up to constant factors
        iz = 1.0 / jnp.sqrt(Qz)
        c2j = cwq[:M] ** 2  # = sin^2 v
        fzE, fzI, fzL = c2j * iz, iz, -iz / c2j

        # Full-period derivatives dJ/d(E, I3, Lz)
        kuE, kuL = d / (_SQRT2 * M), Lz / (_SQRT2 * d * M)
        djrdE, djrdI3, djrdL = kuE * jnp.sum(fuE), kuE * jnp.sum(fuI), kuL * jnp.sum(fuL)
        djzdE, djzdI3, djzdL = kuE * jnp.sum(fzE), kuE * jnp.sum(fzI), kuL * jnp.sum(fzL)

        det = djrdE * djzdI3 - djzdE * djrdI3
        Omega_R = djzdI3 / det
        Omega_z = -djrdI3 / det
        Omega_phi = (djrdI3 * djzdL - djzdI3 * djrdL) / det
        dI3dJR = -djzdE / det
        dI3dJz = djrdE / det
        dI3dLz = -(djrdE * djzdL - djzdE * djrdL) / det

        # ---------------------------------------------------------- angles
        # u anomaly of the star: psi = 0 at u_min, increasing while p_u > 0.
        cos_psi = jnp.clip((m - ux) / h_s, -1.0, 1.0)
        psi_x = jnp.arctan2(jnp.sqrt(jnp.maximum(1.0 - cos_psi * cos_psi, 1e-300)), cos_psi)
        psi_x = jnp.where(p_u < 0.0, _TWO_PI - psi_x, psi_x)
        psi_x = jnp.where(h > 0.0, psi_x, 0.0)
        # v anomaly: chi = 0 at the upward (p_v < 0, z increasing) midplane crossing.
        sin_chi = jnp.clip(wx_signed / jnp.where(A > 0.0, A, 1.0), -1.0, 1.0)
        chi_x = jnp.arctan2(sin_chi, jnp.sqrt(jnp.maximum(1.0 - sin_chi * sin_chi, 1e-300)))
        chi_x = jnp.where(p_v > 0.0, np.pi - chi_x, chi_x)
        chi_x = jnp.where(A > 0.0, chi_x, 0.0)

        Wu = _partial_weights(psi_x, M)
        Wz = 0.5 * _partial_weights(2.0 * chi_x, M)
        # dW/d(E, I3, Lz) along the path from the zero-point to the star (generating function W)
        dE = d / _SQRT2 * (Wu @ fuE + Wz @ fzE)
        dI = d / _SQRT2 * (Wu @ fuI + Wz @ fzI)
        dL = Lz / (_SQRT2 * d) * (Wu @ fuL + Wz @ fzL)
        theta_R = jnp.mod(Omega_R * dE + dI3dJR * dI, _TWO_PI)
        theta_z = jnp.mod(Omega_z * dE + dI3dJz * dI, _TWO_PI)
        theta_phi = jnp.mod(phi + dL + Omega_phi * dE + dI3dLz * dI, _TWO_PI)

        r_peri, r_apo, z_max = _extent_of(d, umin, umax, A)

        out = dict(
            J_R=J_R,
            J_z=J_z,
            theta_R=theta_R,
            theta_phi=theta_phi,
            theta_z=theta_z,
            Omega_R=Omega_R,
            Omega_phi=Omega_phi,
            Omega_z=Omega_z,
            r_peri=r_peri,
            r_apo=r_apo,
            z_max=z_max,
        )
        return out, flag
