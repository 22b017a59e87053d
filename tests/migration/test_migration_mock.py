"""Mock surveys of the Frankel et al. (2020) model: exact draws, noise, catalogue round trips, errors.

The mock draws stars by rejection from the Appendix B proposal; the decisive
checks use conditionals the selection cannot touch. The selection acts on
position only and f_RC on age only, and positions depend on
(J_R, L_z, z, angles) but not on L_z0, so

* L_z0 given (tau, L_z, z) follows p(L_z0) p(tau|L_z0) p(L_z|L_z0,tau) p(z|..) exactly;
* tau given (L_z0, L_z, J_R, z) follows p(tau|L_z0) p(L_z|..) p(J_R|..) p(z|..) f_RC(tau) exactly,

whatever the survey. Their probability integral transforms must be uniform
(and are not under a wrong model). A cheap potential (Miyamoto-Nagai + NFW)
and epicycle actions keep compilation short; the machinery is the same as
with MWPotential2014 and the Stäckel fudge.
"""

import json

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from scipy import stats

import diskorbits as do
from diskorbits import frames, units
from diskorbits.actions import Epicycle
from diskorbits.io import read_table
from diskorbits.migration import (
    StarInputs,
    birth_feh,
    drift,
    prepare_inputs,
    sigma_lz,
    table1,
)
from diskorbits.migration.mock import NoiseModel, make_mock, write_mock
from diskorbits.migration.samples import (
    ProposalConfig,
    SurveySetup,
    draw_proposal,
    log_p_birth,
)
from diskorbits.migration.selection import Field, NoSelection, SurveySelection

K = units.KPC_KMS
P = table1()
N_STARS = 600


@pytest.fixture(scope="module")
def setup():
    pot = do.MiyamotoNagaiPotential(6.8e10, 3.0, 0.28) + do.NFWPotential(5.4e11, 15.62)
    return SurveySetup(NoSelection(d_max=3.0, b_max=25.0), potential=pot, method=Epicycle())


@pytest.fixture(scope="module")
def mock(setup):
    return make_mock(N_STARS, setup, rng=1)


@pytest.fixture(scope="module")
def truth(mock, setup):
    tau = np.asarray(mock["age_true"]) * units.GYR
    out = {
        "tau": tau,
        "lz": np.asarray(mock["L_z_true"]) * K,
        "lz0": np.asarray(mock["L_z0_true"]) * K,
        "jr": np.asarray(mock["J_R_true"]) * K,
    }
    out["inputs"] = prepare_inputs(tau, 0 * tau, out["jr"], out["lz"], mock["z_true"], mock["R_true"], table=setup.table)
    return out


def _cdf_at(grid, logp, x):
    """CDF of the density exp(logp) tabulated on ``grid`` (rows), evaluated at ``x`` (trapezoid)."""
    p = np.exp(logp - logp.max(axis=1, keepdims=True))
    cum = np.concatenate([np.zeros((p.shape[0], 1)), np.cumsum(0.5 * (p[:, 1:] + p[:, :-1]) * np.diff(grid, axis=1), axis=1)], axis=1)
    cum /= cum[:, -1:]
    return np.array([np.interp(x[i], grid[i], cum[i]) for i in range(len(x))])


def _pit_lz0(params, truth, setup):
    tau, lz = truth["tau"], truth["lz"]
    s = np.asarray(sigma_lz(params, tau))
    centre = lz - float(drift(params)) * tau
    grid = np.linspace(np.maximum(1e-6, centre - 8 * s), centre + 8 * s, 1024, axis=1)
    inputs = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a[:, None], grid.shape), truth["inputs"])
    logp = np.asarray(log_p_birth(params, jnp.asarray(grid), inputs, setup.constants, setup.vertical))
    return _cdf_at(grid, logp, truth["lz0"])


def _pit_tau(params, truth, setup, with_red_clump=True):
    n = truth["tau"].size
    ages = np.linspace(0.0, setup.tau_m, 1025)[1:]
    grid = np.broadcast_to(ages, (n, ages.size))
    b = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a[:, None], grid.shape), truth["inputs"])
    inputs = StarInputs(jnp.asarray(grid), b.feh, b.J_R, b.L_z, b.z, b.kappa, b.R_circ, b.nu)
    lz0 = jnp.broadcast_to(jnp.asarray(truth["lz0"][:, None]), grid.shape)  # same shapes as _pit_lz0: one compilation
    logp = np.asarray(log_p_birth(params, lz0, inputs, setup.constants, setup.vertical))
    if with_red_clump:
        logp = logp + np.log(np.asarray(setup.red_clump(jnp.asarray(ages))))
    return _cdf_at(np.asarray(grid), logp, truth["tau"])


