"""Milky Way models used by the papers this package reproduces.

* :func:`MWPotential2014` -- Bovy (2015)'s three-component model, as galpy
  defines it, optionally rescaled to another solar radius and circular speed
  (Frankel et al. 2020 use ``ro=8.2, vo=235``).
* :class:`MilkyWayPotential` -- gala's ``MilkyWayPotential`` v1.2
  (Bovy 2015 disk + Hernquist bulge and nucleus + NFW halo) with the disk mass
  and scale height of Price-Whelan et al. (2021); changing the disk re-solves
  the halo mass so v_c(R_sun) stays 229 km/s.

Parameter conventions are collected in ``docs/potentials.md``.
"""

from __future__ import annotations

import astropy.units as u
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import units
from .base import AbstractPotential
from .components import HernquistPotential, MiyamotoNagaiPotential, NFWPotential, _param
from .composite import CompositePotential
from .powerlaw import PowerLawCutoffPotential

__all__ = [
    "MWPotential2014",
    "MilkyWayPotential",
    "MW2014_RO",
    "MW2014_VO",
    "MWP_R_SUN",
    "MWP_V_C_SUN",
    "MWP_FIDUCIAL_DISK_MASS",
]

# ---------------------------------------------------------------------------- MWPotential2014
#: galpy's natural length unit for MWPotential2014 (kpc).
MW2014_RO = 8.0
#: galpy's natural velocity unit for MWPotential2014 (km/s).
MW2014_VO = 220.0

# Bovy (2015), Table 1 / galpy.potential.MWPotential2014, lengths at ro = 8 kpc
# and each component's share of v_c^2 at R = ro ("normalize").
_BULGE_ALPHA = 1.8
_BULGE_RC = 1.9
_BULGE_SHARE = 0.05
_DISK_A, _DISK_B, _DISK_SHARE = 3.0, 0.28, 0.6
_HALO_RS, _HALO_SHARE = 16.0, 0.35

#: Range of the bulge table in units of the cut-off radius. By 20 r_c the
#: enclosed mass differs from the total by exp(-400), so the Kepler
#: continuation beyond the table is exact; inside 5e-7 r_c (~1e-6 kpc) the
#: power-law continuation is exact up to O((r/r_c)^2) ~ 1e-13. A range fixed
#: in units of r_c keeps the node count, hence the compiled table builder,
#: the same for every (ro, vo).
_BULGE_TABLE = (5e-7, 20.0)


def _velocity_kms(value, name):
    """Velocity preset argument: plain numbers are km/s (as in galpy/gala), Quantities converted."""
    if isinstance(value, u.Quantity):
        v = units.to_internal(value, "velocity", name)
    else:
        v = np.asarray(value, dtype=np.float64) * units.KMS
    if v.shape != () or not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name!r} must be a finite positive speed, got {value!r}")
    return float(v)


def _length(value, name):
    v = units.to_internal(value, "length", name)
    if v.shape != () or not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name!r} must be a finite positive length, got {value!r}")
    return float(v)


def _vc2_at(potential, R):
    """v_c^2 = R dPhi/dR at (R, 0), kpc^2/Myr^2 (scalar, traceable)."""
    dR, _ = potential._dphi(jnp.asarray(R, float), jnp.asarray(0.0))
    return R * dR


