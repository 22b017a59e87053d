"""emcee and NUTS drivers: known moments recovered within Monte Carlo error, box bounds, exact resume, files.

The target is 4-D: a correlated Gaussian in (a, b, c) inside a box of +-10 sigma,
times an exponential density exp(-5 e) on e in [0, 1], whose mass piles up against
the lower bound (mean 1/5 - e^-5 / (1 - e^-5) = 0.19322). One problem object and one
chunk shape are shared by every NUTS run, so the NUTS chunk compiles once.
"""

import json
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diskorbits.progress import RecordingProgress
from diskorbits.sampling import (
    ConvergenceWarning,
    Problem,
    SamplingResult,
    ess_bulk,
    read_result,
    run_emcee,
    run_nuts,
)

MU = np.array([1.0, -0.5, 2.0])
SD = np.array([1.0, 0.5, 2.0])
CORR = np.array([[1.0, 0.8, 0.3], [0.8, 1.0, 0.5], [0.3, 0.5, 1.0]])
COV = CORR * np.outer(SD, SD)
LAM = 5.0
E_MEAN = 1.0 / LAM - np.exp(-LAM) / (1.0 - np.exp(-LAM))
Z_MAX = 4.5  # |z| bound for ~10 moment estimates: a false alarm has probability < 1e-4

CHUNK = 150  # every NUTS run below uses total steps divisible by this: one compiled chunk


class GaussExp(eqx.Module):
    mu: jax.Array
    prec: jax.Array
    lam: float

    def __call__(self, t):
        d = t[:3] - self.mu
        return -0.5 * d @ self.prec @ d - self.lam * t[3]


def make_problem(mu=MU):
    lo = np.r_[MU - 10 * SD, 0.0]
    hi = np.r_[MU + 10 * SD, 1.0]
    return Problem(GaussExp(jnp.asarray(mu), jnp.asarray(np.linalg.inv(COV)), LAM), ("a", "b", "c", "e"), lo, hi)


def moment_z(samples, mean, cov, e_mean=E_MEAN):
    """Largest |z| of the means, the Gaussian covariance entries and the mean of e, with ESS-based errors."""
    x = np.asarray(samples)  # [chains, draws, 4]
    flat = x.reshape(-1, 4)
    z = []
    ess_m = ess_bulk(x)
    m = flat.mean(axis=0)
    sd = flat.std(axis=0, ddof=1)
    z += list((m[:3] - mean) / (sd[:3] / np.sqrt(ess_m[:3])))
    z.append((m[3] - e_mean) / (sd[3] / np.sqrt(ess_m[3])))
    d = x[..., :3] - m[:3]
    for i in range(3):
        for j in range(i, 3):
            prod = d[..., i] * d[..., j]
            ess = float(ess_bulk(prod)[0])
            z.append((prod.mean() - cov[i, j]) / (prod.std(ddof=1) / np.sqrt(ess)))
    return float(np.max(np.abs(z)))


@pytest.fixture(scope="module")
def problem():
    return make_problem()


@pytest.fixture(scope="module")
def nuts_path(tmp_path_factory):
    return tmp_path_factory.mktemp("nuts") / "full.h5"


@pytest.fixture(scope="module")
def nuts_run(problem, nuts_path):
    return run_nuts(problem, 11, n_warmup=300, n_draws=600, n_chains=4, chunk_size=CHUNK, path=nuts_path)


@pytest.fixture(scope="module")
def emcee_path(tmp_path_factory):
    return tmp_path_factory.mktemp("emcee") / "full.h5"


@pytest.fixture(scope="module")
def emcee_run(problem, emcee_path):
    center = np.r_[MU, 0.2]
    with pytest.warns(ConvergenceWarning) as rec:
        r = run_emcee(problem, 5, n_walkers=32, n_steps=2000, center=center, chunk_size=1000, path=emcee_path)
    # 2000 steps are fewer than 50 tau (~50 steps each): the driver must say so
    assert any("autocorrelation times" in str(w.message) for w in rec)
    return r


# ----------------------------------------------------------------------------- NUTS


def test_nuts_recovers_mean_and_covariance(nuts_run):
    assert nuts_run.samples.shape == (4, 600, 4)
    assert nuts_run.samples.dtype == np.float64
    assert moment_z(nuts_run.posterior, MU, COV) < Z_MAX
    d = nuts_run.diagnostics
    assert d.ok, d.warnings
    assert np.all(d.rhat < 1.01) and np.all(d.ess_bulk > 400)
    assert not nuts_run.stats["divergent"].any()


def test_moment_check_detects_a_shifted_target(nuts_run, emcee_run):
    shifted = MU + np.array([0.3, 0.0, 0.0]) * SD  # a wrong target: mean of a off by 0.3 sigma
    assert moment_z(nuts_run.posterior, shifted, COV) > 2 * Z_MAX
    assert moment_z(emcee_run.posterior, shifted, COV) > Z_MAX
    assert moment_z(nuts_run.posterior, MU, COV, e_mean=E_MEAN + 0.05) > Z_MAX


