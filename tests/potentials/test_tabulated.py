"""Accuracy of the quintic-Hermite table against the exact incomplete-gamma bulge."""

from __future__ import annotations

import equinox as eqx
import jax
import numpy as np
import pytest
from scipy import special

from diskorbits import units
from diskorbits.potentials import HernquistPotential, MWPotential2014, PowerLawCutoffPotential

M, ALPHA, RC = 4.5e9, 1.8, 1.9
# radii across the inner continuation (< 1e-6 kpc), the table and the Kepler tail (> 38 kpc)
R = np.geomspace(1e-8, 1e4, 400)


@pytest.fixture(scope="module")
def pair():
    exact = PowerLawCutoffPotential(M, ALPHA, RC)
    return exact, exact.tabulated(5e-7 * RC, 20 * RC)


def test_table_matches_exact_potential_and_force(pair):
    exact, tab = pair
    z = 0.3 * R
    phi_e, phi_t = np.asarray(exact.potential(R, z)), np.asarray(tab.potential(R, z))
    assert np.max(np.abs(phi_t / phi_e - 1)) < 1e-13
    FR_e, Fz_e = map(np.asarray, exact.force(R, z))
    FR_t, Fz_t = map(np.asarray, tab.force(R, z))
    F = np.hypot(FR_e, Fz_e)
    assert np.max(np.abs(FR_t - FR_e) / F) < 1e-12
    assert np.max(np.abs(Fz_t - Fz_e) / F) < 1e-12
    # force from the enclosed mass, written independently: G M P(3/2 - alpha/2, x^2) / r^2
    r = np.hypot(R, z)
    Fr = units.G * M * special.gammainc(1.5 - ALPHA / 2, (r / RC) ** 2) / r**2
    assert np.max(np.abs(np.hypot(FR_t, Fz_t) / Fr - 1)) < 1e-12


def test_table_density_error_is_small_against_mean_density(pair):
    _, tab = pair
    rho_t = np.asarray(tab.density(R, 0.3 * R))
    r = np.hypot(R, 0.3 * R)
    norm = M / (2 * np.pi * RC ** (3 - ALPHA) * special.gamma(1.5 - ALPHA / 2))
    rho = norm * r**-ALPHA * np.exp(-((r / RC) ** 2))
    # second derivatives of a quintic interpolant converge as h^4: ~1e-11 of
    # the mean density M / (4 pi r^3) with the default spacing h = 0.005
    assert np.max(np.abs(rho_t - rho) / (M / (4 * np.pi * r**3))) < 1e-10


def test_zero_point_offset_to_galpy_convention(pair):
    exact, _ = pair
    # galpy's form is zero at the centre; ours -> 0 at infinity. Phi(0) is the offset.
    assert float(exact.potential(0.0, 0.0)) == pytest.approx(float(exact.central_potential), rel=1e-12)
    assert abs(float(exact.potential(1e9, 0.0)) + units.G * M / 1e9) < 1e-12 * units.G * M / 1e9


def test_table_is_differentiable_in_parameters():
    """Building the table inside grad carries derivatives w.r.t. the component's parameters."""

    def build_and_eval(c):
        # a small, cheap table: the mechanism is the same for every spherical component
        pot = eqx.tree_at(lambda p: p.c, HernquistPotential(1e10, 1.0), c)
        return pot.tabulated(1e-2, 1e2, n=300)._phi(3.0, 0.5)

    g = jax.grad(build_and_eval)(1.3)
    h = 1e-6
    fd = (build_and_eval(1.3 + h) - build_and_eval(1.3 - h)) / (2 * h)
    assert float(g) == pytest.approx(float(fd), rel=1e-7)
    # and it is the derivative of the exact potential, -dPhi/dc = -G m / (r + c)^2
    assert float(g) == pytest.approx(units.G * 1e10 / (np.hypot(3.0, 0.5) + 1.3) ** 2, rel=1e-9)


def test_exact_bulge_gradient_in_alpha_matches_finite_difference():
    def phi(alpha):
        pot = eqx.tree_at(lambda p: p.alpha, PowerLawCutoffPotential(M, ALPHA, RC), alpha)
        return pot._phi(2.0, 0.5)

    g = jax.grad(phi)(ALPHA)
    h = 1e-6
    fd = (phi(ALPHA + h) - phi(ALPHA - h)) / (2 * h)
    assert float(g) == pytest.approx(float(fd), rel=1e-7)


def test_extrapolation_is_exact_for_kepler_tail_and_power_law_core():
    hern = HernquistPotential(1e10, 1.0)
    tab = hern.tabulated(1e-3, 1e2)
    # Outside: a Hernquist sphere is Keplerian only asymptotically, so the
    # A/r + B/r^2 continuation is good to the (c / r)^2 level, not exact.
    r_out = np.array([2e2, 1e3, 1e4])
    rel = np.abs(np.asarray(tab.potential(r_out, 0 * r_out)) / np.asarray(hern.potential(r_out, 0 * r_out)) - 1)
    assert np.all(rel < 1e-4)
    # The cut-off bulge has no mass beyond 20 r_c: there the continuation is exact.
    bulge = MWPotential2014().components[0]
    exact = MWPotential2014(bulge="exact").components[0]
    r_far = np.array([50.0, 500.0, 5e4])
    np.testing.assert_allclose(
        np.asarray(bulge.force(r_far, 0 * r_far)[0]), np.asarray(exact.force(r_far, 0 * r_far)[0]), rtol=1e-14
    )


def test_bad_table_arguments():
    b = PowerLawCutoffPotential(M, ALPHA, RC)
    with pytest.raises(ValueError, match="'r_max'"):
        b.tabulated(1.0, 0.1)
    with pytest.raises(ValueError, match="'h'"):
        b.tabulated(1.0, 10.0, h=-0.1)
    with pytest.raises(TypeError, match="'potential' must be spherical"):
        from diskorbits.potentials import MiyamotoNagaiPotential, TabulatedSphericalPotential

        TabulatedSphericalPotential.from_potential(MiyamotoNagaiPotential(1e10, 3.0, 0.3))
