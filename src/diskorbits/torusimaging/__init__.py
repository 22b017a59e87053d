"""Orbital Torus Imaging (Price-Whelan et al. 2021): abundances as tracers of orbits.

In the right potential, the mean abundance of stars at fixed actions does not
depend on their angles. The pieces, in pipeline order:

* :func:`find_neighbours` -- the K nearest neighbours in action space
  (cKDTree; raw or spread-scaled metric; bootstrap copies excluded via ids);
* :func:`abundance_deviations` -- Delta_n = y_n - <y>_J with the Appendix-A
  linear-correction weights (:func:`linear_correction_weights`,
  :func:`neighbour_mean`) and uncertainties;
* :func:`fit_fourier` -- unbinned weighted least-squares fit of
  Delta(theta_z) to m = 2 (Eqs. 3-7) and :func:`oti_objective` (Eq. 8);
* :func:`make_mock` -- phase-mixed mock catalogues with known truth
  (:class:`DiskInitialConditions`, :class:`SphereSelection`,
  :class:`PencilBeams`, :class:`LinearAbundanceModel`), configured from TOML
  (:func:`load_mock_config`, :func:`write_mock_catalogue`);
* :func:`evaluate_objective`, :func:`fit_potential`, :func:`bootstrap_inference`,
  :func:`combine`, :func:`a2_scan` -- the potential inference over (disk mass
  factor, h_z, z_sun, v_z,sun) with bootstrap trials through the executor;
* :func:`load_apogee_gaia` -- the APOGEE DR17 x Gaia sample with the paper's
  Section 3 cuts as a configurable :class:`APOGEESelection`.
"""

from .apogee import APOGEESample, APOGEESelection, load_apogee_gaia, select_apogee_gaia
from .catalogue import (
    PW2021_TABLE1,
    OTICatalogue,
    load_oti_catalogue,
    oti_data_from_catalogue,
)
from .fourier import (
    FourierFit,
    fit_fourier,
    fourier_design_matrix,
    fourier_series,
    fourier_terms,
    oti_objective,
)
from .inference import (
    A2Scan,
    JointEstimate,
    OTIInference,
    PotentialFit,
    RatioEstimate,
    a2_scan,
    bootstrap_inference,
    combine,
    derived_quantities,
    disk_to_halo_mass_ratio,
    fit_potential,
    read_oti_result,
    write_oti_result,
)
from .local_mean import (
    AbundanceDeviations,
    abundance_deviations,
    linear_correction_weights,
    neighbour_mean,
)
from .mock import (
    DiskInitialConditions,
    LinearAbundanceModel,
    MockCatalogue,
    PencilBeams,
    SphereSelection,
    make_mock,
)
from .mock_config import MockConfig, load_mock_config, write_mock_catalogue
from .neighbours import (
    ACTION_METRICS,
    DEFAULT_K,
    Neighbours,
    action_scale,
    find_neighbours,
)
from .objective import (
    PARAMETER_NAMES,
    ObjectiveEvaluation,
    OTIData,
    OTISetup,
    evaluate_objective,
    fiducial_parameters,
    model_at,
)
from .profile import (
    HzProfile,
    profile_inference,
    profile_minimum,
    read_oti_profile,
    write_oti_profile,
)
from .resampling import (
    ResampledCoefficients,
    bootstrap_counts,
    bootstrap_rows,
    resampled_coefficients,
)
from .stencil import StencilResult, stencil_bootstrap

__all__ = [
    # neighbours
    "find_neighbours",
    "Neighbours",
    "action_scale",
    "ACTION_METRICS",
    "DEFAULT_K",
    # local means (Appendix A) and deviations (Eq. 2)
    "abundance_deviations",
    "AbundanceDeviations",
    "linear_correction_weights",
    "neighbour_mean",
    # Fourier fit (Eqs. 3-8)
    "fit_fourier",
    "FourierFit",
    "fourier_design_matrix",
    "fourier_series",
    "fourier_terms",
    "oti_objective",
    # mocks
    "make_mock",
    "MockCatalogue",
    "DiskInitialConditions",
    "SphereSelection",
    "PencilBeams",
    "LinearAbundanceModel",
    "MockConfig",
    "load_mock_config",
    "write_mock_catalogue",
    # objective over (disk mass factor, h_z, z_sun, v_z,sun) and inference (Sec. 6.2)
    "PARAMETER_NAMES",
    "OTIData",
    "OTISetup",
    "ObjectiveEvaluation",
    "evaluate_objective",
    "fiducial_parameters",
    "model_at",
    "fit_potential",
    "PotentialFit",
    "bootstrap_inference",
    "OTIInference",
    "RatioEstimate",
    "combine",
    "JointEstimate",
    "derived_quantities",
    "disk_to_halo_mass_ratio",
    "a2_scan",
    "A2Scan",
    "write_oti_result",
    "read_oti_result",
    # profile over fixed h_z (the disk-mass/scale-height trade-off)
    "profile_inference",
    "HzProfile",
    "profile_minimum",
    "write_oti_profile",
    "read_oti_profile",
    # bootstrap trials as star weights; Gauss-Newton on a shared stencil
    "bootstrap_rows",
    "bootstrap_counts",
    "resampled_coefficients",
    "ResampledCoefficients",
    "stencil_bootstrap",
    "StencilResult",
    # catalogues (mocks or APOGEE-like) -> OTIData; the paper's Table 1
    "load_oti_catalogue",
    "oti_data_from_catalogue",
    "OTICatalogue",
    "PW2021_TABLE1",
    # APOGEE DR17 x Gaia input (Section 3 cuts)
    "APOGEESelection",
    "APOGEESample",
    "load_apogee_gaia",
    "select_apogee_gaia",
]
