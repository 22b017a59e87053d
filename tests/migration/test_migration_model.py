"""Frankel et al. (2020) model components: normalisation, limits, inverses, transforms, errors."""

import functools

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import norm

from diskorbits import units
from diskorbits.migration import (
    NAMES,
    UNITS,
    GuidingTable,
    ModelConstants,
    ModelParameters,
    StarInputs,
    TingRix2019,
    birth_feh,
    birth_lz0,
    drift,
    feh_slope,
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
    table1,
    text_values,
)

KPC_KMS = units.KPC_KMS
P = table1()
C = ModelConstants()


_GL_X, _GL_W = np.polynomial.legendre.leggauss(32)


def _integral(log_pdf, edges, moment=0):
    """Composite 32-point Gauss-Legendre integral of x^moment exp(log_pdf(x)) over panels ``edges``.

    One vectorised evaluation of the density; exact to ~1e-13 for the smooth
    densities here when the panels are a fraction of their scale.
    """
    edges = np.asarray(edges, dtype=float)
    half = 0.5 * np.diff(edges)[:, None]
    x = (0.5 * (edges[1:] + edges[:-1]))[:, None] + half * _GL_X[None, :]
    f = np.exp(np.asarray(log_pdf(jnp.asarray(x.ravel())))).reshape(x.shape)
    return float(np.sum(half * _GL_W[None, :] * f * x**moment))


@pytest.fixture(scope="module")
def flat_table():
    """A flat rotation curve (v_c = 235 km/s) tabulated analytically: kappa = sqrt(2) v/R, nu = 3 kappa."""
    R = np.geomspace(0.05, 100.0, 800)
    v = 235.0 * units.KMS
    kappa = np.sqrt(2.0) * v / R
    return GuidingTable(jnp.log(R), jnp.log(R * v), jnp.log(kappa), jnp.log(3.0 * kappa))


def _total(vec, stars):
    """Sum of ln p_MW over stars, for a parameter vector in display units; -inf terms dropped."""
    out = log_p_mw(ModelParameters.from_vector(vec), stars)
    return jnp.sum(jnp.where(jnp.isfinite(out), out, 0.0))


# One compilation each, shared by the tests below (compiling is most of their cost).
_totals = jax.jit(jax.vmap(_total, in_axes=(0, None)))  # a batch of parameter vectors, as ensemble samplers use
_grad_jit = jax.jit(jax.grad(_total))
_is_valid = jax.jit(lambda x: ModelParameters.from_vector(x).is_valid())


def _stars(table):
    """A few stars on both sides of the [Fe/H] break, inner and outer disk, above and below the plane."""
    tau = np.array([0.5, 2.0, 4.6, 5.9]) * units.GYR
    feh = np.array([0.25, -0.05, 0.50, -0.45])
    jr = np.array([5.0, 30.0, 80.0, 12.0]) * KPC_KMS
    lz = np.array([1100.0, 1900.0, 700.0, 2900.0]) * KPC_KMS
    z = np.array([0.05, -0.3, 0.6, 0.0])
    R = np.array([4.5, 8.3, 4.0, 12.5])
    return prepare_inputs(tau, feh, jr, lz, z, R, table=table)


# --------------------------------------------------------------------------- parameters
def test_vector_round_trip_and_presets():
    v = np.asarray(P.to_vector())
    assert v.dtype == np.float64 and v.shape == (11,)
    np.testing.assert_allclose(v, [2.8, 0.65, 1.0, 582.0, 0.3, 49.0, 19.0, 1.16, 0.456, -0.0936, 0.7], rtol=1e-14)
    assert len(NAMES) == len(UNITS) == 11
    # internal units: sigma_Lz in kpc^2/Myr, tau_SFR in Myr, sigma_vR0 in kpc/Myr
    assert float(P.sigma_Lz) == pytest.approx(582.0 * KPC_KMS, rel=1e-14)
    assert float(P.tau_SFR) == 1000.0 and float(P.sigma_vR0) == pytest.approx(49.0 * units.KMS, rel=1e-14)
    t = text_values().display()
    assert (t["R_d0"], t["x_io"], t["sigma_Lz"], t["R_sigmaR"]) == (2.9, 0.68, 567.0, 27.0)
    assert text_values(sigma_Lz=572.0).display()["sigma_Lz"] == 572.0
    back = ModelParameters.from_vector(v)
    np.testing.assert_allclose(np.asarray(back.to_vector()), v, rtol=1e-15)
    batch = ModelParameters.from_vector(np.stack([v, v * 1.01]))
    assert batch.batch_shape == (2,) and np.asarray(batch.to_vector()).shape == (2, 11)


