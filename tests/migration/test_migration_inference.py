"""Fit glue of the Frankel et al. (2020) model: prior box, MLE + NUTS on a toy Gaussian, fit files, resume.

One small NUTS fit (stopped after a few chunks, then resumed) is shared by the module.
"""

import shutil
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diskorbits.migration import NAMES, UNITS, table1, text_values
from diskorbits.migration.inference import (
    FIT_FORMAT,
    PRIOR_BOUNDS,
    MigrationFit,
    fit,
    laplace_errors,
    make_problem,
    prior_bounds,
    read_fit,
    sampling_path,
    write_fit,
)
from diskorbits.sampling import ConvergenceWarning

LO = np.array([PRIOR_BOUNDS[n][0] for n in NAMES])
HI = np.array([PRIOR_BOUNDS[n][1] for n in NAMES])
# the toy posterior: independent Gaussians 4% of the box wide, half a sigma off Table 1,
# so that the box (>= 11 sigma away) does not shape it
SD = 0.04 * (HI - LO)
MU = np.asarray(table1().to_vector()) + 0.5 * SD
NUTS = dict(n_warmup=200, n_draws=400, n_chains=2, chunk_size=100)


class ToyLikelihood(eqx.Module):
    """ln L of independent Gaussians in display units (a stand-in for migration.likelihood.Likelihood)."""

    mu: jax.Array
    sd: jax.Array

    def __call__(self, theta):
        return -0.5 * jnp.sum(((theta - self.mu) / self.sd) ** 2)


