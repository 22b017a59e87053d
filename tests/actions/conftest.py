"""Shared test potential for the action tests."""

import pytest

import diskorbits as do


def gala_v1_milky_way():
    """gala's MilkyWayPotential (v1 parameters) built from diskorbits components: MN disk, Hernquist bulge and nucleus, NFW halo."""
    return (
        do.MiyamotoNagaiPotential(6.8e10, 3.0, 0.28)
        + do.HernquistPotential(5e9, 1.0)
        + do.HernquistPotential(1.71e9, 0.07)
        + do.NFWPotential(5.4e11, 15.62)
    )


@pytest.fixture(scope="session")
def mw():
    return gala_v1_milky_way()
