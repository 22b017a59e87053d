"""Mean vertical action of a mono-age population, for the vertical profile of Eqs. 11-12.

Frankel et al. (2020, Sec. 3.7) take the scale height of a population of age
tau, present angular momentum L_z and birth angular momentum L_z0 from the
fitted vertical-action law of Ting & Rix (2019, ApJ 878, 21, "The vertical
motion history of disk stars throughout the Galaxy"), scaled by their
parameter ``a_z``. The law is kept behind the small abstract interface
:class:`AbstractVerticalAction` so that it can be swapped (e.g. for a refit
or a different survey) without touching the likelihood.

:class:`TingRix2019` uses the functional form of Ting & Rix (2019): a birth
action plus heating that grows as a power of age,

    <J_z>(R, tau) = J_z0(R) + Delta J_z,1Gyr(R) (tau / 1 Gyr)^gamma(R),

with ``J_z0`` a cubic and ``Delta J_z,1Gyr`` and ``gamma`` linear in
``r = R - 8 kpc`` (J_z in kpc km/s). The paper itself was not available to us;
the coefficients are those of the first author of Frankel et al. (2020) in
the public repository ``NeigeF/apogee_selection_function``
(``vertical_structure_yst.py``, "from Ting and Rix"), which also evaluates
the law at the mean of the birth and present radii. They agree with the
numbers of the Ting & Rix abstract (J_z0 ~ 1 kpc km/s for 3 < R < 10 kpc
rising to ~8 kpc km/s at 14 kpc; heating ~1.6-1.8 kpc km/s per Gyr; gamma
from ~1 near the Sun to ~1.3 at 14 kpc). See ``docs/migration.md``.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp

from .. import (
    _config,  # noqa: F401  (float64)
    units,
)

__all__ = ["AbstractVerticalAction", "TingRix2019"]


class AbstractVerticalAction(eqx.Module):
    """Interface: the mean vertical action of stars with (L_z, L_z0, tau).

    Subclasses are passed through ``jax.jit`` as arguments of the model
    functions, so their fields must be numbers or arrays (mark anything else
    ``eqx.field(static=True)``).
    """

    @abc.abstractmethod
    def mean_jz(self, lz, lz0, tau):
        """Mean vertical action <J_z> in kpc^2/Myr.

        Parameters
        ----------
        lz, lz0 : array_like, kpc^2/Myr
            Present and birth angular momenta (broadcast together).
        tau : array_like, Myr
            Age (>= 0).
        """


class TingRix2019(AbstractVerticalAction):
    """Ting & Rix (2019) mean vertical action, evaluated at the mean of birth and present radii.

    ``R = (L_z + L_z0) / (2 v_circ)`` is clipped to ``[R_min, R_max]``, the
    radial range Ting & Rix fitted (3-14 kpc): outside it the cubic for J_z0
    turns negative inwards (R < ~2 kpc) and grows without bound outwards.
    The clip is our choice (Frankel et al. 2020 do not say what they did).

    Attributes
    ----------
    jz0 : tuple of 4 floats, kpc km/s
        Cubic coefficients of the birth action in ``r = R - R_ref`` (kpc):
        ``J_z0 = c0 + c1 r + c2 r^2 + c3 r^3``.
    heating : tuple of 2 floats, kpc km/s
        ``Delta J_z,1Gyr = b0 + b1 r``, the action gained in the first Gyr.
    gamma : tuple of 2 floats
        Age exponent ``gamma = a0 + a1 r``.
    R_ref, R_min, R_max : float, kpc
        Expansion radius (8 kpc) and clip range (3, 14 kpc).
    v_circ : float, kpc/Myr
        Circular speed that turns angular momenta into radii (235 km/s, as
        Frankel et al. 2020 use throughout).

    Examples
    --------
    >>> from diskorbits import units
    >>> law = TingRix2019()
    >>> lz = 8.0 * 235.0 * units.KPC_KMS
    >>> round(float(law.mean_jz(lz, lz, 1000.0) / units.KPC_KMS), 2)   # 0.91 + 1.79 at 8 kpc, 1 Gyr
    2.7
    """

    jz0: tuple[float, float, float, float] = (0.91, 0.183, 0.087, 0.014)
    heating: tuple[float, float] = (1.79, 0.05)
    gamma: tuple[float, float] = (1.05, 0.055)
    R_ref: float = 8.0
    R_min: float = 3.0
    R_max: float = 14.0
    v_circ: float = 235.0 * units.KMS

    def __check_init__(self):
        if not (0 < float(self.R_min) < float(self.R_max)):
            raise ValueError(f"'R_min' and 'R_max' must satisfy 0 < R_min < R_max, got {self.R_min}, {self.R_max}")
        if not float(self.v_circ) > 0:
            raise ValueError(f"'v_circ' must be positive, got {self.v_circ}")

    @eqx.filter_jit
    def birth_action(self, R):
        """J_z0(R) in kpc^2/Myr (R in kpc, clipped to [R_min, R_max])."""
        r = jnp.clip(jnp.asarray(R, float), self.R_min, self.R_max) - self.R_ref
        c0, c1, c2, c3 = self.jz0
        return (c0 + r * (c1 + r * (c2 + r * c3))) * units.KPC_KMS

    @eqx.filter_jit
    def mean_jz(self, lz, lz0, tau):
        """<J_z> in kpc^2/Myr for present/birth angular momenta (kpc^2/Myr) and age (Myr)."""
        R = 0.5 * (jnp.asarray(lz, float) + jnp.asarray(lz0, float)) / self.v_circ
        r = jnp.clip(R, self.R_min, self.R_max) - self.R_ref
        heat = (self.heating[0] + self.heating[1] * r) * units.KPC_KMS
        gam = self.gamma[0] + self.gamma[1] * r
        # tau^gamma written as exp(gamma ln tau) with a floor, so that tau = 0
        # gives 0 (not nan) and its gradient stays finite.
        t_gyr = jnp.maximum(jnp.asarray(tau, float) / units.GYR, 1e-300)
        return self.birth_action(R) + heat * jnp.exp(gam * jnp.log(t_gyr))