@pytest.mark.parametrize(
    "name, value, match",
    [
        ("R_d0", -1.0, "'R_d0' must be positive"),
        ("tau_SFR", 0.0, "'tau_SFR' must be positive"),
        ("sigma_Lz", np.nan, "'sigma_Lz' must be finite"),
        ("grad_FeH", 0.05, "'grad_FeH' must be negative"),
        ("beta", -0.1, "'beta' must be non-negative"),
        ("a_z", 0.0, "'a_z' must be positive"),
    ],
)
def test_bad_parameters_raise(name, value, match):
    with pytest.raises(ValueError, match=match):
        table1(**{name: value})
    bad = np.asarray(P.to_vector()).copy()
    bad[NAMES.index(name)] = value
    with pytest.raises(ValueError, match=match):
        ModelParameters.from_vector(bad)
    # inside jit nothing raises, but the support test says no
    assert not bool(_is_valid(bad))


def test_misuse_raises():
    with pytest.raises(ValueError, match="last axis of length 11"):
        ModelParameters.from_vector(np.ones(10))
    with pytest.raises(TypeError, match="missing"):
        ModelParameters.from_display(R_d0=2.8)
    with pytest.raises(TypeError, match="unknown parameter"):
        table1(sigma=1.0)
    with pytest.raises(ValueError, match="'tau_m' must be positive"):
        ModelConstants(tau_m=-1.0)
    with pytest.raises(ValueError, match="'tau_FeH'"):
        ModelConstants(tau_m=13000.0)
    assert bool(_is_valid(P.to_vector()))


# --------------------------------------------------------------------------- Eq. 1
def test_birth_lz_density_normalised_with_gamma2_mean():
    L = float(mean_birth_lz(P))
    edges = np.linspace(0.0, 60 * L, 121)
    assert _integral(lambda x: log_p_lz0(P, x), edges) == pytest.approx(1.0, rel=1e-11)
    assert _integral(lambda x: log_p_lz0(P, x), edges, moment=1) / L == pytest.approx(2.0, rel=1e-11)  # Gamma(2) mean
    assert np.all(np.isneginf(np.asarray(log_p_lz0(P, jnp.array([0.0, -1.0])))))


# --------------------------------------------------------------------------- Eq. 2
@pytest.mark.parametrize("x_io", [0.0, 0.65, 1.4])
def test_sfh_normalised_at_every_lz0(x_io):
    p = table1(x_io=x_io)
    tm = float(C.tau_m)
    critical = (float(C.v_circ) * float(C.R_io) / x_io) if x_io else 1000.0 * KPC_KMS
    edges = np.linspace(0.0, tm, 25)
    for lz0 in [200.0 * KPC_KMS, 1900.0 * KPC_KMS, 5000.0 * KPC_KMS, critical, critical * (1 + 1e-9)]:
        assert _integral(functools.partial(log_p_tau, p, lz0=lz0), edges) == pytest.approx(1.0, rel=1e-11), (x_io, lz0)
    if x_io:
        # exactly at zero rate the SFH is uniform
        assert float(sfh_rate(p, critical)) == pytest.approx(0.0, abs=1e-18)
        assert float(jnp.exp(log_p_tau(p, 1234.0, critical))) == pytest.approx(1.0 / tm, rel=1e-12)


