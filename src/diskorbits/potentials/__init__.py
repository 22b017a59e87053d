"""Axisymmetric galactic potentials (internal units kpc, Myr, Msun).

Parameter conventions (which mass, which zero point, how presets are
normalised) are summarised in ``docs/potentials.md``.
"""

from .base import AbstractPotential
from .components import HernquistPotential, MiyamotoNagaiPotential, NFWPotential
from .composite import CompositePotential
from .powerlaw import PowerLawCutoffPotential
from .presets import (
    MW2014_RO,
    MW2014_VO,
    MWP_FIDUCIAL_DISK_MASS,
    MWP_R_SUN,
    MWP_V_C_SUN,
    MilkyWayPotential,
    MWPotential2014,
)
from .spherical import AbstractSphericalPotential
from .tabulated import TabulatedSphericalPotential

__all__ = [
    "AbstractPotential",
    "AbstractSphericalPotential",
    "CompositePotential",
    "MiyamotoNagaiPotential",
    "HernquistPotential",
    "NFWPotential",
    "PowerLawCutoffPotential",
    "TabulatedSphericalPotential",
    "MWPotential2014",
    "MilkyWayPotential",
    "MW2014_RO",
    "MW2014_VO",
    "MWP_R_SUN",
    "MWP_V_C_SUN",
    "MWP_FIDUCIAL_DISK_MASS",
]
