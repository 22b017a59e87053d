"""How ISM-driven diffusion scales with the galactic environment (Modak et al. 2026, Sec. IV.3).

The potential-fluctuation spectrum scales as ``(G Sigma_bar lambda_*)^2 tau_*
lambda_*^n_delta chi^2 / alpha_w^2`` (Eq. 50); projecting it on epicyclic
orbits in the long- and short-wavelength limits gives power-law rescalings of
the measured R8 coefficients (Eqs. 52-55), of ``J_*`` (Eq. 51) and of the
late heating-to-migration ratio (Eq. 56). :func:`scale_coefficients`
applies them to any reference set of coefficients measured in a reference
:class:`Environment` (by default the paper's R8 values, :data:`R8_ENVIRONMENT`).

Units: :class:`Environment` holds internal units (Msun/kpc^2, kpc, Myr, 1/Myr);
:meth:`Environment.from_paper_units` takes the paper's (Msun/pc^2, pc, Myr,
km/s/kpc, kpc).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import units
from .coefficients import (
    PAPER_ACTION,
    BrokenPowerLaw,
    DiffusionCoefficients,
    diffusion_preset,
)

__all__ = [
    "LGR4_ENVIRONMENT",
    "R8_ENVIRONMENT",
    "SCALING_EXPONENTS",
    "Environment",
    "j_star_scaling",
    "late_ratio_scaling",
    "scale_coefficients",
    "suppression_for_dispersion",
]

_PC = 1e-3  # kpc
_MSUN_PC2 = 1e6  # Msun/kpc^2


@dataclasses.dataclass(frozen=True)
class Environment:
    """The parameters that set ISM-driven diffusion in a patch of a disk (Sec. IV.3).

    Attributes
    ----------
    sigma_bar : float
        Mean gas surface density, Msun/kpc^2.
    lambda_star : float
        Dominant fluctuation wavelength ``2 pi / k_*``, kpc.
    tau_star : float
        Correlation time of the dominant fluctuations (Eq. 32), Myr.
    kappa : float
        Epicyclic frequency, 1/Myr.
    R : float
        Galactocentric radius, kpc.
    alpha_w : float
        ``h / H`` of the gas profile (Eq. 47).
    xi_long, xi_short : float
        Vertical suppression factor (Eq. 44, 46) of the population while it
        is in the long- and short-wavelength regime, in (0, 1].
    n_delta : float
        Power-law index of the surface-density spectrum (Eq. 18); the paper
        uses 2.3 for both R8 and LGR4.
    xi_long_phi, xi_short_phi : float or None
        Separate suppression factors for D_phiphi, when they differ from the
        radial ones (the R8 reference: Eqs. 52-55 divide by 0.94, 0.91, 0.68,
        0.82). ``None`` means "same as the radial value".
    """

    sigma_bar: float
    lambda_star: float
    tau_star: float
    kappa: float
    R: float
    alpha_w: float
    xi_long: float = 1.0
    xi_short: float = 1.0
    n_delta: float = 2.3
    xi_long_phi: float | None = None
    xi_short_phi: float | None = None

    def __post_init__(self):
        for name in ("sigma_bar", "lambda_star", "tau_star", "kappa", "R", "alpha_w", "n_delta"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float, np.floating)) and math.isfinite(v) and v > 0):
                raise ValueError(f"environment parameter {name!r} must be a finite positive number, got {v!r}")
        for name in ("xi_long", "xi_short", "xi_long_phi", "xi_short_phi"):
            v = getattr(self, name)
            if v is None:
                continue
            if not (math.isfinite(v) and 0.0 < v <= 1.0):
                raise ValueError(f"suppression factor {name!r} must lie in (0, 1], got {v!r}")

    @classmethod
    def from_paper_units(
        cls,
        *,
        sigma_bar: float,
        lambda_star: float,
        tau_star: float,
        kappa: float,
        R: float,
        alpha_w: float,
        xi: float | tuple[float, float] = 1.0,
        xi_phi: float | tuple[float, float] | None = None,
        n_delta: float = 2.3,
    ) -> Environment:
        """From the paper's units: Sigma_bar in Msun/pc^2, lambda_* in pc, tau_* in Myr, kappa in km/s/kpc, R in kpc.

        ``xi`` is one factor for both regimes or a ``(long, short)`` pair; ``xi_phi``
        likewise for D_phiphi if it differs.
        """
        xl, xs = (xi, xi) if np.isscalar(xi) else xi
        if xi_phi is None:
            pl = ps = None
        else:
            pl, ps = (xi_phi, xi_phi) if np.isscalar(xi_phi) else xi_phi
        return cls(
            sigma_bar=float(sigma_bar) * _MSUN_PC2,
            lambda_star=float(lambda_star) * _PC,
            tau_star=float(tau_star),
            kappa=float(kappa) * units.KMS_KPC,
            R=float(R),
            alpha_w=float(alpha_w),
            xi_long=float(xl),
            xi_short=float(xs),
            n_delta=float(n_delta),
            xi_long_phi=None if pl is None else float(pl),
            xi_short_phi=None if ps is None else float(ps),
        )

    def xi(self, component: str, regime: str) -> float:
        """The suppression factor used for ``component`` ('RR'/'phiphi') in ``regime`` ('long'/'short')."""
        radial = self.xi_long if regime == "long" else self.xi_short
        if component == "RR":
            return radial
        phi = self.xi_long_phi if regime == "long" else self.xi_short_phi
        return radial if phi is None else phi

    def to_paper_units(self) -> dict:
        """JSON-ready parameters in the paper's units."""
        return {
            "sigma_bar_msun_pc2": self.sigma_bar / _MSUN_PC2,
            "lambda_star_pc": self.lambda_star / _PC,
            "tau_star_myr": self.tau_star,
            "kappa_kms_kpc": self.kappa / units.KMS_KPC,
            "R_kpc": self.R,
            "alpha_w": self.alpha_w,
            "n_delta": self.n_delta,
            "xi": {
                "RR": [self.xi("RR", "long"), self.xi("RR", "short")],
                "phiphi": [self.xi("phiphi", "long"), self.xi("phiphi", "short")],
            },
        }