def test_sfh_smooth_through_zero_rate_and_supported_on_0_tau_m():
    # log p is continuous across the series/closed-form switch (|u| = 1e-2) and matches the direct formula
    p = table1()
    u_target = np.array([-2.0, -1.0001, -0.9999, 0.0, 0.5, 0.9999, 1.0001, 2.0]) * 1e-2
    # invert u = a tau_m, a = (1 - x_io L_z0 / (v_circ R_io)) / tau_SFR, for L_z0
    lz0 = (1.0 - u_target * float(p.tau_SFR) / float(C.tau_m)) * float(C.v_circ) * float(C.R_io) / 0.65
    a = np.asarray(sfh_rate(p, lz0))
    tm, tau = float(C.tau_m), 2500.0
    with np.errstate(invalid="ignore", divide="ignore"):
        direct = np.where(a != 0, np.log(np.abs(a / np.expm1(a * tm))) + a * tau, -np.log(tm))
    np.testing.assert_allclose(np.asarray(log_p_tau(p, tau, lz0)), direct, rtol=1e-12, atol=1e-12)
    # large rates in both directions stay finite (no overflow in e^{a tau_m})
    assert np.all(np.isfinite(np.asarray(log_p_tau(table1(tau_SFR=0.005), 100.0, jnp.array([10.0, 20000.0]) * KPC_KMS))))
    out = np.asarray(log_p_tau(p, jnp.array([-1.0, tm + 1.0]), 1.0))
    assert np.all(np.isneginf(out))


# --------------------------------------------------------------------------- Eq. 4 and the drift
@pytest.mark.parametrize("lz0_kpc_kms", [30.0, 300.0, 2000.0])
@pytest.mark.parametrize("tau_gyr", [0.3, 6.0])
def test_churning_kernel_normalised_on_positive_lz(lz0_kpc_kms, tau_gyr):
    lz0, tau = lz0_kpc_kms * KPC_KMS, tau_gyr * units.GYR
    s = float(sigma_lz(P, tau))
    mu = lz0 + float(drift(P)) * tau
    edges = np.linspace(0.0, max(mu, 0.0) + 40 * s, 401)
    assert _integral(lambda x: log_p_lz(P, x, lz0, tau), edges) == pytest.approx(1.0, rel=1e-11)
    # against scipy's truncated normal where the truncation matters
    x = 0.3 * s
    expected = norm.logpdf(x, mu, s) - norm.logcdf(mu / s)
    assert float(log_p_lz(P, x, lz0, tau)) == pytest.approx(expected, rel=1e-10)
    assert np.isneginf(float(log_p_lz(P, 0.0, lz0, tau)))


def test_churning_kernel_deep_truncation_is_finite():
    # mean 40 sigma below zero: naive normalisers underflow, log_ndtr does not
    s = float(sigma_lz(P, 100.0))
    out = float(log_p_lz(P, 0.1 * s, -40 * s, 100.0))
    assert np.isfinite(out)
    assert out == pytest.approx(norm.logpdf(0.1 * s, -40 * s + float(drift(P)) * 100.0, s) - norm.logcdf(-40.0 + float(drift(P)) * 100.0 / s), rel=1e-8)


def test_drift_keeps_exponential_profile_far_from_centre():
    """Sec. 3.4: with D = -sigma^2/(2 <Lz0>), an exponential in L_z is a steady state of Eq. 3.

    Far from L_z = 0 (where the truncation of Eq. 4 does not reach), a population born
    with p(L_z0) = exp(-L_z0/L)/L keeps that profile after 6 Gyr; without drift it would
    be 48% over-dense there (exp(sigma_Lz^2 / 2L^2)).
    """
    L = float(mean_birth_lz(P))
    L0 = np.linspace(1e-6, 12 * L, 1501)
    f0 = np.exp(-L0 / L) / L
    Lz = np.linspace(1e-6, 14 * L, 701)  # nodes 200, 250, 300 are 4, 5 and 6 L
    kernel = np.exp(np.asarray(log_p_lz(P, Lz[:, None], L0[None, :], 6000.0)))
    evolved = np.trapezoid(kernel * f0, L0, axis=1)
    far = [200, 250, 300]
    np.testing.assert_allclose(evolved[far] / (np.exp(-Lz[far] / L) / L), 1.0, atol=0.01)
    s = float(sigma_lz(P, 6000.0))
    no_drift = norm.pdf(Lz[far, None], L0[None, :], s) / norm.cdf(L0 / s)[None, :]
    assert np.all(np.trapezoid(no_drift * f0, L0, axis=1) / (np.exp(-Lz[far] / L) / L) > 1.4)
    # the population stays normalised
    assert np.trapezoid(evolved, Lz) == pytest.approx(1.0, abs=1e-4)


