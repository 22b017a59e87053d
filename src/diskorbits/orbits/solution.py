"""The frozen result of :func:`integrate_orbits`."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .parameters import OrbitParameters, orbit_parameters_from_samples
from .results import OrbitResult

__all__ = ["Orbits"]


class Orbits(eqx.Module):
    """Phase-space samples of a batch of orbits (internal units).

    Attributes
    ----------
    t : jax.Array, shape (T,)
        Save times, Myr (as requested; decreasing for backward integration).
    xyz : jax.Array, shape (*batch, T, 3)
        Galactocentric Cartesian positions, kpc (right-handed; z is the
        symmetry axis of the potential).
    vxyz : jax.Array, shape (*batch, T, 3)
        Velocities, kpc/Myr.
    result : jax.Array of int32, shape (*batch,)
        :class:`OrbitResult` code per star; samples of a star whose code is
        not ``SUCCESS`` must not be trusted.
    n_steps : jax.Array of int, shape (*batch,)
        Steps taken per star (accepted steps for adaptive methods).

    Notes
    -----
    Derived quantities (cylindrical coordinates, L_z, energy, orbit
    parameters) are computed on demand, never stored.
    """

    t: jax.Array
    xyz: jax.Array
    vxyz: jax.Array
    result: jax.Array
    n_steps: jax.Array

    # ------------------------------------------------------------ bookkeeping
    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Shape of the batch of stars (``()`` for a single star)."""
        return self.xyz.shape[:-2]

    @property
    def successful(self) -> jax.Array:
        """Boolean ``(*batch,)``: True where the star was integrated without problems."""
        return self.result == OrbitResult.SUCCESS

    # ------------------------------------------------------------ cylindrical coordinates
    @property
    def R(self) -> jax.Array:
        """Cylindrical radius, kpc, shape (*batch, T)."""
        return jnp.hypot(self.xyz[..., 0], self.xyz[..., 1])

    @property
    def phi(self) -> jax.Array:
        """Azimuth in radians, measured from +x towards +y, in (-pi, pi]; shape (*batch, T)."""
        return jnp.arctan2(self.xyz[..., 1], self.xyz[..., 0])

    @property
    def z(self) -> jax.Array:
        """Height above the midplane, kpc, shape (*batch, T)."""
        return self.xyz[..., 2]

    @property
    def r(self) -> jax.Array:
        """Spherical radius, kpc, shape (*batch, T)."""
        return jnp.linalg.norm(self.xyz, axis=-1)

    @property
    def v_R(self) -> jax.Array:
        """Radial velocity dR/dt, kpc/Myr (0 on the axis), shape (*batch, T)."""
        x, y = self.xyz[..., 0], self.xyz[..., 1]
        R = self.R
        return jnp.where(R > 0, (x * self.vxyz[..., 0] + y * self.vxyz[..., 1]) / jnp.where(R > 0, R, 1.0), 0.0)

    @property
    def v_phi(self) -> jax.Array:
        """Azimuthal velocity R dphi/dt, kpc/Myr (positive for rotation from +x to +y); shape (*batch, T)."""
        R = self.R
        return jnp.where(R > 0, self.L_z / jnp.where(R > 0, R, 1.0), 0.0)

    @property
    def v_z(self) -> jax.Array:
        """Vertical velocity, kpc/Myr, shape (*batch, T)."""
        return self.vxyz[..., 2]

    # ------------------------------------------------------------ integrals of motion
    @property
    def angular_momentum(self) -> jax.Array:
        """Specific angular momentum vector x × v, kpc^2/Myr, shape (*batch, T, 3)."""
        return jnp.cross(self.xyz, self.vxyz)

    @property
    def L_z(self) -> jax.Array:
        """z-component of the specific angular momentum, x v_y - y v_x, kpc^2/Myr; shape (*batch, T).

        Conserved in any axisymmetric potential.
        """
        return self.xyz[..., 0] * self.vxyz[..., 1] - self.xyz[..., 1] * self.vxyz[..., 0]

    def energy(self, potential) -> jax.Array:
        """Specific energy v^2/2 + Phi, kpc^2/Myr^2, shape (*batch, T).

        Parameters
        ----------
        potential : AbstractPotential
            Normally the one the orbits were integrated in.
        """
        kinetic = 0.5 * jnp.sum(self.vxyz**2, axis=-1)
        return kinetic + potential.potential_xyz(self.xyz)

    # ------------------------------------------------------------ orbit parameters
    def orbit_parameters(self) -> OrbitParameters:
        """Pericentre, apocentre, eccentricity and z_max over the integrated span.

        Extrema between samples are refined by cubic Hermite interpolation of
        r^2, R^2 and z using the sampled velocities, so the result depends
        only weakly on the output cadence (relative error ~(Ω Δt)^4 / 400).
        ``r_peri``/``r_apo`` are spherical radii, as in galpy and gala;
        ``R_min``/``R_max`` are the cylindrical ones.

        Returns
        -------
        OrbitParameters
            Fields of shape (*batch,).
        """
        return orbit_parameters_from_samples(self.t, self.xyz, self.vxyz)