#: The reference environment of Eqs. 51-56: the R8 normalisations (Sigma_bar =
#: 12 Msun/pc^2, lambda_* = 600 pc, tau_* = 70 Myr, kappa = 40 km/s/kpc, R = 8
#: kpc, alpha_w = 0.71) with the suppression factors measured in the fiducial
#: R8 runs that the equations divide by (0.94, 0.68 for D_RR; 0.91, 0.82 for
#: D_phiphi in the long and short regimes).
R8_ENVIRONMENT = Environment.from_paper_units(
    sigma_bar=12.0, lambda_star=600.0, tau_star=70.0, kappa=40.0, R=8.0, alpha_w=0.71,
    xi=(0.94, 0.68), xi_phi=(0.91, 0.82),
)  # fmt: skip

#: The LGR4 parameters of App. A: Sigma_bar = 39 Msun/pc^2, lambda_* = 512 pc (the
#: box), tau_* ~ 70 Myr, Omega = 30 km/s/kpc with q = 1 (kappa = 30 sqrt 2), R = 4 kpc,
#: alpha_w = 1.1. The suppression factors (0.75, 0.39) are the values that Eqs. A3-A4
#: imply; Eq. 46 with the LGR4 profile, H = 165 pc and sigma_z = 3.9 / 11 km/s gives
#: 0.83 / 0.38 (see :func:`suppression_for_dispersion` and docs/diffusion.md).
LGR4_ENVIRONMENT = Environment.from_paper_units(
    sigma_bar=39.0, lambda_star=512.0, tau_star=70.0, kappa=30.0 * math.sqrt(2.0), R=4.0, alpha_w=1.1,
    xi=(0.75, 0.39),
)  # fmt: skip

#: Exponents of Eqs. 52-55 for (component, regime): powers of
#: (lambda_* beyond n_delta, kappa, R). Sigma_bar enters squared, tau_* linearly,
#: alpha_w as the inverse square and xi linearly in every case.
SCALING_EXPONENTS: dict[tuple[str, str], dict[str, float]] = {
    ("RR", "long"): {"lambda_extra": 0.0, "kappa": -1.0, "R": 0.0},  # Eq. 52
    ("phiphi", "long"): {"lambda_extra": 0.0, "kappa": 0.0, "R": 2.0},  # Eq. 53
    ("RR", "short"): {"lambda_extra": 3.0, "kappa": 0.5, "R": 0.0},  # Eq. 54
    ("phiphi", "short"): {"lambda_extra": 1.0, "kappa": 0.5, "R": 2.0},  # Eq. 55
}