# --------------------------------------------------------------------------- Eqs. 5-6
def test_radial_action_density_normalised_with_mean_sigma2_over_kappa():
    kappa, rc, tau = 39.6 * units.KMS_KPC, 8.0, 6000.0
    sR = float(sigma_r(P, tau, rc))
    assert sR / units.KMS == pytest.approx(49.0, rel=1e-12)  # Eq. 6 at 8 kpc, tau_m: sigma_vR0
    assert float(sigma_r(P, 0.0, rc)) / sR == pytest.approx((110.0 / 6110.0) ** 0.3, rel=1e-12)
    assert float(sigma_r(P, tau, 8.0 + 19.0)) / sR == pytest.approx(np.exp(-1.0), rel=1e-12)
    m = sR**2 / kappa
    edges = np.linspace(0.0, 60 * m, 121)
    assert _integral(lambda j: log_p_jr(P, j, tau, kappa, rc), edges) == pytest.approx(1.0, rel=1e-11)
    assert _integral(lambda j: log_p_jr(P, j, tau, kappa, rc), edges, moment=1) == pytest.approx(m, rel=1e-11)
    assert np.isneginf(float(log_p_jr(P, -1e-3, tau, kappa, rc)))


# --------------------------------------------------------------------------- Eqs. 7-10
def test_birth_feh_inverse_round_trip_and_continuity():
    tau = jnp.linspace(0.0, 6000.0, 7)[:, None]
    lz0 = jnp.linspace(10.0, 4500.0, 301)[None, :] * KPC_KMS
    feh = birth_feh(P, lz0, tau)
    np.testing.assert_allclose(np.asarray(birth_lz0(P, feh, tau)), np.broadcast_to(lz0, feh.shape), rtol=1e-12)
    # continuous at the break L_z0 = 3 kpc x 235 km/s, with the two slopes of Eq. 8 on either side
    lb = float(C.lz_break)
    eps = 1e-9 * lb
    left, at, right = (float(birth_feh(P, x, 3000.0)) for x in (lb - eps, lb, lb + eps))
    assert abs(left - at) < 1e-9 and abs(right - at) < 1e-9  # the printed Eq. 9 would jump by ~0.19 dex
    h = 1.0 * KPC_KMS
    for x, grad in [(0.5 * lb, -0.03), (3 * lb, -0.0936)]:
        fd = (float(birth_feh(P, x + h, 3000.0)) - float(birth_feh(P, x - h, 3000.0))) / (2 * h)
        assert fd * float(C.v_circ) == pytest.approx(grad, rel=1e-8)
        assert float(feh_slope(P, x)) == pytest.approx(abs(fd), rel=1e-8)
    # Eq. 10: central value falls as (1 - tau/12 Gyr)^gamma
    assert float(birth_feh(P, 0.0, 6000.0)) == pytest.approx(0.7 * 0.5**0.456, rel=1e-12)
    # above the central metallicity there is no birth place
    assert float(birth_lz0(P, 0.71, 0.0)) < 0


# --------------------------------------------------------------------------- Eqs. 11-12 and the vertical law
def test_vertical_profile_normalised_and_ting_rix_values():
    law = TingRix2019()
    lz = 8.0 * 235.0 * KPC_KMS
    # at 8 kpc the law is 0.91 + 1.79 (tau / Gyr)^1.05 kpc km/s
    for t in [0.0, 1.0, 4.0]:
        assert float(law.mean_jz(lz, lz, t * 1000.0)) / KPC_KMS == pytest.approx(0.91 + 1.79 * t**1.05, rel=1e-12)
    # Ting & Rix (2019) abstract: birth action ~1 kpc km/s for 3-10 kpc, ~8 at 14 kpc
    jz0 = np.asarray(law.birth_action(np.array([3.0, 6.0, 10.0, 14.0]))) / KPC_KMS
    assert np.all((jz0[:3] > 0.3) & (jz0[:3] < 2.0)) and jz0[3] == pytest.approx(8.0, rel=0.05)
    assert np.all(np.diff(np.asarray(law.birth_action(np.linspace(0.0, 30.0, 61)))) >= 0)  # clipped: positive, monotonic
    # a 3 Gyr population at the Sun: sech^2 scale ~0.45 kpc, i.e. an exponential scale height ~0.23 kpc
    nu = 78.1 * units.KMS_KPC  # MWPotential2014 (8.2 kpc, 235 km/s) at 8.2 kpc
    lz_sun = 8.2 * 235.0 * KPC_KMS
    h = float(scale_height(P, lz_sun, lz_sun, 3000.0, nu))
    assert 0.2 < h / 2 < 0.3
    edges = np.linspace(-40 * h, 40 * h, 161)
    assert _integral(lambda z: log_p_z(P, z, lz_sun, lz_sun, 3000.0, nu), edges) == pytest.approx(1.0, rel=1e-11)
    assert np.isfinite(float(log_p_z(P, 1e3, lz_sun, lz_sun, 3000.0, nu)))  # no overflow far out


