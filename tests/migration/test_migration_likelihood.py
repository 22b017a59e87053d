"""Likelihood of the Frankel et al. (2020) model: survey volume, noise marginalisation, gradients, recovery.

All checks run on a small mock (800 stars in a 3 kpc, |b| < 25 deg volume)
with a cheap potential (Miyamoto-Nagai + NFW) and epicycle actions, whose
(J_R, L_z, theta_R, theta_phi) are exactly canonical in the plane -- so the
survey volume of a whole-galaxy "survey" must be int f_RC p(tau) dtau,
which tests every Jacobian of the data model.
"""

import math

import astropy.units as u
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from astropy.table import Table

import diskorbits as do
from diskorbits import frames, units
from diskorbits.actions import Epicycle
from diskorbits.migration import (
    NAMES,
    birth_lz0,
    feh_slope,
    log_p_lz0,
    log_p_mw,
    log_p_tau,
    table1,
)
from diskorbits.migration.likelihood import (
    Likelihood,
    LikelihoodWarning,
    _lz0_variates,
    _truncated_lognormal,
    build_likelihood,
    read_observations,
)
from diskorbits.migration.mock import make_mock
from diskorbits.migration.samples import (
    ProposalConfig,
    SurveySetup,
    _safe_inputs,
    draw_volume_sample,
    log_p_birth,
)
from diskorbits.migration.selection import NoSelection

K = units.KPC_KMS
P = table1()
V0 = P.to_vector()
N_VOLUME = 16384


@pytest.fixture(scope="module")
def setup():
    pot = do.MiyamotoNagaiPotential(6.8e10, 3.0, 0.28) + do.NFWPotential(5.4e11, 15.62)
    return SurveySetup(NoSelection(d_max=3.0, b_max=25.0), potential=pot, method=Epicycle())


@pytest.fixture(scope="module")
def mock(setup):
    return make_mock(800, setup, rng=11)


@pytest.fixture(scope="module")
def volume(setup):
    return draw_volume_sample(5, N_VOLUME, setup)


@pytest.fixture(scope="module")
def lik(mock, setup, volume):
    return build_likelihood(mock, setup, n_mc=12, volume=volume, rng=6, check=False)


@pytest.fixture(scope="module")
def value_and_grad(lik):
    # One compiled program serves the gradient, finite-difference and slice tests;
    # the likelihood is an argument, so its arrays are not baked in as constants.
    compiled = eqx.filter_jit(lambda l, v: jax.value_and_grad(l)(v))
    return lambda v: compiled(lik, v)


def _noise_free(mock):
    cat = Table(mock, copy=True)
    for name in ("distance", "pmra", "pmdec", "rv", "age", "feh"):
        cat[name] = cat[f"{name}_true"]
    for name in ("distance_err", "pmra_err", "pmdec_err", "rv_err", "age_err_dex", "feh_err"):
        cat[name] = 0.0 * cat[name]
    return cat


# --------------------------------------------------------------------------- Monte Carlo weights
def test_truncated_lognormal_weights_integrate_the_noise_model():
    # E_q[p(obs|x)/q(x|obs) h(x)] = int_lo^hi p(obs|x) h(x) dx for log-normal noise, with truncation.
    gen = np.random.default_rng(0)
    obs, sigma, lo, hi = 2.0, 0.3, 1.5, 3.5
    x, log_r = _truncated_lognormal(gen, np.log([obs]), np.array([sigma]), np.log([lo]), np.log([hi]), 400_000)
    h = lambda t: t**2 * np.exp(-t / 2.0)
    mc = np.mean(np.exp(log_r) * h(x))
    err = np.std(np.exp(log_r) * h(x)) / np.sqrt(x.size)
    grid = np.linspace(lo, hi, 20001)
    p_obs = np.exp(-0.5 * ((np.log(obs) - np.log(grid)) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi) * obs)
    exact = np.trapezoid(p_obs * h(grid), grid)
    assert abs(mc - exact) < 4 * err
    assert np.all((x >= lo) & (x <= hi))
    # zero width: the observed value itself, weight 1
    x0, r0 = _truncated_lognormal(gen, np.log([obs]), np.array([0.0]), np.log([lo]), np.log([hi]), 3)
    np.testing.assert_array_equal(x0, obs)
    np.testing.assert_array_equal(r0, 0.0)


