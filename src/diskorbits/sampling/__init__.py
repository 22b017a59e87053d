"""Generic inference drivers: maximum likelihood, emcee and NUTS sampling, convergence diagnostics.

Everything works on a :class:`Problem` -- a JAX log-likelihood of a flat
float64 parameter vector, parameter names and a uniform prior box (the
priors of Frankel et al. 2020, Sec. 4.3):

* :func:`maximize_likelihood` -- multi-start Nelder-Mead inside the box, with a
  warning when the starts end on different optima (:class:`OptimizeResult`);
* :func:`run_emcee` -- emcee's stretch move, walkers vectorised with
  ``jax.vmap`` and started in a hypercube around a point, as in the paper;
* :func:`run_nuts` -- NUTS (BlackJAX kernel) in the logit-transformed box with
  Stan-style warmup, several chains in lock step;
* :func:`diagnose` -- autocorrelation times, rank-normalised split R-hat,
  bulk/tail ESS (Vehtari et al. 2021) and :class:`ConvergenceWarning` for runs
  that are too short or unmixed.

Both samplers run in chunks, show progress (:mod:`diskorbits.progress`), write
a :class:`SamplingResult` file atomically after every chunk and resume it
bit-identically (:func:`read_result` reads it back).
"""

from .diagnostics import (
    ConvergenceWarning,
    Diagnostics,
    diagnose,
    ess_bulk,
    ess_tail,
    integrated_time,
    split_rhat,
)
from .ensemble import run_emcee
from .nuts import laplace_covariance, run_nuts
from .optimize import OptimizeResult, maximize_likelihood
from .problem import Problem
from .results import RESULT_FORMAT, SamplingResult, read_result

__all__ = [
    "RESULT_FORMAT",
    "ConvergenceWarning",
    "Diagnostics",
    "OptimizeResult",
    "Problem",
    "SamplingResult",
    "diagnose",
    "ess_bulk",
    "ess_tail",
    "integrated_time",
    "laplace_covariance",
    "maximize_likelihood",
    "read_result",
    "run_emcee",
    "run_nuts",
    "split_rhat",
]
