"""diskorbits: orbital dynamics of stars in galactic disks.

Internal units are kpc, Myr and Msun (see :mod:`diskorbits.units`); JAX runs
in float64 as soon as the package is imported. The public surface is:

* potentials: :class:`MWPotential2014`, :class:`MilkyWayPotential` and the
  components they are built from (:mod:`diskorbits.potentials`);
* frames: observed <-> Galactocentric with :data:`FRANKEL2020` / :data:`PW2021`
  solar parameters (:mod:`diskorbits.frames`);
* orbits: :func:`integrate_orbits` (:mod:`diskorbits.orbits`);
* actions: :func:`compute_actions` with :class:`StaeckelFudge` or
  :class:`Epicycle` (:mod:`diskorbits.actions`);
* catalogues and fan-out: :func:`read_catalogue`, :func:`write_table`,
  :class:`Executor` (:mod:`diskorbits.io`, :mod:`diskorbits.parallel`);
* ISM-driven transport (Modak et al. 2026): :func:`run_shearing_box` with a
  :class:`ShearingBox` and mock or user-supplied fluctuation fields
  (:mod:`diskorbits.shearingbox`, :mod:`diskorbits.ism`), and the action-space
  diffusion that summarises it -- coefficients, fits, Langevin evolution
  (:mod:`diskorbits.diffusion`);
* Orbital Torus Imaging building blocks (Price-Whelan et al. 2021): action-space
  neighbours, local abundance means, Fourier fits in theta_z and mock
  catalogues, bootstrap inference of the disk potential (:mod:`diskorbits.torusimaging`);
* migration versus heating (Frankel et al. 2020): the disk model, survey
  selection functions and derived quantities (:mod:`diskorbits.migration`);
* inference drivers shared by the methods: multi-start Nelder-Mead, emcee and
  NUTS with convergence diagnostics and resumable run files (:mod:`diskorbits.sampling`).
"""

from . import _config  # noqa: F401  (enables float64 before any array is made)
from . import (
    actions,
    diffusion,
    frames,
    io,
    ism,
    migration,
    orbits,
    parallel,
    potentials,
    sampling,
    shearingbox,
    torusimaging,
    units,
)
from .actions import ActionFlag, ActionResult, Epicycle, StaeckelFudge, compute_actions
from .frames import (
    FRANKEL2020,
    PW2021,
    SolarParameters,
    cartesian_to_cylindrical,
    cylindrical_to_cartesian,
    galactocentric_to_observed,
    observed_to_cylindrical,
    observed_to_galactocentric,
)
from .io import read_catalogue, write_table
from .orbits import Adaptive, Leapfrog, Orbits, integrate_orbits
from .parallel import Executor
from .shearingbox import ShearingBox, box_preset
from .shearingbox.config import RunConfig, load_config
from .shearingbox.run import ShearingBoxRun, read_run, run_shearing_box
from .potentials import (
    AbstractPotential,
    CompositePotential,
    HernquistPotential,
    MilkyWayPotential,
    MiyamotoNagaiPotential,
    MWPotential2014,
    NFWPotential,
    PowerLawCutoffPotential,
    TabulatedSphericalPotential,
)

__version__ = "0.1.0"

__all__ = [
    # subpackages
    "actions",
    "diffusion",
    "frames",
    "io",
    "ism",
    "migration",
    "orbits",
    "parallel",
    "potentials",
    "sampling",
    "shearingbox",
    "torusimaging",
    "units",
    # potentials
    "AbstractPotential",
    "CompositePotential",
    "HernquistPotential",
    "MiyamotoNagaiPotential",
    "NFWPotential",
    "PowerLawCutoffPotential",
    "TabulatedSphericalPotential",
    "MWPotential2014",
    "MilkyWayPotential",
    # frames
    "SolarParameters",
    "FRANKEL2020",
    "PW2021",
    "observed_to_galactocentric",
    "galactocentric_to_observed",
    "observed_to_cylindrical",
    "cartesian_to_cylindrical",
    "cylindrical_to_cartesian",
    # orbits
    "integrate_orbits",
    "Orbits",
    "Leapfrog",
    "Adaptive",
    # actions
    "compute_actions",
    "StaeckelFudge",
    "Epicycle",
    "ActionResult",
    "ActionFlag",
    # catalogues, fan-out
    "read_catalogue",
    "write_table",
    "Executor",
    # ISM-driven transport in a shearing box
    "ShearingBox",
    "box_preset",
    "RunConfig",
    "load_config",
    "run_shearing_box",
    "read_run",
    "ShearingBoxRun",
    "__version__",
]