def _factor(env: Environment, ref: Environment, component: str, regime: str) -> float:
    e = SCALING_EXPONENTS[(component, regime)]
    lam = env.lambda_star / ref.lambda_star
    return (
        (env.sigma_bar / ref.sigma_bar) ** 2
        * lam ** (ref.n_delta + e["lambda_extra"])
        * (env.tau_star / ref.tau_star)
        * (env.kappa / ref.kappa) ** e["kappa"]
        * (env.R / ref.R) ** e["R"]
        * (env.xi(component, regime) / ref.xi(component, regime))
        * (env.alpha_w / ref.alpha_w) ** -2
    )


def j_star_scaling(env: Environment, reference: Environment = R8_ENVIRONMENT, J_star_ref: float = 0.2 * PAPER_ACTION):
    """``J_* ~ 0.2 kpc km/s (lambda_*/600 pc)^2 (kappa/40 km/s/kpc)`` (Eq. 51), kpc^2/Myr."""
    return J_star_ref * (env.lambda_star / reference.lambda_star) ** 2 * (env.kappa / reference.kappa)


def scale_coefficients(
    env: Environment,
    reference: DiffusionCoefficients | None = None,
    reference_env: Environment = R8_ENVIRONMENT,
    *,
    name: str = "scaled",
) -> DiffusionCoefficients:
    """Diffusion coefficients in ``env`` from those measured in ``reference_env`` (Eqs. 51-55).

    Each branch of the reference broken power laws (default: the R8 values of
    Eqs. 40-41) is multiplied by its own environment factor, so the turnovers
    move with ``J_*`` (``lambda_*^2 kappa``) as Eq. 51 says. Note (Eq. 52 vs
    Eq. 54) that the density-contrast index ``n_delta`` is taken from the
    reference environment, as in the paper (which assumes 2.3 for both R8 and
    LGR4).

    Examples
    --------
    >>> from diskorbits.diffusion import LGR4_ENVIRONMENT
    >>> D = scale_coefficients(LGR4_ENVIRONMENT)
    >>> {k: round(v["long"]["coefficient"], 1) for k, v in D.to_paper_units().items() if k.startswith("D_")}
    {'D_RR': 21.4, 'D_phiphi': 4343.9}
    """
    ref = diffusion_preset("R8") if reference is None else reference
    laws = {}
    for component, law in (("RR", ref.D_RR), ("phiphi", ref.D_phiphi)):
        laws[component] = BrokenPowerLaw(
            law.low.scaled(_factor(env, reference_env, component, "long")),
            law.high.scaled(_factor(env, reference_env, component, "short")),
        )
    J_star = j_star_scaling(env, reference_env, float(ref.J_star))
    return DiffusionCoefficients(laws["RR"], laws["phiphi"], J_star, name)


def late_ratio_scaling(env: Environment, reference_env: Environment = R8_ENVIRONMENT, ratio_ref: float = 0.055):
    """Late ``rms dJ_R / rms dJ_phi`` ~ ``0.055 (lambda_*/600 pc) (R/8 kpc)^-1`` (Eq. 56).

    Neglects the difference between the radial and azimuthal suppression
    factors; the full ratio of the scaled coefficients is
    ``scale_coefficients(env).late_ratio`` (Eq. 39).
    """
    return ratio_ref * (env.lambda_star / reference_env.lambda_star) * (env.R / reference_env.R) ** -1


def suppression_for_dispersion(sigma_z, *, k_star, H, nu, profile, average: str = "typical"):
    """Suppression factor xi for a population of vertical dispersion ``sigma_z`` (Eqs. 15, 46).

    Parameters
    ----------
    sigma_z : float or array_like
        Vertical velocity dispersion, kpc/Myr.
    k_star, H, nu :
        Dominant wavenumber (1/kpc), gas rms thickness (kpc), vertical frequency (1/Myr).
    profile : GasProfile
        Vertical gas profile (Eq. 47).
    average : {"typical", "population"}
        ``"typical"``: Eq. 46 at ``J_z = sigma_z^2 / nu`` (the paper's Fig. 8 axis);
        ``"population"``: Eq. 46 averaged over an exponential J_z distribution of that mean.
    """
    from ..ism.vertical import suppression_factor

    J_mean = np.asarray(sigma_z, dtype=float) ** 2 / nu
    if average == "typical":
        return suppression_factor(J_mean, k_star, H, nu, profile)
    if average == "population":
        x, w = np.polynomial.laguerre.laggauss(48)
        vals = suppression_factor(J_mean[..., None] * x, k_star, H, nu, profile)
        return np.sum(w * vals, axis=-1)
    raise ValueError(f"average must be 'typical' or 'population', got {average!r}")
