"""The contract every potential must honour.

``PotentialContract`` holds the checks; each concrete potential gets a subclass
that says how to build it, gives an analytic density written here
independently of the package, and lists parameter values that must be refused.
"""

from __future__ import annotations

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from diskorbits import units
from diskorbits.potentials import (
    HernquistPotential,
    MilkyWayPotential,
    MiyamotoNagaiPotential,
    MWPotential2014,
    NFWPotential,
    PowerLawCutoffPotential,
)

G = units.G


# Points off the symmetry axes and planes, from the nucleus to the outer halo.
R_PTS = np.array([0.05, 0.3, 1.0, 2.5, 4.0, 8.0, 8.0, 15.0, 30.0])
Z_PTS = np.array([0.02, -0.1, 0.5, 1.0, -2.0, 0.3, 3.0, -5.0, 4.0])
# Midplane radii; every array in these tests has this same shape (9,) so each
# public method compiles once per potential type (compilation dominates the run time).
R_MID = np.array([0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 25.0])
ONES = np.ones_like(R_MID)


def call(pot, method, *args):
    """``pot.method(*args)`` as numpy (the public methods are compiled per shape)."""
    out = getattr(pot, method)(*args)
    return tuple(np.asarray(o) for o in out) if isinstance(out, tuple) else np.asarray(out)


def _mn_density(m, a, b, R, z):
    # Miyamoto & Nagai (1975), Eq. 5
    zb = np.sqrt(z**2 + b**2)
    num = a * R**2 + (a + 3 * zb) * (a + zb) ** 2
    den = (R**2 + (a + zb) ** 2) ** 2.5 * zb**3
    return b**2 * m / (4 * np.pi) * num / den


def _hernquist_density(m, c, R, z):
    r = np.hypot(R, z)
    return m * c / (2 * np.pi * r * (r + c) ** 3)


def _nfw_density(m, rs, R, z):
    x = np.hypot(R, z) / rs
    return m / (4 * np.pi * rs**3) / (x * (1 + x) ** 2)


def _plc_density(m, alpha, rc, R, z):
    r = np.hypot(R, z)
    norm = m / (2 * np.pi * rc ** (3 - alpha) * special.gamma(1.5 - alpha / 2))
    return norm * r**-alpha * np.exp(-((r / rc) ** 2))


class PotentialContract:
    """Checks inherited by every potential's test class."""

    #: relative tolerance of Poisson density vs the analytic formula
    density_rtol = 1e-10
    #: which entries of R_PTS/Z_PTS to use for the density check (mass must be non-negligible)
    density_mask = slice(None)

    def make(self):
        raise NotImplementedError

    def analytic_density(self, R, z):
        raise NotImplementedError

    #: (kwargs-builder, name) pairs expected to raise ValueError mentioning ``name``
    bad_params: tuple = ()

    @pytest.fixture(scope="class")
    @classmethod
    def pot(cls):
        return cls().make()

    def test_float64(self, pot):
        assert pot.potential(R_PTS, Z_PTS).dtype == jnp.float64
        assert pot.force(R_PTS, Z_PTS)[0].dtype == jnp.float64

    def test_potential_negative_and_vanishing_at_infinity(self, pot):
        phi = call(pot, "potential", R_PTS, Z_PTS)
        assert np.all(phi < 0)
        far = call(pot, "potential", 1e12 * ONES, 1e12 * ONES)
        assert np.all(np.abs(far) < 1e-8 * np.abs(phi).min())

    def test_force_is_minus_gradient_by_finite_differences(self, pot):
        FR, Fz = call(pot, "force", R_PTS, Z_PTS)
        eps = 1e-5 * np.maximum(np.hypot(R_PTS, Z_PTS), 0.1)
        dR = (call(pot, "potential", R_PTS + eps, Z_PTS) - call(pot, "potential", R_PTS - eps, Z_PTS)) / (2 * eps)
        dz = (call(pot, "potential", R_PTS, Z_PTS + eps) - call(pot, "potential", R_PTS, Z_PTS - eps)) / (2 * eps)
        scale = np.hypot(FR, Fz)
        # central differences: truncation ~ eps^2 Phi''' and round-off ~ 1e-16 |Phi| / eps
        assert np.all(np.abs(FR + dR) < 1e-7 * scale)
        assert np.all(np.abs(Fz + dz) < 1e-7 * scale)

    def test_poisson_density_matches_analytic(self, pot):
        R, z = R_PTS[self.density_mask], Z_PTS[self.density_mask]
        rho = call(pot, "density", R, z)
        expected = self.analytic_density(R, z)
        np.testing.assert_allclose(rho, expected, rtol=self.density_rtol)

    def test_bad_parameters_raise_naming_the_parameter(self):
        for build, name in self.bad_params:
            with pytest.raises(ValueError, match=name):
                build()

    def test_jit_vmap_grad_agree(self, pot):
        eager = np.asarray(pot.potential(R_PTS, Z_PTS))
        jitted = call(pot, "potential", R_PTS, Z_PTS)
        vmapped = np.asarray(jax.vmap(pot._phi)(jnp.asarray(R_PTS), jnp.asarray(Z_PTS)))
        np.testing.assert_allclose(jitted, eager, rtol=1e-14)
        np.testing.assert_allclose(vmapped, eager, rtol=1e-14)
        dphi_dR = jax.jit(jax.vmap(jax.grad(lambda R, z: pot.potential(R, z), argnums=0)))
        gR = np.asarray(dphi_dR(jnp.asarray(R_PTS), jnp.asarray(Z_PTS)))
        FR = call(pot, "force", R_PTS, Z_PTS)[0]
        np.testing.assert_allclose(gR, -FR, rtol=1e-13)

    def test_quantity_in_quantity_out(self, pot):
        R, z = R_PTS * 1000.0 * u.pc, Z_PTS * u.kpc
        phi_q = pot.potential(R, z)
        assert phi_q.unit.is_equivalent(u.km**2 / u.s**2)
        np.testing.assert_allclose(phi_q.to_value(units.ENERGY), call(pot, "potential", R_PTS, Z_PTS), rtol=1e-14)
        FR, Fz = pot.force(R, z)
        np.testing.assert_allclose(FR.to_value(u.km / u.s / u.Myr), call(pot, "force", R_PTS, Z_PTS)[0] / units.KMS, rtol=1e-13)
        rho = pot.density(R, z)
        np.testing.assert_allclose(rho.to_value(u.Msun / u.pc**3), call(pot, "density", R_PTS, Z_PTS) * 1e-9, rtol=1e-13)
        vc = pot.circular_velocity(R_MID * u.kpc)
        np.testing.assert_allclose(vc.to_value(u.km / u.s), call(pot, "circular_velocity", R_MID) / units.KMS, rtol=1e-13)
        om = pot.omega(R_MID * u.kpc)
        np.testing.assert_allclose(om.to_value(u.km / u.s / u.kpc), call(pot, "omega", R_MID) / units.KMS_KPC, rtol=1e-13)
        Lz = (R_MID * 200.0) * u.kpc * u.km / u.s
        np.testing.assert_allclose(pot.circular_radius(Lz).to_value(u.pc), call(pot, "circular_radius", R_MID * 200.0 * units.KPC_KMS) * 1e3, rtol=1e-13)
        with pytest.raises(u.UnitConversionError, match="'R'"):
            pot.potential(R_PTS * u.s, z)


