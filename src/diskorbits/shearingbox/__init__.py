"""Test stars in a galactic shearing box kicked by an external potential.

Reproduces the set-up of Modak, Hamilton, Ostriker & Tremaine (2026, "ISM-driven
orbital transport I"): the box geometry and vertical potential
(:mod:`~diskorbits.shearingbox.box`), the forcing interface
(:mod:`~diskorbits.shearingbox.forcing`), the symplectic epicycle integrator
(:mod:`~diskorbits.shearingbox.integrator`), Schwarzschild initial conditions
(:mod:`~diskorbits.shearingbox.initial`) and orbit/transport diagnostics
(:mod:`~diskorbits.shearingbox.diagnostics`). Internal units: kpc, Myr, Msun.
"""

from .box import BOX_PRESETS, ShearingBox, VerticalPotential, box_preset
from .diagnostics import (
    EnsembleObserver,
    PerStarObserver,
    azimuthal_action,
    cold_ensemble_rms_prediction,
    ensemble_observer,
    guiding_centre,
    guiding_centre_shift_from_snapshots,
    heating_constant,
    jacobi_energy,
    mean_radial_action_prediction,
    per_star_observer,
    power_law_slope,
    radial_action,
    vertical_action,
    vertical_energy,
)
from .forcing import AbstractForcing, NoForcing, PlaneWaveForcing
from .initial import schwarzschild_initial_conditions, state_from_actions_angles
from .integrator import BoxState, drift, integrate, kick, steps_per_interval

__all__ = [
    # box
    "ShearingBox",
    "VerticalPotential",
    "BOX_PRESETS",
    "box_preset",
    # forcing
    "AbstractForcing",
    "NoForcing",
    "PlaneWaveForcing",
    # integrator
    "BoxState",
    "drift",
    "kick",
    "integrate",
    "steps_per_interval",
    # initial conditions
    "schwarzschild_initial_conditions",
    "state_from_actions_angles",
    # diagnostics
    "guiding_centre",
    "radial_action",
    "azimuthal_action",
    "vertical_action",
    "vertical_energy",
    "jacobi_energy",
    "guiding_centre_shift_from_snapshots",
    "EnsembleObserver",
    "PerStarObserver",
    "ensemble_observer",
    "per_star_observer",
    "power_law_slope",
    "heating_constant",
    "mean_radial_action_prediction",
    "cold_ensemble_rms_prediction",
]