def MWPotential2014(ro=MW2014_RO, vo=MW2014_VO, *, bulge="tabulated"):
    """Bovy (2015)'s MWPotential2014, as galpy defines it, in physical units.

    Components, at the default ``ro = 8 kpc``: a power-law bulge with
    exponential cut-off (alpha = 1.8, r_c = 1.9 kpc) carrying 5% of v_c^2(ro),
    a Miyamoto-Nagai disk (a = 3 kpc, b = 0.28 kpc) carrying 60% and an NFW
    halo (r_s = 16 kpc) carrying 35%, so that v_c(ro) = vo. The masses are
    computed here from that definition (galpy's ``normalize``).

    Rescaling works as galpy's ``ro``/``vo``: all lengths are multiplied by
    ``ro / 8 kpc`` and the masses chosen so that v_c(ro) = vo with the same
    shares; ``MWPotential2014(8.2, 235)`` equals galpy's MWPotential2014
    evaluated with ``ro=8.2, vo=235`` (Frankel et al. 2020).

    Parameters
    ----------
    ro : float or Quantity, length (kpc)
        Radius where the circular speed is ``vo``.
    vo : float or Quantity, velocity
        Circular speed at ``ro``; **plain numbers are km/s** (galpy's habit).
    bulge : {"tabulated", "exact"}
        ``"tabulated"`` (default) interpolates the bulge (~1e-13 relative in
        Phi and forces, ~100x faster to evaluate); ``"exact"`` uses incomplete
        gamma functions and stays differentiable in the bulge parameters.

    Returns
    -------
    CompositePotential
        ``(bulge, disk, halo)`` in galpy's order.

    Raises
    ------
    ValueError
        If ``ro``/``vo`` are not positive or ``bulge`` is unknown.

    Examples
    --------
    >>> from diskorbits import units
    >>> from diskorbits.potentials import MWPotential2014
    >>> pot = MWPotential2014(ro=8.2, vo=235.0)
    >>> round(float(pot.circular_velocity(8.2)) / units.KMS, 10)
    235.0
    """
    if bulge not in ("tabulated", "exact"):
        raise ValueError(f"'bulge' must be 'tabulated' or 'exact', got {bulge!r}")
    ro_ = _length(ro, "ro")
    vo_ = _velocity_kms(vo, "vo")
    scale = ro_ / MW2014_RO
    vo2 = vo_ * vo_

    def normalised(unit_mass_component, share, build):
        # v_c^2 is linear in the mass: set it so this component supplies share * vo^2 at ro.
        m = share * vo2 / float(_vc2_at(unit_mass_component, ro_))
        return build(m)

    b_pot = normalised(
        PowerLawCutoffPotential(1.0, _BULGE_ALPHA, _BULGE_RC * scale),
        _BULGE_SHARE,
        lambda m: PowerLawCutoffPotential(m, _BULGE_ALPHA, _BULGE_RC * scale),
    )
    if bulge == "tabulated":
        r_c = _BULGE_RC * scale
        b_pot = b_pot.tabulated(_BULGE_TABLE[0] * r_c, _BULGE_TABLE[1] * r_c)
    d_pot = normalised(
        MiyamotoNagaiPotential(1.0, _DISK_A * scale, _DISK_B * scale),
        _DISK_SHARE,
        lambda m: MiyamotoNagaiPotential(m, _DISK_A * scale, _DISK_B * scale),
    )
    h_pot = normalised(
        NFWPotential(1.0, _HALO_RS * scale),
        _HALO_SHARE,
        lambda m: NFWPotential(m, _HALO_RS * scale),
    )
    return CompositePotential((b_pot, d_pot, h_pot))


# ---------------------------------------------------------------------------- MilkyWayPotential
#: Solar radius of Price-Whelan et al. (2021) / GRAVITY Collaboration (2018), kpc.
MWP_R_SUN = 8.122
#: Circular speed at MWP_R_SUN kept fixed when the disk changes, km/s.
MWP_V_C_SUN = 229.0
#: Fiducial disk mass M*_disk of Price-Whelan et al. (2021), Msun.
MWP_FIDUCIAL_DISK_MASS = 6.526e10

# gala MilkyWayPotential(version="v1"), i.e. gala v1.2 (Bovy 2015 disk shape).
_MWP_DISK_A = 3.0
_MWP_DISK_B = 0.28
_MWP_BULGE = (5e9, 1.0)
_MWP_NUCLEUS = (1.71e9, 0.07)
_MWP_HALO = (5.4e11, 15.62)


