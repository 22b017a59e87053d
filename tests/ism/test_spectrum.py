"""The spectrum model: normalisations, asymptotes and the correlation time (Modak et al. 2026, Eq. 32)."""

import math

import numpy as np
import pytest

from diskorbits.ism import ISMSpectrum, TemporalKernel, ism_preset


@pytest.mark.parametrize(
    "kernel",
    [TemporalKernel("sharp", 4), TemporalKernel("sharp", 2), TemporalKernel("lorentzian"), TemporalKernel("white", dt_snap=1.0)],
    ids=["sharp4", "sharp2", "lorentzian", "white"],
)
@pytest.mark.parametrize("omega_c", [0.08, 0.5])
def test_temporal_kernel_integrates_to_one(kernel, omega_c):
    """int T_k(omega) domega / 2 pi = 1, so P(k) alone sets a mode's variance."""
    if kernel.kind == "white":
        w = np.linspace(-np.pi, np.pi, 20001)
        total = np.trapezoid(np.asarray(kernel(w, omega_c)), w)
    else:
        # omega = omega_c tan(theta) maps the power-law tails onto a finite, smooth integrand.
        x, wts = np.polynomial.legendre.leggauss(400)
        theta = 0.25 * np.pi * (x + 1)
        w = omega_c * np.tan(theta)
        total = 2 * np.sum(0.25 * np.pi * wts * np.asarray(kernel(w, omega_c)) * omega_c / np.cos(theta) ** 2)
    assert total / (2 * np.pi) == pytest.approx(1.0, rel=1e-8)


def test_lorentzian_is_an_exponential_autocorrelation():
    """The p = 1 kernel is the spectrum of an Ornstein-Uhlenbeck process, <a(t) a(t+s)> = exp(-omega_c s)."""
    k = TemporalKernel("lorentzian")
    wc = 0.1
    w = np.linspace(0.0, 200.0, 400001)
    T = np.asarray(k(w, wc))
    for lag in (0.0, 3.0, 10.0):
        acf = np.trapezoid(T * np.cos(w * lag), w) / np.pi
        assert acf == pytest.approx(math.exp(-wc * lag), abs=1e-3)
    sharp = TemporalKernel("sharp", 4)
    assert sharp.autocorrelation(0.0, wc) == pytest.approx(1.0, abs=1e-3)
    # Sharp kernels decorrelate after ~2 pi / omega_c but ring (negative lobes) on the way.
    assert abs(sharp.autocorrelation(2 * np.pi / wc, wc)) < 0.1


def test_spatial_power_asymptotes_and_pivot():
    s = ISMSpectrum(C=0.4, n=2.3, k_star=10.0, tau0=5.0, v_eff=0.012)
    assert float(s.power(1e-4)) == pytest.approx(0.4 * (s.k_pivot / s.k_star) ** 2.3, rel=1e-6)
    assert float(s.power(1e4)) == pytest.approx(0.4 * (1e4 / s.k_pivot) ** -2.3, rel=1e-6)
    # With the pivot at 1/kpc the brief's form C / (k_star^n + k^n) is recovered.
    s1 = ISMSpectrum(C=0.4, n=2.3, k_star=10.0, tau0=5.0, v_eff=0.012, k_pivot=1.0)
    k = np.array([3.0, 10.0, 70.0])
    assert np.asarray(s1.power(k)) == pytest.approx(0.4 / (10.0**2.3 + k**2.3), rel=1e-12)


@pytest.mark.parametrize("name", ["R8", "LGR4"])
def test_correlation_time_of_dominant_scale(name):
    """tau_* = 2 pi / omega_c(k_*) ~ 70 Myr for both models (paper Sec. III.2, App. A)."""
    s = ism_preset(name).spectrum
    eq32 = 16 * s.tau0 / math.sqrt(1 + (s.k_star * s.v_eff * s.tau0) ** 2)
    assert s.tau_star == pytest.approx(eq32, rel=0.02)
    assert 60 < s.tau_star < 75
    assert float(s.omega_c(0.0)) == pytest.approx(0.4 / 5.0)
    assert float(s.omega_c(50.0)) == pytest.approx(0.4 * math.hypot(0.2, s.v_eff * 50.0))


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="k_star"):
        ISMSpectrum(C=1.0, n=2.3, k_star=-1.0, tau0=5.0, v_eff=0.01)
    with pytest.raises(ValueError, match="kind"):
        TemporalKernel("gaussian")
    with pytest.raises(ValueError, match="'p'"):
        TemporalKernel("sharp", p=0)
