"""The interface every action method implements (Stäckel fudge, epicycle, ...)."""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx

__all__ = ["AbstractActionMethod", "OUTPUT_FIELDS"]

#: Per-star outputs a method's ``_star`` returns, in this order (J_phi, eccentricity, flag and delta are added by the driver).
OUTPUT_FIELDS = (
    "J_R",
    "J_z",
    "theta_R",
    "theta_phi",
    "theta_z",
    "Omega_R",
    "Omega_phi",
    "Omega_z",
    "r_peri",
    "r_apo",
    "z_max",
)


class AbstractActionMethod(eqx.Module):
    """An algorithm mapping one star's phase-space point to actions, angles, frequencies.

    Subclasses implement :meth:`_star` for ONE star (scalars, internal units);
    :func:`diskorbits.actions.compute_actions` vmaps and jits it, validates the
    inputs and turns data-dependent failures into per-star flags.
    """

    #: Whether the method uses a focal distance (then Delta <= 0 is flagged).
    uses_delta: ClassVar[bool] = False

    def _explicit_delta(self):
        """A user-fixed Delta (scalar or per-star array, kpc), or None to let :meth:`_deltas` decide."""
        return None

    def _without_delta(self):
        """This method with any fixed Delta removed (the driver passes Delta per star instead)."""
        return self

    def _deltas(self, potential, R, z, v_R, v_phi, v_z):
        """Per-star focal distance (kpc) for 1-D star arrays when none is fixed; NaN if unused."""
        import jax.numpy as jnp

        return jnp.full_like(R, jnp.nan)

    @abc.abstractmethod
    def _star(self, potential, delta, R, z, v_R, v_phi, v_z, phi):
        """One star -> (dict with the keys of :data:`OUTPUT_FIELDS`, int32 flag bits)."""
