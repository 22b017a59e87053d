"""Broken-power-law diffusion coefficients and the paper's presets (Modak et al. 2026, Eqs. 39-42, A1-A2)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diskorbits import units
from diskorbits.diffusion import (
    PAPER_ACTION,
    PAPER_D,
    BrokenPowerLaw,
    DiffusionCoefficients,
    PowerLaw,
    cold_ensemble_rms_prediction,
    diffusion_preset,
    heating_constant,
    j_star,
    mean_azimuthal_coefficient,
    mean_radial_action_prediction,
)
from diskorbits.ism import ism_preset
from diskorbits.shearingbox import box_preset


def test_paper_units_round_trip():
    law = PowerLaw.from_paper_units(6.9, -0.5)
    assert law.paper_coefficient == pytest.approx(6.9, rel=1e-12)
    # D(J = 2 kpc km/s) in paper units is 6.9 / sqrt(2)
    assert float(law(2 * PAPER_ACTION)) / PAPER_D == pytest.approx(6.9 / math.sqrt(2), rel=1e-12)


def test_r8_preset_turnovers_and_late_ratio():
    """Sec. III.3: turnovers ~0.82 (D_RR) and ~0.45 (D_phiphi) kpc km/s; Eq. 39 ratio ~0.055."""
    D = diffusion_preset("R8")
    assert D.D_RR.turnover / PAPER_ACTION == pytest.approx(0.82, abs=0.01)
    assert D.D_phiphi.turnover / PAPER_ACTION == pytest.approx(0.45, abs=0.01)
    assert D.late_ratio == pytest.approx(0.055, abs=0.0005)
    assert D.D_RR.turnover / D.J_star == pytest.approx(4.1, abs=0.1)  # "~ 4 J_*"
    assert D.D_phiphi.turnover / D.J_star == pytest.approx(2.2, abs=0.1)  # "~ 2 J_*"


def test_lgr4_preset_turnovers():
    """App. A: turnovers ~0.65 and ~0.32 kpc km/s for the LGR4 coefficients."""
    D = diffusion_preset("lgr4")
    assert D.D_RR.turnover / PAPER_ACTION == pytest.approx(0.65, abs=0.01)
    assert D.D_phiphi.turnover / PAPER_ACTION == pytest.approx(0.32, abs=0.015)


def test_broken_power_law_is_continuous_with_the_right_branches():
    D = diffusion_preset("R8").D_RR
    Jb = float(D.turnover)
    eps = 1e-9 * Jb
    assert float(D(Jb - eps)) == pytest.approx(float(D(Jb + eps)), rel=1e-6)
    J = np.geomspace(1e-3, 1e3, 50) * PAPER_ACTION
    vals = np.asarray(D(J))
    assert np.allclose(vals, np.minimum(np.asarray(D.low(J)), np.asarray(D.high(J))), rtol=1e-12)
    assert np.all(np.asarray(D.local_slope(J))[J < Jb] == 1.0)
    assert np.all(np.asarray(D.local_slope(J))[J > Jb] == -0.5)


def test_derivative_matches_autodiff_and_is_finite_at_zero():
    D = diffusion_preset("R8")
    for law in (D.D_RR, D.D_phiphi):
        J = jnp.array([0.05, 0.3, 2.0, 20.0]) * PAPER_ACTION
        auto = jax.vmap(jax.grad(law))(J)
        assert np.allclose(np.asarray(law.derivative(J)), np.asarray(auto), rtol=1e-10)
        assert np.isfinite(float(law(0.0))) and np.isfinite(float(law.derivative(0.0)))
        assert np.isfinite(float(jax.grad(law)(0.0)))


def test_j_star_equation_42_for_r8():
    """J_* = kappa / (2 k_*^2) ~ 0.2 kpc km/s for the R8 box and k_* = 0.01 / pc."""
    box, ism = box_preset("R8"), ism_preset("R8")
    Js = j_star(float(box.kappa), ism.spectrum.k_star) / PAPER_ACTION
    assert Js == pytest.approx(0.2, abs=0.01)


def test_rms_prediction_matches_eqs_29_30_by_hand():
    D = diffusion_preset("R8")
    t = np.array([100.0, 1000.0])
    d_RR, _, d_pp, _ = D.regime("long")
    rR, rP = D.rms_prediction(t, "long")
    assert np.allclose(rR, math.sqrt(2) * 0.5 * d_RR * t)  # c(1) = 1/2
    assert np.allclose(rP, np.sqrt(d_pp * t))
    # short regime: both ~ t^(2/5)
    rR, rP = D.rms_prediction(np.array([1e3, 1e4]), "short")
    assert float(np.log(rR[1] / rR[0]) / np.log(10.0)) == pytest.approx(0.4)
    assert float(np.log(rP[1] / rP[0]) / np.log(10.0)) == pytest.approx(0.4)
    # Eq. 39 follows from Eqs. 29-30 when alpha_R = alpha_phi
    assert float(rR[1] / rP[1]) == pytest.approx(D.late_ratio, rel=1e-10)


def test_analytic_c5_c4_c8_consistency():
    # c(1) = 1/2; c(-1/2) = [(5/4) Gamma(1/2)]^(2/5)
    assert float(heating_constant(1.0)) == pytest.approx(0.5)
    assert float(heating_constant(-0.5)) == pytest.approx((1.25 * math.sqrt(math.pi)) ** 0.4)
    # C4 from zero: <J_R> = c(alpha) (d t)^(1/(2-alpha)), i.e. rms dJ_R / sqrt 2 (Eq. 29)
    t = np.array([10.0, 500.0])
    for a in (1.0, -0.5, 0.3):
        m = mean_radial_action_prediction(t, 2e-9, a)
        r, _ = cold_ensemble_rms_prediction(t, 2e-9, a, 1.0, 0.0)
        assert np.allclose(np.sqrt(2) * m, r)
    # (rms dJ_phi)^2 is the time integral of <D_phiphi>(t) (Eqs. C8-C12)
    tt = np.linspace(0.0, 3000.0, 300001)
    Dm = np.asarray(mean_azimuthal_coefficient(tt[1:], 1e-9, -0.5, 5e-6, -0.5))
    integral = np.sum(0.5 * (np.r_[Dm[0], Dm[:-1]] + Dm) * np.diff(tt))
    _, rP = cold_ensemble_rms_prediction(3000.0, 1e-9, -0.5, 5e-6, -0.5)
    assert integral == pytest.approx(float(rP) ** 2, rel=2e-3)


def test_scaling_the_coefficients_scales_the_curves():
    """Multiplying D by A^2 shifts heating by A^2 early / A^(4/5) late (Sec. III.2)."""
    D = diffusion_preset("R8")
    A = 2.0
    D2 = D.scaled(A**2)
    t = np.array([50.0, 5000.0])
    early = np.asarray(D2.rms_prediction(t, "long")[0]) / np.asarray(D.rms_prediction(t, "long")[0])
    late = np.asarray(D2.rms_prediction(t, "short")[0]) / np.asarray(D.rms_prediction(t, "short")[0])
    assert np.allclose(early, A**2) and np.allclose(late, A**0.8)
    assert D2.D_RR.turnover == pytest.approx(D.D_RR.turnover)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="coefficient 'd'"):
        PowerLaw(-1.0, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        PowerLaw(1.0, 2.0)
    with pytest.raises(ValueError, match="low.alpha > high.alpha"):
        BrokenPowerLaw(PowerLaw(1.0, -0.5), PowerLaw(1.0, 1.0))
    with pytest.raises(ValueError, match="unknown diffusion preset"):
        diffusion_preset("M31")
    with pytest.raises(ValueError, match="regime"):
        diffusion_preset("R8").regime("medium")
    with pytest.raises(ValueError, match="J_star"):
        DiffusionCoefficients.from_paper_units(rr_long=1, rr_short=1, pp_long=1, pp_short=1, J_star=float("nan"))


def test_internal_units_are_kpc_myr():
    """9.3 (kpc km/s)^2/Gyr per kpc km/s, by hand in kpc^2/Myr."""
    kpc_kms = units.KMS  # kpc * (km/s in kpc/Myr)
    D = diffusion_preset("R8").D_RR.low
    assert float(D.d) == pytest.approx(9.3 * kpc_kms**2 / 1000.0 / kpc_kms, rel=1e-12)


def test_late_ratio_under_both_closures():
    """Eq. 39 (exponential closure) and the exact self-similar value, which is half of it for J^-1/2."""
    from diskorbits.diffusion.analytic import late_ratio_factor, self_similar_rms_prediction

    assert late_ratio_factor(-0.5, "self-similar") == pytest.approx(0.5, rel=1e-12)
    assert late_ratio_factor(1.0, "self-similar") == pytest.approx(2.0, rel=1e-12)
    D = diffusion_preset("R8")
    assert D.late_ratio_for("self-similar") == pytest.approx(D.late_ratio / 2, rel=1e-12)
    d_RR, a, d_pp, _ = D.regime("short")
    R, P = self_similar_rms_prediction(np.array([3e3, 1e4]), d_RR, a, d_pp, a)
    assert np.allclose(np.asarray(R / P), D.late_ratio_for("self-similar"), rtol=1e-12)
