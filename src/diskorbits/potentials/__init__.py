"""Axisymmetric galactic potentials (internal units kpc, Myr, Msun)."""

from .base import AbstractPotential
from .components import HernquistPotential, MiyamotoNagaiPotential, NFWPotential
from .composite import CompositePotential

__all__ = [
    "AbstractPotential",
    "CompositePotential",
    "MiyamotoNagaiPotential",
    "HernquistPotential",
    "NFWPotential",
]
