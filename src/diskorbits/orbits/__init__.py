"""Vectorised orbit integration and orbit parameters.

>>> from diskorbits.orbits import integrate_orbits, Leapfrog, Adaptive

One entry point, :func:`integrate_orbits`, integrates a batch of stars with a
symplectic :class:`Leapfrog` or an adaptive :class:`Adaptive` Runge–Kutta
method and returns a frozen :class:`Orbits`.
"""

from .adaptive import Adaptive
from .initial import phase_space_from_cylindrical
from .integrate import integrate_orbits
from .leapfrog import Leapfrog
from .method import AbstractOrbitMethod
from .parameters import OrbitParameters, refined_extrema
from .results import OrbitResult
from .solution import Orbits

__all__ = [
    "integrate_orbits",
    "Orbits",
    "OrbitParameters",
    "OrbitResult",
    "AbstractOrbitMethod",
    "Leapfrog",
    "Adaptive",
    "phase_space_from_cylindrical",
    "refined_extrema",
]
