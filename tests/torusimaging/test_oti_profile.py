"""Profile of the OTI fit over fixed h_z (profile_inference) on an APOGEE-like mock with known truth.

Truth: disk mass factor 1.1, h_z = 0.28 kpc, the mock's own solar frame. The mock is the one of
test_oti_recovery.py (two ratios with different action gradients, 3 kpc sphere) at 2,000 stars;
z_sun and v_z,sun are held at the truth so that one parameter is fitted per h_z, 6 bootstrap trials,
three grid values. What this size can and cannot test: the disk factor at the true h_z and its
trade-off with h_z are measured well (errors ~0.05, a change of ~0.19 across the grid); the
statistic's minimum locates h_z only to ~0.03 kpc, so the test checks that its bootstrap interval
is honest (contains the truth, is not tiny) rather than that it is sharp -- docs/torusimaging.md
has a larger run.
"""

import json
import pickle

import jax
import numpy as np
import pytest
from typer.testing import CliRunner

from diskorbits.cli import app
from diskorbits.parallel import Executor
from diskorbits.potentials import MilkyWayPotential
from diskorbits.potentials.presets import MWP_FIDUCIAL_DISK_MASS
from diskorbits.torusimaging import (
    HzProfile,
    make_mock,
    profile_inference,
    profile_minimum,
    read_oti_profile,
    write_oti_profile,
)
from diskorbits.torusimaging.inference import PARAMETER_STEPS
from diskorbits.torusimaging.mock_config import load_mock_config, write_mock_catalogue
from diskorbits.torusimaging.objective import (
    OTIData,
    OTISetup,
    evaluate_objective,
    fiducial_parameters,
)
from diskorbits.torusimaging.resampling import bootstrap_rows

TRUTH = np.array([1.1, 0.28, 0.0208, 7.78 / 977.79])
N_STARS, N_BOOT, SEED = 2000, 6, 2
GRID = (0.22, 0.28, 0.34)


class _PicklingExecutor(Executor):
    """Serial, but every task crosses a pickle round trip (as for processes or Dask) and runs in
    reverse order; records what was mapped. Spawning real workers would recompile the actions in
    each (~1 min); tests/test_parallel.py covers the process and Dask plumbing."""

    def map(self, fn, chunks, *, description=""):
        chunks = list(chunks)
        self.log = getattr(self, "log", []) + [(description, len(chunks))]
        out = [None] * len(chunks)
        for i in reversed(range(len(chunks))):
            f, c = pickle.loads(pickle.dumps((fn, chunks[i])))
            out[i] = f(c)
        return out


@pytest.fixture(scope="module")
def problem(two_ratio_model):
    truth = MilkyWayPotential().with_disk(TRUTH[0], TRUTH[1])
    mock = make_mock(jax.random.key(11), truth, N_STARS, abundance_model=two_ratio_model, n_steps=400, time_range=(500.0, 3000.0))
    data = OTIData.from_mock(mock, ratio_names=["O_FE", "FE_H"])
    setup = OTISetup(metric="spread")
    return data, setup, fiducial_parameters(setup)  # start: disk factor 1.0, the true solar frame


@pytest.fixture(scope="module")
def run(problem):
    data, setup, x0 = problem
    ex = _PicklingExecutor(n_workers=1)
    prof = profile_inference(
        data, h_z_grid=list(GRID)[::-1], free=["disk_mass_factor"], n_bootstrap=N_BOOT, seed=SEED, setup=setup,
        x0=x0, joint="inverse-covariance", executor=ex, max_iterations=4,
    )
    return prof, ex


def test_disk_mass_factor_is_recovered_at_the_true_scale_height(run):
    prof, _ = run
    np.testing.assert_array_equal(prof.h_z_grid, GRID)  # sorted
    g = GRID.index(0.28)
    mean, err = prof.mean[g, 0], prof.std[g, 0]
    # 2.5 bootstrap sigma plus the few-per-cent neighbour-mean systematic (as test_oti_recovery.py)
    assert 0.0 < err < 0.1 and abs(mean - TRUTH[0]) < 2.5 * err + 0.03, (mean, err)
    np.testing.assert_array_equal(prof.mean[:, 1], GRID)  # h_z held at the grid values
    np.testing.assert_allclose(prof.mean[:, 2:], np.tile(TRUTH[2:], (3, 1)), rtol=1e-3)  # fixed: stay at x0
    assert np.all(prof.std[:, 1:] == 0) and not prof.free[1] and prof.notes == ("", "", "")
    assert prof.ratio_samples.shape == (3, 2, N_BOOT, 4)