class KinematicsContract(PotentialContract):
    """The core contract plus the derived kinematics of the base class.

    Kept separate so the slow exact incomplete-gamma bulge only runs the core
    checks (its kinematics are compared with galpy in ``test_presets.py``).
    """

    def test_acceleration_cartesian_matches_cylindrical(self, pot):
        phi_angle = 0.7
        xyz = np.stack([R_PTS * np.cos(phi_angle), R_PTS * np.sin(phi_angle), Z_PTS], axis=-1)
        acc = call(pot, "acceleration", xyz)
        FR, Fz = call(pot, "force", R_PTS, Z_PTS)
        np.testing.assert_allclose(acc[:, 0], FR * np.cos(phi_angle), rtol=1e-12, atol=0)
        np.testing.assert_allclose(acc[:, 2], Fz, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(call(pot, "potential_xyz", xyz), call(pot, "potential", R_PTS, Z_PTS), rtol=1e-14)

    def test_circular_velocity_and_frequencies_consistent(self, pot):
        R = R_MID
        vc = call(pot, "circular_velocity", R)
        FR = call(pot, "force", R, 0.0 * R)[0]
        np.testing.assert_allclose(vc**2, -R * FR, rtol=1e-13)
        np.testing.assert_allclose(call(pot, "omega", R), vc / R, rtol=1e-13)
        # kappa^2 = R dOmega^2/dR + 4 Omega^2, checked by finite differences of Omega^2
        eps = 1e-5 * R
        om2 = lambda x: call(pot, "omega", x) ** 2  # noqa: E731
        kappa2_fd = R * (om2(R + eps) - om2(R - eps)) / (2 * eps) + 4 * om2(R)
        np.testing.assert_allclose(call(pot, "kappa", R) ** 2, kappa2_fd, rtol=1e-7)
        # nu^2 = d2Phi/dz2 by finite differences of F_z
        # F_z is odd in z and ~ nu^2 z near the plane, so a tiny step has no round-off problem
        h = 1e-6
        nu2_fd = -(call(pot, "force", R, h + 0 * R)[1] - call(pot, "force", R, -h + 0 * R)[1]) / (2 * h)
        np.testing.assert_allclose(call(pot, "nu", R) ** 2, nu2_fd, rtol=1e-7)

    def test_circular_radius_inverts_angular_momentum(self, pot):
        R = R_MID
        Lz = R * call(pot, "circular_velocity", R)
        np.testing.assert_allclose(call(pot, "circular_radius", Lz), R, rtol=1e-11)
        np.testing.assert_allclose(call(pot, "circular_radius", -Lz), R, rtol=1e-11)


class TestMiyamotoNagai(KinematicsContract):
    def make(self):
        return MiyamotoNagaiPotential(6.8e10, 3.0, 0.28)

    def analytic_density(self, R, z):
        return _mn_density(6.8e10, 3.0, 0.28, R, z)

    bad_params = (
        (lambda: MiyamotoNagaiPotential(-1.0, 3.0, 0.28), "'m'"),
        (lambda: MiyamotoNagaiPotential(1e10, 3.0, 0.0), "'b'"),
    )


class TestHernquist(KinematicsContract):
    def make(self):
        return HernquistPotential(5e9, 1.0)

    def analytic_density(self, R, z):
        return _hernquist_density(5e9, 1.0, R, z)

    bad_params = ((lambda: HernquistPotential(5e9, -1.0), "'c'"),)


class TestNFW(KinematicsContract):
    def make(self):
        return NFWPotential(5.4e11, 15.62)

    def analytic_density(self, R, z):
        return _nfw_density(5.4e11, 15.62, R, z)

    bad_params = ((lambda: NFWPotential(float("nan"), 15.62), "'m'"),)


class TestPowerLawCutoffExact(PotentialContract):
    # beyond ~5 r_c the density is exp(-7) and below: Poisson's equation then
    # subtracts two nearly equal terms, so only points with real mass are compared
    density_mask = np.hypot(R_PTS, Z_PTS) < 5.0

    def make(self):
        return PowerLawCutoffPotential(4.5e9, 1.8, 1.9)

    def analytic_density(self, R, z):
        return _plc_density(4.5e9, 1.8, 1.9, R, z)

    bad_params = (
        (lambda: PowerLawCutoffPotential(4.5e9, 2.0, 1.9), "'alpha'"),
        (lambda: PowerLawCutoffPotential(4.5e9, 1.8, 0.0), "'r_c'"),
        (lambda: PowerLawCutoffPotential(0.0, 1.8, 1.9), "'m'"),
    )


class TestPowerLawCutoffTabulated(TestPowerLawCutoffExact, KinematicsContract):
    # second derivatives of the quintic interpolant: ~h^4 truncation
    density_rtol = 1e-9

    def make(self):
        # the range MWPotential2014 uses (same node count: shares its compiled table builder)
        return PowerLawCutoffPotential(4.5e9, 1.8, 1.9).tabulated(5e-7 * 1.9, 20 * 1.9)

    bad_params = (
        (lambda: PowerLawCutoffPotential(4.5e9, 1.8, 1.9).tabulated(1.0, 0.5), "'r_max'"),
        (lambda: PowerLawCutoffPotential(4.5e9, 1.8, 1.9).tabulated(-1.0, 5.0), "'r_min'"),
    )


class TestMWPotential2014(KinematicsContract):
    density_rtol = 1e-10

    def make(self):
        return MWPotential2014(8.2, 235.0)

    def analytic_density(self, R, z):
        p = MWPotential2014(8.2, 235.0, bulge="exact")
        bulge, disk, halo = p.components
        return (
            _plc_density(float(bulge.m), 1.8, 1.9 * 8.2 / 8, R, z)
            + _mn_density(float(disk.m), 3.0 * 8.2 / 8, 0.28 * 8.2 / 8, R, z)
            + _nfw_density(float(halo.m), 16.0 * 8.2 / 8, R, z)
        )

    bad_params = (
        (lambda: MWPotential2014(ro=-8.0), "'ro'"),
        (lambda: MWPotential2014(vo=0.0), "'vo'"),
        (lambda: MWPotential2014(bulge="fast"), "'bulge'"),
    )


class TestMilkyWayPotential(KinematicsContract):
    def make(self):
        return MilkyWayPotential(1.21, 0.27)

    def analytic_density(self, R, z):
        p = MilkyWayPotential(1.21, 0.27)
        return (
            _mn_density(1.21 * 6.526e10, 3.0, 0.27, R, z)
            + _hernquist_density(5e9, 1.0, R, z)
            + _hernquist_density(1.71e9, 0.07, R, z)
            + _nfw_density(float(p.halo.m), 15.62, R, z)
        )

    bad_params = (
        (lambda: MilkyWayPotential(disk_mass_factor=-1.0), "'disk_mass_factor'"),
        (lambda: MilkyWayPotential(b=0.0), "'b'"),
        (lambda: MilkyWayPotential(v_c_sun=-229.0), "'v_c_sun'"),
        (lambda: MilkyWayPotential(disk_mass_factor=5.0), "disk_mass_factor=5.0"),
    )
