"""Run a shearing-box transport experiment end to end, with checkpoints and an HDF5 run file.

:func:`run_shearing_box` is the one entry point: configuration in, a frozen
:class:`ShearingBoxRun` out. The heavy lifting is
:func:`diskorbits.shearingbox.integrator.integrate`, called on fixed-length
*chunks* of simulated time so that JAX compiles the loop once; between chunks
the driver records per-star action changes at a few (roughly log-spaced)
times, advances a progress bar and, every ``checkpoint_every_myr``, rewrites
the run file atomically with the full integrator and field state.

Because the integrator's time is implied by the snapshot-interval index and
the field state is carried explicitly, a run resumed from a checkpoint ends
bit-identical to an uninterrupted one (tested in ``tests/shearingbox``).

Run-file layout (HDF5, internal units kpc / Myr / Msun unless the dataset's
``unit`` attribute says otherwise)::

    /                      attrs: format, diskorbits_version, config_toml, seed,
                                  complete, intervals_done, n_intervals, dt_snap_myr,
                                  dt_myr, n_sub, unit_system, created
    /stats/<name>          [n_t] ensemble curves every snapshot interval, with t_myr
    /stars/t_myr           [m] times of the per-star records
    /stars/<name>          [m, N] dJ_R, dJ_phi, dx_g, J_z per star
    /initial/<x..nwrap>    [N] initial phase-space state
    /checkpoint/state/...  [N] integrator state at intervals_done
    /checkpoint/field/leaf_<i>  field state leaves (flattened PyTree)
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from pathlib import Path
from typing import Any

import equinox as eqx
import h5py
import jax
import jax.numpy as jnp
import numpy as np

from .. import units
from ..io.atomic import atomic_path
from ..io.runfiles import check_resumable, open_run_file
from ..progress import as_progress
from .config import RunConfig, load_config

__all__ = ["ShearingBoxRun", "run_shearing_box", "build_forcing", "read_run", "RUN_FORMAT"]

#: Identifier and version of the run-file layout.
RUN_FORMAT = "diskorbits.shearingbox.run/1"

_STATE_FIELDS = ("x", "y", "z", "vx", "vy", "vz", "nwrap")


def build_forcing(config: RunConfig, box, key):
    """The :class:`~diskorbits.shearingbox.forcing.AbstractForcing` a configuration asks for."""
    from .forcing import NoForcing

    f = config.field
    if f.kind == "none":
        return NoForcing()
    if f.kind == "mock":
        from ..ism import ism_preset, make_mock_field

        model = ism_preset(f.preset)
        # A vertically cold ensemble never leaves z = 0: the gas layer is symmetric,
        # so the vertical ISM force vanishes there. The mid-plane field (exact chi)
        # is then both exact and ~3x cheaper than the separable 3-D basis.
        midplane = config.stars.sigma_z0_kms == 0.0
        return make_mock_field(
            box,
            model,
            key=key,
            grid_spacing=f.grid_spacing_pc * 1e-3,
            dt_snap=f.dt_snap_myr,
            temporal=f.temporal,
            p=f.p,
            window=f.window_myr,
            amplitude=f.amplitude,
            k_max=None if f.k_max_per_pc is None else f.k_max_per_pc * 1e3,
            vertical_forcing=f.vertical_forcing and not midplane,
            midplane_only=midplane,
        )
    from ..ism import load_snapshot_forcing

    return load_snapshot_forcing(f.path, box=box, amplitude=f.amplitude, vertical_forcing=f.vertical_forcing)


@dataclasses.dataclass(frozen=True)
class ShearingBoxRun:
    """The outcome of a shearing-box run (possibly still incomplete).

    Attributes
    ----------
    config : RunConfig
    t_myr : ndarray [n_t]
        Times of the ensemble curves, Myr (0 first).
    stats : dict of ndarray [n_t]
        ``sigma_R``, ``sigma_z`` (kpc/Myr), ``rms_dJR``, ``rms_dJphi``, ``mean_JR``,
        ``mean_Jz`` (kpc^2/Myr), ``rms_dxg`` (kpc), ``ratio``.
    star_t_myr : ndarray [m]
        Times of the per-star records, Myr.
    stars : dict of ndarray [m, N]
        ``dJ_R``, ``dJ_phi`` (kpc^2/Myr), ``dx_g`` (kpc), ``J_z`` (kpc^2/Myr).
    complete : bool
        False for a checkpoint of a run that has not finished.
    version : str
        diskorbits version that wrote it.
    """

    config: RunConfig
    t_myr: np.ndarray
    stats: dict
    star_t_myr: np.ndarray
    stars: dict
    complete: bool
    version: str
    meta: dict = dataclasses.field(default_factory=dict)

    @property
    def seed(self) -> int:
        return self.config.run.seed

    def summary(self, *, early_gyr=None, late_gyr=None) -> dict:
        """Final transport numbers (field units) and fitted power-law slopes.

        Parameters
        ----------
        early_gyr, late_gyr : (float, float), optional
            Time windows for the slopes, Gyr. Defaults: early = (0.02, 0.3) Gyr (the
            long-wavelength regime of a cold R8 ensemble, paper Fig. 2) and late =
            (0.3 T, T) for a run of length T.

        Returns
        -------
        dict
            ``sigma_R_kms``, ``rms_dJR_kpckms``, ``rms_dJphi_kpckms``, ``rms_dxg_kpc``,
            ``ratio`` at the last time; ``slopes`` (early/late for sigma_R, rms_dJR,
            rms_dJphi with standard errors); ``t_gyr``, ``n_stars``, ``complete``.
        """
        from .diagnostics import power_law_slope

        t = self.t_myr
        T = float(t[-1])
        early = (20.0, min(300.0, 0.5 * T)) if early_gyr is None else tuple(1e3 * np.asarray(early_gyr))
        late = (0.3 * T, T) if late_gyr is None else tuple(1e3 * np.asarray(late_gyr))
        s = self.stats
        slopes: dict[str, Any] = {}
        for name in ("sigma_R", "rms_dJR", "rms_dJphi"):
            y = np.asarray(s[name])
            slopes[name] = {}
            for label, (a, b) in (("early", early), ("late", late)):
                m = (t >= a) & (t <= b) & (y > 0)
                if m.sum() >= 3:
                    k, err = power_law_slope(t, y, a, b)
                    slopes[name][label] = {"slope": float(k), "err": float(err), "window_gyr": [a / 1e3, b / 1e3]}
                else:
                    slopes[name][label] = None
        return {
            "name": self.config.name,
            "t_gyr": T / 1e3,
            "n_stars": int(self.config.run.n_stars),
            "complete": bool(self.complete),
            "sigma_R_kms": float(s["sigma_R"][-1] / units.KMS),
            "sigma_z_kms": float(s["sigma_z"][-1] / units.KMS),
            "rms_dJR_kpckms": float(s["rms_dJR"][-1] / units.KPC_KMS),
            "rms_dJphi_kpckms": float(s["rms_dJphi"][-1] / units.KPC_KMS),
            "rms_dxg_kpc": float(s["rms_dxg"][-1]),
            "ratio": float(s["ratio"][-1]),
            "slopes": slopes,
            "seed": self.seed,
            "version": self.version,
        }

    def at(self, t_gyr: float, name: str) -> float:
        """An ensemble curve linearly interpolated at ``t_gyr`` (internal units)."""
        return float(np.interp(1e3 * t_gyr, self.t_myr, self.stats[name]))


# ----------------------------------------------------------------------------- timeline


@dataclasses.dataclass(frozen=True)
class _Timeline:
    dt_snap: float
    n_sub: int
    n_total: int  # snapshot intervals
    chunk: int  # intervals per compiled chunk
    checkpoint_every: int  # intervals
    star_records: tuple[int, ...]  # interval indices (end of) at which per-star data are stored

    @classmethod
    def from_config(cls, config: RunConfig) -> "_Timeline":
        from .integrator import steps_per_interval

        dt_snap = config.field.dt_snap_myr
        n_total = int(round(config.run.duration_gyr * 1e3 / dt_snap))
        if n_total < 1:
            raise ValueError(f"run.duration_gyr ({config.run.duration_gyr}) is shorter than one snapshot interval")
        chunk = min(int(round(config.run.chunk_myr / dt_snap)), n_total)
        ck = max(chunk, int(round(config.run.checkpoint_every_myr / dt_snap)) // chunk * chunk)
        # per-star records at chunk ends, roughly log-spaced, always including the end
        ends = np.unique(np.minimum(np.arange(1, math.ceil(n_total / chunk) + 1) * chunk, n_total))
        m = config.run.n_star_snapshots
        wanted = np.unique(np.geomspace(ends[0], n_total, m))
        picks = np.unique(np.searchsorted(ends, wanted - 1e-9).clip(0, len(ends) - 1))
        records = tuple(int(i) for i in ends[picks])
        return cls(dt_snap, steps_per_interval(dt_snap, config.run.dt_myr), n_total, chunk, ck, records)


# ----------------------------------------------------------------------------- storage


def _atomic_h5(path: Path, write) -> None:
    """Write an HDF5 file through ``write(h5py.File)`` atomically (:func:`~diskorbits.io.atomic.atomic_path`)."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h:
        write(h)


