"""OTI objective and inference on a mock with known truth (PW2021 Secs. 6.1-6.2, Table 1)."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diskorbits.parallel import Executor
from diskorbits.potentials import MilkyWayPotential
from diskorbits.potentials.presets import MWP_FIDUCIAL_DISK_MASS
from diskorbits.torusimaging import make_mock
from diskorbits.torusimaging.inference import (
    RatioEstimate,
    a2_scan,
    bootstrap_inference,
    combine,
    derived_quantities,
    disk_to_halo_mass_ratio,
    fit_potential,
    read_oti_result,
    write_oti_result,
)
from diskorbits.torusimaging.objective import (
    OTIData,
    OTISetup,
    differentiable_objective,
    evaluate_objective,
    fiducial_parameters,
    neighbour_lists,
)
from diskorbits.torusimaging.resampling import (
    bootstrap_counts,
    bootstrap_rows,
    resampled_coefficients,
)

TRUE_FACTOR, TRUE_HZ = 1.1, 0.28
N_STARS = 2000  # one compiled action batch (2048)
N_BOOT = 6


@pytest.fixture(scope="module")
def data():
    truth = MilkyWayPotential().with_disk(TRUE_FACTOR, TRUE_HZ)
    # unselected (all azimuths): one integration batch; 300 steps over 0.5-3 Gyr mix the angles
    mock = make_mock(
        jax.random.key(1),
        truth,
        N_STARS,
        selection=None,
        n_steps=300,
        time_range=(500.0, 3000.0),
    )
    return OTIData.from_mock(mock, ratio_names=["[X/Fe]"])


@pytest.fixture(scope="module")
def setup(data):
    # spread metric (balanced action scales), divisor fixed once at the fiducial model
    s = OTISetup(metric="spread")
    return s.fix_scale(data, fiducial_parameters(s))


@pytest.fixture(scope="module")
def x0(setup):
    return fiducial_parameters(
        setup
    )  # the Sun's frame is the mock's (PW2021); disk factor 1.0


def test_scale_is_fixed_across_parameters(data, setup, x0):
    assert OTISetup(metric="spread").scale is None
    with pytest.raises(ValueError, match="fixed scale"):
        evaluate_objective(x0, data, OTISetup(metric="spread"))
    th = x0.copy()
    th[0] = 1.3
    assert np.array_equal(
        setup.fix_scale(data, th).scale, setup.scale
    )  # already fixed: unchanged


def test_differentiable_path_equals_reference(data, setup, x0):
    nb, ok = neighbour_lists(x0, data, setup)
    ref = evaluate_objective(x0, data, setup)
    val = differentiable_objective(jnp.asarray(x0), data, setup, nb, ok)
    np.testing.assert_allclose(np.asarray(val), ref.objective, rtol=1e-9)


def test_a2_changes_sign_across_the_truth(data, setup, x0):
    scan = a2_scan(data, 0, [0.9, 1.1, 1.3], theta=x0, setup=setup, n_bootstrap=N_BOOT)
    a2 = scan.mean[:, 3]
    assert a2[0] < 0 < a2[-1], a2  # too light -> a2 < 0, too heavy -> a2 > 0
    assert abs(scan.crossing - TRUE_FACTOR) < 3 * scan.crossing_error + 0.03, (
        scan.crossing,
        scan.crossing_error,
    )


@pytest.fixture(scope="module")
def inference(data, setup, x0):
    """Gauss-Newton (the default): all trials on one stencil."""
    return bootstrap_inference(
        data,
        n_bootstrap=N_BOOT,
        executor=Executor(n_workers=1),
        seed=3,
        x0=x0,
        setup=setup,
        free=["disk_mass_factor"],
    )


@pytest.fixture(scope="module")
def inference_nm(data, setup, x0):
    """Nelder-Mead (PW2021) on the same resamples."""
    return bootstrap_inference(
        data, n_bootstrap=N_BOOT, seed=3, x0=x0, setup=setup, free=["disk_mass_factor"], method="nelder-mead"
    )


def test_gauss_newton_and_nelder_mead_agree_trial_by_trial(inference, inference_nm):
    gn, nm = inference.estimates["[X/Fe]"], inference_nm.estimates["[X/Fe]"]
    assert inference.config["method"] == "gauss-newton" and inference.config["stencil"]["[X/Fe]"]["converged"]
    sigma = nm.std[0]
    # the same resample per trial: the optima differ by the roughness of the objective (neighbour
    # lists jump), measured at <= 0.6 sigma per trial and 0.1 sigma in the mean
    assert np.all(np.abs(gn.samples[:, 0] - nm.samples[:, 0]) < 0.8 * sigma), (gn.samples[:, 0], nm.samples[:, 0])
    assert abs(gn.mean[0] - nm.mean[0]) < 0.3 * sigma
    assert 0.6 < gn.std[0] / sigma < 1.5
    # ~10 parameter vectors for all trials together against ~20 evaluations per trial (1 free parameter)
    assert gn.n_evaluations[0] <= 8 < nm.n_evaluations.min()


def test_resampled_coefficients_equal_the_explicit_resample(data, setup, x0):
    """Trials as star weights reproduce the objective evaluated on the resampled catalogue."""
    import dataclasses

    th = x0.copy()
    th[0] = 1.2
    for d in (data, dataclasses.replace(data, abundance_errors=None)):
        for weighting in ("linear", "naive"):
            st = dataclasses.replace(setup, weighting=weighting)
            counts = np.stack([bootstrap_counts(d.n_stars, 4, t, 0) for t in range(2)] + [np.ones(d.n_stars, int)])
            fast = resampled_coefficients(th, d, st, counts, [0, 0, 0])
            for t in range(2):
                ref = evaluate_objective(th, d.take(bootstrap_rows(d.n_stars, 4, t, 0)), st)
                np.testing.assert_allclose(fast.coefficients[t], np.asarray(ref.fit.coefficients)[0], rtol=1e-9, atol=1e-15)
                np.testing.assert_allclose(fast.errors[t], np.asarray(ref.fit.errors)[0], rtol=1e-9)
            ref = evaluate_objective(th, d, st)
            np.testing.assert_allclose(fast.coefficients[2], np.asarray(ref.fit.coefficients)[0], rtol=1e-9, atol=1e-15)


def test_resampled_coefficients_refuse_bad_input(data, setup, x0):
    counts = bootstrap_counts(data.n_stars, 0, 0, 0)[None]
    with pytest.raises(ValueError, match="k_super"):  # 64 distinct neighbours hold fewer than 64 copies
        resampled_coefficients(x0, data, setup, counts, [0], k_super=int(setup.k))
    with pytest.raises(ValueError, match="non-negative"):
        resampled_coefficients(x0, data, setup, -counts, [0])
    with pytest.raises(ValueError, match="distinct stars"):
        resampled_coefficients(x0, data.take(np.r_[0, np.arange(data.n_stars - 1)]), setup, counts, [0])
    with pytest.raises(ValueError, match="column"):
        resampled_coefficients(x0, data, setup, counts, [3])


def test_bootstrap_recovers_disk_mass(inference):
    est = inference.estimates["[X/Fe]"]
    assert est.samples.shape == (N_BOOT, 4) and est.success.all()
    mean, err = est.mean[0], est.std[0]
    assert 0.0 < err < 0.2
    assert abs(mean - TRUE_FACTOR) < 2.5 * err + 0.02, (mean, err)
    # fixed parameters stay put and carry no variance
    assert np.all(est.samples[:, 1:] == est.samples[0, 1:]) and np.all(
        est.covariance[1:, :] == 0
    )


class _ReversedExecutor(Executor):
    """Runs the tasks in reverse order (as out-of-order workers would) and returns them in input order.

    Stands in for the process/Dask backends, whose plumbing tests/test_parallel.py covers; spawning
    processes here would recompile the actions in every worker (~1 min)."""

    def map(self, fn, chunks, *, description=""):
        chunks = list(chunks)
        self.calls = getattr(self, "calls", 0) + 1
        return [fn(c) for c in chunks[::-1]][::-1]


def test_trials_do_not_depend_on_the_executor_or_order(data, setup, x0):
    kw = {"n_bootstrap": 2, "seed": 5, "x0": x0, "setup": setup, "free": ["disk_mass_factor"], "maxiter": 3,
          "method": "nelder-mead"}
    serial = bootstrap_inference(data, executor=Executor(n_workers=1), **kw)
    rev = _ReversedExecutor(n_workers=1)
    other = bootstrap_inference(data, executor=rev, **kw)
    assert rev.calls == 1  # the trials fan out through the executor
    np.testing.assert_array_equal(serial.estimates["[X/Fe]"].samples, other.estimates["[X/Fe]"].samples)


def test_combine_two_identical_estimates_halves_the_variance():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(50, 4)) * [0.05, 0.01, 0.001, 0.0002] + [
        1.1,
        0.28,
        0.02,
        0.008,
    ]
    e = RatioEstimate(
        "a", s, np.zeros(50), np.ones(50, int), np.ones(50, bool), np.ones(4, bool)
    )
    j = combine([e, e])
    np.testing.assert_allclose(j.covariance, e.covariance / 2, rtol=1e-12)
    np.testing.assert_allclose(j.mean, e.mean, rtol=1e-12)
    with pytest.raises(ValueError, match="empty"):
        combine([])


def test_combine_intersects_estimates_that_each_leave_a_direction_free():
    """Each 'ratio' constrains only the component across its own line of minima (rank-1 in 2 free
    parameters); the joint estimate is the lines' intersection, parallel lines are refused."""
    rng = np.random.default_rng(1)
    truth = np.array([1.1, 0.28, 0.0208, 0.008])
    free = np.array([True, True, False, False])

    def along_line(direction, offset):
        # a degenerate estimate scatters only across its line; its mean may sit anywhere on it
        n = np.array([-direction[1], direction[0]])  # normal of the line
        s = np.tile(truth, (40, 1))
        s[:, :2] += offset * direction + rng.normal(0, 0.02, 40)[:, None] * n
        return RatioEstimate("r", s, np.zeros(40), np.ones(40, int), np.ones(40, bool), free)

    a = along_line(np.array([1.0, 0.1]), 0.3)  # the mean is 0.3 along line a from the truth
    b = along_line(np.array([1.0, -0.2]), -0.2)
    for e in (a, b):
        assert np.linalg.matrix_rank(e.covariance[:2, :2], tol=1e-12) == 1
    j = combine([a, b])
    np.testing.assert_allclose(j.mean[:2], truth[:2], atol=0.03)
    assert np.all(np.isfinite(j.std[:2])) and np.all(j.std[:2] < 0.2)
    with pytest.raises(ValueError, match="unconstrained"):
        combine([a, along_line(np.array([1.0, 0.1]), -0.1)])
    # a free parameter that no trial moved (Gauss-Newton leaves data-free directions at the start)
    # carries no information: another estimate supplies it, or the combination is refused
    still = RatioEstimate("s", a.samples.copy(), a.objective, a.n_evaluations, a.success, free)
    still.samples[:, 0] = truth[0] + rng.normal(0, 0.02, 40)  # constrains the factor only
    still.samples[:, 1] = truth[1] + 0.5  # h_z never moved: any value, no information
    j = combine([still, b])
    np.testing.assert_allclose(j.mean[:2], truth[:2], atol=0.03)  # b's line at the factor
    with pytest.raises(ValueError, match="unconstrained"):
        combine([still])