def test_nuts_bounded_parameter_through_logit(nuts_run):
    """Mass piled against e = 0: the mean is right only if the logit Jacobian is."""
    e = nuts_run.posterior[..., 3]
    assert e.min() >= 0.0 and e.max() <= 1.0
    err = e.std() / np.sqrt(nuts_run.diagnostics.ess_bulk[3])
    assert abs(e.mean() - E_MEAN) < Z_MAX * err
    # the stored log-probability is the log-likelihood of theta (flat prior), not of u
    tgt = make_problem().log_likelihood
    i = (2, 17)
    assert nuts_run.log_prob[i] == pytest.approx(float(tgt(jnp.asarray(nuts_run.samples[i]))), rel=1e-12, abs=1e-12)


def test_nuts_resume_is_bit_identical(problem, nuts_run, tmp_path):
    path = tmp_path / "resumed.h5"
    kw = {"n_warmup": 300, "n_draws": 600, "n_chains": 4, "chunk_size": CHUNK, "path": path}
    part = run_nuts(problem, 11, stop_after_chunks=1, **kw)  # stops inside warmup
    assert not part.complete and part.n_draws == 0
    part = run_nuts(problem, 11, resume=True, stop_after_chunks=2, **kw)  # stops inside sampling
    assert not part.complete and part.n_draws == 150
    assert read_result(path).n_draws == 150
    done = run_nuts(problem, 11, resume=True, **kw)
    assert done.complete
    np.testing.assert_array_equal(done.samples, nuts_run.samples)
    np.testing.assert_array_equal(done.log_prob, nuts_run.log_prob)
    for k in nuts_run.stats:
        np.testing.assert_array_equal(done.stats[k], nuts_run.stats[k])


@pytest.mark.filterwarnings("ignore::diskorbits.sampling.ConvergenceWarning")  # 150 draws: low ESS is expected
def test_nuts_from_init_point_and_different_key(problem):
    init = {"a": 1.0, "b": -0.5, "c": 2.0, "e": 0.2}
    r = run_nuts(problem, jax.random.key(3), n_warmup=150, n_draws=150, chunk_size=CHUNK, init=init)
    assert r.seed is None and r.key_data.dtype == np.uint32
    assert np.all(r.stats["warmup_step_size"][:, 0] == 1.0)
    assert moment_z(r.posterior, MU, COV) < Z_MAX


@pytest.mark.filterwarnings("ignore::diskorbits.sampling.ConvergenceWarning")  # 150 draws: low ESS is expected
def test_nuts_can_keep_the_laplace_metric(problem):
    # adapt_mass="auto" with an init: the Laplace metric is kept (no slow windows), only the
    # step size adapts -- and the draws still have the target's moments
    init = {"a": 1.0, "b": -0.5, "c": 2.0, "e": 0.2}
    r = run_nuts(problem, 4, n_warmup=150, n_draws=300, chunk_size=CHUNK, init=init, dense_mass=True, adapt_mass="auto")
    assert r.meta["mass_adapted"] is False
    assert moment_z(r.posterior, MU, COV) < Z_MAX
    # without an init there is no Laplace metric: "auto" adapts
    r = run_nuts(problem, 4, n_warmup=20, n_draws=4, chunk_size=CHUNK, adapt_mass="auto")
    assert r.meta["mass_adapted"] is True
    with pytest.raises(ValueError, match="adapt_mass"):
        run_nuts(problem, 0, adapt_mass="sometimes")


def test_nuts_settings_are_validated(problem):
    with pytest.raises(ValueError, match="target_accept"):
        run_nuts(problem, 0, target_accept=1.2)
    with pytest.raises(ValueError, match="n_draws"):
        run_nuts(problem, 0, n_draws=2)
    with pytest.raises(ValueError, match="outside the prior box"):
        run_nuts(problem, 0, init=[0.0, 0.0, 0.0, 2.0])
    with pytest.raises(ValueError, match="seed must be non-negative"):
        run_nuts(problem, -1)
    with pytest.raises(TypeError, match="Problem"):
        run_nuts(lambda t: 0.0, 0)


# ----------------------------------------------------------------------------- emcee


def test_emcee_recovers_mean_and_covariance(emcee_run):
    assert emcee_run.sampler == "emcee"
    assert emcee_run.samples.shape == (32, 2000, 4)
    assert emcee_run.burn == 500
    assert moment_z(emcee_run.posterior, MU, COV) < Z_MAX
    frac = emcee_run.stats["accepted"] / 2000
    assert 0.2 < frac.mean() < 0.7
    assert any("autocorrelation times" in w for w in emcee_run.diagnostics.warnings)


