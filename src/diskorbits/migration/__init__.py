"""Migration versus heating in the Galactic disk (Frankel et al. 2020, "Keeping it cool").

The model of Frankel et al. (2020), Secs. 3.2-3.7 and Appendix A, as small
pure JAX functions in internal units (kpc, Myr, kpc^2/Myr, dex):

* :mod:`~diskorbits.migration.parameters` -- the eleven fitted parameters
  (:class:`ModelParameters`, vectors in display units in :data:`NAMES`
  order), the fixed :class:`ModelConstants`, presets :func:`table1` and
  :func:`text_values`;
* :mod:`~diskorbits.migration.model` -- the components (Eqs. 1, 2, 4-12) and
  the joint density :func:`log_p_mw` (Eq. A1, L_z0 integral collapsed on the
  birth [Fe/H] relation), with :func:`prepare_inputs` to evaluate the
  potential once, outside any fit;
* :mod:`~diskorbits.migration.vertical` -- the swappable mean vertical-action
  law (:class:`TingRix2019`);
* :mod:`~diskorbits.migration.derived` -- Sec. 6: rms action changes
  (Eqs. 21-24), migration distance, the Sun's birth place and its siblings;
* :mod:`~diskorbits.migration.selection`, :mod:`~.dust`, :mod:`~.redclump` --
  survey selection functions S(l, b, D) (APOGEE DR17 fields, the Kepler
  field, user fields, no selection), analytic dust with a hook for 3D maps,
  red-clump standard candles and f_RC(age) (Sec. 4, App. B);
* :mod:`~diskorbits.migration.samples` -- the survey set-up
  (:class:`SurveySetup`) and the fixed importance samples of the survey
  volume (App. B);
* :mod:`~diskorbits.migration.mock` -- mock catalogues with known truth and
  the paper's measurement noise (:func:`make_mock`);
* :mod:`~diskorbits.migration.likelihood` -- the likelihood (Eqs. 13-17,
  A1-A3, B8), noise marginalised by per-star Monte Carlo samples
  (:func:`build_likelihood`);
* :mod:`~diskorbits.migration.inference` -- prior box, multi-start
  Nelder-Mead, emcee or NUTS, fit files (:func:`fit`);
* :mod:`~diskorbits.migration.summary` -- Table-1-like summaries with the
  derived quantities (:func:`summarize`).

See ``docs/migration.md`` for the equations-to-functions map, the
parameter presets and which published number each variant reproduces.
"""

from .derived import (
    SOLAR_AGE,
    SiblingRanges,
    SolarBirth,
    action_change_ratio,
    drift_fraction,
    mean_radial_action,
    migration_distance,
    rms_delta_jr,
    rms_delta_lz,
    rms_delta_lz_truncated,
    solar_birth,
    solar_siblings,
)
from .dust import CallableDust, DoubleExponentialDust, DustModel, NoDust, bayestar_dust
from .model import (
    DEFAULT_CONSTANTS,
    DEFAULT_VERTICAL,
    GuidingTable,
    StarInputs,
    birth_feh,
    birth_lz0,
    default_guiding_table,
    drift,
    feh_slope,
    log_p_birth,
    log_p_jr,
    log_p_lz,
    log_p_lz0,
    log_p_mw,
    log_p_tau,
    log_p_z,
    mean_birth_lz,
    prepare_inputs,
    scale_height,
    sfh_rate,
    sigma_lz,
    sigma_r,
)
from .parameters import (
    NAMES,
    UNITS,
    ModelConstants,
    ModelParameters,
    table1,
    text_values,
)
from .inference import (
    PRIOR_BOUNDS,
    SAMPLERS,
    MigrationFit,
    LaplaceErrors,
    fit,
    laplace_errors,
    make_problem,
    prior_bounds,
    read_fit,
    write_fit,
)
from .kepler import MIGLIO2021_FRAME, read_kepler_miglio2021
from .likelihood import Likelihood, LikelihoodWarning, build_likelihood, read_observations
from .mock import NoiseModel, make_mock, write_mock
from .mock_config import MockConfig, load_mock_config, selection_from_spec
from .redclump import (
    RC_ABSOLUTE_MAGNITUDE_H,
    RC_JK0,
    AbstractRedClumpFraction,
    RedClumpFraction,
    TabulatedRedClumpFraction,
    distance_from_modulus,
    distance_modulus,
)
from .samples import ProposalConfig, SurveySetup, VolumeSample, draw_volume_sample
from .selection import (
    Field,
    NoSelection,
    PositionSample,
    Selection,
    SurveySelection,
    apogee_dr17,
    kepler_field,
)
from .summary import FitSummary, summarize
from .vertical import AbstractVerticalAction, TingRix2019

__all__ = [
    # components
    "DEFAULT_CONSTANTS",
    "DEFAULT_VERTICAL",
    # parameters
    "NAMES",
    # derived
    "SOLAR_AGE",
    "UNITS",
    # vertical law
    "AbstractVerticalAction",
    "GuidingTable",
    "ModelConstants",
    "ModelParameters",
    "SiblingRanges",
    "SolarBirth",
    "StarInputs",
    "TingRix2019",
    "action_change_ratio",
    "birth_feh",
    "birth_lz0",
    "default_guiding_table",
    "drift",
    "drift_fraction",
    "feh_slope",
    "log_p_birth",
    "log_p_jr",
    "log_p_lz",
    "log_p_lz0",
    "log_p_mw",
    "log_p_tau",
    "log_p_z",
    "mean_birth_lz",
    "mean_radial_action",
    "migration_distance",
    "prepare_inputs",
    "rms_delta_jr",
    "rms_delta_lz",
    "rms_delta_lz_truncated",
    "scale_height",
    "sfh_rate",
    "sigma_lz",
    "sigma_r",
    "solar_birth",
    "solar_siblings",
    "table1",
    "text_values",
    # selection functions (Sec. 4, App. B), dust, red clump
    "Selection",
    "SurveySelection",
    "NoSelection",
    "Field",
    "PositionSample",
    "apogee_dr17",
    "kepler_field",
    "DustModel",
    "NoDust",
    "DoubleExponentialDust",
    "CallableDust",
    "bayestar_dust",
    "AbstractRedClumpFraction",
    "RedClumpFraction",
    "TabulatedRedClumpFraction",
    "RC_ABSOLUTE_MAGNITUDE_H",
    "RC_JK0",
    "distance_modulus",
    "distance_from_modulus",
    # survey set-up, mocks, likelihood (Sec. 4, App. A-B)
    "SurveySetup",
    "ProposalConfig",
    "VolumeSample",
    "draw_volume_sample",
    "NoiseModel",
    "make_mock",
    "write_mock",
    "MockConfig",
    "load_mock_config",
    "selection_from_spec",
    "Likelihood",
    "LikelihoodWarning",
    "build_likelihood",
    "read_observations",
    # real data (Miglio et al. 2021 Kepler giants)
    "MIGLIO2021_FRAME",
    "read_kepler_miglio2021",
    # inference and summaries (Sec. 4.3, Table 1)
    "PRIOR_BOUNDS",
    "SAMPLERS",
    "MigrationFit",
    "fit",
    "LaplaceErrors",
    "laplace_errors",
    "make_problem",
    "prior_bounds",
    "read_fit",
    "write_fit",
    "FitSummary",
    "summarize",
]