def test_disk_mass_rises_with_the_scale_height(run):
    """The trade-off: near the mid-plane the vertical force follows the disk's mid-plane density,
    ~ M_disk / h_z, while high above it follows the surface density, ~ M_disk; orbits reaching
    ~0.3-1 kpc feel a mixture, so a thicker disk needs more mass, but proportionally less:
    0 < d ln M_disk / d ln h_z < 1 (measured ~0.4)."""
    prof, _ = run
    f = prof.mean[:, 0]
    assert np.all(np.diff(f) > 0), f
    # the same resamples at every h_z: every trial of every ratio moves the same way
    assert np.all(np.diff(prof.ratio_samples[..., 0], axis=0) > 0)
    slope = np.diff(np.log(f)) / np.diff(np.log(prof.h_z_grid))
    assert np.all((slope > 0.1) & (slope < 1.0)), slope
    # derived total disk mass follows the factor (existing helper)
    np.testing.assert_allclose(prof.disk_mass[:, 0], f * MWP_FIDUCIAL_DISK_MASS, rtol=1e-12)
    np.testing.assert_allclose(prof.disk_mass[:, 1], prof.std[:, 0] * MWP_FIDUCIAL_DISK_MASS, rtol=1e-9)
    assert np.all(np.diff(prof.disk_to_halo_mass_ratio[:, 0]) > 0)


def _chi(ev, sigma):
    c = np.asarray(ev.fit.coefficients)[:, 1:4]  # a1, b1, a2 of every ratio
    return (c / sigma).reshape(-1)


def test_statistic_equals_the_reference_objective(run, problem):
    """S from the trials-as-weights path equals the projected chi^2 of evaluate_objective, for the
    full catalogue and for trial 0's explicit resample (one resample shared by both ratios)."""
    prof, _ = run
    data, _, _ = problem
    g = 1
    th = prof.mean[g]
    ref = evaluate_objective(th, data, prof.setup)
    sigma = np.asarray(ref.fit.errors)[:, 1:4]
    step = th.copy()
    step[0] += PARAMETER_STEPS[0]
    r = _chi(ref, sigma)
    jac = _chi(evaluate_objective(step, data, prof.setup), sigma) - r
    u_ = jac / np.linalg.norm(jac)
    for res, value in ((r, prof.statistic[g]),
                       (_chi(evaluate_objective(th, data.take(bootstrap_rows(data.n_stars, SEED, 0, None)), prof.setup),
                             sigma), prof.statistic_trials[g, 0])):
        perp = res - (res @ u_) * u_
        assert value == pytest.approx(float(perp @ perp), rel=1e-6)
    assert prof.terms == ("a1", "b1", "a2") and prof.n_residuals == 6


def test_best_scale_height_and_an_honest_interval(run):
    prof, _ = run
    assert np.all(np.isfinite(prof.statistic)) and np.all(prof.statistic >= 0)
    assert prof.statistic_trials.shape == (3, N_BOOT) and np.all(prof.statistic_trials >= 0)
    assert prof.delta_statistic_std[int(np.argmin(prof.statistic))] == 0.0  # paired differences
    assert GRID[0] <= prof.best_h_z <= GRID[-1]
    assert prof.interval == pytest.approx((prof.best_h_z - prof.best_h_z_std, prof.best_h_z + prof.best_h_z_std))
    assert prof.trial_best_h_z.shape == (N_BOOT,)
    assert prof.best_h_z_std == pytest.approx(np.std(prof.trial_best_h_z, ddof=1))
    # at 2,000 stars the profile is shallow: the interval must say so (not a confident point) and
    # cover the truth; S differs by a few units across +-60 pc
    assert prof.best_h_z_std > 0.01
    assert abs(prof.best_h_z - TRUTH[1]) < 2.0 * prof.best_h_z_std, (prof.best_h_z, prof.best_h_z_std)


