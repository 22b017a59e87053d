"""Spatio-temporal power spectrum of ISM surface-density fluctuations.

The mock ISM is an isotropic, stationary Gaussian random field
``delta(x, y, t) = (Sigma - Sigma_bar) / Sigma_bar`` with the separable
spectrum ``P_delta(k, omega) = P_delta(k) T_k(omega)`` (our design, see
``docs/ism-fields.md``), built to reproduce the spectral features that
Modak et al. (2026, Sec. III.2 and Eqs. 18, 32) report for the TIGRESS-NCR
R8 and LGR4 simulations:

- a spatial spectrum flat below a turnover ``k_star`` and falling as
  ``k**-n`` above it (:class:`ISMSpectrum.power`);
- a temporal spectrum flat below ``omega_c(k) = 0.4 omega_0(k)``,
  ``omega_0 = sqrt(tau0**-2 + v_eff**2 k**2)``, and falling steeply above it
  (:class:`TemporalKernel`).

Conventions. The field on the periodic ``L x L`` box is
``delta(x) = sum_k delta_k exp(i k.x)`` with ``<|delta_k|^2> = P(k) / L**2``,
so ``P`` is in kpc^2 and the one-point variance is
``sum_k P(k) / L**2 ~ int P(k) d^2k / (2 pi)^2``; refining the grid only adds
modes. Temporal kernels satisfy ``int T_k(omega) domega / (2 pi) = 1``
(``T`` in Myr), so that ``P(k)`` alone sets each mode's variance.

Units: wavenumbers in 1/kpc, frequencies in 1/Myr, times in Myr,
velocities in kpc/Myr.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)

__all__ = [
    "OMEGA_C_FACTOR",
    "DEFAULT_K_PIVOT",
    "TEMPORAL_KINDS",
    "ISMSpectrum",
    "TemporalKernel",
]

#: omega_c / omega_0 measured for both TIGRESS-NCR models (Modak et al. 2026, Sec. III.2).
OMEGA_C_FACTOR = 0.4

#: Pivot wavenumber (1/kpc) at which the small-scale amplitude ``C`` is quoted:
#: 0.01/pc, the R8 turnover (lambda ~ 630 pc). Quoting C here rather than at
#: 1/kpc keeps "the same C" meaningful when n differs between presets (2.3 vs
#: 2.2): the power at the transport-dominating scales is what is held fixed.
DEFAULT_K_PIVOT = 10.0

#: Temporal kernels offered by :class:`TemporalKernel`.
TEMPORAL_KINDS = ("sharp", "lorentzian", "white")


def _xp(*args):
    """jax.numpy if any argument is a JAX array (or tracer), else NumPy.

    The spectrum is evaluated mostly at build time on NumPy grids, where
    op-by-op JAX dispatch would only add compilation latency; inside JAX
    transforms it stays traceable.
    """
    return jnp if any(isinstance(a, jax.Array) for a in args) else np


def _positive(value, name):
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name!r} must be a finite positive number, got {value!r}")
    return v


class ISMSpectrum(eqx.Module):
    """Separable spatio-temporal spectrum of the surface-density contrast.

    ``P_delta(k) = C k_pivot**n / (k_star**n + k**n)``: flat at
    ``C (k_pivot / k_star)**n`` for ``k << k_star`` and ``C (k / k_pivot)**-n``
    for ``k >> k_star`` (Modak et al. 2026, Eq. 18 above the turnover).
    With ``k_pivot = 1/kpc`` this is exactly ``C / (k_star**n + k**n)`` with
    C in kpc^(2-n).

    Attributes
    ----------
    C : float
        Small-scale amplitude: the asymptotic power at ``k = k_pivot``, kpc^2.
    n : float
        Spatial index ``n_delta`` (2.3 for R8, 2.2 for LGR4).
    k_star : float
        Turnover wavenumber, 1/kpc.
    tau0 : float
        Large-scale correlation time of ``omega_0``, Myr.
    v_eff : float
        Effective velocity of ``omega_0``, kpc/Myr.
    k_pivot : float
        Wavenumber at which ``C`` is quoted, 1/kpc (default 10/kpc).
    cutoff_factor : float
        ``omega_c / omega_0`` (0.4).
    """

    C: float
    n: float
    k_star: float
    tau0: float
    v_eff: float
    k_pivot: float = DEFAULT_K_PIVOT
    cutoff_factor: float = OMEGA_C_FACTOR

    def __check_init__(self):
        for name in ("k_star", "tau0", "k_pivot", "cutoff_factor"):
            _positive(getattr(self, name), name)
        if not float(self.C) >= 0:
            raise ValueError(f"'C' must be non-negative, got {self.C!r}")
        if not float(self.v_eff) >= 0:
            raise ValueError(f"'v_eff' must be non-negative, got {self.v_eff!r}")
        if not 0 < float(self.n) < 10:
            raise ValueError(f"spectral index 'n' must lie in (0, 10), got {self.n!r}")

    def power(self, k):
        """Spatial spectrum ``P_delta(k)`` in kpc^2 at wavenumber ``k`` (1/kpc).

        NumPy in, NumPy out; JAX arrays (and tracers) in, JAX out.
        """
        xp = _xp(k, self.C, self.n)
        k = xp.asarray(k, dtype=float)
        # Written with (k/k_pivot) so that large k and small k_pivot cannot overflow.
        ks = self.k_star / self.k_pivot
        return self.C / (ks**self.n + (k / self.k_pivot) ** self.n)

    def omega_0(self, k):
        """``omega_0(k) = sqrt(tau0**-2 + v_eff**2 k**2)`` in 1/Myr."""
        xp = _xp(k, self.tau0, self.v_eff)
        k = xp.asarray(k, dtype=float)
        return xp.sqrt(self.tau0**-2 + (self.v_eff * k) ** 2)

    def omega_c(self, k):
        """Temporal cutoff ``omega_c(k) = 0.4 omega_0(k)`` in 1/Myr (Modak et al. 2026, Sec. III.2)."""
        return self.cutoff_factor * self.omega_0(k)

    @property
    def tau_star(self) -> float:
        """Correlation time ``2 pi / omega_c(k_star)`` of the dominant scale, Myr (Eq. 32).

        About 67 Myr for R8 and 71 Myr for LGR4 (the paper quotes ~70 Myr).
        """
        return float(2 * np.pi / self.omega_c(self.k_star))

    @property
    def lambda_star(self) -> float:
        """Dominant wavelength ``2 pi / k_star`` in kpc."""
        return 2 * math.pi / float(self.k_star)

    def variance(self, k_min, k_max, n=4096):
        """``int P(k) d^2k / (2 pi)^2`` over ``k_min <= k <= k_max`` (continuum estimate, no units)."""
        lk = np.linspace(np.log(float(k_min)), np.log(float(k_max)), n)
        k = np.exp(lk)
        f = np.asarray(self.power(k)) * k * k / (2 * np.pi)
        return float(np.trapezoid(f, lk))


class TemporalKernel(eqx.Module):
    """Temporal part ``T_k(omega)`` of the spectrum, normalised to ``int T domega/2pi = 1``.

    Kinds (``omega_c = omega_c(k)``):

    - ``"sharp"``: ``T ~ 1 / [1 + (omega/omega_c)**(2p)]``, flat then steep
      (default ``p = 4``), realised by spectral synthesis over a looped window;
    - ``"lorentzian"``: ``T = 2 omega_c / (omega_c**2 + omega**2)`` (``p = 1``),
      an Ornstein-Uhlenbeck process with autocorrelation ``exp(-omega_c |t|)``;
    - ``"white"``: an independent realisation every ``dt_snap``; ``T = dt_snap``
      for ``|omega| < pi / dt_snap`` (the snapshot Nyquist band).

    Attributes
    ----------
    kind : str
        One of ``"sharp"``, ``"lorentzian"``, ``"white"``.
    p : int
        Sharpness exponent of the ``"sharp"`` kernel (ignored otherwise).
    dt_snap : float
        Snapshot interval, Myr (sets the ``"white"`` band).
    """

    kind: str = eqx.field(static=True, default="sharp")
    p: int = eqx.field(static=True, default=4)
    dt_snap: float = 1.0

    def __check_init__(self):
        if self.kind not in TEMPORAL_KINDS:
            raise ValueError(f"temporal kernel 'kind' must be one of {TEMPORAL_KINDS}, got {self.kind!r}")
        if not (isinstance(self.p, (int, np.integer)) and self.p >= 1):
            raise ValueError(f"sharpness 'p' must be an integer >= 1, got {self.p!r}")
        _positive(self.dt_snap, "dt_snap")

    def __call__(self, omega, omega_c):
        """``T_k(omega)`` in Myr for angular frequency ``omega`` and cutoff ``omega_c`` (1/Myr)."""
        xp = _xp(omega, omega_c, self.dt_snap)
        omega = xp.asarray(omega, dtype=float)
        omega_c = xp.asarray(omega_c, dtype=float)
        if self.kind == "white":
            band = xp.abs(omega) <= np.pi / self.dt_snap
            return xp.where(band, self.dt_snap, 0.0) + 0.0 * omega_c
        p = 1 if self.kind == "lorentzian" else self.p
        # int_{-inf}^{inf} dw/(2 pi) / (1 + (w/wc)^(2p)) = wc / (2p sin(pi/(2p))).
        norm = 2 * p * math.sin(math.pi / (2 * p)) / omega_c
        return norm / (1.0 + (omega / omega_c) ** (2 * p))

    def autocorrelation(self, lag, omega_c, n=20001):
        """Normalised autocorrelation ``<a(t) a*(t+lag)>`` of a unit-variance mode.

        The Fourier transform of ``T``: ``exp(-omega_c |lag|)`` for the
        Lorentzian, computed by quadrature for the sharp kernel, and
        ``max(0, 1 - |lag| / dt_snap)`` for white noise interpolated linearly
        between snapshots. ``lag`` in Myr, ``omega_c`` a scalar in 1/Myr.
        """
        lag = np.abs(np.asarray(lag, dtype=float))
        wc = float(omega_c)
        if self.kind == "lorentzian":
            return np.exp(-wc * lag)
        if self.kind == "white":
            return np.clip(1.0 - lag / float(self.dt_snap), 0.0, None)
        w = np.linspace(0.0, 40.0 * wc, n)
        t = np.asarray(self(w, wc))
        integrand = t[None, :] * np.cos(w[None, :] * np.atleast_1d(lag)[:, None])
        out = np.trapezoid(integrand, w, axis=1) / np.pi
        return out.reshape(lag.shape)
