"""Problem (box priors, logit transform, units) and multi-start Nelder-Mead maximum likelihood."""

import warnings

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate

from diskorbits import units
from diskorbits.sampling import ConvergenceWarning, Problem, maximize_likelihood

# ----------------------------------------------------------------------------- Problem


def test_problem_box_and_log_posterior():
    p = Problem(lambda t: -0.5 * jnp.sum(t**2), ("a", "b"), [-1.0, 0.0], [1.0, 2.0])
    assert p.ndim == 2 and p.lower.dtype == jnp.float64
    lp = jax.jit(jax.vmap(p.log_posterior))(jnp.array([[0.5, 1.0], [0.5, 2.0], [0.5, 2.5]]))
    # inside, on the bound (inside too), outside
    np.testing.assert_allclose(np.asarray(lp), [-0.625, -2.125, -np.inf])
    # outside the box the likelihood is not evaluated there, so no NaN leaks into gradients
    q = Problem(lambda t: jnp.sum(jnp.log(t)), ("x",), [0.5], [1.0])
    val, grad = jax.jit(jax.vmap(jax.value_and_grad(q.log_posterior)))(jnp.array([[-1.0], [0.8]]))
    assert float(val[0]) == -np.inf and np.isfinite(np.asarray(grad)).all()
    assert float(grad[1, 0]) == pytest.approx(1.25)


def test_logit_round_trip_and_jacobian_normalisation():
    lam, lo, hi = 5.0, 0.0, 1.0
    p = Problem(lambda t: -lam * t[0], ("e",), [lo], [hi])
    theta = jnp.array([[1e-9], [0.3], [1.0 - 1e-9]])
    back = jax.jit(jax.vmap(lambda t: p.from_unconstrained(p.to_unconstrained(t))))(theta)
    np.testing.assert_allclose(np.asarray(back), np.asarray(theta), rtol=1e-9, atol=1e-15)
    # the density of u integrates to the mass of theta in the box: int_0^1 e^{-5t} dt
    f = jax.jit(jax.vmap(lambda x: jnp.exp(p.log_density_unconstrained(x[None]))))
    uu = np.linspace(-45.0, 45.0, 200001)
    mass = scipy.integrate.trapezoid(np.asarray(f(jnp.asarray(uu))), uu)
    assert mass == pytest.approx((1.0 - np.exp(-lam)) / lam, rel=1e-8)
    # log-Jacobian against autodiff of the map, in a 2-D box of other widths; no overflow far out
    q = Problem(lambda t: 0.0, ("a", "b"), [-3.0, 10.0], [5.0, 11.0])

    @jax.jit
    def check(u0):
        return q.log_jacobian(u0), jnp.log(jnp.abs(jnp.linalg.det(jax.jacfwd(q.from_unconstrained)(u0))))

    got, want = check(jnp.array([0.7, -2.0]))
    assert float(got) == pytest.approx(float(want), rel=1e-12)
    assert np.isfinite(float(check(jnp.array([800.0, -800.0]))[0]))


def test_problem_from_quantity_bounds_and_points():
    p = Problem.from_bounds(
        lambda t: -jnp.sum(t),
        {"sigma_Lz": (100.0, 2000.0) * u.kpc * u.km / u.s, "tau": (0.5 * u.Gyr, 12 * u.Gyr), "beta": (0.0, 1.0)},
    )
    assert p.kinds == ("action", "time", "dimensionless")
    assert float(p.lower[0]) == pytest.approx(100.0 * units.KPC_KMS) and float(p.upper[1]) == pytest.approx(12000.0)
    np.testing.assert_allclose(p.display_scales, [1.0 / units.KPC_KMS, 1e-3, 1.0], rtol=1e-12)
    x = p.point({"sigma_Lz": 582 * u.kpc * u.km / u.s, "tau": 6 * u.Gyr, "beta": 0.3})
    np.testing.assert_allclose(x * p.display_scales, [582.0, 6.0, 0.3], rtol=1e-12)
    with pytest.raises(u.UnitConversionError, match="sigma_Lz"):
        p.point({"sigma_Lz": 5 * u.km / u.s, "tau": 6 * u.Gyr, "beta": 0.3})
    with pytest.raises(ValueError, match=r"missing parameters \['beta'\]"):
        p.point({"sigma_Lz": 1.0, "tau": 1000.0})
    with pytest.raises(ValueError, match="outside the prior box for \\['beta'\\]"):
        p.point([1.0, 1000.0, 2.0])
    with pytest.raises(ValueError, match="not finite"):
        p.point([np.nan, 1000.0, 0.5])