TOY = ToyLikelihood(jnp.asarray(MU), jnp.asarray(SD))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A NUTS fit stopped after 3 of 6 chunks (stage copied aside), then resumed to the end."""
    d = tmp_path_factory.mktemp("fit")
    path = d / "fit.h5"
    kw = dict(sampler="nuts", mle_starts=3, sampler_options=NUTS, seed=3, path=path,
              selection={"name": "toy"}, catalogue={"n_stars": 0})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        partial = fit(TOY, stop_after_chunks=3, **kw)
        stage = d / "stage"
        stage.mkdir()
        shutil.copy(path, stage / "fit.h5")
        shutil.copy(sampling_path(path), stage / sampling_path(path).name)
        final = fit(TOY, resume=True, **kw)
    return {"path": path, "stage": stage / "fit.h5", "partial": partial, "final": final, "kw": kw}


# ----------------------------------------------------------------------------- prior box


def test_prior_box_is_centred_on_table1_and_physical():
    assert list(PRIOR_BOUNDS) == list(NAMES)
    np.testing.assert_allclose(0.5 * (LO + HI), np.asarray(table1().to_vector()), rtol=1e-12, atol=1e-12)
    for n in ("R_d0", "tau_SFR", "sigma_Lz", "sigma_vR0", "R_sigmaR", "a_z"):
        assert PRIOR_BOUNDS[n][0] > 0, n  # positive scales
    assert PRIOR_BOUNDS["grad_FeH"][1] < 0  # the birth [Fe/H] relation needs a negative gradient
    # the text values of Frankel et al. (2020) (R_sigmaR = 27 kpc, ...) lie well inside
    t = np.asarray(text_values().to_vector())
    assert np.all((t - LO) > 0.1 * (HI - LO)) and np.all((HI - t) > 0.1 * (HI - LO))
    # wide: every scale spans a factor 19
    assert PRIOR_BOUNDS["sigma_Lz"][1] / PRIOR_BOUNDS["sigma_Lz"][0] == pytest.approx(19.0)


def test_prior_bounds_overrides_and_errors():
    b = prior_bounds(tau_SFR=(0.1, 10.0))
    assert b["tau_SFR"] == (0.1, 10.0) and b["R_d0"] == PRIOR_BOUNDS["R_d0"]
    with pytest.raises(TypeError, match="unknown parameter"):
        prior_bounds(sigma=(1.0, 2.0))
    with pytest.raises(ValueError, match="'sigma_Lz' must be finite with lower < upper"):
        prior_bounds(sigma_Lz=(600.0, 500.0))
    with pytest.raises(ValueError, match="'sigma_vR0' must be >= 0"):
        prior_bounds(sigma_vR0=(-1.0, 50.0))
    with pytest.raises(ValueError, match="'grad_FeH' must be <= 0"):
        prior_bounds(grad_FeH=(-0.2, 0.1))
    with pytest.raises(ValueError, match="pair of numbers"):
        prior_bounds(beta="wide")


def test_make_problem_uses_names_and_display_units():
    p = make_problem(TOY)
    assert p.names == NAMES
    np.testing.assert_allclose(p.center(), np.asarray(table1().to_vector()), atol=1e-12)
    assert float(p.log_posterior(jnp.asarray(MU))) == 0.0
    assert float(p.log_posterior(jnp.asarray(HI + 1.0))) == -np.inf
    with pytest.raises(TypeError, match="'loglike' must be callable"):
        make_problem("not a function")


def test_bad_arguments_are_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="'sampler' must be one of"):
        fit(TOY, sampler="hmc")
    with pytest.raises(ValueError, match="unknown nuts option"):
        fit(TOY, sampler_options={"n_samples": 10})
    with pytest.raises(ValueError, match="sampler='none' runs no sampler"):
        fit(TOY, sampler="none", sampler_options={"n_draws": 10})
    with pytest.raises(ValueError, match="'seed' must be an integer >= 0"):
        fit(TOY, seed=-1)
    with pytest.raises(ValueError, match="'mle_starts' must be an integer >= 1"):
        fit(TOY, mle_starts=0)


# ----------------------------------------------------------------------------- the shared fit


def test_mle_finds_the_optimum(run):
    mle = run["final"].mle
    assert mle.agree
    np.testing.assert_allclose((mle.x - MU) / SD, 0.0, atol=1e-3)
    assert mle.log_likelihood == pytest.approx(0.0, abs=1e-5)
    # the stage file held the same MLE: a resume does not redo it
    np.testing.assert_array_equal(run["partial"].mle.x, mle.x)


def test_nuts_recovers_mean_and_std(run):
    x = run["final"].samples()
    assert x.shape == (NUTS["n_chains"] * NUTS["n_draws"], len(NAMES))
    z = (x.mean(axis=0) - MU) / SD
    # standard error of a mean is ~ 1/sqrt(ESS) ~ 0.05 sd here
    assert np.all(np.abs(z) < 0.25), z
    np.testing.assert_allclose(x.std(axis=0, ddof=1) / SD, 1.0, atol=0.15)


def test_stop_and_resume_continue_the_same_chains(run):
    part, final = run["partial"], run["final"]
    assert not part.complete and part.sampling is not None and not part.sampling.complete
    n = part.sampling.n_draws
    assert 0 < n < NUTS["n_draws"]
    # the resumed run continues the checkpointed chains bit for bit
    np.testing.assert_array_equal(final.sampling.samples[:, :n], part.sampling.samples)
    assert final.complete and final.sampling.complete
    assert not sampling_path(run["path"]).exists()  # side file removed once finished
    stage = read_fit(run["stage"])
    assert not stage.complete and stage.sampling is None and stage.mle is not None


def test_fit_file_round_trip(run, tmp_path):
    final = run["final"]
    back = read_fit(run["path"])
    np.testing.assert_array_equal(back.samples(), final.samples())
    np.testing.assert_array_equal(back.mle.x, final.mle.x)
    np.testing.assert_array_equal(back.lower, LO)
    assert back.names == NAMES and back.units == UNITS
    assert back.config == final.config and back.seed == 3 and back.sampler == "nuts"
    assert back.selection == {"name": "toy"} and back.catalogue == {"n_stars": 0}
    assert back.meta["loglike_at_center"] == pytest.approx(float(TOY(jnp.asarray(0.5 * (LO + HI)))))
    assert back.sampling.diagnostics is not None and back.version
    assert back.mle.warnings == final.mle.warnings
    # write again: identical content
    again = write_fit(tmp_path / "again.h5", back)
    np.testing.assert_array_equal(read_fit(again).samples(), final.samples())
    import h5py

    with h5py.File(run["path"]) as h:
        assert h.attrs["format"] == FIT_FORMAT


def test_resume_refuses_other_configuration_or_likelihood(run, tmp_path):
    path = tmp_path / "fit.h5"
    shutil.copy(run["stage"], path)
    kw = dict(run["kw"], path=path)
    with pytest.raises(ValueError, match="different configuration.*sampler_options"):
        fit(TOY, resume=True, **dict(kw, sampler_options=dict(NUTS, n_draws=500)))
    with pytest.raises(ValueError, match="different configuration.*seed"):
        fit(TOY, resume=True, **dict(kw, seed=4))
    shifted = ToyLikelihood(jnp.asarray(MU + SD), jnp.asarray(SD))
    with pytest.raises(ValueError, match="the data or the model changed"):
        fit(shifted, resume=True, **kw)
    with pytest.raises(FileExistsError, match="pass resume=True"):
        fit(TOY, **kw)
    with pytest.raises(FileExistsError, match="already holds a finished fit"):
        fit(TOY, resume=True, **dict(kw, path=run["path"]))


def test_mle_only_fit_and_its_accessors(tmp_path):
    f = fit(TOY, sampler="none", mle_starts=2, mle_options={"guess": table1()}, path=tmp_path / "mle.h5")
    assert f.complete and f.sampling is None and not f.has_samples
    np.testing.assert_allclose(f.mle_parameters().to_vector(), MU, rtol=1e-6)
    assert f.config["mle"]["guess"] == pytest.approx(list(np.asarray(table1().to_vector())))
    with pytest.raises(ValueError, match="no posterior samples"):
        f.samples()
    back = MigrationFit.read(tmp_path / "mle.h5")
    assert back.sampling is None and back.complete
    with pytest.raises(ValueError, match="not a diskorbits migration-fit"):
        read_fit(_other_file(tmp_path))
    with pytest.raises(FileNotFoundError):
        read_fit(tmp_path / "missing.h5")


def _other_file(tmp_path):
    """Any HDF5 file that is not a fit file."""
    import h5py

    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as h:
        h.attrs["format"] = "something else"
    return p


class TwoPeaks(eqx.Module):
    """Gaussian in ten parameters, two peaks 4 sigma apart in [Fe/H]_max: a dip (positive curvature) between them."""

    mu: jax.Array
    sd: jax.Array

    def __call__(self, theta):
        z = (theta[:-1] - self.mu[:-1]) / self.sd[:-1]
        a, b = (theta[-1] - self.mu[-1]) / self.sd[-1] + 2.0, (theta[-1] - self.mu[-1]) / self.sd[-1] - 2.0
        return -0.5 * jnp.sum(z**2) + jnp.logaddexp(-0.5 * a**2, -0.5 * b**2)


def test_emcee_without_laplace_error_bars_falls_back_to_a_box_share(tmp_path):
    from diskorbits.migration.inference import EMCEE_FALLBACK_WIDTH

    # an optimiser stopped in the dip between the peaks leaves an MLE without Laplace error bars
    stuck = {"starts": MU[None], "max_iterations": 1, "restarts": 0, "simplex_size": 1e-5}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = fit(TwoPeaks(jnp.asarray(MU), jnp.asarray(SD)), sampler="emcee", mle_options=stuck,
                sampler_options={"n_walkers": 22, "n_steps": 20}, path=tmp_path / "e.h5")  # fmt: skip
    assert any("not concave at the MLE" in str(w.message) for w in caught)
    assert f.meta["emcee_hypercube"] == f"{EMCEE_FALLBACK_WIDTH:g} of the prior box"
    # emcee was given that hypercube explicitly (and stored it with its settings)
    np.testing.assert_allclose(f.sampling.settings["width"], EMCEE_FALLBACK_WIDTH * (HI - LO), rtol=1e-12)
    assert read_fit(tmp_path / "e.h5").meta["emcee_hypercube"] == f.meta["emcee_hypercube"]


def test_laplace_errors_are_the_gaussian_widths_and_refuse_a_saddle():
    # correlated Gaussian: the Laplace covariance is exactly the input covariance
    rng = np.random.default_rng(0)
    a = rng.normal(size=(len(NAMES), len(NAMES)))
    cov = a @ a.T / len(NAMES) + np.diag(SD**2)
    prec = jnp.asarray(np.linalg.inv(cov))
    mu = jnp.asarray(MU)
    gauss = lambda t: -0.5 * (t - mu) @ prec @ (t - mu)  # noqa: E731
    r = laplace_errors(gauss, MU)
    assert r.negative_definite
    np.testing.assert_allclose(r.covariance, cov, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(r.sd, np.sqrt(np.diag(cov)), rtol=1e-8)
    # holding a parameter gives the conditional covariance of the others (Schur complement)
    free = np.ones(len(NAMES), bool)
    free[0] = False
    r = laplace_errors(gauss, MU, free=free)
    np.testing.assert_allclose(r.covariance[1:, 1:], np.linalg.inv(np.asarray(prec)[1:, 1:]), rtol=1e-8, atol=1e-12)
    assert np.isnan(r.sd[0]) and np.all(np.isnan(r.covariance[0]))
    # a saddle (one direction curved upwards): not a maximum, NaN for that direction
    sign = jnp.ones(len(NAMES)).at[2].set(-1.0)
    r = laplace_errors(lambda t: -0.5 * jnp.sum(sign * ((t - mu) / SD) ** 2), MU)
    assert not r.negative_definite
    assert np.isnan(r.sd[2]) and np.all(np.isfinite(np.delete(r.sd, 2)))
    with pytest.raises(ValueError, match="free"):
        laplace_errors(gauss, MU, free=[True, False])
