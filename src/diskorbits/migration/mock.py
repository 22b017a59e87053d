"""Mock red-clump surveys with known truth for the Frankel et al. (2020) model.

:func:`make_mock` draws stars from the data model of Frankel et al. (2020),
Eq. 14 -- the Milky Way model ``p_MW`` (Appendix A) times the spatial
selection ``S(l, b, D)`` times the red-clump fraction ``f_RC(tau)`` -- adds
the measurement noise of their Sec. 2.2 and returns a catalogue with
observables, uncertainties, catalogue-style Galactocentric coordinates and
actions, and the true values.

How the stars are drawn
-----------------------
Exactly as the survey volume is computed (Appendix B): proposals from the
simple galaxy of :func:`~diskorbits.migration.samples.draw_proposal`
(positions from the selection's sampler, Gaussian velocities, ages from
``f_RC``, ``L_z0`` around ``L_z``), then rejection sampling with acceptance
``w / M``, ``w`` the ratio of the target density
``p(L_z0, tau, J_R, L_z, z | params) D^2 S f_RC g(v_z) / (2 pi)^2`` to the
proposal density (Eq. B7 with the true parameters in place of ``p_prop``).
The bound ``M`` is ``safety`` times the largest weight of the first batch;
should a later batch exceed it, the bound is raised and the draw restarts
(so no accepted star ever had ``w > M``). The accepted stars follow the
model exactly, with the actions of ``setup.method``; [Fe/H] is the birth
value ``F(L_z0, tau)`` of Eqs. 7-10 (no intrinsic scatter, as in the model).

Noise (:class:`NoiseModel`, Sec. 2.2)
-------------------------------------
* distance: log-normal, 7%: ``ln D_obs ~ N(ln D, 0.07)``;
* age: 0.15 dex: ``log10 tau_obs ~ N(log10 tau, 0.15)``;
* [Fe/H]: Gaussian, 0.05 dex;
* proper motions: Gaussian, 0.05 mas/yr in each of ``pmra`` (mu_alpha*) and ``pmdec`` (Gaia DR2-like);
* line-of-sight velocity: Gaussian with a per-star error uniform in [0.1, 0.5] km/s (APOGEE-like).

Catalogue columns
-----------------
Observables and uncertainties (the likelihood reads these):
``l, b, ra, dec`` [deg]; ``distance``, ``distance_err`` [kpc]
(``distance_err / distance`` is the log-normal width); ``pmra, pmdec,
pmra_err, pmdec_err`` [mas/yr]; ``rv, rv_err`` [km/s]; ``age`` [Gyr],
``age_err_dex`` [dex]; ``feh, feh_err`` [dex].
Catalogue-style quantities computed from the *noisy* observables:
``R, z`` [kpc], ``phi`` [rad], ``v_R, v_phi, v_z`` [km/s], ``J_R, L_z, J_z``
[kpc km/s], ``actions_flag``.
Truth: ``<name>_true`` for ``distance, pmra, pmdec, rv, age, feh, R, phi, z,
v_R, v_phi, v_z, J_R, L_z, J_z``, plus ``L_z0_true`` [kpc km/s] and
``field`` (the selection region the star was drawn in).
The table's ``meta`` records the parameters, noise, proposal, setup, seed
and acceptance statistics.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings

import jax.numpy as jnp
import numpy as np
from astropy.table import Table

from .. import (
    _config,  # noqa: F401  (float64)
    units,
)
from ..actions.compute import CHUNK
from .model import birth_feh
from .parameters import NAMES, ModelParameters, table1
from .samples import (
    ProposalConfig,
    SurveySetup,
    _cartesian_to_observed,
    _cylindrical,
    _rng,
    draw_proposal,
    sample_actions,
)

__all__ = ["MOCK_UNITS", "NoiseModel", "make_mock", "write_mock"]

_LN10 = math.log(10.0)

#: Units of the mock catalogue's columns ("" = dimensionless; [Fe/H] and age errors are in dex).
MOCK_UNITS: dict[str, str] = {
    "l": "deg", "b": "deg", "ra": "deg", "dec": "deg",
    "distance": "kpc", "distance_err": "kpc",
    "pmra": "mas / yr", "pmdec": "mas / yr", "pmra_err": "mas / yr", "pmdec_err": "mas / yr",
    "rv": "km / s", "rv_err": "km / s",
    "age": "Gyr", "age_err_dex": "", "feh": "", "feh_err": "",
    "R": "kpc", "phi": "rad", "z": "kpc", "v_R": "km / s", "v_phi": "km / s", "v_z": "km / s",
    "J_R": "kpc km / s", "L_z": "kpc km / s", "J_z": "kpc km / s", "actions_flag": "",
}  # fmt: skip
_TRUE = ("distance", "pmra", "pmdec", "rv", "age", "feh", "R", "phi", "z", "v_R", "v_phi", "v_z", "J_R", "L_z", "J_z")


@dataclasses.dataclass(frozen=True)
class NoiseModel:
    """Measurement noise of a Frankel et al. (2020)-like red-clump catalogue (Sec. 2.2).

    Attributes
    ----------
    distance_frac : float
        Log-normal distance width (default 0.07: "about 7%", Ting & Rix 2019 distances).
    age_dex : float
        Age width in dex (default 0.15, the spectroscopic ages of Ting & Rix 2019).
    feh_dex : float
        [Fe/H] width in dex (default 0.05, ASPCAP).
    pm_masyr : float
        Proper-motion width in mas/yr, each component (default 0.05, Gaia DR2-like).
    rv_kms_min, rv_kms_max : float
        Per-star line-of-sight velocity errors are uniform in this range, km/s
        (default 0.1-0.5, APOGEE-like).

    All must be finite and >= 0; :meth:`none` gives a noise-free catalogue.

    Raises
    ------
    ValueError
        Naming the attribute that is negative or not finite, or if ``rv_kms_min > rv_kms_max``.
    """

    distance_frac: float = 0.07
    age_dex: float = 0.15
    feh_dex: float = 0.05
    pm_masyr: float = 0.05
    rv_kms_min: float = 0.1
    rv_kms_max: float = 0.5

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            try:
                x = float(v)
            except (TypeError, ValueError):
                raise TypeError(f"NoiseModel.{f.name} must be a number, got {type(v).__name__}") from None
            if not (math.isfinite(x) and x >= 0):
                raise ValueError(f"NoiseModel.{f.name} must be finite and >= 0, got {v!r}")
            object.__setattr__(self, f.name, x)
        if self.rv_kms_min > self.rv_kms_max:
            raise ValueError(f"NoiseModel.rv_kms_min ({self.rv_kms_min}) must not exceed rv_kms_max ({self.rv_kms_max})")

    @classmethod
    def none(cls) -> NoiseModel:
        """No noise: observed values equal the truth (errors are 0)."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)

    def describe(self) -> dict:
        return dataclasses.asdict(self)


