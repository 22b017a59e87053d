"""Mock and user-supplied ISM potential fluctuations for the shearing box.

Modak et al. (2026) drive test stars in a galactic shearing box with the
gravitational potential of the turbulent interstellar medium. This package
provides the statistical model of those fluctuations and the forcings that
apply them:

* :mod:`~diskorbits.ism.spectrum`: the separable spectrum
  ``P_delta(k) T_k(omega)`` of the surface-density contrast;
* :mod:`~diskorbits.ism.vertical`: the gas profile zeta, the vertical
  response chi (Eq. 45) and the suppression factor xi (Eqs. 46, 48);
* :mod:`~diskorbits.ism.presets`: the R8 and LGR4 models;
* :mod:`~diskorbits.ism.fields`: Gaussian-random-field mock forcings;
* :mod:`~diskorbits.ism.snapshots`: gridded snapshot files (e.g. TIGRESS-NCR).

Design choices and file layouts: ``docs/ism-fields.md``.
"""

from .fields import (
    MIN_WINDOW,
    MockFieldState,
    MockISMField,
    expected_rms_potential,
    grid_wavenumbers,
    make_mock_field,
)
from .presets import CALIBRATED_C, CALIBRATION_FILE, ISM_PRESETS, ISMModel, ism_preset
from .snapshots import (
    DEFAULT_FILE_UNITS,
    PotentialSnapshots,
    SnapshotForcing,
    SnapshotState,
    load_snapshot_forcing,
    read_potential_snapshots,
    write_potential_snapshots,
)
from .spectrum import DEFAULT_K_PIVOT, OMEGA_C_FACTOR, TEMPORAL_KINDS, ISMSpectrum, TemporalKernel
from .vertical import (
    GasProfile,
    chi,
    chi_dz,
    chi_quadrature,
    suppression_factor,
    suppression_factor_fit,
)

__all__ = [
    # spectrum
    "ISMSpectrum",
    "TemporalKernel",
    "TEMPORAL_KINDS",
    "OMEGA_C_FACTOR",
    "DEFAULT_K_PIVOT",
    # vertical structure
    "GasProfile",
    "chi",
    "chi_dz",
    "chi_quadrature",
    "suppression_factor",
    "suppression_factor_fit",
    # presets
    "ISMModel",
    "ism_preset",
    "ISM_PRESETS",
    "CALIBRATED_C",
    "CALIBRATION_FILE",
    # mock fields
    "MockISMField",
    "MockFieldState",
    "make_mock_field",
    "expected_rms_potential",
    "grid_wavenumbers",
    "MIN_WINDOW",
    # snapshots
    "PotentialSnapshots",
    "SnapshotForcing",
    "SnapshotState",
    "load_snapshot_forcing",
    "read_potential_snapshots",
    "write_potential_snapshots",
    "DEFAULT_FILE_UNITS",
]
