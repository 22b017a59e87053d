"""diskorbits: orbital dynamics of stars in galactic disks.

Internal units are kpc, Myr and Msun (see :mod:`diskorbits.units`); JAX runs
in float64 as soon as the package is imported.
"""

from . import _config  # noqa: F401  (enables float64 before any array is made)
from . import units
from .potentials import (
    AbstractPotential,
    CompositePotential,
    HernquistPotential,
    MiyamotoNagaiPotential,
    NFWPotential,
)

__version__ = "0.1.0"

__all__ = [
    "units",
    "AbstractPotential",
    "CompositePotential",
    "HernquistPotential",
    "MiyamotoNagaiPotential",
    "NFWPotential",
    "__version__",
]