@pytest.mark.parametrize(
    "feh_obs, tau_gyr, min_ess_fraction",
    [(0.05, 4.0, 0.5), (0.42, 6.0, 0.5), (0.70, 2.0, 0.05)],
    ids=["outer-disk", "across-the-break", "above-the-fehmax-edge"],
)
def test_birth_place_samples_integrate_the_metallicity_noise(setup, volume, feh_obs, tau_gyr, min_ess_fraction):
    # One star whose other truths are fixed, so the per-star term is the 1-D integral
    # int p_MW([Fe/H]) N(feh_obs; [Fe/H], sigma) d[Fe/H]: compare with quadrature in [Fe/H].
    # The three cases put the integrand on one side of the gradient break (R_0 = 3 kpc),
    # at it (0.42 dex at 6 Gyr), and above the [Fe/H]_max edge of that age (0.70 > 0.645).
    n_mc, sigma = 4000, 0.05
    tau = tau_gyr * units.GYR
    lz, jr, z, R = 7.5 * 235 * K, 20.0 * K, 0.1, 7.6
    one = lambda x: np.full((1, n_mc), x)
    inputs = _safe_inputs(setup, one(tau), one(feh_obs), one(jr), one(lz), one(z), one(R), np.zeros((1, n_mc), bool))
    t, log_t = _lz0_variates(np.random.default_rng(3), 1, n_mc)
    lik = Likelihood(
        inputs, jnp.zeros((1, n_mc)), jnp.full((1, 1), feh_obs), jnp.full((1, 1), sigma), jnp.asarray(t),
        jnp.asarray(log_t), volume, setup.constants, setup.vertical, V0,
    )  # fmt: skip
    mc = float(lik.per_star(V0)[0])

    grid = np.linspace(feh_obs - 8 * sigma, feh_obs + 8 * sigma, 40001)
    full = lambda x: np.full(grid.size, x)
    g_inputs = _safe_inputs(setup, full(tau), grid, full(jr), full(lz), full(z), full(R), np.zeros(grid.size, bool))
    p = np.exp(np.asarray(log_p_mw(P, g_inputs))) * np.exp(-0.5 * ((grid - feh_obs) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    exact = np.trapezoid(p, grid)
    assert exact > 0
    ess = float(lik.star_ess(V0)[0])
    # the Student-t proposal matches the integrand closely, except above the edge where
    # only its upper tail lands in the support (the smooth floor keeps ~10% useful)
    assert ess > min_ess_fraction * n_mc
    assert mc == pytest.approx(math.log(exact), abs=4.0 / math.sqrt(ess))


def test_likelihood_is_continuous_in_the_enrichment_parameters(lik):
    # Sampling [Fe/H] directly made ln L jump whenever a sample crossed the gradient
    # break or the [Fe/H]_max edge; with L_z0 samples that move with the parameters it
    # is continuous: on a fine grid the increments shrink with the step (no jumps).
    f = eqx.filter_jit(jax.vmap(lambda v: lik(v)))
    for name, width in [("FeH_max", 0.02), ("grad_FeH", 0.004), ("gamma_FeH", 0.04)]:
        i = NAMES.index(name)
        for n in (201, 401):
            x = V0[i] + np.linspace(-width, width, n)
            values = np.asarray(f(jnp.asarray(np.tile(np.asarray(V0), (n, 1))).at[:, i].set(x)))
            steps = np.abs(np.diff(values))
            if n == 201:
                coarse = steps.max()
            else:  # halving the step halves the largest increment, up to curvature
                assert steps.max() < 0.6 * coarse, name
        assert np.all(np.isfinite(values))


# --------------------------------------------------------------------------- survey volume
def test_survey_volume_of_the_whole_galaxy_is_the_red_clump_weighted_sfh(setup):
    # With S = 1 everywhere (a 30 kpc sphere holds all but ~0.5% of the model's
    # stars) V_S = int f_RC(tau) p(tau) dtau, p(tau) = int p(tau|L_z0) p(L_z0) dL_z0.
    big = SurveySetup(NoSelection(d_max=30.0), potential=setup.potential, method=setup.method, table=setup.table)
    est = draw_volume_sample(8, N_VOLUME, big).estimate(P)
    ages = np.linspace(0.0, setup.tau_m, 1001)[1:]
    lz0 = np.linspace(1e-3, 30 * 235 * K, 2000)
    p_tau = np.trapezoid(np.exp(np.asarray(log_p_lz0(P, lz0[:, None]) + log_p_tau(P, ages[None, :], lz0[:, None]))), lz0, axis=0)
    expected = np.trapezoid(p_tau * np.asarray(setup.red_clump(jnp.asarray(ages))), ages)
    assert expected == pytest.approx(0.575, abs=0.002)
    ratio = float(jnp.exp(est.log_volume)) / expected
    assert abs(ratio - 0.997) < 4 * float(est.relative_error) + 0.005, (ratio, float(est.relative_error))


def test_survey_volume_agrees_between_independent_proposal_sets(setup, volume):
    broad = ProposalConfig(disk_scale_length=4.0, disk_scale_height=1.0, sigma_vR=90.0, sigma_vphi=70.0,
                           velocity_exponent=0.0, sigma_lz0=1000.0, lz0_shift=0.0, age_rate=0.0)  # fmt: skip
    other = draw_volume_sample(6, N_VOLUME, setup, broad)
    for params in (P, table1(sigma_Lz=450.0, R_d0=3.2)):
        a, b = volume.estimate(params), other.estimate(params)
        sigma = math.hypot(float(a.relative_error), float(b.relative_error))
        assert abs(float(a.log_volume - b.log_volume)) < 4 * sigma
        assert float(a.ess) > 0.3 * N_VOLUME and float(b.ess) > 0.05 * N_VOLUME
    # [Fe/H] is not selected on: the volume ignores the enrichment parameters exactly
    c = volume.estimate(table1(grad_FeH=-0.05, FeH_max=0.4, gamma_FeH=0.2))
    assert float(c.log_volume) == float(volume.estimate(P).log_volume)


# --------------------------------------------------------------------------- noise marginalisation
def test_zero_noise_single_sample_is_the_noise_free_density(mock, setup, volume):
    # With zero uncertainties the sample is the observation itself (weight 1):
    # the per-star term is the noise-free density of the data model (Eq. A3).
    cat = _noise_free(mock)
    lik0 = build_likelihood(cat, setup, n_mc=1, volume=volume, rng=1, check=False)
    tau = np.asarray(cat["age"]) * units.GYR
    D, b = np.asarray(cat["distance"]), np.asarray(cat["b"])
    # prepare_inputs in the package's fixed-size chunks (reuses a compiled program)
    inputs = _safe_inputs(setup, tau, np.asarray(cat["feh"]), np.asarray(cat["J_R_true"]) * K, np.asarray(cat["L_z_true"]) * K,
                          np.asarray(cat["z_true"]), np.asarray(cat["R_true"]), np.zeros(len(cat), bool))  # fmt: skip
    log_mw = np.asarray(log_p_mw(P, inputs))
    # the survey volume's L_z0 form of the density is the same density
    lz0 = birth_lz0(P, inputs.feh, inputs.tau)
    np.testing.assert_allclose(log_mw, log_p_birth(P, lz0, inputs) - jnp.log(feh_slope(P, lz0)), rtol=1e-12, atol=1e-12)
    expected = (
        log_mw
        + 2 * np.log(D) + np.log(np.cos(np.radians(b)))  # (x, y, z) -> (l, b, D)
        + 2 * np.log(D * frames.MASYR_RADMYR)  # velocities -> proper motions and v_los
        - 2 * np.log(2 * np.pi)  # in-plane angles
        + setup.log_vz_density(np.asarray(cat["v_z_true"]) * units.KMS)
        + np.log(setup.selection(cat["l"], b, D)) + np.log(np.asarray(setup.red_clump(jnp.asarray(tau))))
    )  # fmt: skip
    np.testing.assert_allclose(lik0.per_star(V0), expected, rtol=0, atol=1e-7)


def test_per_star_evidence_is_invariant_to_the_number_of_samples(mock, setup, volume, lik):
    a = lik
    b = build_likelihood(mock, setup, n_mc=36, volume=volume, rng=22, check=False)
    d = np.asarray(a.per_star(V0) - b.per_star(V0))
    # delta-method error of ln(mean w): sqrt(1/ESS - 1/n) per star
    err2 = np.maximum(1 / np.asarray(a.star_ess(V0)) - 1 / 12, 0) + np.maximum(1 / np.asarray(b.star_ess(V0)) - 1 / 36, 0)
    assert abs(d.mean()) < 4 * d.std() / np.sqrt(d.size)
    assert 0.6 < np.sqrt(np.mean(d**2) / np.mean(err2)) < 1.6
    assert np.all(np.abs(d) < 6 * np.sqrt(err2) + 1e-3)


# --------------------------------------------------------------------------- value, gradient, recovery
def test_value_is_per_star_sum_minus_volume_and_gradient_matches_finite_differences(lik, value_and_grad):
    value, grad = value_and_grad(V0)
    assert value.dtype == jnp.float64 and grad.dtype == jnp.float64
    assert np.all(np.isfinite(grad)) and np.isfinite(value)
    expected = float(jnp.sum(lik.per_star(V0))) - lik.n_stars * float(lik.log_volume(V0))
    assert float(value) == pytest.approx(expected, rel=1e-12)
    for i, name in enumerate(NAMES):
        h = 1e-5 * max(abs(float(V0[i])), 1e-2)
        fd = (float(value_and_grad(V0.at[i].add(h))[0]) - float(value_and_grad(V0.at[i].add(-h))[0])) / (2 * h)
        assert float(grad[i]) == pytest.approx(fd, rel=1e-5, abs=1e-4), name


@pytest.mark.parametrize("name, step", [("sigma_Lz", 5.0), ("sigma_vR0", 0.5), ("R_d0", 0.02), ("grad_FeH", 0.001)])
def test_likelihood_peaks_at_the_truth_along_slices(value_and_grad, name, step):
    i = NAMES.index(name)
    f0, g0 = value_and_grad(V0)
    curv = (value_and_grad(V0.at[i].add(step))[1][i] - value_and_grad(V0.at[i].add(-step))[1][i]) / (2 * step)
    assert curv < 0
    sigma = 1.0 / np.sqrt(-float(curv))
    # score test: the Newton step from the truth to the slice maximum, in likelihood sigmas
    assert abs(float(g0[i]) * sigma) < 4.0
    assert sigma < 0.08 * abs(float(V0[i]))  # the slice constrains the parameter to a few per cent
    for factor in (0.5, 2.0):
        assert float(value_and_grad(V0.at[i].multiply(factor))[0]) < float(f0) - 25.0


def test_out_of_range_parameters_give_minus_inf_and_zero_gradient(value_and_grad):
    value, grad = value_and_grad(V0.at[NAMES.index("sigma_Lz")].set(-10.0))
    assert value == -jnp.inf
    np.testing.assert_array_equal(grad, 0.0)


def test_check_reports_and_warns_and_problem_wraps(lik):
    with pytest.warns(LikelihoodWarning, match="effective sample size"):
        info = lik.check(V0, min_ess=1e9)
    assert info["volume_ess"] > 0.3 * N_VOLUME and info["n_stars"] == 800
    assert 0 < info["volume_relative_error"] < 0.05 and info["star_ess_median"] > 3
    prob = lik.problem({"sigma_Lz": (100.0, 1500.0)})
    assert prob.names == NAMES and float(prob.lower[NAMES.index("sigma_Lz")]) == 100.0
    assert bool(prob.in_bounds(V0)) and prob.log_likelihood is lik
    meta = lik.describe()
    assert (meta["n_stars"], meta["n_mc"], meta["n_volume"]) == (800, 12, N_VOLUME)
    assert meta["constants"]["tau_m_gyr"] == pytest.approx(6.0) and meta["reference"]["sigma_Lz"] == pytest.approx(582.0)
    with pytest.raises(ValueError, match="vector"):
        lik(V0[:5])


# --------------------------------------------------------------------------- catalogue errors
def _edited(mock, **changes):
    cat = Table(mock[:20], copy=True)
    for name, value in changes.items():
        if value is None:
            cat.remove_column(name)
        else:
            cat[name] = value
    return cat


def test_bad_catalogues_raise_naming_the_column(mock, setup, volume):
    def build(cat, **kw):
        return build_likelihood(cat, setup, n_mc=2, volume=volume, check=False, **kw)

    with pytest.raises(ValueError, match="'rv'.*missing"):
        build(_edited(mock, rv=None))
    with pytest.raises(ValueError, match="'feh'.*NaN"):
        build(_edited(mock, feh=np.where(np.arange(20) == 3, np.nan, mock["feh"][:20])))
    with pytest.raises(ValueError, match="'distance' must be positive"):
        build(_edited(mock, distance=-np.abs(mock["distance"][:20])))
    with pytest.raises(ValueError, match="'age' must be positive"):
        build(_edited(mock, age=0.0 * mock["age"][:20]))
    with pytest.raises(ValueError, match="'pmra_err' must be >= 0"):
        build(_edited(mock, pmra_err=-np.ones(20)))
    with pytest.raises(ValueError, match="'distance'.*cannot be converted"):
        build(_edited(mock, distance=np.asarray(mock["distance"][:20]) * u.km / u.s))
    with pytest.raises(ValueError, match="footprint"):
        build(_edited(mock, b=np.full(20, 60.0)))
    with pytest.raises(ValueError, match="n_mc"):
        build_likelihood(mock[:20], setup, n_mc=0, volume=volume)
    with pytest.raises(TypeError, match="catalogue"):
        read_observations(42)
    # a renamed column is found through 'columns'; Quantity units are converted
    cat = _edited(mock, DIST=np.asarray(mock["distance"][:20]) * 1000.0 * u.pc, distance=None)
    obs = read_observations(cat, columns={"distance": "DIST"})
    np.testing.assert_allclose(obs["distance"], mock["distance"][:20])
    assert isinstance(build(_edited(mock)), Likelihood)