# --------------------------------------------------------------------------- Eq. A1
def test_dirac_collapse_matches_brute_force_lz0_integral(flat_table):
    """Eq. A1 with a narrow Gaussian N([Fe/H]; F(L_z0, tau), eps) integrated over L_z0 on a fine grid."""
    stars = _stars(flat_table)
    got = np.asarray(log_p_mw(P, stars))
    lz0 = jnp.linspace(0.5, 4000.0, 40_001) * KPC_KMS  # spacing 0.1 kpc km/s << kernel widths >= 2.5

    @jax.jit
    @functools.partial(jax.vmap, in_axes=(0, None))
    def smoothed(s, eps):
        log_integrand = (
            log_p_lz0(P, lz0)
            + log_p_tau(P, s.tau, lz0)
            + jax.scipy.stats.norm.logpdf(s.feh, birth_feh(P, lz0, s.tau), eps)
            + log_p_lz(P, s.L_z, lz0, s.tau)
            + log_p_jr(P, s.J_R, s.tau, s.kappa, s.R_circ)
            + log_p_z(P, s.z, s.L_z, lz0, s.tau, s.nu)
        )
        peak = jnp.max(log_integrand)
        return peak + jnp.log(jnp.trapezoid(jnp.exp(log_integrand - peak), lz0))

    # The smoothing bias is O(eps^2): Richardson-extrapolate eps = 2e-3, 1e-3 dex to eps -> 0.
    wide, narrow = np.asarray(smoothed(stars, 2e-3)), np.asarray(smoothed(stars, 1e-3))
    brute = np.log((4 * np.exp(narrow - wide) - 1) / 3) + wide
    np.testing.assert_allclose(got, brute, atol=1e-5)
    assert np.all(np.abs(narrow - got) < 2e-3)  # the narrow kernel alone is already close
    # star 2 (feh 0.5 at 4.6 Gyr) is born inside the break, so the inner Jacobian was tested too
    assert float(birth_lz0(P, 0.50, 4600.0)) < float(C.lz_break) < float(birth_lz0(P, -0.05, 2000.0))


def test_log_p_mw_support(flat_table):
    s = _stars(flat_table)
    bad = StarInputs(  # numpy in, so that setting up costs no compilation
        tau=np.array([7000.0, 0.0, 3000.0, 3000.0]),
        feh=np.array([0.0, 0.0, 0.9, 0.0]),
        J_R=np.array([10.0, 10.0, 10.0, -1.0]) * KPC_KMS,
        L_z=np.array([1900.0, 1900.0, 1900.0, -5.0]) * KPC_KMS,
        z=np.zeros(4),
        kappa=np.asarray(s.kappa),
        R_circ=np.full(4, 8.0),
        nu=np.asarray(s.nu),
    )
    # older than tau_m, age 0, [Fe/H] above the centre, J_R < 0 and L_z < 0 (two at once)
    assert np.all(np.isneginf(np.asarray(log_p_mw(P, bad))))
    assert np.all(np.asarray(_grad_jit(P.to_vector(), bad)) == 0.0)  # finite, and nothing to learn


