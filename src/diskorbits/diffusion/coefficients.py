"""Action-space diffusion coefficients D_RR(J_R), D_phiphi(J_R) (Modak et al. 2026, Secs. III.2-III.3).

The coefficients are broken power laws in the radial action: a long-wavelength
branch (``k_* a_R << 1``: ``D_RR ~ J_R``, ``D_phiphi ~ const``, Eqs. 33-34)
joined continuously to a short-wavelength branch (``k_* a_R >> 1``: both
``~ J_R^(-1/2)``, Eqs. 36-37). The join is where the two branches meet, which
for the paper's R8 numbers is ``J_R ~ 0.82`` (D_RR) and ``~ 0.45`` kpc km/s
(D_phiphi), i.e. a few ``J_*`` (Eq. 42).

Units: internally actions are kpc^2/Myr and coefficients (kpc^2/Myr)^2/Myr,
like the rest of the package. The paper quotes ``D`` in (kpc km/s)^2/Gyr with
``J_R`` in kpc km/s; :meth:`PowerLaw.from_paper_units` and
:meth:`PowerLaw.paper_coefficient` convert.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import units
from . import analytic

__all__ = [
    "DIFFUSION_PRESETS",
    "PAPER_ACTION",
    "PAPER_D",
    "BrokenPowerLaw",
    "DiffusionCoefficients",
    "PowerLaw",
    "diffusion_preset",
    "j_star",
]

#: 1 kpc km/s in kpc^2/Myr (the paper's unit of action).
PAPER_ACTION: float = units.KPC_KMS
#: 1 (kpc km/s)^2/Gyr in (kpc^2/Myr)^2/Myr (the paper's unit of diffusion coefficient).
PAPER_D: float = units.KPC_KMS**2 / units.GYR


def _finite(name, value):
    if isinstance(value, jax.core.Tracer):  # validated when concrete; traced values pass through
        return 1.0
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name!r} must be finite, got {value!r}")
    return v


class PowerLaw(eqx.Module):
    """``D(J_R) = d J_R^alpha`` in internal units (Eqs. 27-28).

    Attributes
    ----------
    d : float
        Coefficient, (kpc^2/Myr)^(2 - alpha) / Myr; must be > 0.
    alpha : float
        Power-law index (static: it selects formulas, it is not fitted by gradients).
    """

    d: float
    alpha: float = eqx.field(static=True)

    def __check_init__(self):
        if not _finite("d", self.d) > 0:
            raise ValueError(f"power-law coefficient 'd' must be positive, got {self.d!r}")
        if not -1.0 < _finite("alpha", self.alpha) < 2.0:
            raise ValueError(f"power-law index 'alpha' must lie in (-1, 2) (Eq. C4 needs it), got {self.alpha!r}")

    @classmethod
    def from_paper_units(cls, d_paper: float, alpha: float) -> PowerLaw:
        """From ``D = d_paper (J_R / kpc km/s)^alpha`` (kpc km/s)^2/Gyr, as in Eqs. 40-41."""
        return cls(float(d_paper) * PAPER_D * PAPER_ACTION ** (-float(alpha)), float(alpha))

    @property
    def paper_coefficient(self) -> float:
        """The coefficient in the paper's units ((kpc km/s)^2/Gyr at J_R = 1 kpc km/s)."""
        return float(self.d) / PAPER_D * PAPER_ACTION**self.alpha

    def __call__(self, J_R):
        """``D(J_R)``; J_R in kpc^2/Myr (must be >= 0; J_R = 0 is allowed for alpha >= 0)."""
        J_R = jnp.asarray(J_R, dtype=jnp.float64)
        # Integer indices are spelled out so that gradients at J_R = 0 stay finite.
        if self.alpha == 0.0:
            return self.d * jnp.ones_like(J_R)
        if self.alpha == 1.0:
            return self.d * J_R
        return self.d * J_R**self.alpha

    def derivative(self, J_R):
        """``dD/dJ_R`` in (kpc^2/Myr)/Myr."""
        J_R = jnp.asarray(J_R, dtype=jnp.float64)
        if self.alpha == 0.0:
            return jnp.zeros_like(J_R)
        if self.alpha == 1.0:
            return self.d * jnp.ones_like(J_R)
        return self.alpha * self.d * J_R ** (self.alpha - 1.0)

    def scaled(self, factor) -> PowerLaw:
        """The same law with ``d`` multiplied by ``factor`` (e.g. xi of Eq. 44, or A^2)."""
        return PowerLaw(self.d * factor, self.alpha)