# --------------------------------------------------------------------------- exact draws
def test_birth_angular_momentum_follows_the_migration_kernel(truth, setup):
    # KS p-values under the truth are uniform; 1e-3 leaves room for the suite's many tests.
    assert stats.kstest(_pit_lz0(P, truth, setup), "uniform").pvalue > 1e-3
    # ...and the same test rejects a model with 50% stronger migration.
    assert stats.kstest(_pit_lz0(table1(sigma_Lz=1.5 * 582.0), truth, setup), "uniform").pvalue < 1e-3


def test_ages_follow_sfh_heating_and_red_clump_fraction(truth, setup):
    assert stats.kstest(_pit_tau(P, truth, setup), "uniform").pvalue > 1e-3
    # a flatter inside-out history is rejected
    assert stats.kstest(_pit_tau(table1(x_io=0.3), truth, setup), "uniform").pvalue < 1e-6


def test_metallicity_is_the_birth_relation_and_actions_are_the_engines(mock, truth, setup):
    feh = np.asarray(birth_feh(P, jnp.asarray(truth["lz0"]), jnp.asarray(truth["tau"])))
    np.testing.assert_allclose(mock["feh_true"], feh, rtol=0, atol=1e-12)
    # the truth lies inside the model's support and the survey
    assert np.all((truth["tau"] > 0) & (truth["tau"] <= setup.tau_m))
    assert np.all(truth["lz0"] > 0) and np.all(truth["lz"] > 0) and np.all(truth["jr"] >= 0)
    assert np.all(np.asarray(mock["distance_true"]) <= 3.0) and np.all(np.abs(mock["b"]) <= 25.0)
    # L_z is R v_phi of the true phase-space point
    np.testing.assert_allclose(mock["L_z_true"], mock["R_true"] * mock["v_phi_true"], rtol=1e-12)
    assert mock.meta["bound_restarts"] >= 0 and 0 < mock.meta["acceptance"] < 1


def test_true_observables_map_back_to_the_true_orbit(mock):
    c = frames.observed_to_cylindrical(
        np.asarray(mock["ra"]), np.asarray(mock["dec"]), np.asarray(mock["distance_true"]),
        np.asarray(mock["pmra_true"]), np.asarray(mock["pmdec_true"]), np.asarray(mock["rv_true"]), sun=frames.FRANKEL2020,
    )  # fmt: skip
    np.testing.assert_allclose(c.R, mock["R_true"], rtol=1e-10)
    np.testing.assert_allclose(c.z, mock["z_true"], atol=1e-10)
    np.testing.assert_allclose(np.asarray(c.v_phi) / units.KMS, mock["v_phi_true"], rtol=1e-9)
    np.testing.assert_allclose(np.asarray(c.v_R) / units.KMS, mock["v_R_true"], atol=1e-8)
    g = SkyCoord(ra=np.asarray(mock["ra"]) * u.deg, dec=np.asarray(mock["dec"]) * u.deg).galactic
    dl = (g.l.deg - np.asarray(mock["l"]) + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(dl)) < 1e-8 and np.max(np.abs(g.b.deg - mock["b"])) < 1e-8


def test_spatial_distribution_matches_the_weighted_proposal(mock, setup):
    # An independent proposal batch, weighted by target/proposal, is the
    # model's distribution inside the survey (Eq. B8); the mock's distances
    # and heights must follow its weighted CDFs.
    prop = draw_proposal(7, 8192, setup)
    w = np.exp(prop.log_target_weight(P, setup))
    for x_mock, x_prop in ((mock["distance_true"], prop.D), (mock["z_true"], prop.z), (mock["R_true"], prop.R)):
        order = np.argsort(x_prop)
        cdf = np.cumsum(w[order]) / w.sum()
        u_ = np.interp(np.asarray(x_mock), x_prop[order], cdf)
        assert stats.kstest(u_, "uniform").pvalue > 1e-3


# --------------------------------------------------------------------------- noise
def test_noise_has_the_configured_distributions(mock):
    n = len(mock)
    z = {
        "distance": np.log(mock["distance"] / mock["distance_true"]) / 0.07,
        "age": np.log10(mock["age"] / mock["age_true"]) / 0.15,
        "feh": (mock["feh"] - mock["feh_true"]) / 0.05,
        "pmra": (mock["pmra"] - mock["pmra_true"]) / 0.05,
        "pmdec": (mock["pmdec"] - mock["pmdec_true"]) / 0.05,
        "rv": (mock["rv"] - mock["rv_true"]) / mock["rv_err"],
    }
    for name, v in z.items():
        v = np.asarray(v)
        assert abs(v.mean()) < 4.0 / np.sqrt(n), name
        assert abs(v.std() - 1.0) < 4.0 / np.sqrt(2 * n), name
    assert np.all((mock["rv_err"] >= 0.1) & (mock["rv_err"] <= 0.5))
    np.testing.assert_allclose(mock["distance_err"], 0.07 * mock["distance"])
    assert np.all(mock["age_err_dex"] == 0.15) and np.all(mock["pmra_err"] == 0.05)