def test_emcee_walkers_start_in_laplace_hypercube(emcee_run):
    """Default hypercube: 8 Laplace sigmas wide around the centre, clipped to the box."""
    assert emcee_run.settings["width"] is None  # defaulted: derived, not part of the resume check
    width = np.asarray(emcee_run.meta["hypercube_width"])
    # the Laplace covariance of a Gaussian is its covariance, so the widths are 8 marginal sigmas,
    # up to the curvature of the logit Jacobian (-2 s(1 - s) = -0.5 per parameter at the box centre,
    # against J^T Sigma^-1 J ~ 25-75 here): a ~1% effect
    assert width[:3] == pytest.approx(8 * SD, rel=0.02)
    first = emcee_run.samples[:, 0]
    center = np.asarray(emcee_run.settings["center"])
    assert np.all(np.abs(first - center) <= 0.5 * width + 1e-12)


def test_emcee_resume_is_bit_identical(problem, tmp_path):
    kw = {"n_walkers": 32, "n_steps": 300, "center": np.r_[MU, 0.2], "chunk_size": 100}
    with pytest.warns(ConvergenceWarning):
        full = run_emcee(problem, 5, **kw)
    path = tmp_path / "resumed.h5"
    part = run_emcee(problem, 5, stop_after_chunks=2, path=path, **kw)
    assert not part.complete and part.n_draws == 200
    np.testing.assert_array_equal(part.samples, full.samples[:, :200])
    with pytest.warns(ConvergenceWarning):
        done = run_emcee(problem, 5, resume=True, path=path, **kw)
    np.testing.assert_array_equal(done.samples, full.samples)
    np.testing.assert_array_equal(done.log_prob, full.log_prob)
    np.testing.assert_array_equal(done.stats["accepted"], full.stats["accepted"])
    assert done.meta["hypercube_width"] == full.meta["hypercube_width"]


def test_result_file_round_trip(emcee_run, emcee_path, nuts_run, nuts_path, tmp_path):
    for run, path in ((emcee_run, emcee_path), (nuts_run, nuts_path)):
        back = read_result(path)
        assert back.complete and back.sampler == run.sampler and back.names == run.names
        np.testing.assert_array_equal(back.samples, run.samples)
        np.testing.assert_array_equal(back.log_prob, run.log_prob)
        assert back.settings == json.loads(json.dumps(run.settings))
        assert back.seed == run.seed and back.burn == run.burn
        np.testing.assert_array_equal(back.key_data, run.key_data)
        np.testing.assert_array_equal(back.diagnostics.rhat, run.diagnostics.rhat)
        assert back.diagnostics.warnings == run.diagnostics.warnings
        assert set(back.stats) == set(run.stats)
    copy = tmp_path / "copy.h5"
    nuts_run.write(copy)
    again = SamplingResult.read(copy)
    np.testing.assert_array_equal(again.flat(), nuts_run.flat())
    s = again.summary()
    assert s["parameters"]["a"]["mean"] == pytest.approx(MU[0], abs=0.2)
    json.dumps(s)


def test_resume_guards(problem, emcee_path, tmp_path):
    kw = {"n_walkers": 32, "n_steps": 2000, "center": np.r_[MU, 0.2], "chunk_size": 1000}
    with pytest.raises(FileExistsError, match="resume=True"):
        run_emcee(problem, 5, path=emcee_path, **kw)
    with pytest.raises(FileExistsError, match="finished run"):
        run_emcee(problem, 5, path=emcee_path, resume=True, **kw)
    part = tmp_path / "part.h5"
    kw = {"n_walkers": 32, "n_steps": 300, "center": np.r_[MU, 0.2], "chunk_size": 100}
    run_emcee(problem, 5, path=part, stop_after_chunks=1, **kw)
    with pytest.raises(ValueError, match="different configuration"):
        run_emcee(problem, 6, path=part, resume=True, **kw)  # another key
    with pytest.raises(ValueError, match="model or the data changed"):
        run_emcee(make_problem(MU + 0.1), 5, path=part, resume=True, **kw)
    with pytest.raises(ValueError, match="not a nuts run"):
        run_nuts(problem, 5, path=part, resume=True)


def test_emcee_progress_and_validation(problem):
    rec = RecordingProgress()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        r = run_emcee(problem, 1, n_walkers=32, n_steps=40, chunk_size=16, progress=rec)
    assert rec.done == 40 and rec.events[0][:2] == ("start", 40) and rec.events[-1] == ("close",)
    # without a centre the walkers start anywhere in the box
    assert r.samples.shape == (32, 40, 4) and np.all(problem.in_bounds(r.samples))
    assert np.ptp(r.samples[:, 0, 0]) > 10 * SD[0]
    with pytest.raises(ValueError, match="n_walkers"):
        run_emcee(problem, 1, n_walkers=6)
    with pytest.raises(ValueError, match="width needs a center"):
        run_emcee(problem, 1, width=1.0)
    with pytest.raises(ValueError, match="n_burn"):
        run_emcee(problem, 1, n_steps=100, n_burn=99)