def test_derived_disk_mass_matches_the_potential():
    theta = np.array([1.21, 0.27, 0.0169, 0.009])
    pot = MilkyWayPotential().with_disk(1.21, 0.27)
    cov = np.diag([0.04, 0.01, 1e-6, 1e-6]) ** 2
    d = derived_quantities(theta, cov)
    assert d["disk_mass"][0] == pytest.approx(float(pot.disk.m), rel=1e-12)
    assert d["disk_mass"][1] == pytest.approx(0.04 * MWP_FIDUCIAL_DISK_MASS, rel=1e-12)
    # PW2021 Table 1: 2.11 +- 0.21 for (1.21, 0.27 kpc); fiducial ~1.3
    assert float(disk_to_halo_mass_ratio(theta)) == pytest.approx(2.1, abs=0.05)
    assert float(disk_to_halo_mass_ratio([1.0, 0.28, 0.0, 0.0])) == pytest.approx(
        1.3, abs=0.05
    )
    assert 0.05 < d["disk_to_halo_mass_ratio"][1] < 0.5


def test_result_round_trip_and_json(inference, tmp_path):
    path = write_oti_result(tmp_path / "oti.h5", inference)
    back = read_oti_result(path)
    np.testing.assert_array_equal(
        back.estimates["[X/Fe]"].samples, inference.estimates["[X/Fe]"].samples
    )
    d = json.loads(json.dumps(inference.to_dict()))
    assert d["ratios"]["[X/Fe]"]["disk_mass_factor"]["mean"] == pytest.approx(
        inference.joint.mean[0]
    )
    assert d["joint"]["z_sun"]["unit"] == "pc" and d["free"] == ["disk_mass_factor"]


