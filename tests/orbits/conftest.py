"""Shared fixtures: gala's MilkyWayPotential (v1) built from diskorbits components."""

import numpy as np
import pytest

import diskorbits as do
from diskorbits.orbits import phase_space_from_cylindrical

# gala.potential.MilkyWayPotential (version 1) parameters, internal units.
GALA_MW_V1 = dict(disk=(6.8e10, 3.0, 0.28), bulge=(5e9, 1.0), nucleus=(1.71e9, 0.07), halo=(5.4e11, 15.62))


@pytest.fixture(scope="session")
def gala_mw_v1():
    """Parameters of gala's MilkyWayPotential v1 (Msun, kpc) for building reference potentials."""
    return GALA_MW_V1


@pytest.fixture(scope="session")
def mw():
    p = GALA_MW_V1
    return (
        do.MiyamotoNagaiPotential(*p["disk"])
        + do.HernquistPotential(*p["bulge"])
        + do.HernquistPotential(*p["nucleus"])
        + do.NFWPotential(*p["halo"])
    )


@pytest.fixture(scope="session")
def disk_stars(mw):
    """Eight thin/thick-disk stars between 5 and 11 kpc (deterministic)."""
    rng = np.random.default_rng(42)
    n = 8
    R = rng.uniform(5.0, 11.0, n)
    vc = np.asarray(mw.circular_velocity(R))
    return phase_space_from_cylindrical(
        R,
        rng.uniform(0, 2 * np.pi, n),
        rng.normal(0, 0.3, n),
        rng.normal(0, 0.04, n),
        vc + rng.normal(0, 0.03, n),
        rng.normal(0, 0.03, n),
    )
