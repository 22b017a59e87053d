"""``diskorbits migration mock | fit | summary | plot`` end to end on a tiny synthetic survey.

The physics is tested elsewhere (mock, likelihood, inference, summary); here the
heavy pieces are replaced by light stand-ins -- the survey setup (a potential and
its guiding table take tens of seconds to build), the mock drawer and the
likelihood (a Gaussian around Table 1) -- so that every command runs for real on
files: configuration -> catalogue -> fit file (stopped, then resumed) -> summary
and figures.
"""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import typer
from astropy.table import Table
from typer.testing import CliRunner

import diskorbits.migration.derived as derived_module
import diskorbits.migration.likelihood as likelihood_module
import diskorbits.migration.mock as mock_module
import diskorbits.migration.model as model_module
import diskorbits.migration.samples as samples_module
from diskorbits import units
from diskorbits.cli import migration as migration_cli
from diskorbits.migration import NAMES
from diskorbits.migration.inference import PRIOR_BOUNDS
from diskorbits.migration.model import GuidingTable
from diskorbits.migration.selection import NoSelection

CONFIG = """
name = "cli test"
[mock]
seed = 1
n_stars = 300
[parameters]
sigma_Lz = 500.0
[selection]
kind = "none"
d_max = 3.0
[noise]
preset = "none"
"""
LO = np.array([PRIOR_BOUNDS[n][0] for n in NAMES])
HI = np.array([PRIOR_BOUNDS[n][1] for n in NAMES])


class FakeSetup:
    """Stands in for SurveySetup: keeps the selection, builds no potential."""

    def __init__(self, selection, vz_dispersion=20.0, **kw):
        self.selection, self.vz_dispersion = selection, vz_dispersion


class ToyLikelihood(eqx.Module):
    """Gaussian ln L around the catalogue's true parameters (stands in for migration.likelihood.Likelihood)."""

    mu: jax.Array
    sd: jax.Array

    def __call__(self, theta):
        return -0.5 * jnp.sum(((theta - self.mu) / self.sd) ** 2)

    def check(self):
        return {"volume_ess": 1e5, "n_stars": 0}


def fake_make_mock(n_stars, setup, *, params, noise, rng, **kw):
    """A catalogue with the columns of migration.mock, drawn from simple laws that use the parameters."""
    g = np.random.default_rng(rng)
    p = params.display()
    v = 235.0
    lz = g.gamma(2.0, float(p["R_d0"]) * v, n_stars)
    t = Table({
        "L_z": lz, "J_R": g.exponential(40.0, n_stars), "age": g.uniform(0.5, 6.0, n_stars),
        "feh": float(p["FeH_max"]) - 0.5 + float(p["grad_FeH"]) * (lz / v - 8.0), "R": lz / v,
        "distance": g.uniform(0.1, float(setup.selection.d_max), n_stars),
    })  # fmt: skip
    t.meta.update({"generator": "fake", "seed": int(rng), "acceptance": 0.5, "n_proposals": 2 * n_stars,
                   "params": json.dumps({n: float(p[n]) for n in NAMES})})  # fmt: skip
    CALLS.append({"n_stars": n_stars, "params": {n: float(p[n]) for n in NAMES}, "selection": setup.selection, "noise": noise})
    return t


def fake_build_likelihood(table, setup, *, n_mc, n_volume, rng, **kw):
    truth = json.loads(str({k.lower(): v for k, v in table.meta.items()}["params"]))
    CALLS.append({"likelihood": True, "selection": setup.selection, "n_mc": n_mc, "n_volume": n_volume})
    mu = np.array([truth[n] for n in NAMES])
    return ToyLikelihood(jnp.asarray(mu), jnp.asarray(0.03 * (HI - LO)))


def _flat_table():
    R = jnp.geomspace(0.05, 100.0, 400)
    v = 235.0 * units.KMS
    return GuidingTable(jnp.log(R), jnp.log(R * v), jnp.log(jnp.sqrt(2.0) * v / R), jnp.log(10.0 * v / R))


