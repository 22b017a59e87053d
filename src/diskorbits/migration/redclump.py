"""Red-clump stars as standard candles, and the red-clump fraction f_RC(tau).

Frankel et al. (2020) fit APOGEE red-clump (RC) stars. Two facts about the RC
enter their data model (Eq. 14, Appendix B):

1. **Standard candle.** An RC star of absolute magnitude ``M_H`` at distance
   ``D`` behind ``A_H`` magnitudes of dust has apparent magnitude
   ``H = M_H + 5 log10(D / 10 pc) + A_H``, so a magnitude window of a survey
   field is a distance window (Sec. 4). The paper places the RC at
   ``(J - Ks)_0 = 0.68`` mag, in APOGEE-2's blue colour bin, citing Hawkins
   et al. (2017). Hawkins et al. (2017, MNRAS 471, 722), Table 1, give
   ``M_J = -0.93``, ``M_H = -1.46`` and ``M_Ks = -1.61`` mag (each +-0.01), so
   ``(J - Ks)_0 = 0.68`` follows from their table; :data:`RC_ABSOLUTE_MAGNITUDE_H`
   is their ``M_H``. (A value of -1.49, the mode found by Gontcharov 2017 from
   Gaia DR1, is also in use; the 0.03 mag difference moves distances by 1.4%.)

2. **Population selection f_RC(tau).** Only a fraction of the stars of a given
   age are on the red clump now; Frankel et al. take this probability from
   Bovy et al. (2014), who computed it from PARSEC isochrones. No table of
   those numbers is published, so :class:`RedClumpFraction` is a documented
   *approximation* with the right shape, derived below, and
   :class:`TabulatedRedClumpFraction` takes any table (e.g. from isochrones)
   in its place.

The shape of :class:`RedClumpFraction`
--------------------------------------
For a population of age ``tau`` the giants now at the clump have the
main-sequence turn-off mass ``M(tau)``. With a main-sequence lifetime
``t_MS ~ M^-2.5`` (so ``M ~ tau^-0.4``), a Salpeter-like initial mass function
``xi(M) ~ M^-2.35`` above 1 Msun and a core-helium-burning lifetime that is
nearly independent of mass for stars that ignite helium in a degenerate core
(about 0.1 Gyr; Girardi 2016, ARA&A 54, 95), the number of clump stars per
unit mass formed scales as ``xi(M) |dM/dtau| ~ tau^-alpha`` with
``alpha = 1 - 0.4 * 1.35 = 0.46``: a slow decline with age. Stars younger than
about 1 Gyr are more massive than ~2 Msun, ignite helium non-degenerately and
are hotter and brighter than the clump selected by Bovy et al. (2014); they
are switched on by a steep smooth step in age. Together::

    f_RC(tau) = A (tau/tau_on)^-alpha / (1 + (tau/tau_on)^-k) / g_peak

with ``g_peak`` the maximum of the unnormalised curve, so that ``A`` is the
peak value. Defaults: ``tau_on = 0.9 Gyr``, ``k = 10``, ``alpha = 0.46``,
``A = 1``: ``f_RC`` is < 0.01 below 0.5 Gyr, 0.6 at 0.9 Gyr, peaks at
1.22 Gyr, and falls to 0.50 at 6 Gyr and 0.40 at 10 Gyr. Multiplied with a
star-formation history that rises to older ages (Eq. 2), this produces the
~2 Gyr peak of the sample's age distribution (Frankel et al. 2020, Fig. 1).

``f_RC`` is a *relative* probability (peak 1 by default). The absolute value
(a few per cent of the giants of a given age) is a constant that cancels in
the normalised likelihood (Eqs. 14-15) and in Eq. B7's acceptance ratio.

All classes are frozen ``equinox`` modules and pure JAX, so ``f_RC`` can sit
inside ``jit``/``grad`` (times in Myr, the internal unit).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import (
    _config,  # noqa: F401  (float64)
    units,
)

__all__ = [
    "RC_ABSOLUTE_MAGNITUDE_H",
    "RC_ABSOLUTE_MAGNITUDE_J",
    "RC_ABSOLUTE_MAGNITUDE_KS",
    "RC_JK0",
    "distance_modulus",
    "distance_from_modulus",
    "AbstractRedClumpFraction",
    "RedClumpFraction",
    "TabulatedRedClumpFraction",
]

#: RC absolute magnitude in 2MASS J (Hawkins et al. 2017, Table 1), mag.
RC_ABSOLUTE_MAGNITUDE_J: float = -0.93
#: RC absolute magnitude in 2MASS H (Hawkins et al. 2017, Table 1), mag.
RC_ABSOLUTE_MAGNITUDE_H: float = -1.46
#: RC absolute magnitude in 2MASS Ks (Hawkins et al. 2017, Table 1), mag.
RC_ABSOLUTE_MAGNITUDE_KS: float = -1.61
#: Intrinsic RC colour (J - Ks)_0 in mag, = M_J - M_Ks of Hawkins et al. (2017);
#: the value Frankel et al. (2020, Sec. 4) use to place the RC in APOGEE-2's blue bin.
RC_JK0: float = round(RC_ABSOLUTE_MAGNITUDE_J - RC_ABSOLUTE_MAGNITUDE_KS, 2)

# 10 pc in kpc, the reference distance of absolute magnitudes.
_TEN_PC_KPC = 0.01


def distance_modulus(D):
    """``mu = 5 log10(D / 10 pc)`` for a distance ``D`` in kpc (or a length Quantity).

    >>> round(float(distance_modulus(1.0)), 6)
    10.0
    """
    D = units.to_internal(D, "length", "D")
    with np.errstate(divide="ignore"):
        return 5.0 * np.log10(D / _TEN_PC_KPC)


def distance_from_modulus(mu):
    """Distance in kpc for a distance modulus ``mu`` in mag (inverse of :func:`distance_modulus`).

    >>> round(float(distance_from_modulus(10.0)), 12)
    1.0
    """
    return _TEN_PC_KPC * 10.0 ** (np.asarray(mu, dtype=np.float64) / 5.0)


def _time(tau, name="tau"):
    if isinstance(tau, jax.core.Tracer):
        return tau
    return jnp.asarray(units.to_internal(tau, "time", name))


def _positive(name, value):
    if isinstance(value, jax.core.Tracer):  # checked when concrete
        return 1.0
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name!r} must be a positive finite number, got {value!r}")
    return v


class AbstractRedClumpFraction(eqx.Module):
    """Interface: ``f(tau)`` in [0, 1] for ages ``tau`` in Myr (or time Quantities).

    Subclasses implement :meth:`__call__`; :meth:`log` is ``log f`` with
    ``-inf`` where ``f = 0``.
    """

    def __call__(self, tau):  # pragma: no cover - abstract
        raise NotImplementedError

    def log(self, tau):
        """``ln f_RC(tau)`` (``-inf`` where the fraction is zero)."""
        f = self(tau)
        return jnp.where(f > 0, jnp.log(jnp.where(f > 0, f, 1.0)), -jnp.inf)


class RedClumpFraction(AbstractRedClumpFraction):
    """Smooth approximation of the red-clump fraction versus age (see the module notes).

    ``f(tau) = amplitude (x^-alpha / (1 + x^-k)) / g_peak`` with ``x = tau / tau_on``,
    zero for ``tau <= 0``. An approximation with the shape of Bovy et al. (2014)'s
    isochrone calculation, not a fit to their numbers.

    Attributes
    ----------
    tau_on : float
        Age of the onset step, Myr (default 900 Myr); ``f(tau_on)`` is about 0.6.
    steepness : float
        Exponent ``k`` of the onset step (default 10); larger is steeper.
    slope : float
        Late-age power-law index ``alpha`` (default 0.46 = 1 - 0.4 x 1.35, from
        ``t_MS ~ M^-2.5`` and a Salpeter IMF). Must be smaller than ``steepness``.
    amplitude : float
        Peak value, in (0, 1] (default 1: a relative probability).

    Examples
    --------
    >>> f = RedClumpFraction()
    >>> round(f.peak_age / 1000, 2)          # Gyr
    1.22
    >>> [round(float(f(t)), 2) for t in (500.0, 2000.0, 10000.0)]
    [0.0, 0.83, 0.4]
    """

    tau_on: float = 900.0
    steepness: float = 10.0
    slope: float = 0.46
    amplitude: float = 1.0

    def __check_init__(self):
        _positive("tau_on", self.tau_on)
        k = _positive("steepness", self.steepness)
        if not isinstance(self.slope, jax.core.Tracer):
            a = float(self.slope)
            if not (math.isfinite(a) and 0.0 <= a < k):
                raise ValueError(f"'slope' must satisfy 0 <= slope < steepness ({k}), got {self.slope!r}")
        amp = _positive("amplitude", self.amplitude)
        if amp > 1.0:
            raise ValueError(f"'amplitude' is a probability and must be <= 1, got {self.amplitude!r}")

    @property
    def peak_age(self) -> float:
        """Age of the maximum of ``f``, Myr (infinite for ``slope = 0``: a pure step)."""
        # d ln g / d ln x = -alpha + k x^-k / (1 + x^-k) = 0  =>  x^-k = alpha / (k - alpha)
        k, a = float(self.steepness), float(self.slope)
        return math.inf if a == 0 else float(self.tau_on) * ((k - a) / a) ** (1.0 / k)

    def __call__(self, tau):
        """``f_RC(tau)`` for ``tau`` in Myr (time Quantities are converted); same shape as ``tau``."""
        return _rc_fraction(_time(tau), self.tau_on, self.steepness, self.slope, self.amplitude)


@jax.jit
def _rc_fraction(t, tau_on, k, alpha, amplitude):
    # One compiled kernel (eager JAX would dispatch each operation separately).
    def shape(x):
        return x ** (-alpha) / (1.0 + x ** (-k))

    x_peak = jnp.where(alpha > 0, ((k - alpha) / jnp.where(alpha > 0, alpha, 1.0)) ** (1.0 / k), 1.0)
    # slope = 0: a pure step whose supremum (x -> inf) is 1.
    g_peak = jnp.where(alpha > 0, shape(x_peak), 1.0)
    pos = t > 0
    x = jnp.where(pos, t, tau_on) / tau_on
    # the clip only removes rounding above the peak value
    return jnp.where(pos, jnp.minimum(amplitude * shape(x) / g_peak, amplitude), 0.0)


class TabulatedRedClumpFraction(AbstractRedClumpFraction):
    """``f_RC`` linearly interpolated from a table (e.g. computed from isochrones).

    Attributes
    ----------
    ages : array (n,)
        Strictly increasing ages, Myr (or a time Quantity).
    values : array (n,)
        ``f_RC`` at ``ages``, each in [0, 1].
    outside : float
        Value returned outside ``[ages[0], ages[-1]]`` (default 0).

    Examples
    --------
    >>> f = TabulatedRedClumpFraction([0.0, 1000.0, 10000.0], [0.0, 1.0, 0.5])
    >>> float(f(5500.0))
    0.75
    """

    ages: jax.Array
    values: jax.Array
    outside: float = 0.0

    def __init__(self, ages, values, outside: float = 0.0):
        a = np.asarray(units.to_internal(ages, "time", "ages"), dtype=np.float64)
        v = np.asarray(values, dtype=np.float64)
        if a.ndim != 1 or a.shape != v.shape or a.size < 2:
            raise ValueError(f"'ages' and 'values' must be 1-d of equal length >= 2, got shapes {a.shape} and {v.shape}")
        if not (np.all(np.isfinite(a)) and np.all(np.diff(a) > 0)):
            raise ValueError("'ages' must be finite and strictly increasing")
        if not (np.all(np.isfinite(v)) and np.all((v >= 0) & (v <= 1))):
            raise ValueError("'values' must be finite probabilities in [0, 1]")
        if not 0.0 <= float(outside) <= 1.0:
            raise ValueError(f"'outside' must lie in [0, 1], got {outside!r}")
        self.ages = jnp.asarray(a)
        self.values = jnp.asarray(v)
        self.outside = float(outside)

    def __call__(self, tau):
        t = _time(tau)
        return jnp.interp(t, self.ages, self.values, left=self.outside, right=self.outside)