def test_misuse_raises(data, setup):
    with pytest.raises(ValueError, match="method"):
        fit_potential(data, method="bfgs", setup=setup)
    with pytest.raises(ValueError, match="unknown parameter"):
        fit_potential(data, setup=setup, free=["mass"])
    with pytest.raises(ValueError, match="unknown abundance ratio"):
        fit_potential(data, ratio="[Mg/Fe]", setup=setup)
    with pytest.raises(ValueError, match="theta"):
        evaluate_objective([1.0, 0.28], data, setup)
    with pytest.raises(ValueError, match="do not apply"):  # Nelder-Mead tolerances are not Gauss-Newton's
        bootstrap_inference(data, n_bootstrap=2, setup=setup, xatol=0.1)
    with pytest.raises(ValueError, match="warm_start"):
        bootstrap_inference(data, n_bootstrap=2, setup=setup, warm_start=True)


# ----------------------------------------------------------------------------- stacked joint fit
@pytest.fixture(scope="module")
def two_ratios(data):
    """The mock's ratio plus a noisier copy: the same action dependence, so the ratios are correlated."""
    import dataclasses

    rng = np.random.default_rng(5)
    y = data.abundances[:, 0]
    e = data.abundance_errors[:, 0]
    extra = 0.02
    return dataclasses.replace(
        data,
        abundances=np.column_stack([y, y + rng.normal(0.0, extra, y.size)]),
        abundance_errors=np.column_stack([e, np.hypot(e, extra)]),
        ratio_names=("A", "B"),
    )