CALLS: list[dict] = []


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setattr(samples_module, "SurveySetup", FakeSetup)
    mp.setattr(mock_module, "make_mock", fake_make_mock)
    mp.setattr(likelihood_module, "build_likelihood", fake_build_likelihood)
    table = _flat_table()
    mp.setattr(derived_module, "default_guiding_table", lambda: table)
    mp.setattr(model_module, "default_guiding_table", lambda: table)
    app = typer.Typer()
    migration_cli.register(app)
    d = tmp_path_factory.mktemp("cli")
    (d / "mock.toml").write_text(CONFIG)
    runner = CliRunner()
    yield {"app": app, "dir": d, "run": lambda args: runner.invoke(app, ["migration", *map(str, args)], env={"COLUMNS": "200"})}
    mp.undo()


@pytest.fixture(scope="module")
def made(cli):
    d = cli["dir"]
    res = cli["run"](["mock", d / "mock.toml", "-o", d / "mock.fits", "--n-stars", 150, "--seed", 4, "--json"])
    assert res.exit_code == 0, res.output
    fit_args = ["fit", d / "mock.fits", "-o", d / "fit.h5", "--sampler", "emcee", "--walkers", 22, "--steps", 40,
                "--chunk-size", 20, "--mle-starts", 2, "--mc-samples", 5, "--volume-samples", 1000, "--no-progress", "--json"]  # fmt: skip
    first = cli["run"]([*fit_args, "--stop-after-chunks", 1])
    assert first.exit_code == 0, first.output
    second = cli["run"]([*fit_args, "--resume"])
    assert second.exit_code == 0, second.output
    return {"mock": json.loads(res.stdout), "first": json.loads(first.stdout), "fit": json.loads(second.stdout)}


def test_mock_command_maps_the_configuration(made, cli):
    m = made["mock"]
    assert m["n_stars"] == 150 and m["seed"] == 4 and m["selection"] == "none"
    call = next(c for c in CALLS if "params" in c)
    assert call["n_stars"] == 150
    assert call["params"]["sigma_Lz"] == pytest.approx(500.0) and call["params"]["R_d0"] == pytest.approx(2.8)
    assert isinstance(call["selection"], NoSelection) and call["selection"].d_max == 3.0
    assert call["noise"].distance_frac == 0.0  # noise preset "none"
    t = Table.read(cli["dir"] / "mock.fits")
    assert len(t) == 150 and any(k.upper() == "MOCK_CONFIG" for k in t.meta)


def test_fit_command_takes_the_selection_from_the_mock_and_resumes(made):
    first, fit = made["first"], made["fit"]
    assert first["run"]["complete"] is False and any("unfinished" in w for w in first["warnings"])
    assert fit["run"]["complete"] is True and fit["sampling"]["draws"] == 40 and fit["sampling"]["chains"] == 22
    lik = next(c for c in CALLS if c.get("likelihood"))
    assert isinstance(lik["selection"], NoSelection) and lik["selection"].d_max == 3.0
    assert lik["n_mc"] == 5 and lik["n_volume"] == 1000
    sel = fit["run"]["selection"]
    assert sel["source"] == "mock catalogue metadata" and sel["table"]["kind"] == "none"
    assert fit["run"]["catalogue"]["truth"]["sigma_Lz"] == pytest.approx(500.0)
    # the toy likelihood peaks at the truth: the MLE finds it
    assert fit["parameters"]["sigma_Lz"]["mle"] == pytest.approx(500.0, abs=0.5)
    assert fit["parameters"]["sigma_Lz"]["table1"] == 582.0