def test_flat_profiles_are_called_flat(run):
    """rise_significance compares S(h) - min S with the scatter of the paired trial differences."""
    import dataclasses

    prof, _ = run
    assert np.isfinite(prof.rise_significance) and prof.rise_significance >= 0
    h = prof.h_z_grid
    rng = np.random.default_rng(0)
    level = rng.normal(0, 5.0, N_BOOT)  # common to all h: cancels in the paired differences
    sharp = 5.0 + ((h - 0.28) / 0.03) ** 2  # rises by 4 at the outer grid values
    trials = sharp[:, None] + level[None, :] + rng.normal(0, 0.3, (3, N_BOOT))
    p = dataclasses.replace(prof, statistic=sharp, statistic_trials=trials)
    assert p.rise_significance > 5 and not p.flat and p.to_dict()["best_h_z"]["flat"] is False
    trials = sharp[:, None] + level[None, :] + rng.normal(0, 4.0, (3, N_BOOT))
    p = dataclasses.replace(prof, statistic=sharp, statistic_trials=trials)
    assert p.rise_significance < 2 and p.flat


def test_trials_and_statistic_go_through_the_executor(run):
    _, ex = run
    names = [d for d, _ in ex.log]
    assert any(d.startswith("OTI stencil") for d in names)
    stat = [n for d, n in ex.log if d == "OTI profile statistic"]
    assert stat == [3 * 2]  # one call: per grid value the estimate and one step (one free parameter)


def test_profile_minimum_on_known_parabolas():
    h = np.array([0.20, 0.24, 0.28, 0.32, 0.36])
    s = 4.0 + ((h - 0.29) / 0.02) ** 2  # Delta S = 1 at +-0.02 kpc
    shifts = np.array([-0.01, 0.0, 0.01, 0.02])
    trials = np.stack([4.0 + ((h - 0.29 - d) / 0.02) ** 2 + 7.0 * d for d in shifts], axis=1)
    m = profile_minimum(h, s, trials)
    assert m["best_h_z"] == pytest.approx(0.29, abs=1e-12) and not m["at_edge"]
    assert m["formal_interval"] == pytest.approx((0.27, 0.31), abs=1e-12)
    np.testing.assert_allclose(m["trial_best_h_z"], 0.29 + shifts, atol=1e-12)
    assert m["std"] == pytest.approx(np.std(shifts, ddof=1)) and m["n_trials_at_edge"] == 0
    assert m["interval"] == pytest.approx((0.29 - m["std"], 0.29 + m["std"]))
    # minimum at the edge: the edge value, flagged, no formal interval; a trial there is counted
    falling = 10.0 - 20.0 * h
    m = profile_minimum(h, falling, np.stack([falling, s], axis=1))
    assert m["best_h_z"] == 0.36 and m["at_edge"] and np.isnan(m["formal_interval"][0])
    assert m["n_trials_at_edge"] == 1 and m["trial_best_h_z"][0] == 0.36
    with pytest.raises(ValueError, match="increasing grid"):
        profile_minimum(h[:2], s[:2])


def test_round_trip_and_json(run, tmp_path):
    prof, _ = run
    path = write_oti_profile(tmp_path / "p.h5", prof)
    back = read_oti_profile(path)
    assert isinstance(back, HzProfile) and back.joint_samples is None
    for name in ("h_z_grid", "mean", "covariance", "ratio_samples", "statistic", "statistic_trials", "disk_mass",
                 "trial_best_h_z", "free"):
        np.testing.assert_array_equal(getattr(back, name), getattr(prof, name))
    assert (back.best_h_z, back.interval, back.ratios, back.terms) == (prof.best_h_z, prof.interval, prof.ratios,
                                                                       prof.terms)
    np.testing.assert_array_equal(back.setup.fixed_scale, prof.setup.fixed_scale)
    d = json.loads(json.dumps(prof.to_dict()))
    assert d == json.loads(json.dumps(back.to_dict()))
    assert d["free"] == ["disk_mass_factor"] and d["h_z_grid"] == list(GRID)
    row = d["grid"][1]
    assert row["disk_mass_factor"]["mean"] == pytest.approx(prof.mean[1, 0])
    assert row["z_sun"]["unit"] == "pc" and row["z_sun"]["fixed"] and row["z_sun"]["mean"] == pytest.approx(20.8, 1e-3)
    assert row["disk_mass"]["unit"] == "Msun" and "h_z" not in {k for k in row if isinstance(row[k], dict)}
    assert d["statistic"]["dof"] == 5 and d["best_h_z"]["value"] == prof.best_h_z
    (tmp_path / "x.h5").write_text("not hdf5")
    with pytest.raises(ValueError, match="not an HDF5"):
        read_oti_profile(tmp_path / "x.h5")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"h_z_grid": [0.2, 0.0, 0.3]}, r"\[0\.0\] must be > 0"),
        ({"h_z_grid": [-0.1, 0.2, 0.3]}, r"\[-0\.1\] must be > 0"),
        ({"h_z_grid": [0.2, 0.3]}, "at least 3"),
        ({"h_z_grid": [0.2, 0.3, 0.2]}, "repeats"),
        ({"free": ["disk_mass_factor", "h_z"]}, "'h_z' cannot be among 'free'"),
        ({"ratios": ["O_FE"], "free": ["disk_mass_factor", "z_sun", "v_z_sun"]}, "3 residuals cannot judge h_z"),
        ({"n_bootstrap": 1}, "n_bootstrap"),
    ],
)
def test_bad_input_raises(problem, kwargs, message):
    data, setup, _ = problem
    kw = {"h_z_grid": GRID, "n_bootstrap": 2, "setup": setup, **kwargs}
    with pytest.raises(ValueError, match=message):
        profile_inference(data, **kw)


