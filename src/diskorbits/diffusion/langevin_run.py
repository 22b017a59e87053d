"""Run a Langevin diffusion experiment from a configuration, with checkpoints and an HDF5 run file.

:func:`run_langevin` builds the coefficients and the initial population of a
:class:`~diskorbits.diffusion.langevin_config.LangevinConfig`, evolves it with
the scheme of :mod:`diskorbits.diffusion.langevin` and records the ensemble
curves at log-spaced output times. At output times (every
``checkpoint_every_gyr``) the run file is rewritten atomically with the full
per-star state; since every random number is addressed by (seed, block, step)
rather than drawn from a stream, the RNG position is just the number of steps
done, and a resumed run ends bit-identical to an uninterrupted one.

Run-file layout (HDF5; internal units kpc, Myr, actions kpc^2/Myr)::

    /                   attrs: format, diskorbits_version, config_toml, seed, complete,
                               outputs_done, n_outputs, steps_done, dt_myr, coefficients_json,
                               unit_system, created
    /stats/t_myr        [m] output times done; /stats/<name> [m] ensemble curves
    /stars/t_myr        [m]; /stars/dJ_R, /stars/dJ_phi [m, n_store] first n_store stars
    /initial/J_R0       [N]; /initial/xi [N]; /initial/J_z [N] (with stars.sigma_z_kms)
    /checkpoint/X1, X2, J_phi [N]   scheme state (while incomplete)
    /final/J_R, J_phi   [N]         (when complete)
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import units
from ..io.runfiles import check_resumable, open_run_file
from ..progress import as_progress
from ..shearingbox.run import _atomic_h5
from .langevin import _make_engine, _resolve_dt, _stack_rows, schwarzschild_radial_actions
from .langevin_config import LangevinConfig, load_langevin_config

__all__ = ["LangevinRun", "run_langevin", "read_langevin", "initial_population", "RUN_FORMAT"]

#: Identifier and version of the run-file layout.
RUN_FORMAT = "diskorbits.diffusion.langevin/1"

_STAT_UNITS = {
    "rms_dJR": "kpc2/Myr", "rms_dJphi": "kpc2/Myr", "mean_JR": "kpc2/Myr", "rms_JR": "kpc2/Myr",
    "mean_dJR": "kpc2/Myr", "mean_dJphi": "kpc2/Myr", "dt_myr": "Myr",
}  # fmt: skip


def initial_population(config: LangevinConfig) -> dict:
    """The initial radial actions and per-star suppression of a configuration (deterministic in the seed).

    Returns
    -------
    dict
        ``J_R0`` [N] (kpc^2/Myr, exponential with mean ``sigma_R0^2/kappa``, Eq. 19),
        ``xi`` [N] or None, ``J_z`` [N] or None (kpc^2/Myr, exponential with mean
        ``sigma_z^2/nu``, Eq. 20), ``kappa``, ``nu`` (1/Myr).

    Notes
    -----
    ``xi(J_z)`` (Eq. 46) is evaluated on 2049 points in the vertical amplitude
    ``sqrt(2 J_z / (nu H^2))`` and interpolated linearly (xi is smooth and
    monotonic; the interpolation error is < 1e-6).
    """
    key = jax.random.key(config.run.seed)
    n = config.run.n_stars
    kappa, nu = config.stars.frequencies()
    s = config.stars
    J_R0 = np.asarray(schwarzschild_radial_actions(jax.random.fold_in(key, 1), n, (s.sigma_R0_kms * units.KMS) ** 2 / kappa))
    out = {"J_R0": J_R0, "xi": None, "J_z": None, "kappa": kappa, "nu": nu}
    if s.sigma_z_kms is not None:
        from ..ism import ism_preset
        from ..ism.vertical import suppression_factor

        mean_Jz = (s.sigma_z_kms * units.KMS) ** 2 / nu
        J_z = mean_Jz * np.asarray(jax.random.exponential(jax.random.fold_in(key, 2), (n,), dtype=jnp.float64))
        model = ism_preset(s.ism)
        H = float(model.H)
        amp = np.sqrt(2.0 * J_z / (nu * H**2))
        grid = np.linspace(0.0, max(float(amp.max()), 1e-12), 2049)
        xi_grid = np.asarray(suppression_factor(0.5 * nu * (grid * H) ** 2, float(model.spectrum.k_star), H, nu, model.profile))
        out["J_z"] = J_z
        out["xi"] = np.interp(amp, grid, xi_grid)
    return out


@dataclasses.dataclass(frozen=True)
class LangevinRun:
    """The outcome of :func:`run_langevin` (possibly a checkpoint of an unfinished run).

    Attributes
    ----------
    config : LangevinConfig
    t_myr : ndarray [m]
        Output times done, Myr.
    stats : dict of ndarray [m]
        Ensemble curves (see :class:`~diskorbits.diffusion.langevin.LangevinResult`).
    dJ_R, dJ_phi : ndarray [m, n_store]
        Action changes of the first ``n_store`` stars, kpc^2/Myr.
    J_R0, xi, J_z : ndarray [N] or None
        Initial radial actions, suppression factors, vertical actions.
    J_R, J_phi : ndarray [N] or None
        Final actions (J_phi is the change: J_phi0 = 0), when complete.
    complete : bool
    version : str
    meta : dict
        ``dt_myr``, ``steps_done``, ``outputs_done``, ``n_outputs`` ...
    """

    config: LangevinConfig
    t_myr: np.ndarray
    stats: dict
    dJ_R: np.ndarray
    dJ_phi: np.ndarray
    J_R0: np.ndarray
    xi: np.ndarray | None
    J_z: np.ndarray | None
    J_R: np.ndarray | None
    J_phi: np.ndarray | None
    complete: bool
    version: str
    meta: dict = dataclasses.field(default_factory=dict)

    @property
    def seed(self) -> int:
        return self.config.run.seed

    def coefficients(self):
        """The (scaled) :class:`~diskorbits.diffusion.coefficients.DiffusionCoefficients` of the run."""
        return self.config.coefficients.build()

    def summary(self) -> dict:
        """Final transport numbers in the field's units, paper predictions and fitted slopes (JSON-ready).

        Actions in kpc km/s, times in Gyr, dispersions in km/s. ``sigma_R_kms`` is
        ``(kappa <J_R>)^(1/2)`` (the Schwarzschild parametrisation of Eq. 19).
        ``eq29_30`` gives the cold-ensemble predictions (Eqs. 29-30) of the long- and
        short-wavelength power laws at the final time (scaled by the mean xi),
        ``self_similar`` the exact pure-power-law solution of Eq. 26 (which the
        short-wavelength regime approaches; see :mod:`~diskorbits.diffusion.analytic`), and
        ``late_ratio_eq39`` Eq. 39. ``slopes``: log-log least squares of the rms
        curves over ``early`` (output times up to a third of the time a cold
        population needs to reach the D_RR turnover, Eq. C4) and ``late`` (the
        last 70% of the run) windows.
        """
        from .coefficients import BrokenPowerLaw

        D = self.coefficients()
        kappa, _ = self.config.stars.frequencies()
        t = np.asarray(self.t_myr)
        s = self.stats
        K = units.KPC_KMS
        out: dict[str, Any] = {
            "name": self.config.name,
            "format": RUN_FORMAT,
            "complete": bool(self.complete),
            "n_stars": int(self.config.run.n_stars),
            "seed": self.seed,
            "version": self.version,
            "coefficients": D.name,
            "dt_myr": float(self.meta.get("dt_myr", float("nan"))),
            "steps": int(self.meta.get("steps_done", 0)),
        }
        if t.size == 0:
            return out
        T = float(t[-1])
        xi_mean = 1.0 if self.xi is None else float(np.mean(self.xi))
        out.update({
            "t_gyr": T / 1e3,
            "rms_dJR_kpckms": float(s["rms_dJR"][-1] / K),
            "rms_dJphi_kpckms": float(s["rms_dJphi"][-1] / K),
            "mean_JR_kpckms": float(s["mean_JR"][-1] / K),
            "sigma_R_kms": float(math.sqrt(kappa * s["mean_JR"][-1]) / units.KMS),
            "ratio": float(s["ratio"][-1]),
            "short_fraction": float(s["short_fraction"][-1]),
            "reflected_fraction_max": float(np.max(s["reflected_fraction"])),
            "big_kick_fraction_max": float(np.max(s["big_kick_fraction"])),
        })  # fmt: skip
        if self.xi is not None:
            out["xi"] = {"mean": xi_mean, "min": float(np.min(self.xi)), "max": float(np.max(self.xi))}
        Dx = D.scaled(xi_mean) if xi_mean != 1.0 else D
        for key, closure in (("eq29_30", "exponential"), ("self_similar", "self-similar")):
            pred = {}
            for regime in ("long", "short"):
                r, p = Dx.rms_prediction(T, regime, closure)
                pred[regime] = {"rms_dJR_kpckms": float(r) / K, "rms_dJphi_kpckms": float(p) / K}
            out[key] = pred
        try:
            out["late_ratio_eq39"] = D.late_ratio
            out["late_ratio_self_similar"] = D.late_ratio_for("self-similar")
        except ValueError:
            out["late_ratio_eq39"] = out["late_ratio_self_similar"] = None
        windows = {"late": (0.3 * T, T)}
        if isinstance(D.D_RR, BrokenPowerLaw) and self.config.stars.sigma_R0_kms == 0.0:
            t_turn = 2.0 * float(D.D_RR.turnover) / (float(D.D_RR.low.d) * xi_mean)
            windows["early"] = (float(t[0]), t_turn / 3.0)
        slopes: dict[str, Any] = {}
        for name in ("rms_dJR", "rms_dJphi"):
            slopes[name] = {}
            for label, (a, b) in windows.items():
                m = (t >= a) & (t <= b) & (np.asarray(s[name]) > 0)
                if m.sum() >= 3:
                    k = np.polyfit(np.log(t[m]), np.log(np.asarray(s[name])[m]), 1)[0]
                    slopes[name][label] = {"slope": float(k), "window_gyr": [a / 1e3, b / 1e3]}
                else:
                    slopes[name][label] = None
        out["slopes"] = slopes
        return out


# ----------------------------------------------------------------------------- storage


def _write(path, config, eng, rows, star_t, dR, dP, pop, dt, complete):
    from .. import __version__

    def write(h):
        h.attrs["format"] = RUN_FORMAT
        h.attrs["diskorbits_version"] = __version__
        h.attrs["config_toml"] = config.to_toml()
        h.attrs["seed"] = int(config.run.seed)
        h.attrs["complete"] = bool(complete)
        h.attrs["outputs_done"] = int(eng.i_out)
        h.attrs["n_outputs"] = int(len(eng.t_out))
        h.attrs["steps_done"] = int(eng.step)
        h.attrs["dt_myr"] = float(dt)
        h.attrs["coefficients_json"] = json.dumps(config.coefficients.build().to_paper_units())
        h.attrs["unit_system"] = "kpc, Myr, Msun (actions kpc^2/Myr)"
        h.attrs["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        g = h.create_group("stats")
        g.create_dataset("t_myr", data=np.asarray(eng.t_out[: eng.i_out], dtype=float))
        for k, v in _stack_rows(rows).items():
            d = g.create_dataset(k, data=np.asarray(v))
            d.attrs["unit"] = _STAT_UNITS.get(k, "")
        n_store = config.run.n_store if not dR else dR[0].shape[0]
        g = h.create_group("stars")
        g.create_dataset("t_myr", data=np.asarray(star_t, dtype=float))
        for k, v in (("dJ_R", dR), ("dJ_phi", dP)):
            d = g.create_dataset(k, data=np.stack(v) if v else np.zeros((0, n_store)))
            d.attrs["unit"] = "kpc2/Myr"
        g = h.create_group("initial")
        g.create_dataset("J_R0", data=pop["J_R0"])
        g.create_dataset("xi", data=np.ones_like(pop["J_R0"]) if pop["xi"] is None else pop["xi"])
        if pop["J_z"] is not None:
            g.create_dataset("J_z", data=pop["J_z"])
        if complete:
            g = h.create_group("final")
            g.create_dataset("J_R", data=eng.column("J"))
            g.create_dataset("J_phi", data=eng.column("J_phi"))
        else:
            g = h.create_group("checkpoint")
            for k in ("X1", "X2", "J_phi"):
                g.create_dataset(k, data=eng.column(k))

    _atomic_h5(path, write)


def read_langevin(path) -> LangevinRun:
    """Read a run file written by :func:`run_langevin` (complete or a checkpoint)."""
    path = Path(path)
    with open_run_file(path, RUN_FORMAT, "Langevin") as h:
        config = load_langevin_config(str(h.attrs["config_toml"]))
        stats = {k: np.asarray(v) for k, v in h["stats"].items()}
        t = stats.pop("t_myr")
        complete = bool(h.attrs["complete"])
        meta = {k: (v.item() if hasattr(v, "item") else v) for k, v in h.attrs.items() if k != "config_toml"}
        return LangevinRun(
            config=config, t_myr=t, stats=stats,
            dJ_R=np.asarray(h["stars/dJ_R"]), dJ_phi=np.asarray(h["stars/dJ_phi"]),
            J_R0=np.asarray(h["initial/J_R0"]),
            xi=np.asarray(h["initial/xi"]) if config.stars.sigma_z_kms is not None else None,
            J_z=np.asarray(h["initial/J_z"]) if "J_z" in h["initial"] else None,
            J_R=np.asarray(h["final/J_R"]) if complete else None,
            J_phi=np.asarray(h["final/J_phi"]) if complete else None,
            complete=complete, version=str(h.attrs["diskorbits_version"]),
            meta={**meta, "dt_myr": float(h.attrs["dt_myr"])},
        )  # fmt: skip


def _read_checkpoint(path: Path, config: LangevinConfig):
    with open_run_file(path, RUN_FORMAT, "Langevin") as h:
        if check_resumable(h.attrs, path, config.to_toml()):
            return "complete", None
        stats = {k: np.asarray(v) for k, v in h["stats"].items() if k != "t_myr"}
        m = int(h.attrs["outputs_done"])
        rows = [{k: stats[k][i].item() for k in stats} for i in range(m)]
        payload = {
            "i_out": m,
            "step": int(h.attrs["steps_done"]),
            "rows": rows,
            "star_t": list(np.asarray(h["stars/t_myr"])),
            "dR": list(np.asarray(h["stars/dJ_R"])),
            "dP": list(np.asarray(h["stars/dJ_phi"])),
            "X": (np.asarray(h["checkpoint/X1"]), np.asarray(h["checkpoint/X2"])),
            "J_phi": np.asarray(h["checkpoint/J_phi"]),
        }
    return "partial", payload


# ----------------------------------------------------------------------------- driver


def run_langevin(
    config: LangevinConfig | str | Path | dict,
    output: str | Path | None = None,
    *,
    progress=True,
    resume: bool = False,
    overwrite: bool = False,
    stop_after_outputs: int | None = None,
) -> LangevinRun:
    """Evolve the population of a configuration with the Langevin scheme (Modak et al. 2026, Eqs. 26, 43-44).

    Parameters
    ----------
    config : LangevinConfig, path to a TOML file, or dict
    output : path, optional
        HDF5 run file, written atomically at checkpoints and at the end.
    progress : bool or AbstractProgress
        Progress bar in block-steps (on by default, as for the CLI).
    resume : bool
        Continue an unfinished checkpoint of the *same* configuration in ``output``
        (bit-identical to an uninterrupted run).
    overwrite : bool
        Replace an existing ``output`` instead of raising.
    stop_after_outputs : int, optional
        Stop after this many output times (writing a checkpoint): for splitting long
        runs across job slots and for tests of resumption.

    Returns
    -------
    LangevinRun

    Raises
    ------
    FileExistsError
        If ``output`` exists and neither ``resume`` (with a matching unfinished run)
        nor ``overwrite`` applies.
    """
    config = load_langevin_config(config)
    output = None if output is None else Path(output)
    D = config.coefficients.build()
    pop = initial_population(config)
    t_out = config.run.output_times()
    dt = _resolve_dt(D, None if config.run.dt_myr == "auto" else config.run.dt_myr, pop["xi"], float(t_out[-1]))
    key = jax.random.fold_in(jax.random.key(config.run.seed), 0)

    state = None
    if output is not None and output.exists():
        kind = "refuse"
        if resume:
            try:
                kind, state = _read_checkpoint(output, config)
            except ValueError:
                if not overwrite:
                    raise
                kind, state = "refuse", None
        if kind == "complete" and not overwrite:
            raise FileExistsError(f"{output} already holds a finished run; pass overwrite=True (--overwrite) to redo it")
        if kind == "refuse" and not overwrite:
            raise FileExistsError(f"{output} exists; pass resume=True (--resume) or overwrite=True (--overwrite)")
        if kind != "partial":
            state = None

    n_store = min(config.run.n_store, config.run.n_stars)
    if state is None:
        eng = _make_engine(D, pop["J_R0"], t_out, key=key, dt=dt, xi=pop["xi"])
        rows, star_t, dR, dP = [], [], [], []
    else:
        eng = _make_engine(D, pop["J_R0"], t_out, key=key, dt=dt, xi=pop["xi"], X=state["X"],
                           J_phi=state["J_phi"], i_out=state["i_out"], step=state["step"])  # fmt: skip
        rows, star_t, dR, dP = state["rows"], state["star_t"], state["dR"], state["dP"]

    def save(complete):
        if output is not None:
            _write(output, config, eng, rows, star_t, dR, dP, pop, dt, complete)

    limit = len(t_out) if stop_after_outputs is None else min(len(t_out), int(stop_after_outputs))
    every = 1e3 * config.run.checkpoint_every_gyr
    last_ck = 0.0 if eng.i_out == 0 else float(t_out[eng.i_out - 1])
    bar = as_progress(progress)
    with bar:
        bar.start(
            eng.total_steps() * eng.n_blocks,
            f"{config.name or 'Langevin'}: {config.run.n_stars} stars, {config.run.duration_gyr:g} Gyr, dt {dt:.3g} Myr",
        )
        done = sum(eng.steps_for(i)[0] for i in range(eng.i_out)) * eng.n_blocks
        if done:
            bar.advance(done)
        while eng.i_out < limit:
            rows.append(eng.advance_output(bar))
            star_t.append(float(t_out[eng.i_out - 1]))
            dR.append(eng.column("J", n_store) - eng.column("J_R0", n_store))
            dP.append(eng.column("J_phi", n_store) - eng.column("J_phi0", n_store))
            t_now = float(t_out[eng.i_out - 1])
            if eng.i_out < len(t_out) and (t_now - last_ck >= every or eng.i_out == limit):
                save(False)
                last_ck = t_now
    complete = eng.i_out >= len(t_out)
    if complete:
        save(True)
    from .. import __version__

    return LangevinRun(
        config=config,
        t_myr=np.asarray(t_out[: eng.i_out]),
        stats=_stack_rows(rows),
        dJ_R=np.stack(dR) if dR else np.zeros((0, n_store)),
        dJ_phi=np.stack(dP) if dP else np.zeros((0, n_store)),
        J_R0=pop["J_R0"],
        xi=pop["xi"],
        J_z=pop["J_z"],
        J_R=eng.column("J") if complete else None,
        J_phi=eng.column("J_phi") if complete else None,
        complete=complete,
        version=__version__,
        meta={"dt_myr": dt, "steps_done": eng.step, "outputs_done": eng.i_out, "n_outputs": len(t_out)},
    )
