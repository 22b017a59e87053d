"""A Table-1-like summary of a migration fit, its convergence diagnostics and the Sec. 6 quantities.

:func:`summarize` turns a :class:`~diskorbits.migration.inference.MigrationFit`
into plain data (:meth:`FitSummary.to_dict`, what ``diskorbits migration
summary --json`` prints):

* per parameter (display units): the maximum-likelihood value, the
  posterior median and 16th/84th percentiles, mean and standard deviation,
  the prior box, split R-hat, bulk/tail ESS and autocorrelation time, next
  to Frankel et al. (2020) Table 1 and the values quoted in the running text
  (:func:`~diskorbits.migration.parameters.table1`,
  :func:`~diskorbits.migration.parameters.text_values`);
* the warnings of the optimiser and the sampler, plus two of its own: an
  MLE on a face of the prior box, and a posterior piled up against one;
* the derived quantities of Sec. 6 (:mod:`~diskorbits.migration.derived`)
  at age ``tau`` (default 6 Gyr) evaluated on the posterior samples and at
  the MLE, with the paper's numbers alongside (:data:`PAPER_DERIVED`):
  rms Delta L_z (Eq. 21; and its exact truncated form at birth radii 6, 8,
  12 kpc), the migration distance, the drift share, rms Delta J_R (Eq. 22)
  and <J_R> at 6, 8, 12 kpc, the ratio of Eq. 24, the Sun's birth L_z0 and
  radius (Sec. 6.4) and the 95% ranges of its siblings (Sec. 6.5).

Derived quantities use the model's fixed constants
(:data:`~diskorbits.migration.model.DEFAULT_CONSTANTS`: v_circ = 235 km/s,
tau_m = 6 Gyr) and, for kappa, the guiding table of MWPotential2014 unless
another ``table`` is given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import astropy.units as u
import jax
import numpy as np

from .. import (
    _config,  # noqa: F401  (float64)
    units,
)
from .derived import (
    drift_fraction,
    mean_radial_action,
    migration_distance,
    rms_delta_jr,
    rms_delta_lz,
    rms_delta_lz_truncated,
    solar_birth,
    solar_siblings,
)
from .inference import MigrationFit
from .model import DEFAULT_CONSTANTS, GuidingTable
from .parameters import NAMES, table1, text_values

__all__ = ["DEFAULT_RADII", "PAPER_DERIVED", "FitSummary", "summarize"]

#: Galactocentric radii of Frankel et al. (2020) Fig. 7, kpc.
DEFAULT_RADII: tuple[float, ...] = (6.0, 8.0, 12.0)

#: Published derived numbers of Frankel et al. (2020) (``paper-numbers.md``): value, unit, where.
PAPER_DERIVED: dict[str, dict] = {
    "rms_delta_lz": {"value": 619.0, "unit": "kpc km/s", "ref": "Eq. 23 at tau = 6 Gyr"},
    "migration_distance": {"value": 2.6, "unit": "kpc", "ref": "Sec. 6.1, Fig. 7 (v_circ = 235 km/s)"},
    "drift_fraction": {"value": 0.2, "unit": "", "ref": "Sec. 6.1 ('~20%' of the variance)"},
    "rms_delta_jr_8kpc": {"value": 63.0, "unit": "kpc km/s", "ref": "Eq. 23 at tau = 6 Gyr, 8 kpc"},
    "mean_radial_action_8kpc": {"value": 45.0, "unit": "kpc km/s", "ref": "Sec. 6.1 (<J_R> = sigma_R^2 / kappa)"},
    "action_change_ratio_8kpc": {"value": 0.1, "unit": "", "ref": "Eq. 24 ('~0.1')"},
    "sun_lz0": {"value": 1824.0, "error": 127.0, "unit": "kpc km/s", "ref": "Sec. 6.4"},
    "sun_R0": {"value": 7.8, "error": 0.6, "unit": "kpc", "ref": "Sec. 6.4"},
    "siblings_lz_low": {"value": 550.0, "unit": "kpc km/s", "ref": "Sec. 6.5 (95%)"},
    "siblings_lz_high": {"value": 2770.0, "unit": "kpc km/s", "ref": "Sec. 6.5 (95%)"},
    "siblings_jr_high": {"value": 130.0, "unit": "kpc km/s", "ref": "Sec. 6.5 (95%)"},
}

# A value within this fraction of the box width from a face counts as "on the face".
_EDGE_FRACTION = 1e-3
# A posterior with more than this share of draws in the outer 1% of the box is piled up there.
_PILE_FRACTION = 0.05

_KPC_KMS = u.kpc * u.km / u.s


@dataclasses.dataclass(frozen=True)
class FitSummary:
    """Plain-data summary of a :class:`~diskorbits.migration.inference.MigrationFit`.

    Attributes
    ----------
    parameters : dict
        ``{name: {unit, mle, median, p16, p84, mean, std, table1, text, lower, upper,
        rhat, ess_bulk, ess_tail, tau}}`` in display units (None where not available).
    derived : dict
        ``{key: {unit, mle, median, p16, p84, paper?, paper_error?, ref?, description}}``.
    sampling : dict
        Sampler, completeness, chains, draws, burn, number of pooled samples, timings,
        log-likelihood at the MLE, agreement of the MLE starts.
    warnings : tuple of str
        Optimiser, sampler and prior-box warnings.
    run : dict
        Seed, version, selection and catalogue descriptions, the age of the derived
        quantities (Gyr) and the radii (kpc).
    """

    parameters: dict
    derived: dict
    sampling: dict
    warnings: tuple[str, ...]
    run: dict

    def to_dict(self) -> dict:
        """Everything as JSON-ready nested dicts and lists."""
        return {
            "parameters": self.parameters,
            "derived": self.derived,
            "sampling": self.sampling,
            "warnings": list(self.warnings),
            "run": self.run,
            "paper": {"table1": _display(table1()), "text": _display(text_values()), "derived": PAPER_DERIVED},
        }


def _display(p) -> dict:
    return {n: float(v) for n, v in p.display().items()}


def _stats(values) -> dict:
    x = np.asarray(values, dtype=np.float64)
    q16, q50, q84 = np.percentile(x, [16, 50, 84])
    return {"median": float(q50), "p16": float(q16), "p84": float(q84)}


def _quantity(x, unit) -> np.ndarray:
    return np.asarray(x.to_value(unit) if isinstance(x, u.Quantity) else x, dtype=np.float64)


def summarize(
    fit: MigrationFit,
    *,
    tau=6.0 * u.Gyr,
    radii: Sequence[float] = DEFAULT_RADII,
    max_samples: int = 2000,
    key=None,
    n_siblings: int = 50_000,
    sibling_samples: int = 16,
    table: GuidingTable | None = None,
    derived: bool = True,
) -> FitSummary:
    """Summarise a migration fit: Table 1 view, diagnostics, Sec. 6 derived quantities.

    Parameters
    ----------
    fit : MigrationFit
    tau : Quantity or float, time (plain numbers Myr)
        Age at which the derived quantities are evaluated (Eq. 23 uses 6 Gyr).
    radii : sequence of float, kpc
        Guiding radii for rms Delta J_R and <J_R>, and birth radii (L_z0 = R v_circ)
        for the truncated rms Delta L_z (Fig. 7: 6, 8, 12 kpc; 8 kpc is always added).
    max_samples : int
        Posterior draws used for the derived quantities (evenly thinned).
    key : jax PRNG key or int, optional
        For the siblings' Monte Carlo (Sec. 6.5): one
        :func:`~diskorbits.migration.derived.solar_siblings` call on the batch
        ``[MLE, draws...]`` with this key; default ``fold_in(key(fit.seed), 2)``.
    n_siblings : int
        Siblings drawn per parameter set (MLE and each chosen posterior draw).
    sibling_samples : int
        Posterior draws (evenly spaced) for which the siblings' ranges are computed
        (0: at the MLE only).
    table : GuidingTable, optional
        Source of kappa (default MWPotential2014, as in the paper).
    derived : bool
        Compute the Sec. 6 quantities (False: parameters and diagnostics only, fast).

    Returns
    -------
    FitSummary

    Raises
    ------
    TypeError
        If ``fit`` is not a MigrationFit.
    ValueError
        If the fit has neither an MLE nor posterior samples, or for bad settings.
    """
    if not isinstance(fit, MigrationFit):
        raise TypeError(f"'fit' must be a MigrationFit, got {type(fit).__name__}")
    if fit.mle is None and not fit.has_samples:
        raise ValueError("the fit has neither a maximum-likelihood point nor posterior samples")
    for name, v, lo in (("max_samples", max_samples, 1), ("n_siblings", n_siblings, 100), ("sibling_samples", sibling_samples, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"'{name}' must be an integer >= {lo}, got {v!r}")
    tau_myr = float(units.to_internal(tau, "time", "tau"))
    if not (np.isfinite(tau_myr) and tau_myr > 0):
        raise ValueError(f"'tau' must be a positive time, got {tau!r}")
    radii = tuple(float(units.to_internal(r, "length", "radii")) for r in radii)
    if any(not (np.isfinite(r) and r > 0) for r in radii):
        raise ValueError(f"'radii' must be positive, got {radii!r}")
    if 8.0 not in radii:
        radii = tuple(sorted(radii + (8.0,)))
    if key is None:
        key = jax.random.fold_in(jax.random.key(fit.seed), 2)
    elif isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        key = jax.random.key(int(key))

    samples = fit.samples(max_samples=max_samples) if fit.has_samples else None
    mle = fit.mle_vector
    warnings_: list[str] = []
    if fit.mle is not None:
        warnings_ += [f"MLE: {w}" for w in fit.mle.warnings]
    if fit.sampling is not None and fit.sampling.diagnostics is not None:
        warnings_ += [f"{fit.sampler}: {w}" for w in fit.sampling.diagnostics.warnings]
    if fit.sampling is not None and not fit.sampling.complete:
        warnings_.append(f"{fit.sampler}: the run is unfinished ({fit.sampling.n_draws} draws so far); resume it")
    warnings_ += _edge_warnings(fit, samples)

    return FitSummary(
        parameters=_parameter_table(fit),
        derived=_derived(mle, samples, tau_myr, radii, key, n_siblings, sibling_samples, table) if derived else {},
        sampling=_sampling_info(fit, samples),
        warnings=tuple(warnings_),
        run={
            "seed": fit.seed, "version": fit.version, "complete": fit.complete, "sampler": fit.sampler,
            "selection": fit.selection, "catalogue": fit.catalogue, "tau_gyr": tau_myr / units.GYR,
            "radii_kpc": list(radii), "config": fit.config,
        },
    )  # fmt: skip


def _parameter_table(fit: MigrationFit) -> dict:
    t1, tx = _display(table1()), _display(text_values())
    post = fit.samples() if fit.has_samples else None
    diag = fit.sampling.diagnostics if fit.sampling is not None else None
    out = {}
    for i, n in enumerate(NAMES):
        row = {"unit": fit.units[i], "mle": None if fit.mle is None else float(fit.mle.x[i]),
               "median": None, "p16": None, "p84": None, "mean": None, "std": None,
               "table1": t1[n], "text": tx[n], "lower": float(fit.lower[i]), "upper": float(fit.upper[i]),
               "rhat": None, "ess_bulk": None, "ess_tail": None, "tau": None}  # fmt: skip
        if post is not None:
            row.update(_stats(post[:, i]))
            row["mean"] = float(post[:, i].mean())
            row["std"] = float(post[:, i].std(ddof=1)) if post.shape[0] > 1 else 0.0
        if diag is not None:
            for k in ("rhat", "ess_bulk", "ess_tail", "tau"):
                v = float(np.asarray(getattr(diag, k))[i])
                row[k] = v if np.isfinite(v) else None
        out[n] = row
    return out


def _edge_warnings(fit: MigrationFit, samples) -> list[str]:
    lo, hi = np.asarray(fit.lower), np.asarray(fit.upper)
    width = hi - lo
    msgs = []
    if fit.mle is not None:
        x = np.asarray(fit.mle.x)
        on = [n for n, v, a, b, w in zip(NAMES, x, lo, hi, width) if min(v - a, b - v) <= _EDGE_FRACTION * w]
        if on:
            msgs.append(f"prior: the MLE lies on a face of the prior box for {on}; widen the box (fit(bounds=...))")
    if samples is not None:
        frac = np.mean((samples - lo < 0.01 * width) | (hi - samples < 0.01 * width), axis=0)
        piled = [n for n, f in zip(NAMES, frac) if f > _PILE_FRACTION]
        if piled:
            msgs.append(f"prior: more than {_PILE_FRACTION:.0%} of the posterior lies in the outer 1% of the box for {piled}")
    return msgs


def _sampling_info(fit: MigrationFit, samples) -> dict:
    s = fit.sampling
    info = {
        "sampler": fit.sampler, "complete": fit.complete,
        "mle_log_likelihood": None if fit.mle is None else float(fit.mle.log_likelihood),
        "mle_starts": None if fit.mle is None else int(fit.mle.values.size),
        "mle_starts_at_best": None if fit.mle is None else fit.mle.n_at_best,
        "mle_agree": None if fit.mle is None else bool(fit.mle.agree),
        "mle_wall_time_s": fit.meta.get("mle_wall_time_s"),
        "chains": None, "draws": None, "burn": None, "n_posterior": None, "n_used": None,
        "wall_time_s": None, "n_evaluations": None,
    }  # fmt: skip
    if s is not None:
        info.update(chains=s.n_chains, draws=s.n_draws, burn=s.burn, n_posterior=int(s.posterior.shape[0] * s.posterior.shape[1]),
                    n_used=None if samples is None else int(samples.shape[0]), wall_time_s=s.meta.get("wall_time_s"),
                    n_evaluations=s.meta.get("n_evaluations"))  # fmt: skip
    return info


def _entry(unit: str, description: str, mle_value, sample_values, paper_key: str | None = None) -> dict:
    e = {"unit": unit, "description": description, "mle": None if mle_value is None else float(mle_value),
         "median": None, "p16": None, "p84": None}  # fmt: skip
    if sample_values is not None:
        e.update(_stats(sample_values))
    if paper_key is not None:
        p = PAPER_DERIVED[paper_key]
        e["paper"] = p["value"]
        if "error" in p:
            e["paper_error"] = p["error"]
        e["ref"] = p["ref"]
    return e


def _derived(mle, samples, tau, radii, key, n_siblings, sibling_samples, table) -> dict:
    """Sec. 6 quantities at the MLE (``mle [11]`` or None) and on ``samples [n, 11]`` (or None).

    The MLE rides along as row 0 of one batch, so that every derived function is
    called (and compiled) once.
    """
    has_mle = mle is not None
    rows = ([np.asarray(mle)[None]] if has_mle else []) + ([samples] if samples is not None else [])
    batch = np.vstack(rows)
    r = np.asarray(radii)
    v_circ = float(DEFAULT_CONSTANTS.v_circ)

    def split(values):
        """(value at the MLE or None, values of the posterior draws or None) along axis 0."""
        v = np.asarray(values, dtype=np.float64)
        m = v[0] if has_mle else None
        s = v[1:] if has_mle else v
        return m, (s if s.shape[0] else None)

    def entry(unit, description, values, paper_key=None, column=None):
        m, s = split(values)
        if column is not None:
            m = None if m is None else m[column]
            s = None if s is None else s[:, column]
        return _entry(unit, description, m, s, paper_key)

    out = {}
    lz = _quantity(rms_delta_lz(batch, tau), _KPC_KMS)
    out["rms_delta_lz"] = entry("kpc km/s", "sqrt<(L_z - L_z0)^2> = sqrt(sigma^2 + (D tau)^2), Eq. 21", lz, "rms_delta_lz")
    out["migration_distance"] = entry("kpc", "rms Delta L_z / v_circ (235 km/s)",
                                      _quantity(migration_distance(batch, tau), u.kpc), "migration_distance")  # fmt: skip
    out["drift_fraction"] = entry("", "(D tau)^2 / <(L_z - L_z0)^2>", drift_fraction(batch, tau), "drift_fraction")
    trunc = _quantity(rms_delta_lz_truncated(batch, tau, r * v_circ), _KPC_KMS)  # [B, radii]
    jr = _quantity(rms_delta_jr(batch, tau, r, table=table), _KPC_KMS)
    mean_jr = _quantity(mean_radial_action(batch, tau, r, table=table), _KPC_KMS)
    for i, R in enumerate(radii):
        tag = f"{R:g}kpc"
        out[f"rms_delta_lz_truncated_{tag}"] = entry(
            "kpc km/s", f"exact rms Delta L_z (Eq. 4 truncated at L_z = 0) of stars born at {R:g} kpc",
            trunc, column=i)  # fmt: skip
        out[f"rms_delta_jr_{tag}"] = entry(
            "kpc km/s", f"sqrt<(J_R - J_R0)^2>, J_R0 = 0, at R_g = {R:g} kpc (Eq. 22)", jr,
            "rms_delta_jr_8kpc" if R == 8.0 else None, column=i)  # fmt: skip
        out[f"mean_radial_action_{tag}"] = entry(
            "kpc km/s", f"<J_R> = sigma_R^2 / kappa at R_g = {R:g} kpc (Eq. 5)", mean_jr,
            "mean_radial_action_8kpc" if R == 8.0 else None, column=i)  # fmt: skip
    i8 = radii.index(8.0)
    out["action_change_ratio_8kpc"] = entry("", "rms Delta J_R (8 kpc) / rms Delta L_z, Eq. 24", jr[:, i8] / lz,
                                            "action_change_ratio_8kpc")  # fmt: skip

    # the Sun (Sec. 6.4): central value per draw; the [Fe/H] uncertainty gives its own spread
    sun = solar_birth(batch)
    for name, attr, err, unit, label, desc in (
        ("sun_lz0", "lz0", "lz0_err", _KPC_KMS, "kpc km/s", "the Sun's birth L_z0 (4.6 Gyr, [Fe/H] = 0 +- 0.05)"),
        ("sun_R0", "R0", "R0_err", u.kpc, "kpc", "the Sun's birth radius L_z0 / v_circ"),
    ):
        e = entry(label, desc, _quantity(getattr(sun, attr), unit), name)
        em, es = split(_quantity(getattr(sun, err), unit))
        e["feh_error_mle"] = None if em is None else float(em)
        e["feh_error_median"] = None if es is None else float(np.median(es))
        out[name] = e

    # the siblings (Sec. 6.5): Monte Carlo at the MLE and a few posterior draws, in one batch
    take = [0] if has_mle else []
    if samples is not None and sibling_samples > 0:
        first = 1 if has_mle else 0
        take += list(first + np.unique(np.linspace(0, samples.shape[0] - 1, min(sibling_samples, samples.shape[0])).round().astype(int)))
    if take:
        sib = solar_siblings(batch[take], key, n=n_siblings, table=table)
        for name, attr, desc in (
            ("siblings_lz_low", "lz_low", "2.5th percentile of the siblings' L_z today"),
            ("siblings_lz_high", "lz_high", "97.5th percentile of the siblings' L_z today"),
            ("siblings_jr_high", "jr_high", "95th percentile of the siblings' J_R today"),
        ):
            e = entry("kpc km/s", desc, _quantity(getattr(sib, attr), _KPC_KMS), name)
            e["n_siblings"] = n_siblings
            e["n_draws"] = len(take) - int(has_mle)
            out[name] = e
    return out