_STAT_UNITS = {
    "sigma_R": "kpc/Myr", "sigma_z": "kpc/Myr", "rms_dJR": "kpc2/Myr", "rms_dJphi": "kpc2/Myr",
    "mean_JR": "kpc2/Myr", "mean_Jz": "kpc2/Myr", "rms_dxg": "kpc", "ratio": "",
}
_STAR_UNITS = {"dJ_R": "kpc2/Myr", "dJ_phi": "kpc2/Myr", "dx_g": "kpc", "J_z": "kpc2/Myr"}


def _write_run_file(path, config, timeline, j_done, stats_rows, star_t, star_rows, initial, state, fstate, complete):
    from .. import __version__

    def write(h):
        h.attrs["format"] = RUN_FORMAT
        h.attrs["diskorbits_version"] = __version__
        h.attrs["config_toml"] = config.to_toml()
        h.attrs["seed"] = int(config.run.seed)
        h.attrs["complete"] = bool(complete)
        h.attrs["intervals_done"] = int(j_done)
        h.attrs["n_intervals"] = int(timeline.n_total)
        h.attrs["dt_snap_myr"] = float(timeline.dt_snap)
        h.attrs["n_sub"] = int(timeline.n_sub)
        h.attrs["dt_myr"] = float(timeline.dt_snap / timeline.n_sub)
        h.attrs["unit_system"] = "kpc, Myr, Msun (velocities kpc/Myr, actions kpc^2/Myr)"
        h.attrs["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        g = h.create_group("stats")
        g.create_dataset("t_myr", data=np.asarray(stats_rows["t_myr"]))
        for k, v in stats_rows.items():
            if k != "t_myr":
                d = g.create_dataset(k, data=np.asarray(v))
                d.attrs["unit"] = _STAT_UNITS.get(k, "")
        g = h.create_group("stars")
        g.create_dataset("t_myr", data=np.asarray(star_t, dtype=float))
        for k in _STAR_UNITS:
            rows = star_rows.get(k, [])
            arr = np.stack(rows) if rows else np.zeros((0, config.run.n_stars))
            d = g.create_dataset(k, data=arr)
            d.attrs["unit"] = _STAR_UNITS[k]
        g = h.create_group("initial")
        for k in _STATE_FIELDS:
            g.create_dataset(k, data=np.asarray(getattr(initial, k)))
        if not complete:
            c = h.create_group("checkpoint")
            s = c.create_group("state")
            for k in _STATE_FIELDS:
                s.create_dataset(k, data=np.asarray(getattr(state, k)))
            f = c.create_group("field")
            for i, leaf in enumerate(jax.tree_util.tree_leaves(fstate)):
                f.create_dataset(f"leaf_{i}", data=np.asarray(leaf))
        else:
            s = h.create_group("final")
            for k in _STATE_FIELDS:
                s.create_dataset(k, data=np.asarray(getattr(state, k)))

    _atomic_h5(path, write)


def read_run(path) -> ShearingBoxRun:
    """Read a run file written by :func:`run_shearing_box` (complete or a checkpoint)."""
    path = Path(path)
    with open_run_file(path, RUN_FORMAT, "shearing-box") as h:
        config = load_config(str(h.attrs["config_toml"]))
        stats = {k: np.asarray(v) for k, v in h["stats"].items()}
        t = stats.pop("t_myr")
        stars = {k: np.asarray(v) for k, v in h["stars"].items()}
        star_t = stars.pop("t_myr")
        meta = {k: (v.item() if hasattr(v, "item") else v) for k, v in h.attrs.items() if k != "config_toml"}
        return ShearingBoxRun(
            config=config, t_myr=t, stats=stats, star_t_myr=star_t, stars=stars,
            complete=bool(h.attrs["complete"]), version=str(h.attrs["diskorbits_version"]), meta=meta,
        )


def _read_checkpoint(path: Path, config: RunConfig, fstate_template):
    from .integrator import BoxState

    with open_run_file(path, RUN_FORMAT, "shearing-box") as h:
        # compare normalised text: the stored TOML goes through the current parser first
        stored = load_config(str(h.attrs["config_toml"])).to_toml()
        if check_resumable({"config_toml": stored, "complete": h.attrs["complete"]}, path, config.to_toml()):
            return "complete", None
        j = int(h.attrs["intervals_done"])
        stats = {k: list(np.asarray(v)) for k, v in h["stats"].items()}
        star_t = list(np.asarray(h["stars/t_myr"]))
        star_rows = {k: list(np.asarray(h["stars"][k])) for k in _STAR_UNITS}
        initial = BoxState(**{k: jnp.asarray(h["initial"][k]) for k in _STATE_FIELDS})
        state = BoxState(**{k: jnp.asarray(h["checkpoint/state"][k]) for k in _STATE_FIELDS})
        leaves, treedef = jax.tree_util.tree_flatten(fstate_template)
        stored_leaves = [np.asarray(h["checkpoint/field"][f"leaf_{i}"]) for i in range(len(leaves))]
        for a, b in zip(leaves, stored_leaves):
            if np.shape(a) != np.shape(b):
                raise ValueError(f"{path}: field state in the checkpoint does not match this configuration")
        fstate = jax.tree_util.tree_unflatten(
            treedef, [jnp.asarray(b, dtype=jnp.asarray(a).dtype) for a, b in zip(leaves, stored_leaves)]
        )
    return "partial", (j, stats, star_t, star_rows, initial, state, fstate)


# ----------------------------------------------------------------------------- driver


def run_shearing_box(
    config: RunConfig | str | Path | dict,
    output: str | Path | None = None,
    *,
    progress=None,
    resume: bool = True,
    overwrite: bool = False,
    stop_after_intervals: int | None = None,
) -> ShearingBoxRun:
    """Integrate an ensemble of box stars through ISM fluctuations (Modak et al. 2026, Sec. II.3).

    Parameters
    ----------
    config : RunConfig, path to a TOML file, or dict
        The validated configuration (see :mod:`diskorbits.shearingbox.config`).
    output : path, optional
        HDF5 run file; written atomically at every checkpoint and at the end. Without
        it the run keeps everything in memory.
    progress : bool or AbstractProgress, optional
        Progress reporting in units of simulated Myr (silent by default).
    resume : bool
        If ``output`` holds an unfinished checkpoint of the *same* configuration,
        continue from it (the result is bit-identical to an uninterrupted run).
    overwrite : bool
        Replace an existing ``output`` that cannot be resumed (finished, or another
        configuration) instead of raising.
    stop_after_intervals : int, optional
        Stop (after writing a checkpoint) once this many snapshot intervals are done;
        for tests of resumption and for splitting long runs across job slots.

    Returns
    -------
    ShearingBoxRun

    Raises
    ------
    FileExistsError
        If ``output`` exists, cannot be resumed and ``overwrite`` is False.
    """
    from .initial import schwarzschild_initial_conditions
    from .diagnostics import ensemble_observer, per_star_observer
    from .integrator import integrate

    if not isinstance(config, RunConfig):
        config = load_config(config)
    output = None if output is None else Path(output)
    tl = _Timeline.from_config(config)
    box = config.box.build()
    key = jax.random.PRNGKey(config.run.seed)
    k_ic, k_field = jax.random.split(key)
    forcing = build_forcing(config, box, k_field)

    fstate0 = forcing.init(k_field)
    resumed = None
    if output is not None and output.exists():
        try:
            kind, payload = _read_checkpoint(output, config, fstate0) if resume else ("refuse", None)
        except ValueError:
            if not overwrite:
                raise
            kind, payload = "refuse", None
        if kind == "complete" and not overwrite:
            raise FileExistsError(f"{output} already holds a finished run; pass overwrite=True (--overwrite) to redo it")
        if kind == "refuse" and not overwrite:
            raise FileExistsError(f"{output} exists; pass overwrite=True (--overwrite) to replace it")
        if kind == "partial":
            resumed = payload

    if resumed is None:
        initial = schwarzschild_initial_conditions(
            box, config.run.n_stars,
            sigma_R0=config.stars.sigma_R0_kms * units.KMS,
            sigma_z0=config.stars.sigma_z0_kms * units.KMS,
            key=k_ic,
        )
        state, fstate, j = initial, fstate0, 0
        obs0 = ensemble_observer(box, initial)(initial)
        stats = {"t_myr": [0.0], **{k: [float(v)] for k, v in obs0.items()}}
        star_t: list = []
        star_rows: dict = {k: [] for k in _STAR_UNITS}
    else:
        j, stats, star_t, star_rows, initial, state, fstate = resumed

    observe = ensemble_observer(box, initial)
    per_star = per_star_observer(box, initial)

    # The field (which may hold a long looped window of grids) and the observer
    # (per-star reference actions) are passed as arguments rather than closed
    # over, so XLA does not embed them as constants.
    compiled: dict[int, Any] = {}

    def advance(state, fstate, j0, n):
        if n not in compiled:
            compiled[n] = eqx.filter_jit(
                lambda bx, fo, ob, s, f, jj: integrate(
                    bx, fo, s, f, j0=jj, n_intervals=n, n_sub=tl.n_sub, dt_snap=tl.dt_snap, observe=ob
                )
            )
        return compiled[n](box, forcing, observe, state, fstate, jnp.asarray(j0, dtype=jnp.int32))

    def save(complete):
        if output is not None:
            _write_run_file(output, config, tl, j, stats, star_t, star_rows, initial, state, fstate, complete)

    bar = as_progress(progress)
    desc = (
        f"{config.name or 'shearing box'}: {config.run.n_stars} stars, "
        f"{config.run.duration_gyr:g} Gyr, dt {tl.dt_snap / tl.n_sub:.3g} Myr"
    )
    limit = tl.n_total if stop_after_intervals is None else min(tl.n_total, int(stop_after_intervals))
    last_ck = j
    with bar:
        bar.start(int(round(tl.n_total * tl.dt_snap)), desc)
        if j:
            bar.advance(int(round(j * tl.dt_snap)))
        while j < limit:
            n = min(tl.chunk, tl.n_total - j)
            state, fstate, obs = advance(state, fstate, j, n)
            obs = jax.device_get(obs)
            ts = (j + 1 + np.arange(n)) * tl.dt_snap
            stats["t_myr"].extend(ts.tolist())
            for k, v in obs.items():
                stats[k].extend(np.asarray(v).tolist())
            j += n
            if j in tl.star_records:
                rec = jax.device_get(per_star(state))
                star_t.append(j * tl.dt_snap)
                for k in _STAR_UNITS:
                    star_rows[k].append(np.asarray(rec[k]))
            bar.advance(int(round(n * tl.dt_snap)))
            if j < tl.n_total and j - last_ck >= tl.checkpoint_every:
                save(False)
                last_ck = j
    complete = j >= tl.n_total
    save(complete)
    from .. import __version__

    return ShearingBoxRun(
        config=config,
        t_myr=np.asarray(stats["t_myr"]),
        stats={k: np.asarray(v) for k, v in stats.items() if k != "t_myr"},
        star_t_myr=np.asarray(star_t, dtype=float),
        stars={k: (np.stack(v) if v else np.zeros((0, config.run.n_stars))) for k, v in star_rows.items()},
        complete=complete,
        version=__version__,
        meta={"intervals_done": j, "n_sub": tl.n_sub, "dt_myr": tl.dt_snap / tl.n_sub},
    )
