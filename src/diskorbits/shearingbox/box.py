"""Shearing-box geometry and the fixed vertical potential (Modak et al. 2026, Sec. II.1-II.2).

Internal units throughout: kpc, Myr, Msun (so ``Omega`` in 1/Myr, surface
densities in Msun/kpc^2, volume densities in Msun/kpc^3). Use
:func:`ShearingBox.from_physical` to build a box from the habits of the
field (km/s/kpc, pc, Msun/pc^2).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp

from .. import units

__all__ = ["VerticalPotential", "ShearingBox", "BOX_PRESETS", "box_preset"]

_PC = 1e-3  # kpc
_PER_PC2 = 1e6  # Msun/pc^2 -> Msun/kpc^2
_PER_PC3 = 1e9  # Msun/pc^3 -> Msun/kpc^3


class VerticalPotential(eqx.Module):
    """Stellar disk + dark matter vertical potential, Modak et al. 2026 Eq. 16.

    ``phi(z) = 2 pi G Sigma_* z_* [sqrt(1 + z^2/z_*^2) - 1]
    + 2 pi G rho_DM R0^2 ln(1 + z^2/R0^2)``.

    Attributes
    ----------
    sigma_star : float
        Stellar surface density, Msun/kpc^2.
    z_star : float
        Stellar scale height, kpc.
    rho_dm : float
        Local dark-matter density, Msun/kpc^3.
    R0 : float
        Galactocentric radius of the box centre, kpc.
    """

    sigma_star: float
    z_star: float
    rho_dm: float
    R0: float

    def potential(self, z):
        """phi_vert(z) in kpc^2/Myr^2 (zero at the mid-plane)."""
        a = 2 * jnp.pi * units.G * self.sigma_star * self.z_star
        b = 2 * jnp.pi * units.G * self.rho_dm * self.R0**2
        return a * (jnp.sqrt(1 + (z / self.z_star) ** 2) - 1) + b * jnp.log1p((z / self.R0) ** 2)

    def force(self, z):
        """-d phi_vert / dz in kpc/Myr^2."""
        a = 2 * jnp.pi * units.G * self.sigma_star / self.z_star
        b = 4 * jnp.pi * units.G * self.rho_dm
        return -(a * z / jnp.sqrt(1 + (z / self.z_star) ** 2) + b * z / (1 + (z / self.R0) ** 2))

    @property
    def nu(self) -> float:
        """Vertical epicyclic frequency at the mid-plane (Eq. 17), 1/Myr."""
        return math.sqrt(
            2 * math.pi * units.G * self.sigma_star / self.z_star
            + 4 * math.pi * units.G * self.rho_dm
        )


class ShearingBox(eqx.Module):
    """A local patch of a galactic disk rotating at ``Omega`` with shear ``q``.

    Attributes
    ----------
    Omega : float
        Circular frequency at ``R0``, 1/Myr.
    q : float
        Shear parameter ``-dlnOmega/dlnR`` (1 for a flat rotation curve), 0 < q < 2.
    L : float
        Box side ``L_x = L_y``, kpc.
    R0 : float
        Galactocentric radius of the box centre, kpc.
    vertical : VerticalPotential
        The fixed stellar + dark-matter vertical potential.
    """

    Omega: float
    q: float
    L: float
    R0: float
    vertical: VerticalPotential

    def __check_init__(self):
        if not (0.0 < float(self.q) < 2.0):
            raise ValueError(f"shear q must satisfy 0 < q < 2; got {self.q}")
        if not float(self.Omega) > 0:
            raise ValueError(f"Omega must be positive; got {self.Omega}")
        if not float(self.L) > 0:
            raise ValueError(f"box size L must be positive; got {self.L}")

    @property
    def kappa(self) -> float:
        """Radial epicyclic frequency sqrt(2(2-q)) Omega (Eq. 6), 1/Myr."""
        return math.sqrt(2.0 * (2.0 - self.q)) * self.Omega

    @property
    def gamma(self) -> float:
        """2 Omega / kappa."""
        return 2.0 * self.Omega / self.kappa

    @property
    def nu(self) -> float:
        """Vertical epicyclic frequency (Eq. 17), 1/Myr."""
        return self.vertical.nu

    @classmethod
    def from_physical(
        cls,
        *,
        R0_kpc: float,
        Omega_kms_kpc: float,
        q: float,
        L_pc: float,
        sigma_star_msun_pc2: float,
        z_star_pc: float,
        rho_dm_msun_pc3: float,
    ) -> "ShearingBox":
        """Build a box from parameters in the units papers quote them in."""
        vertical = VerticalPotential(
            sigma_star=sigma_star_msun_pc2 * _PER_PC2,
            z_star=z_star_pc * _PC,
            rho_dm=rho_dm_msun_pc3 * _PER_PC3,
            R0=float(R0_kpc),
        )
        return cls(
            Omega=Omega_kms_kpc * units.KMS_KPC,
            q=float(q),
            L=L_pc * _PC,
            R0=float(R0_kpc),
            vertical=vertical,
        )


#: Box parameters of the TIGRESS-NCR models used by Modak et al. 2026
#: (Sec. II.2 for R8, Appendix A for LGR4).
BOX_PRESETS = {
    "R8": dict(R0_kpc=8.0, Omega_kms_kpc=28.0, q=1.0, L_pc=1024.0,
               sigma_star_msun_pc2=42.0, z_star_pc=245.0, rho_dm_msun_pc3=0.0064),
    "LGR4": dict(R0_kpc=4.0, Omega_kms_kpc=30.0, q=1.0, L_pc=512.0,
                 sigma_star_msun_pc2=50.0, z_star_pc=500.0, rho_dm_msun_pc3=0.005),
}


def box_preset(name: str) -> ShearingBox:
    """The R8 or LGR4 shearing box (case-insensitive name)."""
    key = name.upper()
    if key not in BOX_PRESETS:
        raise ValueError(f"unknown box preset {name!r}; choose one of {sorted(BOX_PRESETS)}")
    return ShearingBox.from_physical(**BOX_PRESETS[key])