def test_problem_validation():
    f = lambda t: 0.0
    with pytest.raises(ValueError, match="unique"):
        Problem(f, ("a", "a"), [0, 0], [1, 1])
    with pytest.raises(ValueError, match=r"lower < upper; not so for \['b'\]"):
        Problem(f, ("a", "b"), [0, 2], [1, 1])
    with pytest.raises(ValueError, match="finite"):
        Problem(f, ("a",), [0], [np.inf])
    with pytest.raises(ValueError, match="shape"):
        Problem(f, ("a", "b"), [0], [1])
    with pytest.raises(TypeError, match="callable"):
        Problem(3.0, ("a",), [0], [1])
    with pytest.raises(ValueError, match="not a velocity unit"):
        Problem(f, ("v",), [0], [1], kinds=("velocity",), display_units=("Gyr",))
    with pytest.raises(ValueError, match="unknown unit kinds"):
        Problem(f, ("v",), [0], [1], kinds=("speed",))


# ----------------------------------------------------------------------------- Nelder-Mead

A = np.array([-2.0, -2.0])  # local maximum, log L = log(0.3)
B = np.array([2.0, 1.5])  # global maximum, log L = 0
W = 0.5


def bimodal(t):
    la = jnp.log(0.3) - 0.5 * jnp.sum((t - A) ** 2) / W**2
    lb = -0.5 * jnp.sum((t - B) ** 2) / W**2
    return jnp.logaddexp(la, lb)


@pytest.fixture(scope="module")
def bimodal_problem():
    return Problem(bimodal, ("x", "y"), [-5.0, -5.0], [5.0, 5.0])


def test_global_optimum_found_when_one_start_is_in_its_basin(bimodal_problem):
    starts = np.array([[-2.5, -1.0], [-1.0, -2.8], [-3.0, -3.0], [1.0, 2.0]])  # only the last is near B
    with pytest.warns(ConvergenceWarning, match="disagree") as rec:
        r = maximize_likelihood(bimodal_problem, starts=starts)
    np.testing.assert_allclose(r.x, B, atol=1e-4)
    assert r.log_likelihood == pytest.approx(0.0, abs=1e-8)
    assert r.best_index == 3 and r.n_at_best == 1 and not r.agree
    # the other starts are reported at the local maximum, log(0.3) below
    np.testing.assert_allclose(r.ends[:3], np.tile(A, (3, 1)), atol=1e-3)
    np.testing.assert_allclose(r.values[:3], np.full(3, np.log(0.3)), atol=1e-6)
    assert "3 of 4" in str(rec[0].message)
    assert r.summary()["n_at_best"] == 1