def make_mock(
    n_stars: int,
    setup: SurveySetup,
    *,
    params: ModelParameters | None = None,
    noise: NoiseModel = NoiseModel(),
    rng=0,
    proposal: ProposalConfig | None = None,
    batch_size: int = CHUNK,
    safety: float = 2.0,
    max_batches: int = 1000,
    executor=None,
) -> Table:
    """A mock survey of ``n_stars`` red-clump stars from the Frankel et al. (2020) model, with noise and truth.

    Parameters
    ----------
    n_stars : int
        Number of stars in the catalogue.
    setup : SurveySetup
        Selection, potential, action method, frame, f_RC, vertical law.
    params : ModelParameters, optional
        True parameters (default :func:`~diskorbits.migration.table1`).
    noise : NoiseModel
        Measurement noise (default: the paper's, Sec. 2.2).
    rng : numpy.random.Generator or int
        Randomness (an integer is a seed, recorded in ``meta``).
    proposal : ProposalConfig, optional
        The simple galaxy the rejection sampler draws from (default ``ProposalConfig()``).
    batch_size : int
        Proposals per batch (default 8192, one action-engine chunk).
    safety : float
        Factor (> 1) on the largest weight of the first batch that sets the rejection bound.
    max_batches : int
        Give up after this many batches.
    executor : diskorbits.parallel.Executor, optional
        For the action computations.

    Returns
    -------
    astropy.table.Table
        Columns as in the module notes, with units; ``meta`` holds the run's configuration.

    Raises
    ------
    TypeError, ValueError
        For arguments of the wrong type or range, or a parameter set with a
        batch parameter shape.
    RuntimeError
        If ``max_batches`` batches do not yield ``n_stars`` stars.

    Examples
    --------
    >>> from diskorbits.migration.selection import NoSelection
    >>> from diskorbits.migration.samples import SurveySetup
    >>> setup = SurveySetup(NoSelection(d_max=3.0, b_max=25.0))        # doctest: +SKIP
    >>> cat = make_mock(1000, setup, rng=1)                              # doctest: +SKIP
    >>> write_mock(cat, "mock.fits")                                     # doctest: +SKIP
    """
    if not isinstance(setup, SurveySetup):
        raise TypeError(f"'setup' must be a SurveySetup, got {type(setup).__name__}")
    if not isinstance(noise, NoiseModel):
        raise TypeError(f"'noise' must be a NoiseModel, got {type(noise).__name__}")
    if int(n_stars) != n_stars or n_stars < 1:
        raise ValueError(f"'n_stars' must be a positive integer, got {n_stars!r}")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"'batch_size' must be a positive integer, got {batch_size!r}")
    if not (math.isfinite(float(safety)) and safety > 1.0):
        raise ValueError(f"'safety' must be a finite number > 1, got {safety!r}")
    params = table1() if params is None else params
    proposal = ProposalConfig() if proposal is None else proposal
    if not isinstance(params, ModelParameters) or params.batch_shape != ():
        raise ValueError("'params' must be one ModelParameters set (scalar fields)")
    seed = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
    gen = _rng(rng)
    n_stars, batch_size = int(n_stars), int(batch_size)

    kept, n_drawn, restarts, log_M = [], 0, 0, None
    log_w_sum = -np.inf
    for _ in range(int(max_batches)):
        batch = draw_proposal(gen, batch_size, setup, proposal, executor=executor)
        log_w = batch.log_target_weight(params, setup)
        n_drawn += batch_size
        log_w_sum = np.logaddexp(log_w_sum, _logsumexp(log_w))
        top = float(np.max(log_w))
        if not math.isfinite(top):
            raise ValueError("no proposal in the batch has a non-zero model density; check the selection and the parameters")
        if log_M is None or top > log_M:
            if log_M is not None:
                # The bound was too small: raise it and start again, so that
                # every accepted star was drawn under a valid bound.
                restarts += 1
                kept, n_drawn = [], batch_size
                log_w_sum = _logsumexp(log_w)
            log_M = top + math.log(safety)
        accept = np.log(gen.uniform(0.0, 1.0, batch_size)) < log_w - log_M
        kept.append(batch.subset(accept))
        if sum(len(k) for k in kept) >= n_stars:
            break
    else:
        raise RuntimeError(
            f"{max_batches} batches of {batch_size} proposals gave only {sum(len(k) for k in kept)} of {n_stars} stars; "
            "raise 'max_batches' or bring the ProposalConfig closer to the model"
        )
    n_kept = sum(len(k) for k in kept)
    # Proposals come ordered by field (and the last batch is only partly
    # needed): a uniformly random subset of the accepted stars keeps the draw exact.
    pick = gen.permutation(n_kept)[:n_stars]
    truth = {k: np.concatenate([getattr(s, k) for s in kept])[pick] for k in (
        "l", "b", "D", "field", "R", "phi", "z", "v_R", "v_phi", "v_z", "tau", "lz0", "J_R", "L_z", "J_z"
    )}  # fmt: skip
    truth["feh"] = np.asarray(birth_feh(params, jnp.asarray(truth["lz0"]), jnp.asarray(truth["tau"]), setup.constants))
    obs_true = _cartesian_to_observed(truth["R"], truth["phi"], truth["z"], truth["v_R"], truth["v_phi"], truth["v_z"], setup.sun)

    table = _observe(gen, truth, obs_true, noise, setup, executor)
    table.meta.update(
        {
            "generator": "diskorbits.migration.make_mock",
            "version": _version(),
            "seed": -1 if seed is None else seed,
            "params": json.dumps(dict(zip(NAMES, [float(v) for v in np.asarray(params.to_vector())]))),
            "noise": json.dumps(noise.describe()),
            "proposal": json.dumps(proposal.describe()),
            "setup": json.dumps(setup.describe(), default=str),
            "n_proposals": int(n_drawn),
            "n_accepted": int(n_kept),
            "acceptance": float(n_kept / n_drawn),
            "bound_restarts": int(restarts),
            # mean target/proposal weight: V_S(params) of this run's proposals (Eq. B8)
            "volume": float(np.exp(log_w_sum - math.log(n_drawn))),
        }
    )
    return table


