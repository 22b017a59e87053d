"""Epicycle approximation: actions and angles in the small-amplitude limit.

For a nearly circular, nearly planar orbit with angular momentum L_z the
motion separates into a harmonic radial oscillation about the guiding radius
R_g (where v_c(R_g) R_g = |L_z|) at the epicycle frequency kappa, a harmonic
vertical oscillation at nu, and rotation at Omega, all evaluated at R_g
(Binney & Tremaine 2008, Sec. 3.2.3)::

    x = R - R_g,   J_R = (v_R^2 + kappa^2 x^2) / (2 kappa),   x = -sqrt(2 J_R/kappa) cos(theta_R)
    J_z = (v_z^2 + nu^2 z^2) / (2 nu),                         z =  sqrt(2 J_z/nu) sin(theta_z)
    theta_phi = phi - 2 Omega v_R / (kappa^2 R_g)

The angle zero points match :class:`StaeckelFudge`: theta_R = 0 at
pericentre moving out, theta_z = 0 at the upward midplane crossing. The
theta_phi term removes the epicyclic azimuthal oscillation to first order
(from L_z conservation, phi_dot = Omega (1 - 2 x / R_g)). Errors are of
relative order x/R_g and z/h_z: use it for cold stars or as a check.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)
from ._method import AbstractActionMethod

__all__ = ["Epicycle"]

_TWO_PI = 2.0 * np.pi


class Epicycle(AbstractActionMethod):
    """Epicycle (small-amplitude) actions, angles and frequencies.

    Frequencies are kappa, sign(L_z) Omega and nu of the potential at the
    guiding radius R_g = ``potential.circular_radius(L_z)``; r_peri/r_apo =
    R_g -/+ sqrt(2 J_R / kappa), z_max = sqrt(2 J_z / nu). ``delta`` in the
    result is NaN.

    Examples
    --------
    >>> import diskorbits as do
    >>> from diskorbits.actions import compute_actions, Epicycle
    >>> pot = do.MiyamotoNagaiPotential(6.8e10, 3.0, 0.28) + do.NFWPotential(5.4e11, 15.62)
    >>> vc = float(pot.circular_velocity(8.0))
    >>> res = compute_actions(pot, 8.0, 0.0, 0.0, vc, 0.0, method=Epicycle())
    >>> abs(float(res.Omega_R - pot.kappa(8.0))) < 1e-9
    True
    """

    def _star(self, potential, delta, R, z, v_R, v_phi, v_z, phi):
        Lz = R * v_phi
        Rg = potential.circular_radius(jnp.abs(Lz))
        (pRR, _), (_, pzz) = potential._hess(Rg, 0.0)
        pR, _ = potential._dphi(Rg, 0.0)
        kappa = jnp.sqrt(pRR + 3.0 * pR / Rg)
        Omega = jnp.sqrt(pR / Rg)
        nu = jnp.sqrt(pzz)
        x = R - Rg
        J_R = (v_R * v_R + kappa * kappa * x * x) / (2.0 * kappa)
        J_z = (v_z * v_z + nu * nu * z * z) / (2.0 * nu)
        theta_R = jnp.mod(jnp.arctan2(v_R / kappa, -x), _TWO_PI)
        theta_z = jnp.mod(jnp.arctan2(nu * z, v_z), _TWO_PI)
        theta_phi = jnp.mod(phi - 2.0 * Omega * v_R / (kappa * kappa * Rg) * jnp.sign(Lz), _TWO_PI)
        X = jnp.sqrt(2.0 * J_R / kappa)
        r_peri, r_apo = Rg - X, Rg + X
        out = dict(
            J_R=J_R,
            J_z=J_z,
            theta_R=theta_R,
            theta_phi=theta_phi,
            theta_z=theta_z,
            Omega_R=kappa,
            Omega_phi=jnp.sign(Lz) * Omega,
            Omega_z=nu,
            r_peri=r_peri,
            r_apo=r_apo,
            z_max=jnp.sqrt(2.0 * J_z / nu),
        )
        return out, jnp.zeros((), jnp.int32)
