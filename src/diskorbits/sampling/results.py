"""The outcome of a sampling run and its HDF5 file (also the checkpoint a run resumes from).

File layout (internal units; written atomically through
:func:`diskorbits.io.atomic.atomic_path`)::

    /                 attrs: format, diskorbits_version, sampler, settings_json, seed, key_data,
                             complete, draws_done, burn, loglike_at_center, wall_time_s,
                             n_evaluations, unit_system, created
    /parameters       attrs: names_json, kinds_json, display_units_json; datasets lower, upper [dim]
    /samples          [chains, draws_done, dim]   parameter values (internal units)
    /log_prob         [chains, draws_done]        log-posterior (= log-likelihood inside the box)
    /stats/<name>     sampler statistics (acceptance, divergences, tree depth, energy, ...)
    /diagnostics      attrs: json (when complete)
    /state/<i>        sampler state leaves, attrs json (while incomplete)

``settings_json`` holds everything that determines the numbers (the box, the
sampler settings, the key); a run refuses to resume a file whose settings
differ, or whose likelihood at the box centre (``loglike_at_center``) no
longer matches -- a cheap fingerprint of the data and model.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from pathlib import Path
from typing import Any

import equinox as eqx
import h5py
import jax
import jax.numpy as jnp
import numpy as np

from ..io.atomic import atomic_path
from ..io.runfiles import check_resumable, open_run_file
from .diagnostics import Diagnostics

__all__ = ["RESULT_FORMAT", "SamplingResult", "read_result"]

#: Identifier and version of the sampling-result file layout.
RESULT_FORMAT = "diskorbits.sampling.result/1"

_UNIT_SYSTEM = "kpc, Myr, Msun (velocities kpc/Myr, actions kpc^2/Myr)"


@dataclasses.dataclass(frozen=True)
class SamplingResult:
    """Posterior samples of one run (emcee or NUTS), complete or a checkpoint.

    Attributes
    ----------
    samples : ndarray [chains, draws, dim]
        Parameter values in internal units; chains are emcee walkers or NUTS chains;
        NUTS warmup draws are not included, emcee burn-in draws are (see ``burn``).
    log_prob : ndarray [chains, draws]
        Log-posterior of every draw (the log-likelihood: the prior is flat in the box).
    names, kinds, display_units : tuple of str [dim]
        As in :class:`~diskorbits.sampling.problem.Problem`.
    lower, upper : ndarray [dim]
        Prior box, internal units.
    sampler : str
        ``"emcee"`` or ``"nuts"``.
    settings : dict
        Sampler settings (JSON-ready), including the prior box and the key.
    seed : int or None
        The integer seed, when the run was started from one.
    key_data : ndarray of uint32
        Raw data of the JAX key the run used (``jax.random.wrap_key_data`` restores it).
    stats : dict of ndarray
        Sampler statistics; NUTS: ``accept_prob``, ``divergent``, ``n_steps``, ``tree_depth``,
        ``energy`` [chains, draws] and ``step_size`` [chains]; emcee: ``accepted`` [walkers]
        (accepted proposals, counted over all steps).
    burn : int
        Leading draws that :attr:`posterior` leaves out (emcee burn-in; 0 for NUTS).
    diagnostics : Diagnostics or None
        Computed on :attr:`posterior` when the run completed.
    complete : bool
    version : str
        diskorbits version that wrote the run.
    meta : dict
        ``wall_time_s``, ``n_evaluations`` (log-density evaluations; leapfrog steps for
        NUTS), ``draws_done``, ``loglike_at_center``, ``created``.
    """

    samples: np.ndarray
    log_prob: np.ndarray
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    display_units: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    sampler: str
    settings: dict
    seed: int | None
    key_data: np.ndarray
    stats: dict
    burn: int = 0
    diagnostics: Diagnostics | None = None
    complete: bool = True
    version: str = ""
    meta: dict = dataclasses.field(default_factory=dict)

    # ------------------------------------------------------------------ views

    @property
    def n_chains(self) -> int:
        return int(self.samples.shape[0])

    @property
    def n_draws(self) -> int:
        return int(self.samples.shape[1])

    @property
    def ndim(self) -> int:
        return int(self.samples.shape[2])

    @property
    def posterior(self) -> np.ndarray:
        """``samples[:, burn:]`` -- the draws that represent the posterior ``[chains, draws - burn, dim]``."""
        return self.samples[:, self.burn :]

    def flat(self, thin: int = 1) -> np.ndarray:
        """Posterior draws of all chains pooled, ``[n, dim]`` (every ``thin``-th draw)."""
        if int(thin) < 1:
            raise ValueError(f"thin must be a positive integer, got {thin!r}")
        return self.posterior[:, :: int(thin)].reshape(-1, self.ndim)

    @property
    def display_scales(self) -> np.ndarray:
        """Factors ``[dim]`` from internal units to :attr:`display_units`."""
        from .problem import display_scales

        return display_scales(self.kinds, self.display_units)

    def summary(self) -> dict:
        """Posterior mean, standard deviation and 16/50/84th percentiles in display units (JSON-ready)."""
        x = self.flat() * self.display_scales
        q16, q50, q84 = np.percentile(x, [16, 50, 84], axis=0)
        params = {}
        for i, n in enumerate(self.names):
            params[n] = {"unit": self.display_units[i], "mean": float(x[:, i].mean()), "std": float(x[:, i].std(ddof=1)),
                         "p16": float(q16[i]), "median": float(q50[i]), "p84": float(q84[i])}  # fmt: skip
            if self.diagnostics is not None:
                params[n].update({"rhat": float(self.diagnostics.rhat[i]), "ess_bulk": float(self.diagnostics.ess_bulk[i]),
                                  "tau": float(self.diagnostics.tau[i])})  # fmt: skip
        out: dict[str, Any] = {
            "sampler": self.sampler, "complete": bool(self.complete), "chains": self.n_chains,
            "draws": self.n_draws, "burn": self.burn, "seed": self.seed,
            "wall_time_s": self.meta.get("wall_time_s"), "n_evaluations": self.meta.get("n_evaluations"),
            "parameters": params,
        }  # fmt: skip
        if self.diagnostics is not None:
            out["warnings"] = list(self.diagnostics.warnings)
        return out

    # ------------------------------------------------------------------ storage

    def write(self, path: str | Path) -> Path:
        """Write the result to an HDF5 file atomically; returns the path."""
        _write_file(path, self, state=None)
        return Path(path)

    @classmethod
    def read(cls, path: str | Path) -> SamplingResult:
        """Read a file written by :meth:`write` or by a sampler (complete or a checkpoint)."""
        return read_result(path)


def read_result(path: str | Path) -> SamplingResult:
    """Read a sampling-result file (see the module docstring for the layout)."""
    path = Path(path)
    with open_run_file(path, RESULT_FORMAT, "sampling-result") as h:
        return _result_from_file(h)


# ----------------------------------------------------------------------------- private file helpers


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"cannot store {type(o).__name__} in JSON")


def _dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=_json_default)


def _diag_to_json(d: Diagnostics) -> str:
    return _dumps({
        "names": list(d.names), "n_chains": d.n_chains, "n_draws": d.n_draws,
        "tau": [float(v) for v in d.tau], "rhat": [float(v) for v in d.rhat],
        "ess_bulk": [float(v) for v in d.ess_bulk], "ess_tail": [float(v) for v in d.ess_tail],
        "thresholds": d.thresholds, "warnings": list(d.warnings),
    })  # fmt: skip


def _diag_from_json(text: str) -> Diagnostics:
    o = json.loads(text)
    arr = lambda k: np.asarray(o[k], dtype=np.float64)
    return Diagnostics(
        names=tuple(o["names"]), n_chains=int(o["n_chains"]), n_draws=int(o["n_draws"]), tau=arr("tau"),
        rhat=arr("rhat"), ess_bulk=arr("ess_bulk"), ess_tail=arr("ess_tail"), thresholds=dict(o["thresholds"]),
        warnings=tuple(o["warnings"]),
    )  # fmt: skip


def _write_file(path, result: SamplingResult, state: dict | None) -> None:
    """Write ``result`` (and, for a checkpoint, the sampler ``state``) atomically.

    ``state``: ``{"leaves": [arrays], "json": str}`` -- the flattened sampler state and
    whatever else the sampler needs (JSON).
    """
    from .. import __version__

    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h:
        h.attrs["format"] = RESULT_FORMAT
        h.attrs["diskorbits_version"] = result.version or __version__
        h.attrs["sampler"] = result.sampler
        h.attrs["settings_json"] = _dumps(result.settings)
        h.attrs["seed"] = -1 if result.seed is None else int(result.seed)
        h.attrs["key_data"] = np.asarray(result.key_data, dtype=np.uint32)
        h.attrs["complete"] = bool(result.complete)
        h.attrs["draws_done"] = int(result.n_draws)
        h.attrs["burn"] = int(result.burn)
        h.attrs["meta_json"] = _dumps(result.meta)
        h.attrs["unit_system"] = _UNIT_SYSTEM
        h.attrs["created"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        g = h.create_group("parameters")
        g.attrs["names_json"] = json.dumps(list(result.names))
        g.attrs["kinds_json"] = json.dumps(list(result.kinds))
        g.attrs["display_units_json"] = json.dumps(list(result.display_units))
        g.create_dataset("lower", data=np.asarray(result.lower, dtype=np.float64))
        g.create_dataset("upper", data=np.asarray(result.upper, dtype=np.float64))
        h.create_dataset("samples", data=np.asarray(result.samples, dtype=np.float64))
        h.create_dataset("log_prob", data=np.asarray(result.log_prob, dtype=np.float64))
        g = h.create_group("stats")
        for k, v in result.stats.items():
            g.create_dataset(k, data=np.asarray(v))
        if result.diagnostics is not None:
            h.create_group("diagnostics").attrs["json"] = _diag_to_json(result.diagnostics)
        if state is not None:
            g = h.create_group("state")
            g.attrs["json"] = state.get("json", "{}")
            g.attrs["n_leaves"] = len(state["leaves"])
            for i, leaf in enumerate(state["leaves"]):
                g.create_dataset(f"{i:04d}", data=np.asarray(leaf))


def _result_from_file(h) -> SamplingResult:
    g = h["parameters"]
    seed = int(h.attrs["seed"])
    return SamplingResult(
        samples=np.asarray(h["samples"]),
        log_prob=np.asarray(h["log_prob"]),
        names=tuple(json.loads(g.attrs["names_json"])),
        kinds=tuple(json.loads(g.attrs["kinds_json"])),
        display_units=tuple(json.loads(g.attrs["display_units_json"])),
        lower=np.asarray(g["lower"]),
        upper=np.asarray(g["upper"]),
        sampler=str(h.attrs["sampler"]),
        settings=json.loads(h.attrs["settings_json"]),
        seed=None if seed < 0 else seed,
        key_data=np.asarray(h.attrs["key_data"], dtype=np.uint32),
        stats={k: np.asarray(v) for k, v in h["stats"].items()},
        burn=int(h.attrs["burn"]),
        diagnostics=_diag_from_json(h["diagnostics"].attrs["json"]) if "diagnostics" in h else None,
        complete=bool(h.attrs["complete"]),
        version=str(h.attrs["diskorbits_version"]),
        meta=json.loads(h.attrs["meta_json"]),
    )


def _resolve_key(key) -> tuple[jax.Array, int | None, np.ndarray]:
    """A typed JAX key from an int seed or a key; returns (key, seed or None, raw key data)."""
    if isinstance(key, (bool, np.bool_)):
        raise TypeError("key must be a JAX PRNG key or a non-negative int seed, not a bool")
    if isinstance(key, (int, np.integer)):
        if int(key) < 0:
            raise ValueError(f"seed must be non-negative, got {key}")
        seed = int(key)
        k = jax.random.key(seed)
    else:
        k = key
        if not jax.dtypes.issubdtype(getattr(k, "dtype", None), jax.dtypes.prng_key):
            try:
                k = jax.random.wrap_key_data(np.asarray(k, dtype=np.uint32))
            except (TypeError, ValueError):
                raise TypeError(f"key must be a JAX PRNG key or a non-negative int seed, got {type(key).__name__}") from None
        if k.shape != ():
            raise ValueError(f"key must be a single PRNG key, got shape {k.shape}")
        seed = None
    return k, seed, np.asarray(jax.random.key_data(k), dtype=np.uint32)


def _host_rng(key, *path: int) -> np.random.Generator:
    """A NumPy generator for host-side draws (starting points), seeded by ``key`` folded with ``path``.

    Deterministic in the key like everything else, and avoids compiling JAX's
    random-number kernels for a handful of numbers.
    """
    for p in path:
        key = jax.random.fold_in(key, p)
    return np.random.default_rng(np.asarray(jax.random.key_data(key), dtype=np.uint32).ravel())


def _prepare_output(path, *, sampler: str, settings: dict, loglike_at_center: float, resume: bool, overwrite: bool):
    """Decide how a run with an output file starts: ``None`` (fresh) or ``(result, state)`` to resume.

    Raises
    ------
    FileExistsError
        The file exists and neither ``resume`` (unfinished run, same settings) nor ``overwrite`` applies.
    ValueError
        ``resume`` on a file of another sampler, other settings or another likelihood.
    """
    if path is None:
        return None
    path = Path(path)
    if not path.exists():
        return None
    if not resume:
        if overwrite:
            return None
        raise FileExistsError(f"{path} exists; pass resume=True to continue it or overwrite=True to replace it")
    try:
        with open_run_file(path, RESULT_FORMAT, "sampling-result") as h:
            if str(h.attrs["sampler"]) != sampler:
                raise ValueError(f"{path} holds a {h.attrs['sampler']} run, not a {sampler} run; refusing to resume")
            stored = {"config_toml": str(h.attrs["settings_json"]), "complete": h.attrs["complete"]}
            complete = check_resumable(stored, path, _dumps(settings))
            meta = json.loads(h.attrs["meta_json"])
            old = meta.get("loglike_at_center")
            if not _same_number(old, loglike_at_center):
                raise ValueError(
                    f"{path}: the log-likelihood at the box centre was {old!r} and is now {loglike_at_center!r}; "
                    "the model or the data changed, refusing to resume"
                )
            if complete:
                if overwrite:
                    return None
                raise FileExistsError(f"{path} already holds a finished run; read it with read_result or pass overwrite=True")
            result = _result_from_file(h)
            g = h["state"]
            state = {"leaves": [np.asarray(g[f"{i:04d}"]) for i in range(int(g.attrs["n_leaves"]))],
                     "json": str(g.attrs["json"])}  # fmt: skip
    except ValueError:
        if overwrite:
            return None
        raise
    return result, state


def _loglike_at_center(problem) -> float:
    """The log-likelihood at the centre of the box: the fingerprint a resumed run must reproduce."""
    return float(_jit_loglike(problem, jnp.asarray(problem.center())))


@eqx.filter_jit
def _jit_loglike(problem, theta):
    return problem.log_likelihood(theta)


def _same_number(a, b) -> bool:
    if a is None or b is None:
        return a is b
    a, b = float(a), float(b)
    if not (np.isfinite(a) and np.isfinite(b)):
        return a == b or (np.isnan(a) and np.isnan(b))
    return bool(np.isclose(a, b, rtol=1e-10, atol=0.0))