def _logsumexp(a) -> float:
    a = np.asarray(a, dtype=np.float64)
    m = np.max(a)
    if not np.isfinite(m):
        return float(m)
    return float(m + np.log(np.sum(np.exp(a - m))))


def _version() -> str:
    try:
        from .. import __version__

        return str(__version__)
    except ImportError:  # pragma: no cover
        return "unknown"


def _observe(gen, truth, obs_true, noise: NoiseModel, setup: SurveySetup, executor) -> Table:
    """Add noise to the true observables and assemble the catalogue."""
    n = truth["D"].size
    eps = gen.standard_normal((6, n))
    D = truth["D"] * np.exp(noise.distance_frac * eps[0])
    age_true = truth["tau"] / units.GYR
    age = age_true * 10.0 ** (noise.age_dex * eps[1])
    feh = truth["feh"] + noise.feh_dex * eps[2]
    pmra = np.asarray(obs_true["pmra"]) + noise.pm_masyr * eps[3]
    pmdec = np.asarray(obs_true["pmdec"]) + noise.pm_masyr * eps[4]
    rv_err = gen.uniform(noise.rv_kms_min, noise.rv_kms_max, n) if noise.rv_kms_max > 0 else np.zeros(n)
    rv = np.asarray(obs_true["rv"]) + rv_err * eps[5]
    ra, dec = np.asarray(obs_true["ra"]), np.asarray(obs_true["dec"])

    # What a catalogue would list: Galactocentric coordinates and actions of the noisy observables.
    cyl = _cylindrical(ra, dec, D, pmra, pmdec, rv, setup.sun)
    act = sample_actions(setup, cyl["R"], cyl["z"], cyl["v_R"], cyl["v_phi"], cyl["v_z"], executor=executor)
    nbad = int(np.count_nonzero(act["flag"]))
    if nbad:
        warnings.warn(f"actions of the noisy observables failed for {nbad} mock stars (actions_flag != 0)", stacklevel=3)

    v, a = units.KMS, units.KPC_KMS
    cols = {
        "l": truth["l"], "b": truth["b"], "ra": ra, "dec": dec,
        "distance": D, "distance_err": noise.distance_frac * D,
        "pmra": pmra, "pmdec": pmdec, "pmra_err": np.full(n, noise.pm_masyr), "pmdec_err": np.full(n, noise.pm_masyr),
        "rv": rv, "rv_err": rv_err,
        "age": age, "age_err_dex": np.full(n, noise.age_dex), "feh": feh, "feh_err": np.full(n, noise.feh_dex),
        "R": cyl["R"], "phi": cyl["phi"], "z": cyl["z"],
        "v_R": cyl["v_R"] / v, "v_phi": cyl["v_phi"] / v, "v_z": cyl["v_z"] / v,
        "J_R": act["J_R"] / a, "L_z": act["L_z"] / a, "J_z": act["J_z"] / a, "actions_flag": act["flag"],
        "distance_true": truth["D"], "pmra_true": np.asarray(obs_true["pmra"]), "pmdec_true": np.asarray(obs_true["pmdec"]),
        "rv_true": np.asarray(obs_true["rv"]), "age_true": age_true, "feh_true": truth["feh"],
        "R_true": truth["R"], "phi_true": truth["phi"], "z_true": truth["z"],
        "v_R_true": truth["v_R"] / v, "v_phi_true": truth["v_phi"] / v, "v_z_true": truth["v_z"] / v,
        "J_R_true": truth["J_R"] / a, "L_z_true": truth["L_z"] / a, "J_z_true": truth["J_z"] / a,
        "L_z0_true": truth["lz0"] / a, "field": truth["field"],
    }  # fmt: skip
    table = Table()
    for name, values in cols.items():
        table[name] = np.asarray(values)
        base = name.removesuffix("_true")
        unit = "kpc km / s" if name == "L_z0_true" else MOCK_UNITS.get(base, "")
        if unit:
            table[name].unit = unit
    return table


def write_mock(table: Table, path, *, overwrite: bool = False):
    """Write a mock catalogue (FITS, CSV, ECSV or Parquet by extension) atomically, with units and metadata.

    Thin wrapper around :func:`diskorbits.io.write_table`; returns the path.
    """
    from ..io import write_table

    if not isinstance(table, Table):
        raise TypeError(f"'table' must be an astropy Table (from make_mock), got {type(table).__name__}")
    return write_table(table, path, overwrite=overwrite)
