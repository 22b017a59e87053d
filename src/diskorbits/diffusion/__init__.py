"""Action-space diffusion driven by ISM fluctuations (Modak et al. 2026, Secs. III.2-IV.3, Apps. A, C).

* :mod:`~diskorbits.diffusion.coefficients` -- broken-power-law ``D_RR(J_R)``,
  ``D_phiphi(J_R)``, the paper's presets (Eqs. 40-41, A1-A4), ``J_*`` (Eq. 42),
  the late heating-to-migration ratio (Eq. 39);
* :mod:`~diskorbits.diffusion.environment` -- rescaling to other galactic
  environments (Eqs. 50-56);
* :mod:`~diskorbits.diffusion.changes`, :mod:`~diskorbits.diffusion.regimes`,
  :mod:`~diskorbits.diffusion.fit` -- coefficients fitted to the rms action
  changes of shearing-box runs or plain tables, with bootstrap errors (Eqs. 27-30, C5);
* :mod:`~diskorbits.diffusion.langevin` (with ``langevin_config``,
  ``langevin_run``) -- populations evolved by the Langevin equation of
  Eq. 26 (Eq. 43 plus the Ito drift), resumable HDF5 runs from TOML;
* :mod:`~diskorbits.diffusion.analytic` -- Eq. C4, Eqs. 29-30, C5, C8;
* the vertical suppression factor xi (Eqs. 44-48) lives with the gas profile in
  :mod:`diskorbits.ism.vertical` and is re-exported here.

Internal units: actions kpc^2/Myr, coefficients (kpc^2/Myr)^2/Myr, t in Myr.
"""

from ..ism.vertical import suppression_factor, suppression_factor_fit
from .analytic import (
    CLOSURES,
    cold_ensemble_rms,
    cold_ensemble_rms_prediction,
    self_similar_moment,
    self_similar_rms_prediction,
    heating_constant,
    mean_azimuthal_coefficient,
    mean_radial_action_prediction,
)
from .changes import ActionChanges
from .coefficients import (
    DIFFUSION_PRESETS,
    PAPER_ACTION,
    PAPER_D,
    BrokenPowerLaw,
    DiffusionCoefficients,
    PowerLaw,
    diffusion_preset,
    j_star,
)
from .environment import (
    LGR4_ENVIRONMENT,
    R8_ENVIRONMENT,
    SCALING_EXPONENTS,
    Environment,
    j_star_scaling,
    late_ratio_scaling,
    scale_coefficients,
    suppression_for_dispersion,
)
from .fit import (
    DiffusionFit,
    Estimate,
    RegimeFit,
    fit_diffusion,
    fit_regime,
    load_fit_coefficients,
    write_fit_json,
)
from .langevin import (
    LangevinResult,
    default_dt,
    evolve,
    log_output_times,
    schwarzschild_radial_actions,
    suggested_dt,
)
from .langevin_config import LangevinConfig, load_langevin_config
from .langevin_run import LangevinRun, read_langevin, run_langevin
from .regimes import REGIME_INDICES, auto_windows

__all__ = [
    "PowerLaw",
    "BrokenPowerLaw",
    "DiffusionCoefficients",
    "DIFFUSION_PRESETS",
    "diffusion_preset",
    "j_star",
    "PAPER_ACTION",
    "PAPER_D",
    "Environment",
    "R8_ENVIRONMENT",
    "LGR4_ENVIRONMENT",
    "SCALING_EXPONENTS",
    "scale_coefficients",
    "late_ratio_scaling",
    "j_star_scaling",
    "suppression_for_dispersion",
    "suppression_factor",
    "suppression_factor_fit",
    "heating_constant",
    "mean_radial_action_prediction",
    "cold_ensemble_rms_prediction",
    "CLOSURES",
    "cold_ensemble_rms",
    "self_similar_moment",
    "self_similar_rms_prediction",
    "mean_azimuthal_coefficient",
    "ActionChanges",
    "REGIME_INDICES",
    "auto_windows",
    "fit_regime",
    "fit_diffusion",
    "DiffusionFit",
    "RegimeFit",
    "Estimate",
    "write_fit_json",
    "load_fit_coefficients",
    "evolve",
    "LangevinResult",
    "suggested_dt",
    "default_dt",
    "schwarzschild_radial_actions",
    "log_output_times",
    "LangevinConfig",
    "load_langevin_config",
    "run_langevin",
    "read_langevin",
    "LangevinRun",
]