# ----------------------------------------------------------------------------- command line
CONFIG = """
[mock]
seed = 3
n_stars = 1500  # pads to the 2,048-star action batch of the mock above: compiled once
[potential]
disk_mass_factor = 1.1
[abundances]
ratios = ["FE_H", "O_FE"]
"""


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory, fake_oti_mock):
    cfg = load_mock_config(CONFIG)
    path = tmp_path_factory.mktemp("oti_profile_cli") / "mock.fits"
    write_mock_catalogue(fake_oti_mock(cfg), path, cfg)
    return path


def test_cli_profile_summary_plot(catalogue, tmp_path):
    """A real (tiny) run: two elements, so the default joint is the stacked fit."""
    runner = CliRunner()
    out = tmp_path / "prof.h5"
    args = ["oti", "profile", str(catalogue), "--elements", "FE_H,O_FE", "--h-z", "0.32,0.24,0.28", "--bootstrap", "2",
            "--free", "disk_mass_factor", "--metric", "raw", "--k", "16", "--maxiter", "1", "--workers", "1",
            "--no-progress", "-o", str(out)]
    res = runner.invoke(app, args + ["--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["h_z_grid"] == [0.24, 0.28, 0.32] and d["free"] == ["disk_mass_factor"]
    assert d["ratios"] == ["FE_H", "O_FE"] and d["config"]["joint"] == "stacked"
    assert d["config"]["catalogue"]["truth"]["disk_mass_factor"] == 1.1 and d["output"] == str(out)
    assert all(np.isfinite(r["statistic"]) for r in d["grid"]) and "value" in d["best_h_z"]
    back = read_oti_profile(out)
    assert back.joint_samples.shape == (3, 2, 4) and back.to_dict()["grid"] == d["grid"]
    res = runner.invoke(app, args)  # refuses to overwrite
    assert res.exit_code == 2 and "exists" in res.output
    res = runner.invoke(app, ["oti", "summary", str(out)], env={"COLUMNS": "220"})
    assert res.exit_code == 0, res.output
    assert "best h_z" in res.stdout and "M_disk / M*_disk" in res.stdout and "0.280" in res.stdout
    res = runner.invoke(app, ["oti", "summary", str(out), "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["grid"] == d["grid"]
    res = runner.invoke(app, ["oti", "plot", str(out), "-o", str(tmp_path / "figs"), "--json"])
    assert res.exit_code == 0, res.output
    written = json.loads(res.stdout)["written"]
    assert [p.rsplit("/", 1)[-1] for p in written] == ["oti_hz_profile.png"]
    assert (tmp_path / "figs" / "oti_hz_profile.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--h-z", "0.2,-0.1,0.3"], "-0.1"),
        (["--h-z", "0.2,0.3"], "at least 3"),
        (["--h-z", "0.2,x,0.3"], "--h-z"),
        (["--h-z", "0.2,0.25,0.3", "--free", "disk_mass_factor,h_z"], "'h_z' cannot be among"),
        (["--h-z", "0.2,0.25,0.3", "--elements", "FE_H", "--free", "disk_mass_factor,z_sun,v_z_sun"], "residuals"),
    ],
)
def test_cli_profile_errors_exit_2(catalogue, tmp_path, extra, message):
    args = ["oti", "profile", str(catalogue), "--elements", "FE_H,O_FE", "--metric", "raw", "--k", "16",
            "--bootstrap", "2", "--workers", "1", "--no-progress", "-o", str(tmp_path / "x.h5")]
    res = CliRunner().invoke(app, args + extra)
    assert res.exit_code == 2 and message in res.output, res.output
    assert not (tmp_path / "x.h5").exists()