def test_noise_free_mock_is_reproducible_and_equals_truth(setup):
    a = make_mock(40, setup, noise=NoiseModel.none(), rng=3)
    b = make_mock(40, setup, noise=NoiseModel.none(), rng=3)
    for name in a.colnames:
        np.testing.assert_array_equal(a[name], b[name])
    for name in ("distance", "pmra", "pmdec", "rv", "age", "feh"):
        np.testing.assert_array_equal(a[name], a[f"{name}_true"])
    # the catalogue-style actions of exact observables are the true ones
    np.testing.assert_allclose(a["J_R"], a["J_R_true"], rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(a["L_z"], a["L_z_true"], rtol=1e-10)
    assert np.all(a["distance_err"] == 0) and np.all(a["rv_err"] == 0)


# --------------------------------------------------------------------------- selection, files
def test_mock_through_survey_fields_respects_the_selection(setup):
    fields = (
        Field(l=30.0, b=0.0, radius=1.5, h_min=7.0, h_max=12.0, fraction=0.5, name="a"),
        Field(l=180.0, b=5.0, radius=1.5, h_min=7.0, h_max=11.0, fraction=0.2, name="b"),
        Field(l=90.0, b=-10.0, radius=2.0, h_min=7.0, h_max=12.0, fraction=1.0, name="c"),
    )
    sel = SurveySelection(fields)
    fsetup = SurveySetup(sel, potential=setup.potential, method=setup.method, table=setup.table)
    cat = make_mock(150, fsetup, rng=4)
    s = sel(cat["l"], cat["b"], cat["distance_true"])
    assert np.all(s > 0)
    np.testing.assert_array_equal(sel.field_index(cat["l"], cat["b"]), cat["field"])
    assert np.all(cat["distance_true"][cat["field"] == 1] <= sel.distance_limits()[1][1] + 1e-12)
    # field shares follow the model's expected counts (importance-weighted proposals)
    prop = draw_proposal(9, 8192, fsetup)
    w = np.exp(prop.log_target_weight(P, fsetup))
    share = np.bincount(prop.field, weights=w, minlength=3) / w.sum()
    counts = np.bincount(cat["field"], minlength=3)
    keep = share * len(cat) >= 5  # chi-square needs >= 5 expected per cell
    rest = len(cat) - counts[keep].sum()
    obs = np.append(counts[keep], rest)
    exp = np.append(share[keep], 1.0 - share[keep].sum()) * len(cat)
    assert stats.chisquare(obs[exp > 0], exp[exp > 0]).pvalue > 1e-3


def test_write_mock_round_trips_through_fits(mock, tmp_path):
    path = write_mock(mock, tmp_path / "mock.fits")
    back = read_table(path)
    assert len(back) == len(mock) and set(mock.colnames) <= set(back.colnames)
    assert back["distance"].unit == u.kpc and back["L_z"].unit == u.kpc * u.km / u.s
    assert back["age"].unit == u.Gyr and back["pmra"].unit == u.mas / u.yr
    np.testing.assert_allclose(back["J_R_true"], mock["J_R_true"])
    params = json.loads(back.meta["PARAMS"])
    assert params["sigma_Lz"] == pytest.approx(582.0)
    assert int(back.meta["SEED"]) == 1
    with pytest.raises(FileExistsError):
        write_mock(mock, path)


# --------------------------------------------------------------------------- errors
def test_bad_configuration_raises_naming_the_argument(setup):
    with pytest.raises(ValueError, match="distance_frac"):
        NoiseModel(distance_frac=-0.1)
    with pytest.raises(ValueError, match="rv_kms_min"):
        NoiseModel(rv_kms_min=1.0, rv_kms_max=0.5)
    with pytest.raises(ValueError, match="sigma_vR"):
        ProposalConfig(sigma_vR=0.0)
    with pytest.raises(ValueError, match="n_stars"):
        make_mock(0, setup)
    with pytest.raises(ValueError, match="safety"):
        make_mock(10, setup, safety=1.0)
    with pytest.raises(TypeError, match="setup"):
        make_mock(10, NoSelection(d_max=3.0))
    with pytest.raises(TypeError, match="selection"):
        SurveySetup("apogee", potential=setup.potential, table=setup.table)
    with pytest.raises(ValueError, match="vz_dispersion"):
        SurveySetup(setup.selection, potential=setup.potential, table=setup.table, vz_dispersion=-1.0)
    with pytest.raises(ValueError, match="d_max"):
        make_mock(10, SurveySetup(NoSelection(), potential=setup.potential, method=setup.method, table=setup.table))