class BrokenPowerLaw(eqx.Module):
    """Two power laws joined continuously at the action where they are equal.

    ``D(J_R) = low(J_R)`` below the turnover ``J_b`` and ``high(J_R)`` above it,
    with ``low(J_b) = high(J_b)`` (Sec. III.3). ``low.alpha`` must exceed
    ``high.alpha`` so that the law is ``min(low, high)``: this is the shape
    of the paper's coefficients (``alpha = 1 -> -1/2`` and ``0 -> -1/2``).
    """

    low: PowerLaw
    high: PowerLaw

    def __check_init__(self):
        if not self.low.alpha > self.high.alpha:
            raise ValueError(
                "a broken power law needs low.alpha > high.alpha (long-wavelength branch steeper), "
                f"got {self.low.alpha} and {self.high.alpha}"
            )

    @property
    def turnover(self):
        """``J_b`` in kpc^2/Myr, where ``low(J_b) = high(J_b)``."""
        return (self.high.d / self.low.d) ** (1.0 / (self.low.alpha - self.high.alpha))

    def __call__(self, J_R):
        J_R = jnp.asarray(J_R, dtype=jnp.float64)
        # Each branch is evaluated at a safe argument so that the unused one
        # never produces inf/nan (and nan gradients) at J_R = 0.
        Jb = self.turnover
        below = J_R < Jb
        return jnp.where(below, self.low(jnp.where(below, J_R, Jb)), self.high(jnp.where(below, Jb, J_R)))

    def derivative(self, J_R):
        """``dD/dJ_R`` (discontinuous at the turnover, where the law has a kink)."""
        J_R = jnp.asarray(J_R, dtype=jnp.float64)
        Jb = self.turnover
        below = J_R < Jb
        return jnp.where(
            below, self.low.derivative(jnp.where(below, J_R, Jb)), self.high.derivative(jnp.where(below, Jb, J_R))
        )

    def local_slope(self, J_R):
        """``d ln D / d ln J_R``: ``low.alpha`` below the turnover, ``high.alpha`` above."""
        return jnp.where(jnp.asarray(J_R) < self.turnover, self.low.alpha, self.high.alpha)

    def scaled(self, factor) -> BrokenPowerLaw:
        """Both branches multiplied by ``factor`` (the turnover is unchanged)."""
        return BrokenPowerLaw(self.low.scaled(factor), self.high.scaled(factor))