class MilkyWayPotential(AbstractPotential):
    """gala's MilkyWayPotential v1.2 with a re-solved halo (Price-Whelan et al. 2021).

    Miyamoto-Nagai disk (mass ``disk_mass_factor * 6.526e10 Msun``,
    a = 3 kpc, scale height ``b``), Hernquist bulge (5e9 Msun, c = 1 kpc),
    Hernquist nucleus (1.71e9 Msun, c = 0.07 kpc) and NFW halo
    (r_s = 15.62 kpc). The halo mass is solved for -- in closed form, since
    v_c^2 is linear in the masses -- so that v_c(r_sun) = v_c_sun exactly
    (default 229 km/s at 8.122 kpc).

    The fiducial model (factor 1, b = 0.28 kpc) thus has a halo mass of
    5.39949e11 Msun instead of gala's 5.4e11 (which gives
    v_c(8.122 kpc) = 229.0045 km/s with this disk); pass ``halo_mass=5.4e11``
    for gala's exact numbers. :meth:`with_disk` changes the disk and
    re-solves the halo; it is pure and differentiable (``jax.grad`` through
    ``disk_mass_factor`` and ``b`` works).

    Parameters
    ----------
    disk_mass_factor : float
        Disk mass in units of 6.526e10 Msun.
    b : float or Quantity, length (kpc)
        Miyamoto-Nagai scale height.
    r_sun : float or Quantity, length (kpc)
        Radius where the circular speed is pinned.
    v_c_sun : float or Quantity, velocity
        Circular speed at ``r_sun``; **plain numbers are km/s**.
    halo_mass : float or Quantity, mass (Msun), optional
        Fix the NFW scale mass instead of solving for it (then v_c(r_sun) is
        whatever results).

    Raises
    ------
    ValueError
        If a parameter is not positive, or no positive halo mass gives
        v_c(r_sun) = v_c_sun (the message gives the largest disk mass
        factor allowed at this ``b``).

    Examples
    --------
    >>> from diskorbits import units
    >>> from diskorbits.potentials import MilkyWayPotential
    >>> mw = MilkyWayPotential().with_disk(1.21, 0.27)
    >>> round(float(mw.circular_velocity(8.122)) / units.KMS, 10)
    229.0
    """

    disk: MiyamotoNagaiPotential
    bulge: HernquistPotential
    nucleus: HernquistPotential
    halo: NFWPotential
    r_sun: jnp.ndarray
    v_c_sun: jnp.ndarray

    def __init__(self, disk_mass_factor=1.0, b=_MWP_DISK_B, *, r_sun=MWP_R_SUN, v_c_sun=MWP_V_C_SUN, halo_mass=None):
        factor = _param(disk_mass_factor, "dimensionless", "disk_mass_factor")
        self.disk = MiyamotoNagaiPotential(factor * MWP_FIDUCIAL_DISK_MASS, _MWP_DISK_A, _param(b, "length", "b"))
        self.bulge = HernquistPotential(*_MWP_BULGE)
        self.nucleus = HernquistPotential(*_MWP_NUCLEUS)
        self.r_sun = jnp.asarray(_length(r_sun, "r_sun"))
        self.v_c_sun = jnp.asarray(_velocity_kms(v_c_sun, "v_c_sun"))
        if halo_mass is not None:
            self.halo = NFWPotential(halo_mass, _MWP_HALO[1])
            return
        unit_halo = NFWPotential(1.0, _MWP_HALO[1])
        m_halo = float(self._required_halo_mass(self.disk, unit_halo))
        if not m_halo > 0:
            raise ValueError(self._impossible_disk_message(float(factor), float(self.disk.b), m_halo))
        self.halo = NFWPotential(m_halo, _MWP_HALO[1])

    # ---------------------------------------------------------------- halo re-solve
    def _required_halo_mass(self, disk, halo):
        """Halo mass giving v_c(r_sun) = v_c_sun with ``disk`` (traceable, closed form)."""
        others = _vc2_at(disk, self.r_sun) + _vc2_at(self.bulge, self.r_sun) + _vc2_at(self.nucleus, self.r_sun)
        per_unit_halo_mass = _vc2_at(halo, self.r_sun) / halo.m
        return (self.v_c_sun**2 - others) / per_unit_halo_mass

    def max_disk_mass_factor(self, b=None):
        """Largest disk mass factor (at scale height ``b``, kpc) that leaves a positive halo mass."""
        b = self.disk.b if b is None else jnp.asarray(units.to_internal(b, "length", "b"))
        unit_disk = eqx.tree_at(lambda p: (p.m, p.b), self.disk, (jnp.asarray(1.0), b))
        room = self.v_c_sun**2 - _vc2_at(self.bulge, self.r_sun) - _vc2_at(self.nucleus, self.r_sun)
        return room / _vc2_at(unit_disk, self.r_sun) / MWP_FIDUCIAL_DISK_MASS

    def _impossible_disk_message(self, factor, b, m_halo):
        fmax = float(self.max_disk_mass_factor(b))
        return (
            f"no positive halo mass keeps v_c({float(self.r_sun):g} kpc) = "
            f"{float(self.v_c_sun) / units.KMS:g} km/s for disk_mass_factor={factor!r} "
            f"(disk mass {factor * MWP_FIDUCIAL_DISK_MASS:.4g} Msun) and b={b!r} kpc: the halo would need "
            f"{m_halo:.4g} Msun; at this b the disk mass factor must be < {fmax:.6g} "
            f"(disk mass < {fmax * MWP_FIDUCIAL_DISK_MASS:.4g} Msun)"
        )

    def with_disk(self, mass_factor, b=None):
        """A new model with another disk, the halo re-solved for v_c(r_sun) = v_c_sun.

        Pure and differentiable: ``mass_factor`` and ``b`` may be JAX tracers
        (then an impossible disk is reported through ``eqx.error_if`` at run
        time instead of a ``ValueError``).

        Parameters
        ----------
        mass_factor : float
            Disk mass in units of 6.526e10 Msun.
        b : float or Quantity, length (kpc), optional
            Miyamoto-Nagai scale height (default: keep the current one).

        Raises
        ------
        ValueError
            If ``mass_factor`` or ``b`` is not positive, or the required halo
            mass is <= 0 (the message names the disk asked for and the
            largest allowed mass factor).
        """
        traced = isinstance(mass_factor, jax.core.Tracer) or isinstance(b, jax.core.Tracer)
        if traced:
            factor = jnp.asarray(mass_factor, float)
            b_new = self.disk.b if b is None else jnp.asarray(b, float)
        else:
            factor = _param(mass_factor, "dimensionless", "mass_factor")
            b_new = self.disk.b if b is None else _param(b, "length", "b")
        disk = eqx.tree_at(lambda p: (p.m, p.b), self.disk, (factor * MWP_FIDUCIAL_DISK_MASS, b_new))
        m_halo = self._required_halo_mass(disk, self.halo)
        if traced:
            m_halo = eqx.error_if(
                m_halo, m_halo <= 0, "MilkyWayPotential.with_disk: no positive halo mass keeps v_c(r_sun) fixed"
            )
        elif not m_halo > 0:
            raise ValueError(self._impossible_disk_message(float(factor), float(b_new), float(m_halo)))
        return eqx.tree_at(lambda p: (p.disk, p.halo.m), self, (disk, m_halo))

    # ---------------------------------------------------------------- derived
    @property
    def disk_mass_factor(self):
        """Disk mass in units of the fiducial 6.526e10 Msun."""
        return self.disk.m / MWP_FIDUCIAL_DISK_MASS

    @property
    def components(self):
        """``(disk, bulge, nucleus, halo)``, gala's order."""
        return (self.disk, self.bulge, self.nucleus, self.halo)

    def _phi(self, R, z):
        return self.disk._phi(R, z) + self.bulge._phi(R, z) + self.nucleus._phi(R, z) + self.halo._phi(R, z)
