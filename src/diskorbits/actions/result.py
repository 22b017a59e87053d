"""The frozen result of :func:`diskorbits.actions.compute_actions` and its per-star flags."""

from __future__ import annotations

import enum

import equinox as eqx
import jax
import numpy as np

from .. import units

__all__ = ["ActionFlag", "ActionResult"]


class ActionFlag(enum.IntFlag):
    """Per-star bit flags of an action computation (``ActionResult.flag``).

    ``0`` means the star's numbers are valid. Any set bit means every output of
    that star (actions, angles, frequencies, orbit extents) is NaN: a flagged
    star never carries a silently wrong number.
    """

    OK = 0
    #: R, z, a velocity, phi or Delta was NaN or infinite.
    NONFINITE_INPUT = 1
    #: E >= 0: the orbit is not bound, actions are undefined.
    UNBOUND = 2
    #: L_z = 0 or R = 0: the orbit reaches the symmetry axis, where the
    #: Stäckel fudge (and the epicycle expansion) is undefined.
    ON_AXIS = 4
    #: The focal distance Delta was not > 0.
    BAD_DELTA = 8
    #: A turning point (u_min, u_max or v_min) did not converge in the fixed number of steps.
    NOT_CONVERGED = 16
    #: The computation produced a non-finite number for an otherwise valid star.
    NONFINITE_RESULT = 32


_FIELDS_KIND = {
    "J_R": "action",
    "J_phi": "action",
    "J_z": "action",
    "theta_R": "angle",
    "theta_phi": "angle",
    "theta_z": "angle",
    "Omega_R": "frequency",
    "Omega_phi": "frequency",
    "Omega_z": "frequency",
    "r_peri": "length",
    "r_apo": "length",
    "z_max": "length",
    "eccentricity": "dimensionless",
    "delta": "length",
}


class ActionResult(eqx.Module):
    """Actions, angles, frequencies and orbit extents of a set of stars.

    All arrays share the broadcast shape of the inputs and are in internal
    units (kpc, Myr): actions kpc^2/Myr, angles rad in [0, 2 pi),
    frequencies 1/Myr, lengths kpc. Use :meth:`to_quantities` for astropy
    Quantities, or multiply by ``1 / units.KPC_KMS`` for kpc km/s.

    Attributes
    ----------
    J_R, J_phi, J_z : jax.Array
        Radial action, azimuthal action (= L_z = R v_phi, signed) and vertical action.
    theta_R, theta_phi, theta_z : jax.Array
        Conjugate angles. theta_R = 0 at pericentre (moving outwards);
        theta_z = 0 at the upward (v_z > 0) midplane crossing, z ~ sin(theta_z);
        theta_phi -> phi on circular orbits. See docs/actions.md.
    Omega_R, Omega_phi, Omega_z : jax.Array
        Frequencies dH/dJ; Omega_phi carries the sign of L_z.
    r_peri, r_apo : jax.Array
        Pericentre Delta sinh(u_min) (midplane) and apocentre radius
        sqrt(R^2 + z^2) at (u_max, v_min), as in galpy.
    z_max : jax.Array
        Delta cosh(u_max) cos(v_min), as in galpy.
    eccentricity : jax.Array
        (r_apo - r_peri) / (r_apo + r_peri).
    delta : jax.Array
        Focal distance used for each star (kpc); NaN for the epicycle method.
    flag : jax.Array
        int32 bit flags, see :class:`ActionFlag`; 0 = valid.
    """

    J_R: jax.Array
    J_phi: jax.Array
    J_z: jax.Array
    theta_R: jax.Array
    theta_phi: jax.Array
    theta_z: jax.Array
    Omega_R: jax.Array
    Omega_phi: jax.Array
    Omega_z: jax.Array
    r_peri: jax.Array
    r_apo: jax.Array
    z_max: jax.Array
    eccentricity: jax.Array
    delta: jax.Array
    flag: jax.Array

    @property
    def actions(self):
        """(J_R, J_phi, J_z) stacked on a trailing axis, kpc^2/Myr."""
        import jax.numpy as jnp

        return jnp.stack([self.J_R, self.J_phi, self.J_z], axis=-1)

    @property
    def angles(self):
        """(theta_R, theta_phi, theta_z) stacked on a trailing axis, rad."""
        import jax.numpy as jnp

        return jnp.stack([self.theta_R, self.theta_phi, self.theta_z], axis=-1)

    @property
    def frequencies(self):
        """(Omega_R, Omega_phi, Omega_z) stacked on a trailing axis, 1/Myr."""
        import jax.numpy as jnp

        return jnp.stack([self.Omega_R, self.Omega_phi, self.Omega_z], axis=-1)

    @property
    def ok(self):
        """Boolean mask of valid stars (flag == 0)."""
        return self.flag == 0

    def flag_counts(self) -> dict[str, int]:
        """Number of stars carrying each flag (only flags that occur)."""
        f = np.asarray(self.flag)
        return {fl.name: int(np.count_nonzero(f & fl.value)) for fl in ActionFlag if fl.value and np.any(f & fl.value)}

    def to_quantities(self) -> dict:
        """All fields as astropy Quantities (internal units) plus the raw ``flag`` array."""
        out = {name: units.to_quantity(getattr(self, name), kind) for name, kind in _FIELDS_KIND.items()}
        out["flag"] = np.asarray(self.flag)
        return out