def test_transforms_agree_and_gradient_is_right(flat_table):
    stars = _stars(flat_table)
    v = np.asarray(P.to_vector())
    per_star = np.asarray(log_p_mw(P, stars))
    assert np.all(np.isfinite(per_star))
    v2 = v.copy()
    v2[3] *= 1.1
    g = np.asarray(_grad_jit(v, stars))
    assert np.all(np.isfinite(g)) and np.all(g[[0, 3, 5, 9]] != 0)
    # the gradient agrees with central differences (display units), all components in one batched call
    idx = [0, 1, 3, 5, 7, 9, 10]
    h = np.array([1e-6 * max(abs(float(v[i])), 1e-2) for i in idx])
    steps = np.zeros((2 * len(idx) + 2, 11))
    steps[np.arange(len(idx)), idx] = h
    steps[len(idx) + np.arange(len(idx)), idx] = -h
    steps[-1] = v2 - v
    f = np.asarray(_totals(v[None, :] + steps, stars))  # jit(vmap) over a batch of parameter vectors
    fd = (f[: len(idx)] - f[len(idx) : 2 * len(idx)]) / (2 * h)
    np.testing.assert_allclose(g[idx], fd, rtol=1e-5, atol=1e-7)
    # every batch entry equals the one-by-one evaluation
    assert f[-2] == pytest.approx(per_star.sum(), rel=1e-13)
    assert f[-1] == pytest.approx(float(np.sum(log_p_mw(ModelParameters.from_vector(v2), stars))), rel=1e-13)


# --------------------------------------------------------------------------- edge helper
def test_prepare_inputs_units_table_and_errors(flat_table):
    v = 235.0 * units.KMS
    R = np.array([3.0, 8.0, 12.0])
    lz = np.array([1000.0, 1900.0, 2500.0]) * u.kpc * u.km / u.s
    st = prepare_inputs(
        np.array([1.0, 2.0, 3.0]) * u.Gyr, 0.1 * u.dex, 10 * u.kpc * u.km / u.s, lz, 0.1 * u.kpc, R * u.kpc, table=flat_table
    )
    assert st.tau.shape == (3,) and float(st.tau[2]) == 3000.0
    assert float(st.feh[0]) == 0.1  # dex taken as is, not as 10^0.1
    assert float(st.J_R[0]) == pytest.approx(10 * KPC_KMS, rel=1e-12)
    # flat curve: R_circ = L_z / v, kappa = sqrt(2) v / R_circ at the guiding radius, nu = 3 kappa at the present R
    rc = lz.to_value(u.kpc * u.km / u.s) / 235.0
    np.testing.assert_allclose(np.asarray(st.R_circ), rc, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(st.kappa), np.sqrt(2) * v / rc, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(st.nu), 3 * np.sqrt(2) * v / R, rtol=1e-6)
    with pytest.raises(ValueError, match="'feh' must be finite"):
        prepare_inputs(1000.0, np.nan, 1.0, 2.0, 0.0, 8.0, table=flat_table)
    with pytest.raises(u.UnitConversionError, match="'tau'"):
        prepare_inputs(1.0 * u.kpc, 0.0, 1.0, 2.0, 0.0, 8.0, table=flat_table)
    with pytest.raises(ValueError, match="do not broadcast"):
        prepare_inputs(np.ones(2), 0.0, 1.0, np.ones(3), 0.0, 8.0, table=flat_table)
    with pytest.raises(ValueError, match="R_min < R_max"):
        GuidingTable.from_potential(None, 5.0, 1.0)  # the range is checked before the potential is touched
    R_bad = jnp.linspace(1.0, 2.0, 20)
    with pytest.raises(ValueError, match="must increase"):
        GuidingTable(jnp.log(R_bad), -jnp.log(R_bad), jnp.zeros(20), jnp.zeros(20))


def test_guiding_table_from_potential_matches_analytic_miyamoto_nagai():
    """The table's v_c, kappa, nu (autodiff of Phi, then log interpolation) against closed forms."""
    from diskorbits.potentials import MiyamotoNagaiPotential

    M, a, b = 6e10, 3.0, 0.28
    table = GuidingTable.from_potential(MiyamotoNagaiPotential(M, a, b), 0.5, 50.0, 400)
    R = np.array([2.0, 5.3, 8.0, 13.7])  # between nodes
    GM, s2 = units.G * M, (a + b) ** 2
    vc = np.sqrt(GM * R**2 / (R**2 + s2) ** 1.5)
    kappa = np.sqrt(GM * (R**2 + 4 * s2) / (R**2 + s2) ** 2.5)
    nu = np.sqrt(GM * (a + b) / (b * (R**2 + s2) ** 1.5))
    np.testing.assert_allclose(np.asarray(table.r_circ(R * vc)), R, rtol=2e-5)
    np.testing.assert_allclose(np.asarray(table.kappa(R)), kappa, rtol=2e-5)
    np.testing.assert_allclose(np.asarray(table.nu(R)), nu, rtol=2e-5)