def test_summary_command(made, cli):
    # (the shapes of test_migration_summary: 10 parameter sets, 3 x 2000 siblings -- compiled once per session)
    res = cli["run"](["summary", cli["dir"] / "fit.h5", "--json", "--siblings", 2000, "--sibling-draws", 2, "--max-samples", 9])
    assert res.exit_code == 0, res.output
    s = json.loads(res.stdout)
    assert s["derived"]["rms_delta_lz"]["paper"] == 619.0 and s["derived"]["rms_delta_lz"]["median"] > 0
    assert s["derived"]["siblings_lz_low"]["n_draws"] == 2
    assert s["parameters"]["beta"]["median"] is not None and s["run"]["sampler"] == "emcee"
    res = cli["run"](["summary", cli["dir"] / "fit.h5", "--no-derived"])
    assert res.exit_code == 0, res.output
    assert "sigma_Lz" in res.stdout and "Table 1" in res.stdout and "emcee" in res.stdout
    # without COLUMNS (not a terminal: rich's 80 columns) the table is still printed whole
    whole = CliRunner().invoke(cli["app"], ["migration", "summary", str(cli["dir"] / "fit.h5"), "--no-derived"])
    assert whole.exit_code == 0 and "…" not in whole.stdout and "ESS bulk" in whole.stdout, whole.stdout


def test_plot_command_writes_three_figures(made, cli):
    out = cli["dir"] / "figs"
    res = cli["run"](["plot", cli["dir"] / "fit.h5", "-o", out, "--model-stars", 100, "--dpi", 30, "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    names = sorted(p.split("/")[-1] for p in info["written"])
    assert names == ["migration_action_changes.png", "migration_corner.png", "migration_data_vs_model.png"]
    assert info["skipped"] == []
    assert all((out / n).read_bytes()[:4] == b"\x89PNG" for n in names)
    # the model draws of Fig. 6 came from the mock drawer at the MLE, through the fit's selection
    call = [c for c in CALLS if "params" in c][-1]
    assert call["n_stars"] == 100 and call["params"]["sigma_Lz"] == pytest.approx(500.0, abs=0.5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "{d}/missing.fits", "-o", "{d}/x.h5"], "catalogue not found"),
        (["fit", "{d}/mock.fits", "-o", "{d}/x.h5", "--sampler", "hmc"], "--sampler must be one of"),
        (["fit", "{d}/mock.fits", "-o", "{d}/x.h5", "--selection", "galaxy"], "--selection must be apogee-dr17, kepler, none"),
        (["fit", "{d}/mock.fits", "-o", "{d}/fit.h5"], "exists; pass --overwrite"),
        (["fit", "{d}/mock.fits", "-o", "{d}/x.h5", "--sampler", "none", "--walkers", "30"], "runs no sampler"),
        (["fit", "{d}/mock.fits", "-o", "{d}/x.h5", "--walkers", "30"], "do not apply to --sampler nuts"),
        (["fit", "{d}/plain.fits", "-o", "{d}/x.h5"], "--selection is required"),
        (["summary", "{d}/mock.toml"], "as a fit file"),
        (["summary", "{d}/plain.h5"], "not a diskorbits migration-fit run file"),
        (["mock", "{d}/bad.toml", "-o", "{d}/y.fits"], "unknown key(s) in [mock]: n_star"),
        (["mock", "{d}/mock.toml", "-o", "{d}/mock.fits"], "exists; pass --overwrite"),
        (["plot", "{d}/fit.h5", "--format", "jpg"], "--format must be png, pdf or svg"),
    ],
)
def test_bad_input_gives_a_clear_message(made, cli, args, message):
    d = cli["dir"]
    (d / "bad.toml").write_text("[mock]\nn_star = 3\n")
    Table({"l": [1.0]}).write(d / "plain.fits", overwrite=True)
    import h5py

    with h5py.File(d / "plain.h5", "w") as h:
        h.attrs["format"] = "other"
    res = cli["run"]([a.format(d=d) for a in args])
    assert res.exit_code != 0
    assert "error:" in res.output and message in res.output.replace("\n", " ")
