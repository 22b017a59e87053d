"""Initial conditions from Galactocentric cylindrical phase-space coordinates."""

from __future__ import annotations

import numpy as np

from .. import units

__all__ = ["phase_space_from_cylindrical"]


def phase_space_from_cylindrical(R, phi, z, v_R, v_phi, v_z):
    """Cartesian positions and velocities from cylindrical coordinates.

    Right-handed convention: x = R cos(phi), y = R sin(phi), and
    v_phi = R dphi/dt is positive for rotation from +x towards +y (galpy's
    ``vT``). All arguments broadcast against each other.

    Parameters
    ----------
    R : float, array_like or Quantity [length]
        Cylindrical radius, kpc.
    phi : float, array_like or Quantity [angle]
        Azimuth, radians (a Quantity in degrees is converted).
    z : float, array_like or Quantity [length]
        Height, kpc.
    v_R, v_phi, v_z : float, array_like or Quantity [velocity]
        Velocity components, kpc/Myr (a Quantity in km/s is converted).

    Returns
    -------
    xyz, vxyz : numpy.ndarray, shape (*broadcast, 3)
        Positions in kpc and velocities in kpc/Myr, ready for
        :func:`integrate_orbits`.

    Raises
    ------
    astropy.units.UnitConversionError
        If a Quantity of the wrong physical type is given (the message names the argument).

    Examples
    --------
    >>> import astropy.units as u
    >>> xyz, vxyz = phase_space_from_cylindrical(8.0, 90 * u.deg, 0.0, 0.0, 220 * u.km / u.s, 0.0)
    >>> np.round(xyz, 6).tolist(), np.round(vxyz / units.KMS, 6).tolist()
    ([0.0, 8.0, 0.0], [-220.0, 0.0, 0.0])
    """
    R = units.to_internal(R, "length", "R")
    phi = units.to_internal(phi, "angle", "phi")
    z = units.to_internal(z, "length", "z")
    v_R = units.to_internal(v_R, "velocity", "v_R")
    v_phi = units.to_internal(v_phi, "velocity", "v_phi")
    v_z = units.to_internal(v_z, "velocity", "v_z")
    R, phi, z, v_R, v_phi, v_z = np.broadcast_arrays(R, phi, z, v_R, v_phi, v_z)
    c, s = np.cos(phi), np.sin(phi)
    xyz = np.stack([R * c, R * s, z], axis=-1)
    vxyz = np.stack([v_R * c - v_phi * s, v_R * s + v_phi * c, v_z], axis=-1)
    return xyz, vxyz