class DiffusionCoefficients(eqx.Module):
    """The diagonal action-space diffusion tensor ``D_RR(J_R)``, ``D_phiphi(J_R)``.

    Off-diagonal terms are neglected as in the paper (footnote 7, App. C); the
    coefficients do not depend on ``J_phi`` (local, homogeneous fluctuations).

    Attributes
    ----------
    D_RR, D_phiphi : BrokenPowerLaw
        Radial and azimuthal coefficients (Eqs. 40-41 for R8, A1-A2 for LGR4).
    J_star : float
        ``kappa / (2 k_*^2)`` in kpc^2/Myr (Eq. 42), the nominal boundary between regimes.
    name : str
        Label (static).

    Examples
    --------
    >>> D = diffusion_preset("R8")
    >>> round(D.late_ratio, 3)  # Eq. 39 with Eqs. 40-41
    0.055
    >>> round(D.D_RR.turnover / PAPER_ACTION, 2), round(D.D_phiphi.turnover / PAPER_ACTION, 2)
    (0.82, 0.44)
    """

    D_RR: BrokenPowerLaw
    D_phiphi: BrokenPowerLaw
    J_star: float
    name: str = eqx.field(static=True, default="custom")

    def __check_init__(self):
        if not _finite("J_star", self.J_star) > 0:
            raise ValueError(f"'J_star' must be positive (kpc^2/Myr), got {self.J_star!r}")

    # -- construction ------------------------------------------------------

    @classmethod
    def from_paper_units(
        cls,
        *,
        rr_long: float,
        rr_short: float,
        pp_long: float,
        pp_short: float,
        J_star: float,
        alpha_R: tuple[float, float] = (1.0, -0.5),
        alpha_phi: tuple[float, float] = (0.0, -0.5),
        name: str = "custom",
    ) -> DiffusionCoefficients:
        """From coefficients quoted like Eqs. 40-41: (kpc km/s)^2/Gyr with J_R in kpc km/s.

        ``rr_*`` and ``pp_*`` are the long- (``J_R << J_*``) and short-wavelength
        (``J_R >> J_*``) coefficients of D_RR and D_phiphi; ``J_star`` in kpc km/s.
        """
        return cls(
            D_RR=BrokenPowerLaw(
                PowerLaw.from_paper_units(rr_long, alpha_R[0]), PowerLaw.from_paper_units(rr_short, alpha_R[1])
            ),
            D_phiphi=BrokenPowerLaw(
                PowerLaw.from_paper_units(pp_long, alpha_phi[0]), PowerLaw.from_paper_units(pp_short, alpha_phi[1])
            ),
            J_star=float(J_star) * PAPER_ACTION,
            name=name,
        )

    @classmethod
    def from_paper_dict(cls, block: dict) -> DiffusionCoefficients:
        """The inverse of :meth:`to_paper_units` (the layout fit JSON files use).

        Raises ValueError naming what is missing or malformed.
        """
        try:
            rr, pp = block["D_RR"], block["D_phiphi"]
            kw = {
                "rr_long": float(rr["long"]["coefficient"]),
                "rr_short": float(rr["short"]["coefficient"]),
                "pp_long": float(pp["long"]["coefficient"]),
                "pp_short": float(pp["short"]["coefficient"]),
                "J_star": float(block["J_star_kpc_kms"]),
                "alpha_R": (float(rr["long"].get("alpha", 1.0)), float(rr["short"].get("alpha", -0.5))),
                "alpha_phi": (float(pp["long"].get("alpha", 0.0)), float(pp["short"].get("alpha", -0.5))),
            }
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"malformed coefficients block: missing or bad {exc!s}") from None
        return cls.from_paper_units(name=str(block.get("name", "fit")), **kw)

    # -- evaluation --------------------------------------------------------

    def __call__(self, J_R):
        """``(D_RR(J_R), D_phiphi(J_R))`` in (kpc^2/Myr)^2/Myr; J_R in kpc^2/Myr."""
        return self.D_RR(J_R), self.D_phiphi(J_R)

    def scaled(self, factor) -> DiffusionCoefficients:
        """Both coefficients times ``factor``: the vertical suppression xi of Eq. 44, or A^2 (Sec. III.2)."""
        return DiffusionCoefficients(self.D_RR.scaled(factor), self.D_phiphi.scaled(factor), self.J_star, self.name)

    def regime(self, which: str) -> tuple[float, float, float, float]:
        """``(d_RR, alpha_R, d_phiphi, alpha_phi)`` of the ``"long"`` or ``"short"`` wavelength branch."""
        if which == "long":
            a, b = self.D_RR.low, self.D_phiphi.low
        elif which == "short":
            a, b = self.D_RR.high, self.D_phiphi.high
        else:
            raise ValueError(f"regime must be 'long' or 'short', got {which!r}")
        return a.d, a.alpha, b.d, b.alpha

    @property
    def late_ratio(self) -> float:
        """Late-time ``rms dJ_R / rms dJ_phi`` of the short-wavelength regime, Eq. 39.

        ``sqrt(2 d_RR / d_phiphi)``; defined when both short-wavelength indices are equal.
        """
        return self.late_ratio_for("exponential")

    def late_ratio_for(self, closure: str = "exponential") -> float:
        """Late ``rms dJ_R / rms dJ_phi`` under a closure (:func:`~diskorbits.diffusion.analytic.late_ratio_factor`).

        ``"exponential"`` is Eq. 39; ``"self-similar"`` (the exact solution of Eq. 26,
        which a Langevin evolution approaches) is half of it for the ``J_R^-1/2`` branches.
        """
        if self.D_RR.high.alpha != self.D_phiphi.high.alpha:
            raise ValueError("Eq. 39 needs equal short-wavelength indices for D_RR and D_phiphi")
        C = analytic.late_ratio_factor(self.D_RR.high.alpha, closure)
        return float(np.sqrt(C * float(self.D_RR.high.d) / float(self.D_phiphi.high.d)))

    def rms_prediction(self, t, which: str, closure: str = "exponential"):
        """Cold-ensemble ``(rms dJ_R, rms dJ_phi)`` at times ``t`` (Myr) for one regime's power laws.

        ``closure="exponential"``: Eqs. 29-30 as in the paper; ``"self-similar"``: the
        exact solution of Eq. 26 for the pure power law (see :mod:`~diskorbits.diffusion.analytic`).
        """
        d_RR, a_R, d_pp, a_p = self.regime(which)
        return analytic.cold_ensemble_rms(t, d_RR, a_R, d_pp, a_p, closure)

    def to_paper_units(self) -> dict:
        """A JSON-ready summary in the paper's units (Eqs. 40-42)."""
        out = {"name": self.name, "J_star_kpc_kms": float(self.J_star) / PAPER_ACTION}
        for label, law in (("D_RR", self.D_RR), ("D_phiphi", self.D_phiphi)):
            out[label] = {
                "long": {"coefficient": law.low.paper_coefficient, "alpha": law.low.alpha},
                "short": {"coefficient": law.high.paper_coefficient, "alpha": law.high.alpha},
                "turnover_kpc_kms": float(law.turnover) / PAPER_ACTION,
                "turnover_over_J_star": float(law.turnover) / float(self.J_star),
            }
        try:
            out["late_ratio"] = self.late_ratio
            out["late_ratio_self_similar"] = self.late_ratio_for("self-similar")
        except ValueError:
            out["late_ratio"] = out["late_ratio_self_similar"] = None
        return out