def test_all_starts_agree_on_a_unimodal_target():
    cov = np.array([[1.0, 0.6, 0.0], [0.6, 2.0, 0.3], [0.0, 0.3, 0.5]])
    prec, mu = jnp.asarray(np.linalg.inv(cov)), jnp.array([0.5, -1.0, 2.0])
    p = Problem(lambda t: -0.5 * (t - mu) @ prec @ (t - mu), ("a", "b", "c"), [-10.0] * 3, [10.0] * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        r = maximize_likelihood(p, 4, n_starts=4)
    assert r.agree and r.warnings == () and r.converged.all()
    np.testing.assert_allclose(r.x, np.asarray(mu), atol=1e-4)
    assert np.all(r.spread < 1e-3)
    # random starts lie in the box and differ from each other
    assert np.all((r.starts > -10) & (r.starts < 10)) and np.unique(r.starts[:, 0]).size == 4


def test_lbfgsb_reaches_the_same_optimum_with_far_fewer_evaluations():
    # an ill-conditioned, correlated quadratic with its maximum near a box face
    cov = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.03], [0.0, 0.03, 0.02]])
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    prec, mu = jnp.asarray(np.linalg.inv(cov)), jnp.array([0.5, -1.0, 9.5])
    p = Problem(lambda t: -0.5 * (t - mu) @ prec @ (t - mu), ("a", "b", "c"), [-10.0] * 3, [10.0] * 3)
    nm = maximize_likelihood(p, 2, n_starts=2, warn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        bfgs = maximize_likelihood(p, 2, n_starts=2, method="l-bfgs-b")
    np.testing.assert_array_equal(nm.starts, bfgs.starts)  # same starts from the same key
    np.testing.assert_allclose(bfgs.ends, np.tile(np.asarray(mu), (2, 1)), atol=1e-5)
    np.testing.assert_allclose(nm.x, np.asarray(mu), atol=1e-3)
    assert bfgs.agree and np.all(bfgs.n_evaluations < nm.n_evaluations / 5)


def test_lbfgsb_stays_in_the_box_and_steps_back_from_an_infinite_edge():
    # the maximum lies beyond the model's support (t > 1 is -inf): the optimum is the edge
    p = Problem(lambda t: jnp.where(t[0] < 1.0, -((t[0] - 2.0) ** 2) - t[1] ** 2, -jnp.inf), ("x", "y"), [-3.0, -3.0], [3.0, 3.0])
    r = maximize_likelihood(p, starts=[[-2.0, 1.0]], method="l-bfgs-b", warn=False)
    assert r.x[0] < 1.0 and r.x[0] > 0.5 and abs(r.x[1]) < 1e-4 and np.isfinite(r.log_likelihood)
    q = Problem(lambda t: -jnp.sum((t - 4.0) ** 2), ("x", "y"), [-3.0, -3.0], [3.0, 3.0])
    r = maximize_likelihood(q, starts=[[0.0, 0.0]], method="l-bfgs-b")
    np.testing.assert_allclose(r.x, [3.0, 3.0])  # the box corner, not outside it


def test_starts_around_a_guess(bimodal_problem):
    guess = np.array([-2.2, -1.8])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        r = maximize_likelihood(bimodal_problem, 1, n_starts=5, guess=guess, scale=0.5)
    np.testing.assert_array_equal(r.starts[0], guess)
    assert np.all(np.abs(r.starts - guess) <= 0.5)
    # every start is in the basin of the local maximum: Nelder-Mead cannot know better
    np.testing.assert_allclose(r.x, A, atol=1e-4)
    assert r.agree


def test_optimizer_input_errors(bimodal_problem):
    with pytest.raises(ValueError, match="outside the prior box"):
        maximize_likelihood(bimodal_problem, starts=[[0.0, 6.0]])
    with pytest.raises(ValueError, match=r"starts must have shape \[n, 2\]"):
        maximize_likelihood(bimodal_problem, starts=[0.0, 1.0])
    with pytest.raises(ValueError, match="tolerance"):
        maximize_likelihood(bimodal_problem, n_starts=2, tolerance=-1.0)
    with pytest.raises(ValueError, match="method must be one of"):
        maximize_likelihood(bimodal_problem, n_starts=2, method="bfgs")
    with pytest.raises(ValueError, match="scale needs a guess"):
        maximize_likelihood(bimodal_problem, n_starts=2, scale=1.0)
    q = Problem(lambda t: jnp.where(t[0] > 0.0, -(t[0] ** 2), jnp.nan), ("x",), [-1.0], [1.0])
    with pytest.raises(ValueError, match=r"starts\[0\]: the log-likelihood is not finite"):
        maximize_likelihood(q, starts=[[-0.5]])
