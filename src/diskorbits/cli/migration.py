"""``diskorbits migration``: migration versus heating in the Galactic disk (Frankel et al. 2020).

A thin layer over :mod:`diskorbits.migration`:

* ``migration mock CONFIG.toml -o MOCK.fits`` -- a red-clump mock survey with
  known truth (:mod:`diskorbits.migration.mock_config`,
  :func:`~diskorbits.migration.mock.make_mock`);
* ``migration fit CATALOG --selection SPEC [--sampler nuts|emcee|none] -o FIT.h5``
  -- likelihood (:func:`~diskorbits.migration.likelihood.build_likelihood`),
  multi-start MLE and posterior sampling
  (:func:`~diskorbits.migration.inference.fit`), resumable with ``--resume``;
  SPEC is ``apogee-dr17``, ``kepler``, ``none`` or a TOML file (user
  ``[[fields]]``, or a mock configuration whose ``[selection]`` is used); a
  mock catalogue carries its own selection, so SPEC may be left out;
* ``migration summary FIT.h5 [--json]`` -- Table 1 of the paper next to the
  fit, diagnostics and the Sec. 6 quantities
  (:func:`~diskorbits.migration.summary.summarize`);
* ``migration plot FIT.h5 [-o DIR]`` -- Figs. 4, 6 and 7 in style
  (:mod:`diskorbits.plotting.migration`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from diskorbits.cli._console import console_for

__all__ = ["register"]

#: Warnings listed in the human-readable summaries (all are in --json).
_MAX_WARNINGS_SHOWN = 12

_HELP = "Migration vs heating (Frankel et al. 2020): mock surveys, fits (MLE + NUTS/emcee), summaries, figures."


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


def _fmt(v, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return f"{v:.{digits}g}"


# ----------------------------------------------------------------------------- catalogue helpers


def _read_catalogue(path: Path):
    from ..io import read_table

    if not path.exists():
        raise FileNotFoundError(f"catalogue not found: {path}")
    return read_table(path)


def _meta_value(meta, key: str):
    for k, v in dict(meta or {}).items():
        if str(k).lower() == key.lower():
            return v
    return None


def _describe_catalogue(path: Path, table) -> dict:
    """Path, size and, for a mock, its true parameters and seed (from the table's metadata)."""
    from ..migration.parameters import NAMES

    out = {"path": str(path.resolve()), "n_stars": len(table)}
    params = _meta_value(table.meta, "params")
    if params is not None:
        try:
            d = json.loads(str(params))
            out["truth"] = {n: float(d[n]) for n in NAMES}
        except (ValueError, KeyError, TypeError):
            pass
    for key in ("seed", "generator", "version"):
        v = _meta_value(table.meta, key)
        if v is not None:
            out[f"mock_{key}"] = v if isinstance(v, (int, float, str)) else str(v)
    return out


def _selection_for(spec: str | None, table):
    """(selection, resolved [selection] table, source) from SPEC or a mock catalogue's stored configuration."""
    from ..migration.mock_config import ConfigError, mock_config_of, selection_from_spec

    if spec is not None:
        sel, resolved = selection_from_spec(spec)
        return sel, resolved, str(spec)
    cfg = mock_config_of(getattr(table, "meta", {}))
    if cfg is None:
        raise ConfigError("--selection is required (apogee-dr17, kepler, none or a TOML file): "
                          "the catalogue carries no mock configuration to take it from")  # fmt: skip
    return cfg.selection(), cfg.doc["selection"], "mock catalogue metadata"


def _setup_for(selection, table):
    """The SurveySetup of a fit: a mock's own (same g(v_z)) when the catalogue is one, else the paper's."""
    from ..migration.mock_config import mock_config_of
    from ..migration.samples import SurveySetup

    cfg = mock_config_of(getattr(table, "meta", {}))
    return cfg.setup(selection) if cfg is not None else SurveySetup(selection)


# ----------------------------------------------------------------------------- printing


def _print_mock(s: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"migration mock: {s['n_stars']} stars, seed {s['seed']}")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_row("parameters", f"{s['parameters']} (Frankel et al. 2020)")
    t.add_row("selection", s["selection"])
    t.add_row("acceptance", f"{s['acceptance']:.3g} of {s['n_proposals']} proposals")
    t.add_row("median distance", f"{s['median_distance_kpc']:.3f} kpc")
    t.add_row("median age", f"{s['median_age_gyr']:.2f} Gyr")
    t.add_row("[Fe/H] 5-95%", f"{s['feh_5_95'][0]:.2f} .. {s['feh_5_95'][1]:.2f} dex")
    Console().print(t)


def _print_summary(d: dict, title: str) -> None:
    from rich.table import Table

    truth = ((d["run"].get("catalogue") or {}).get("truth")) or None
    t = Table(title=title)
    for col in ("parameter", "unit", "MLE", "median [16%, 84%]"):
        t.add_column(col, justify="left" if col in ("parameter", "unit") else "right")
    if truth:
        t.add_column("truth", justify="right", style="green")
    for col in ("Table 1", "text", "R-hat", "ESS bulk"):
        t.add_column(col, justify="right", style="dim" if col in ("Table 1", "text") else None)
    for name, r in d["parameters"].items():
        post = "-" if r["median"] is None else f"{_fmt(r['median'])} [{_fmt(r['p16'])}, {_fmt(r['p84'])}]"
        row = [name, r["unit"], _fmt(r["mle"]), post]
        if truth:
            row.append(_fmt(truth.get(name)))
        text = "" if r["text"] == r["table1"] else _fmt(r["text"])
        row += [_fmt(r["table1"]), text, _fmt(r["rhat"], 3), "-" if r["ess_bulk"] is None else f"{r['ess_bulk']:.0f}"]
        t.add_row(*row)
    console = console_for(t)
    console.print(t)
    s = d["sampling"]
    line = f"sampler {s['sampler']}" + ("" if s["complete"] else " (unfinished)")
    if s["chains"] is not None:
        line += f": {s['chains']} chains x {s['draws']} draws (burn {s['burn']}), {s['n_posterior']} posterior draws"
    if s["mle_log_likelihood"] is not None:
        line += f"; ln L(MLE) = {s['mle_log_likelihood']:.2f}, {s['mle_starts_at_best']}/{s['mle_starts']} starts agree"
    console.print(line)
    if d["derived"]:
        g = Table(title=f"derived quantities at tau = {d['run']['tau_gyr']:g} Gyr (Sec. 6)")
        for col in ("quantity", "unit", "MLE", "median [16%, 84%]", "paper"):
            g.add_column(col, justify="left" if col in ("quantity", "unit") else "right")
        for key, e in d["derived"].items():
            post = "-" if e["median"] is None else f"{_fmt(e['median'])} [{_fmt(e['p16'])}, {_fmt(e['p84'])}]"
            paper = "" if "paper" not in e else _fmt(e["paper"]) + (f" ± {_fmt(e['paper_error'])}" if "paper_error" in e else "")
            g.add_row(key, e["unit"], _fmt(e["mle"]), post, paper)
        console.print(g)
    shown = d["warnings"][:_MAX_WARNINGS_SHOWN]
    for w in shown:
        console.print(f"[yellow]warning:[/yellow] {w}")
    if len(d["warnings"]) > len(shown):
        console.print(f"[yellow]... and {len(d['warnings']) - len(shown)} more warnings[/yellow] (all of them with --json)")


# ----------------------------------------------------------------------------- commands


def register(app: typer.Typer) -> None:
    """Add the ``migration`` command group to ``app``."""
    migration_app = typer.Typer(name="migration", help=_HELP, no_args_is_help=True, add_completion=False)

    @migration_app.command("mock")
    def mock_command(
        config: Path = typer.Argument(..., help="Mock configuration (TOML); see configs/migration/."),
        output: Path = typer.Option(..., "--output", "-o", help="Catalogue to write (.fits, .ecsv, .csv, .parquet)."),
        n_stars: int | None = typer.Option(None, "--n-stars", min=1, help="Override mock.n_stars."),
        seed: int | None = typer.Option(None, "--seed", min=0, help="Override mock.seed."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT if it exists."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    ) -> None:
        """Draw a red-clump mock survey from the Frankel et al. (2020) model, with noise and truth."""
        import numpy as np

        from ..migration.mock_config import ConfigError, load_mock_config

        try:
            cfg = load_mock_config(config)
            over = {k: v for k, v in (("n_stars", n_stars), ("seed", seed)) if v is not None}
            if over:
                cfg = cfg.replace(mock=over)
            if output.exists() and not overwrite:
                raise FileExistsError(f"output file {str(output)!r} exists; pass --overwrite")
            from ..migration.mock import write_mock

            table = cfg.make()
            write_mock(table, output, overwrite=overwrite)
        except (ConfigError, FileNotFoundError, FileExistsError, ValueError, TypeError, RuntimeError, ImportError) as exc:
            _fail(str(exc))
        summary = {
            "output": str(output),
            "n_stars": len(table),
            "seed": cfg.seed,
            "parameters": cfg.doc["parameters"]["preset"] + "".join(
                f", {n} = {v:g}" for n, v in cfg.doc["parameters"].items() if n != "preset"),
            "selection": cfg.doc["selection"]["kind"],
            "acceptance": float(_meta_value(table.meta, "acceptance") or float("nan")),
            "n_proposals": int(_meta_value(table.meta, "n_proposals") or 0),
            "median_distance_kpc": float(np.median(np.asarray(table["distance"]))),
            "median_age_gyr": float(np.median(np.asarray(table["age"]))),
            "feh_5_95": [float(v) for v in np.percentile(np.asarray(table["feh"]), [5, 95])],
        }  # fmt: skip
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
        else:
            _print_mock(summary)
            typer.echo(f"wrote {output}")

    @migration_app.command("fit")
    def fit_command(
        catalogue: Path = typer.Argument(..., help="Red-clump catalogue (e.g. 'migration mock' output): l, b, distance, pm, rv, age, feh + errors."),
        output: Path = typer.Option(..., "--output", "-o", help="HDF5 fit file to write (atomically)."),
        selection: str | None = typer.Option(
            None, "--selection", "-s",
            help="apogee-dr17, kepler, none, or a TOML file (\\[\\[fields]] or a mock configuration's \\[selection]); "
            "default: the selection stored in a mock catalogue.",
        ),
        sampler: str = typer.Option("nuts", "--sampler", help="nuts (default), emcee (the paper's) or none (MLE only)."),
        seed: int = typer.Option(0, "--seed", min=0, help="Seed of the Monte Carlo samples, MLE starts and sampler."),
        mle_starts: int = typer.Option(8, "--mle-starts", min=1, help="Maximum-likelihood starts."),
        mle_method: str = typer.Option(
            "l-bfgs-b", "--mle-method",
            help="l-bfgs-b (default: quasi-Newton with the JAX gradient) or nelder-mead (the paper's simplex, ~50x more evaluations).",
        ),
        mle_iterations: int | None = typer.Option(None, "--mle-max-iterations", min=1, help="Optimiser iterations per start (default 1000 per parameter)."),
        near_table1: bool = typer.Option(False, "--mle-near-table1", help="Draw the MLE starts around Table 1 (+-10% of the box) instead of in the whole prior box."),
        n_mc: int = typer.Option(80, "--mc-samples", min=1, help="Monte Carlo samples of the truth per star (paper: 80)."),
        n_volume: int = typer.Option(100_000, "--volume-samples", min=100, help="Proposal samples of the survey volume."),
        n_warmup: int | None = typer.Option(None, "--warmup", min=0, help="NUTS warmup steps (default 100; the dense Laplace metric of the MLE is kept, the step size adapted)."),
        n_draws: int | None = typer.Option(None, "--draws", min=4, help="NUTS draws per chain (default 300)."),
        n_chains: int | None = typer.Option(None, "--chains", min=1, help="NUTS chains (default 2)."),
        n_walkers: int | None = typer.Option(None, "--walkers", min=22, help="emcee walkers (paper: 52)."),
        n_steps: int | None = typer.Option(None, "--steps", min=4, help="emcee steps (paper: 12000)."),
        n_burn: int | None = typer.Option(None, "--burn", min=0, help="emcee burn-in steps (default a quarter)."),
        chunk_size: int | None = typer.Option(None, "--chunk-size", min=1, help="Steps between checkpoints."),
        resume: bool = typer.Option(False, "--resume", help="Continue the unfinished fit in OUTPUT (same settings)."),
        stop_after: int | None = typer.Option(
            None, "--stop-after-chunks", min=1, help="Stop the sampler after this many chunks (checkpointed; continue with --resume)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT if it exists."),
        show_progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bars on stderr."),
        as_json: bool = typer.Option(False, "--json", help="Print the parameter summary as JSON on stdout."),
    ) -> None:
        """Fit the Frankel et al. (2020) model to a catalogue: MLE from several starts, then NUTS or emcee."""
        from ..migration.inference import SAMPLERS

        from ..sampling.optimize import METHODS

        if sampler not in SAMPLERS:
            _fail(f"--sampler must be one of {', '.join(SAMPLERS)}; got {sampler!r}")
        if mle_method not in METHODS:
            _fail(f"--mle-method must be one of {', '.join(METHODS)}; got {mle_method!r}")
        nuts_opts = {"n_warmup": n_warmup, "n_draws": n_draws, "n_chains": n_chains}
        emcee_opts = {"n_walkers": n_walkers, "n_steps": n_steps, "n_burn": n_burn}
        wrong = [k for k, v in (emcee_opts if sampler != "emcee" else nuts_opts).items() if v is not None]
        if sampler != "none" and wrong:
            _fail(f"options {', '.join('--' + k[2:] for k in wrong)} do not apply to --sampler {sampler}")
        if sampler == "none" and any(v is not None for v in [*nuts_opts.values(), *emcee_opts.values(), chunk_size, stop_after]):
            _fail("--sampler none runs no sampler; drop the sampler options")
        if output.exists() and not (overwrite or resume):
            _fail(f"output file {str(output)!r} exists; pass --overwrite (or --resume to continue an unfinished fit)")
        opts = {k: v for k, v in {**(nuts_opts if sampler == "nuts" else emcee_opts), "chunk_size": chunk_size}.items()
                if v is not None and sampler != "none"}  # fmt: skip

        import warnings

        import numpy as np

        from ..migration import inference
        from ..migration.likelihood import build_likelihood
        from ..migration.mock_config import ConfigError
        from ..migration.parameters import table1
        from ..migration.summary import summarize
        from ..progress import RichProgress
        from ..sampling import ConvergenceWarning

        try:
            table = _read_catalogue(catalogue)
            sel, sel_table, sel_source = _selection_for(selection, table)
            setup = _setup_for(sel, table)
            lik = build_likelihood(table, setup, n_mc=n_mc, n_volume=n_volume, rng=seed)
            cat = _describe_catalogue(catalogue, table)
            cat.update({"n_mc": n_mc, "n_volume": n_volume, "monte_carlo_check": lik.check()})
            mle_opts = {"guess": np.asarray(table1().to_vector())} if near_table1 else {}
            mle_opts["method"] = mle_method
            if mle_iterations is not None:
                mle_opts["max_iterations"] = mle_iterations
            with warnings.catch_warnings():
                # the summary below lists them; no duplicate tracebacks-like lines on stderr
                warnings.simplefilter("ignore", ConvergenceWarning)
                result = inference.fit(
                    lik, sampler=sampler, mle_starts=mle_starts, mle_options=mle_opts or None, sampler_options=opts or None,
                    seed=seed, path=output, resume=resume, overwrite=overwrite, stop_after_chunks=stop_after,
                    progress=RichProgress(transient=True) if show_progress else None,
                    selection={"source": sel_source, "table": sel_table, "description": inference.describe_selection(sel)},
                    catalogue=cat,
                )  # fmt: skip
            d = summarize(result, derived=False).to_dict()
        except (ConfigError, FileNotFoundError, FileExistsError, ValueError, TypeError, ImportError) as exc:
            _fail(str(exc))
        d["output"] = str(output)
        if as_json:
            typer.echo(json.dumps(d, indent=2, default=str))
        else:
            _print_summary(d, f"migration fit: {catalogue.name} ({cat['n_stars']} stars)")
            typer.echo(f"wrote {output}" + ("" if result.complete else " (unfinished: continue with --resume)"))

    @migration_app.command("summary")
    def summary_command(
        fit_file: Path = typer.Argument(..., help="HDF5 fit file of 'diskorbits migration fit'."),
        siblings: int = typer.Option(50_000, "--siblings", min=100, help="Solar siblings drawn per parameter set (Sec. 6.5)."),
        sibling_draws: int = typer.Option(16, "--sibling-draws", min=0, help="Posterior draws for the siblings' ranges."),
        max_samples: int = typer.Option(2000, "--max-samples", min=1, help="Posterior draws used for the derived quantities."),
        no_derived: bool = typer.Option(False, "--no-derived", help="Parameters and diagnostics only (fast)."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    ) -> None:
        """Table 1 of Frankel et al. (2020) next to the fit, convergence diagnostics and the Sec. 6 quantities."""
        from ..migration.inference import read_fit
        from ..migration.summary import summarize

        try:
            result = read_fit(fit_file)
            d = summarize(result, n_siblings=siblings, sibling_samples=sibling_draws, max_samples=max_samples,
                          derived=not no_derived).to_dict()  # fmt: skip
        except (FileNotFoundError, ValueError, KeyError) as exc:
            _fail(str(exc))
        except OSError as exc:
            _fail(f"cannot read {fit_file} as a fit file ({exc})")
        d["file"] = str(fit_file)
        if as_json:
            typer.echo(json.dumps(d, indent=2, default=str))
        else:
            _print_summary(d, f"migration fit: {fit_file.name}")

    @migration_app.command("plot")
    def plot_command(
        fit_file: Path = typer.Argument(..., help="HDF5 fit file of 'diskorbits migration fit'."),
        outdir: Path | None = typer.Option(None, "--output", "-o", help="Folder for the figures (default FIT_plots next to FIT.h5)."),
        catalogue: Path | None = typer.Option(None, "--catalogue", help="Catalogue for the data-vs-model panels (default: the one stored in FIT)."),
        model_stars: int = typer.Option(2000, "--model-stars", min=0, help="Stars drawn from the model at the MLE for Fig. 6 (0: none)."),
        fmt: str = typer.Option("png", "--format", help="Figure format: png, pdf or svg."),
        dpi: int = typer.Option(110, "--dpi", min=10, help="Resolution of raster figures."),
        as_json: bool = typer.Option(False, "--json", help="Print the written files as JSON on stdout."),
    ) -> None:
        """Figures in the style of Frankel et al. (2020): posterior corner (Fig. 4), data vs model (Fig. 6), action changes (Fig. 7)."""
        if fmt not in ("png", "pdf", "svg"):
            _fail(f"--format must be png, pdf or svg; got {fmt!r}")
        from ..migration.inference import read_fit

        try:
            result = read_fit(fit_file)
        except (FileNotFoundError, ValueError, KeyError) as exc:
            _fail(str(exc))
        except OSError as exc:
            _fail(f"cannot read {fit_file} as a fit file ({exc})")
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        import numpy as np

        from ..migration.parameters import table1
        from ..plotting.migration import (
            plot_action_changes,
            plot_corner,
            plot_data_vs_model,
        )

        outdir = outdir or fit_file.with_name(f"{fit_file.stem}_plots")
        outdir.mkdir(parents=True, exist_ok=True)
        written, skipped = [], []

        def save(fig, name):
            path = outdir / f"{name}.{fmt}"
            fig.savefig(path, dpi=dpi)
            plt.close(fig)
            written.append(str(path))

        truth_d = (result.catalogue or {}).get("truth")
        truth = None if not truth_d else [truth_d[n] for n in result.names]
        reference = np.asarray(table1().to_vector())
        # Fig. 4: corner plot of the posterior
        if result.has_samples:
            save(plot_corner(result.samples(max_samples=20_000), names=result.names, units=result.units, reference=reference,
                             truth=truth, mle=result.mle_vector, title=f"posterior: {fit_file.name}"), "migration_corner")  # fmt: skip
        else:
            skipped.append(f"corner plot (no posterior samples: sampler {result.sampler!r}, complete={result.complete})")
        # Fig. 7: action changes vs age
        points = result.samples(max_samples=400) if result.has_samples else result.mle_vector
        save(plot_action_changes(points, title=fit_file.name), "migration_action_changes")
        # Fig. 6: data vs model
        cat_path = catalogue or (Path(result.catalogue["path"]) if (result.catalogue or {}).get("path") else None)
        if cat_path is None or not Path(cat_path).exists():
            skipped.append(f"data vs model (catalogue {str(cat_path)!r} not available; pass --catalogue)")
        else:
            try:
                table = _read_catalogue(Path(cat_path))
                model, note = _model_draws(result, table, model_stars)
                fig = plot_data_vs_model(table, model, note=note, model_label="model at the MLE",
                                         title=f"data vs model: {Path(cat_path).name}")  # fmt: skip
            except (FileNotFoundError, ValueError, TypeError) as exc:
                skipped.append(f"data vs model ({exc})")
            else:
                save(fig, "migration_data_vs_model")
                if note:
                    skipped.append(f"model draws of the data-vs-model figure ({note})")
        if as_json:
            typer.echo(json.dumps({"written": written, "skipped": skipped}, indent=2))
        else:
            for w in written:
                typer.echo(f"wrote {w}")
            for s_ in skipped:
                typer.secho(f"skipped: {s_}", err=True, fg=typer.colors.YELLOW)

    app.add_typer(migration_app, name="migration")


def _model_draws(result, table, n: int):
    """(model catalogue or None, note): a mock at the MLE through the fit's selection, for Fig. 6."""
    if n <= 0:
        return None, "no model draws requested (--model-stars 0)"
    if result.mle is None:
        return None, "the fit has no maximum-likelihood point"
    try:
        from ..migration import mock as mock_module
        from ..migration.mock_config import (
            ConfigError,
            mock_config_of,
            selection_from_table,
        )
        from ..migration.parameters import ModelParameters
    except ImportError as exc:  # pragma: no cover - mock.py is part of the package
        return None, f"diskorbits.migration.mock is not available ({exc})"
    sel_table = (result.selection or {}).get("table")
    if not sel_table:
        return None, "the fit stores no selection to draw the model through"
    try:
        sel = selection_from_table(sel_table)
        cfg = mock_config_of(getattr(table, "meta", {}))
        setup = _setup_for(sel, table)
        noise = cfg.noise() if cfg is not None else mock_module.NoiseModel()
        model = mock_module.make_mock(int(n), setup, params=ModelParameters.from_vector(result.mle_vector), noise=noise,
                                      rng=result.seed)  # fmt: skip
    except (ConfigError, ValueError, RuntimeError, ImportError) as exc:
        return None, f"drawing the model failed: {exc}"
    return model, None
