"""Unbinned Fourier fit of abundance deviations against the vertical angle (PW2021 Eqs. 3-8).

Price-Whelan et al. (2021) fit the deviations ``Delta_n`` (Eq. 2) of all stars,
without binning, with the series (Eq. 3)::

    Delta(theta_z) = c0 + a1 cos theta_z + b1 sin theta_z + a2 cos 2 theta_z + b2 sin 2 theta_z

by weighted linear least squares (Eqs. 4-7): design matrix ``M`` (N x P),
data ``y = Delta``, diagonal covariance ``C = diag(sigma_Delta^2)``, best fit
``g = (M^T C^-1 M)^-1 M^T C^-1 y`` with covariance ``(M^T C^-1 M)^-1``. Here
the coefficients are ordered ``(c0, a1, b1, a2, b2, ...)`` -- ``a_m`` the
``cos(m theta)`` and ``b_m`` the ``sin(m theta)`` amplitude -- for any
``m_max``. The mass-model objective is ``a1^2 + b1^2 + a2^2`` (Eq. 8).

Angle convention
----------------
diskorbits' ``theta_z`` is 0 at the upward midplane crossing, so to lowest
order ``z ~ sin theta_z`` and ``v_z ~ cos theta_z`` (docs/actions.md; galpy's
convention since 2014). Hence, as PW2021 state, an error in the assumed solar
height ``z_sun`` shows up in ``b1`` (sin) and one in the solar vertical
velocity ``v_z,sun`` in ``a1`` (cos). For an abundance that rises with
``J_z`` (slope ``f' > 0``), assuming ``z_sun`` too high by ``dz`` gives
``b1 ~ -f' nu A dz`` and ``v_z,sun`` too high gives ``a1 < 0``; a disk that is too
massive squeezes the assumed orbits vertically and gives ``a2 > 0`` (the
signs flip with ``f'``). ``b2`` should vanish for a phase-mixed population.

Everything is pure JAX: the fit works on leading batch axes (e.g. bootstrap
trials), under ``jit``/``vmap``, and is differentiable in the data (and hence
in the potential parameters through the actions and angles).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl

from .. import _config  # noqa: F401  (float64)

__all__ = ["FourierFit", "fit_fourier", "fourier_design_matrix", "fourier_series", "fourier_terms", "oti_objective"]


def fourier_terms(m_max: int = 2) -> tuple[str, ...]:
    """Coefficient names ``("c0", "a1", "b1", ..., "a{m}", "b{m}")``.

    >>> fourier_terms(2)
    ('c0', 'a1', 'b1', 'a2', 'b2')
    """
    if not isinstance(m_max, int) or isinstance(m_max, bool) or m_max < 0:
        raise ValueError(f"'m_max' must be a non-negative integer; got {m_max!r}")
    names = ["c0"]
    for m in range(1, m_max + 1):
        names += [f"a{m}", f"b{m}"]
    return tuple(names)


def fourier_design_matrix(theta, m_max: int = 2):
    """Design matrix of Eq. 4: columns ``1, cos theta, sin theta, ..., cos m theta, sin m theta``.

    Parameters
    ----------
    theta : array_like, shape (..., N)
        Angles, rad.
    m_max : int
        Highest harmonic.

    Returns
    -------
    jax.Array, shape (..., N, 2 m_max + 1)
    """
    fourier_terms(m_max)
    th = jnp.asarray(theta, dtype=jnp.float64)
    cols = [jnp.ones_like(th)]
    for m in range(1, m_max + 1):
        cols += [jnp.cos(m * th), jnp.sin(m * th)]
    return jnp.stack(cols, axis=-1)


def fourier_series(coefficients, theta):
    """Evaluate Eq. 3 for coefficients ``(c0, a1, b1, ...)``; ``m_max`` from their number.

    Parameters
    ----------
    coefficients : array_like, shape (..., 2 m_max + 1)
    theta : array_like, shape (..., N)

    Returns
    -------
    jax.Array, shape (..., N)
    """
    g = jnp.asarray(coefficients, dtype=jnp.float64)
    P = g.shape[-1]
    if P % 2 != 1:
        raise ValueError(f"coefficients must have 2 m_max + 1 entries; got {P}")
    M = fourier_design_matrix(theta, (P - 1) // 2)
    return jnp.einsum("...np,...p->...n", M, g)


class FourierFit(eqx.Module):
    """Weighted least-squares Fourier coefficients of Delta(theta) (PW2021 Eq. 7).

    Attributes
    ----------
    coefficients : jax.Array, shape (..., P)
        ``(c0, a1, b1, a2, b2, ...)``, in the unit of Delta (dex).
    covariance : jax.Array, shape (..., P, P)
        ``(M^T C^-1 M)^-1``: exact when the ``sigma_Delta`` are the true
        uncertainties; see :attr:`scaled_covariance` otherwise.
    chi2 : jax.Array, shape (...)
        Weighted residual sum of squares.
    n_data : jax.Array, shape (...)
        Number of data points with positive weight.
    m_max : int
        Highest harmonic (static).
    """

    coefficients: jax.Array
    covariance: jax.Array
    chi2: jax.Array
    n_data: jax.Array
    m_max: int = eqx.field(static=True)

    @property
    def names(self) -> tuple[str, ...]:
        """Coefficient names in storage order."""
        return fourier_terms(self.m_max)

    def _index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"unknown coefficient {name!r}; this fit has {self.names}") from None

    def coefficient(self, name: str):
        """One coefficient by name (``"a2"``), shape (...)."""
        return self.coefficients[..., self._index(name)]

    def error(self, name: str):
        """Formal 1-sigma uncertainty of one coefficient, shape (...)."""
        i = self._index(name)
        return jnp.sqrt(self.covariance[..., i, i])

    @property
    def errors(self):
        """Formal 1-sigma uncertainties of all coefficients, shape (..., P)."""
        return jnp.sqrt(jnp.diagonal(self.covariance, axis1=-2, axis2=-1))

    @property
    def dof(self):
        """Degrees of freedom ``n_data - P``."""
        return self.n_data - self.coefficients.shape[-1]

    @property
    def reduced_chi2(self):
        """``chi2 / dof``: ~1 when the sigma_Delta describe the scatter."""
        return self.chi2 / self.dof

    @property
    def scaled_covariance(self):
        """Covariance multiplied by the reduced chi^2 (for unknown or misscaled sigma_Delta)."""
        return self.covariance * self.reduced_chi2[..., None, None]

    @property
    def c0(self):
        return self.coefficient("c0")

    @property
    def a1(self):
        return self.coefficient("a1")

    @property
    def b1(self):
        return self.coefficient("b1")

    @property
    def a2(self):
        return self.coefficient("a2")

    @property
    def b2(self):
        return self.coefficient("b2")


def fit_fourier(theta, delta, delta_err=None, *, weights=None, m_max: int = 2) -> FourierFit:
    """Unbinned weighted linear least-squares Fourier fit (PW2021 Eqs. 3-7).

    Parameters
    ----------
    theta : array_like, shape (..., N)
        Angles theta_z, rad.
    delta : array_like, shape (..., N)
        Abundance deviations Delta_n (dex).
    delta_err : array_like, shape (..., N), optional
        Their uncertainties sigma_Delta_n (dex); ``None``: unit weights (then
        use :attr:`FourierFit.scaled_covariance`).
    weights : array_like, shape (..., N), optional
        Extra multiplicative weights, e.g. bootstrap multiplicities or a 0/1
        mask that keeps shapes fixed under ``vmap``; a weight-``w`` point
        counts as ``w`` copies.
    m_max : int
        Highest harmonic (2 in PW2021).

    Returns
    -------
    FourierFit

    Raises
    ------
    ValueError
        If ``m_max`` is not a non-negative integer.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> th = jnp.linspace(0, 2 * jnp.pi, 400, endpoint=False)
    >>> fit = fit_fourier(th, 0.1 + 0.02 * jnp.cos(2 * th), jnp.full(400, 0.01))
    >>> [round(float(c), 6) + 0.0 for c in fit.coefficients]
    [0.1, 0.0, 0.0, 0.02, 0.0]
    """
    M = fourier_design_matrix(theta, m_max)
    y = jnp.asarray(delta, dtype=jnp.float64)
    w = jnp.ones_like(y)
    if delta_err is not None:
        e = jnp.asarray(delta_err, dtype=jnp.float64)
        w = w / (e * e)
    if weights is not None:
        w = w * jnp.asarray(weights, dtype=jnp.float64)
    A = jnp.einsum("...np,...n,...nq->...pq", M, w, M)  # M^T C^-1 M
    b = jnp.einsum("...np,...n,...n->...p", M, w, y)  # M^T C^-1 y
    chol = (jnp.linalg.cholesky(A), True)
    g = jsl.cho_solve(chol, b[..., None])[..., 0]
    cov = jsl.cho_solve(chol, jnp.broadcast_to(jnp.eye(A.shape[-1]), A.shape))
    cov = 0.5 * (cov + jnp.swapaxes(cov, -1, -2))
    r = y - jnp.einsum("...np,...p->...n", M, g)
    chi2 = jnp.sum(w * r * r, axis=-1)
    if weights is None:
        n_data = jnp.full(chi2.shape, float(y.shape[-1]))
    else:
        mult = jnp.broadcast_to(jnp.asarray(weights, dtype=jnp.float64), w.shape)
        n_data = jnp.sum(jnp.where(mult > 0, mult, 0.0), axis=-1)
    return FourierFit(coefficients=g, covariance=cov, chi2=chi2, n_data=n_data, m_max=m_max)


def oti_objective(fit: FourierFit, *, include_c0: bool = False, include_b2: bool = False, normalised: bool = False):
    """The classical OTI objective ``a1^2 + b1^2 + a2^2`` (PW2021 Eq. 8).

    Parameters
    ----------
    fit : FourierFit
        With ``m_max >= 2``.
    include_c0, include_b2 : bool
        Also add ``c0^2`` / ``b2^2`` (PW2021 checked these change little).
    normalised : bool
        Divide each squared coefficient by its variance (a chi^2-like sum).

    Returns
    -------
    jax.Array, shape (...)

    Raises
    ------
    ValueError
        If the fit has ``m_max < 2``.
    """
    if fit.m_max < 2:
        raise ValueError(f"the objective needs the m = 2 terms; fit has m_max={fit.m_max}")
    names = ["a1", "b1", "a2"] + (["c0"] if include_c0 else []) + (["b2"] if include_b2 else [])
    total = 0.0
    for name in names:
        c = fit.coefficient(name)
        term = c * c
        if normalised:
            term = term / jnp.square(fit.error(name))
        total = total + term
    return total