def j_star(kappa, k_star):
    """``J_* = kappa / (2 k_*^2) = kappa lambda_*^2 / (8 pi^2)`` (Eq. 42).

    The radial action at which ``k_* a_R = 1``. ``kappa`` in 1/Myr, ``k_star``
    in 1/kpc; returns kpc^2/Myr.
    """
    return kappa / (2.0 * k_star**2)


#: Measured coefficients of Modak et al. (2026), paper units: Eqs. 40-41 (R8),
#: A1-A2 (LGR4, measured) and A3-A4 (LGR4, predicted from R8 by Eqs. 52-55).
#: ``J_star`` in kpc km/s: Sec. III.3 (R8, ~0.2) and App. A (LGR4, ~0.16).
DIFFUSION_PRESETS: dict[str, dict[str, float]] = {
    "R8": {"rr_long": 9.3, "rr_short": 6.9, "pp_long": 6900.0, "pp_short": 4600.0, "J_star": 0.2},
    "LGR4": {"rr_long": 18.0, "rr_short": 9.6, "pp_long": 2700.0, "pp_short": 1500.0, "J_star": 0.16},
    "LGR4-predicted": {"rr_long": 21.0, "rr_short": 7.7, "pp_long": 4400.0, "pp_short": 1500.0, "J_star": 0.16},
}


def diffusion_preset(name: str) -> DiffusionCoefficients:
    """The paper's coefficients: ``"R8"`` (Eqs. 40-41), ``"LGR4"`` (A1-A2) or ``"LGR4-predicted"`` (A3-A4).

    Case-insensitive. These are for vertically cold populations; multiply by
    the suppression factor xi (:meth:`DiffusionCoefficients.scaled`, Eq. 44)
    for warmer ones.
    """
    key = {k.upper(): k for k in DIFFUSION_PRESETS}.get(name.upper())
    if key is None:
        raise ValueError(f"unknown diffusion preset {name!r}; choose one of {sorted(DIFFUSION_PRESETS)}")
    return DiffusionCoefficients.from_paper_units(**DIFFUSION_PRESETS[key], name=key)
