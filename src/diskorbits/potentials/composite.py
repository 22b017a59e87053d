"""Sums of potential components."""

from __future__ import annotations


from .base import AbstractPotential

__all__ = ["CompositePotential"]


class CompositePotential(AbstractPotential):
    """Sum of components: Phi = sum_i Phi_i. Build with ``a + b`` or explicitly.

    ``components`` is a tuple, so the whole model stays a PyTree whose leaves
    (masses, scale lengths) can be differentiated.
    """

    components: tuple[AbstractPotential, ...]

    def __init__(self, components):
        comps = tuple(components)
        if not comps or not all(isinstance(c, AbstractPotential) for c in comps):
            raise TypeError("CompositePotential needs a non-empty sequence of potentials")
        self.components = comps

    def _phi(self, R, z):
        return sum(c._phi(R, z) for c in self.components)

    def __getitem__(self, i):
        return self.components[i]

    def __len__(self):
        return len(self.components)