def test_stacked_joint_fit_agrees_with_the_combination_for_one_parameter(two_ratios, setup, x0):
    res = bootstrap_inference(
        two_ratios, n_bootstrap=N_BOOT, seed=3, x0=x0, setup=setup, free=["disk_mass_factor"], joint="stacked"
    )
    assert res.config["joint"] == "stacked" and res.config["stencil"]["stacked"]["converged"]
    stacked, comb = res.joint, combine(res.estimates.values())
    assert stacked.ratios == ("A", "B") and res.stacked.samples.shape == (N_BOOT, 4)
    # the same information: means within the errors; the stacked error is not smaller than the
    # combination's, which treats the (here strongly) correlated ratios as independent
    assert abs(stacked.mean[0] - comb.mean[0]) < comb.std[0], (stacked.mean[0], comb.mean[0], comb.std[0])
    assert stacked.std[0] > 0.8 * comb.std[0]
    assert res.to_dict()["joint_method"] == "stacked"
    with pytest.raises(ValueError, match="gauss-newton"):
        bootstrap_inference(two_ratios, n_bootstrap=2, x0=x0, setup=setup, method="nelder-mead", joint="stacked")
    with pytest.raises(ValueError, match="'joint'"):
        bootstrap_inference(two_ratios, n_bootstrap=2, x0=x0, setup=setup, joint="product")


def test_stacked_fit_reports_the_mass_scale_height_degeneracy(two_ratios, setup, x0, tmp_path):
    """Two ratios with the same action dependence cannot separate disk mass from h_z on 2,000 stars."""
    start = x0.copy()
    start[1] = 0.25
    with pytest.warns(UserWarning, match="unconstrained"):
        res = bootstrap_inference(
            two_ratios, n_bootstrap=N_BOOT, seed=3, x0=start, setup=setup, free=["disk_mass_factor", "h_z"],
            joint="stacked",
        )
    assert res.config["stencil"]["stacked"]["unconstrained_directions"] == 1
    with pytest.raises(ValueError, match="unconstrained"):
        res.joint
    summary = res.to_dict()  # the per-ratio results stay usable, the joint says why it is missing
    assert summary["joint"] is None and "unconstrained" in summary["joint_error"]
    path = write_oti_result(tmp_path / "stacked.h5", res)
    back = read_oti_result(path)
    np.testing.assert_array_equal(back.stacked.samples, res.stacked.samples)
    assert back.to_dict()["joint"] is None
