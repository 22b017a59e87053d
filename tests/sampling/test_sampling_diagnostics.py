"""Convergence diagnostics on series with known answers: iid draws, AR(1) chains, shifted chains."""

import importlib
import json
import re

import emcee
import numpy as np
import pytest
import scipy.signal

from diskorbits.sampling import (
    ConvergenceWarning,
    diagnose,
    ess_bulk,
    ess_tail,
    integrated_time,
    split_rhat,
)
from diskorbits.sampling.adaptation import warmup_schedule


def ar1(rng, rho, chains, draws, dim=1):
    """Stationary AR(1) chains with unit variance: tau = (1 + rho) / (1 - rho)."""
    e = rng.normal(size=(chains, dim, draws)) * np.sqrt(1.0 - rho**2)
    x0 = rng.normal(size=(chains, dim, 1))
    x = scipy.signal.lfilter([1.0], [1.0, -rho], e, axis=-1, zi=rho * x0)[0]
    return np.moveaxis(x, 1, 2)  # [chains, draws, dim]


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(20200305)


@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_autocorrelation_time_of_ar1(rng, rho):
    x = ar1(rng, rho, 8, 25_000)
    tau = integrated_time(x)[0]
    exact = (1 + rho) / (1 - rho)
    # relative error of the windowed estimator ~ sqrt(2 (2M + 1) / N) with M ~ 5 tau: < 5% here
    assert tau == pytest.approx(exact, rel=0.12)
    # the same estimator as emcee's (chain-averaged autocorrelation function, Sokal window)
    assert tau == pytest.approx(emcee.autocorr.integrated_time(np.swapaxes(x, 0, 1), quiet=True)[0], rel=1e-10)
    # and the bulk ESS is N / tau
    assert ess_bulk(x)[0] == pytest.approx(x.shape[0] * x.shape[1] / exact, rel=0.15)


def test_ess_of_independent_draws_is_n(rng):
    x = rng.normal(size=(4, 1000, 3))
    n = 4000
    np.testing.assert_allclose(ess_bulk(x), n, rtol=0.15)
    np.testing.assert_allclose(ess_tail(x), n, rtol=0.2)
    np.testing.assert_allclose(integrated_time(x), 1.0, atol=0.12)


def test_rhat_near_one_for_mixed_and_large_for_separated_chains(rng):
    x = rng.normal(size=(4, 1000, 2))
    r = split_rhat(x)
    assert np.all(np.abs(r - 1.0) < 0.01)
    shifted = x.copy()
    shifted[:2, :, 0] += 2.0  # two chains sit 2 sigma away: not mixed in the first parameter
    r = split_rhat(shifted)
    assert r[0] > 1.1 and abs(r[1] - 1.0) < 0.01
    # a drift inside each chain is caught by splitting the chains in halves
    trend = x + np.linspace(-1.5, 1.5, 1000)[None, :, None]
    assert np.all(split_rhat(trend) > 1.1)
    # a difference in scale only (same location) is caught by the folded (tail) R-hat
    scaled = x.copy()
    scaled[:2] *= 3.0
    assert split_rhat(scaled)[0] > 1.1


def test_too_short_run_warns_and_lists_problems(rng):
    x = ar1(rng, 0.98, 4, 1000, dim=2)  # tau ~ 99: 1000 draws are ~10 tau
    with pytest.warns(ConvergenceWarning) as rec:
        d = diagnose(x, ["a", "b"])
    emitted = [str(w.message) for w in rec]
    assert emitted == list(d.warnings)
    assert re.fullmatch(r"run length 1000 < 50 autocorrelation times \(tau = \d+ for [ab]\); .*", emitted[0])
    assert not d.ok
    assert any(w.startswith("bulk ESS") and w.endswith("< 400 for a") for w in d.warnings)
    assert d.tau.shape == (2,) and np.all(d.tau > 40)
    info = json.loads(json.dumps(d.to_dict()))
    assert info["warnings"] == list(d.warnings) and set(info["parameters"]) == {"a", "b"}
    assert "R-hat" in d.table()


def test_rhat_warning_names_the_parameter(rng):
    x = rng.normal(size=(4, 2000, 2))
    x[0, :, 1] += 1.0
    with pytest.warns(ConvergenceWarning) as rec:
        d = diagnose(x, ["beta", "sigma_Lz"])
    assert any(re.fullmatch(r"R-hat 1\.\d+ > 1.01 for sigma_Lz", str(w.message)) for w in rec)
    assert not any("for beta" in w for w in d.warnings)


def test_good_run_passes_silently(rng):
    import warnings

    x = rng.normal(size=(4, 1000, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        d = diagnose(x, ["a", "b"], extra_warnings=())
    assert d.ok and d.n_chains == 4 and d.n_draws == 1000
    d = diagnose(x, extra_warnings=["3 divergent transitions"], warn=False)
    assert d.warnings == ("3 divergent transitions",) and d.names == ("x0", "x1")


def test_diagnostics_input_errors():
    with pytest.raises(ValueError, match="NaN"):
        diagnose(np.full((2, 10, 1), np.nan))
    with pytest.raises(ValueError, match=r"\[chains, draws, dim\]"):
        integrated_time(np.zeros(10))
    with pytest.raises(ValueError, match="names has 1 entries"):
        diagnose(np.zeros((2, 10, 2)) + np.arange(10)[None, :, None], ["a"])
    with pytest.raises(ValueError, match="rhat_max"):
        diagnose(np.random.default_rng(0).normal(size=(2, 10, 1)), rhat_max=0.0)
    # a parameter that never moves has no R-hat or ESS, and says so
    frozen = np.random.default_rng(1).normal(size=(2, 50, 2))
    frozen[..., 1] = 3.0
    d = diagnose(frozen, ["a", "b"], warn=False)
    assert np.isnan(d.rhat[1]) and any("do not vary" in w for w in d.warnings)


def test_stan_warmup_schedule():
    slow, end = warmup_schedule(1000)
    ends = np.nonzero(end)[0] + 1
    np.testing.assert_array_equal(ends, [100, 150, 250, 450, 950])  # windows 25, 50, 100, 200, 500
    assert not slow[:75].any() and slow[75:950].all() and not slow[950:].any()
    slow, end = warmup_schedule(100)  # too short for the default buffers: 15% / 75% / 10%
    assert np.nonzero(end)[0].tolist() == [89] and slow[15:90].all() and not slow[:15].any()
    slow, end = warmup_schedule(10)
    assert not slow.any() and not end.any()


def test_public_names_exist():
    mod = importlib.import_module("diskorbits.sampling")
    assert len(set(mod.__all__)) == len(mod.__all__)
    assert [n for n in mod.__all__ if not hasattr(mod, n)] == []
