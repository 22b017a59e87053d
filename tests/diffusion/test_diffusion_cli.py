"""``diskorbits diffusion ...`` through typer's CliRunner."""

import json

import pytest
from typer.testing import CliRunner

from diskorbits.cli import app

runner = CliRunner()


def test_coefficients_preset_json():
    res = runner.invoke(app, ["diffusion", "coefficients", "--preset", "R8", "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["D_RR"]["long"]["coefficient"] == pytest.approx(9.3)
    assert info["D_phiphi"]["short"]["coefficient"] == pytest.approx(4600)
    assert info["late_ratio"] == pytest.approx(0.0548, abs=1e-4)


def test_coefficients_environment_lgr4_human_and_json():
    args = ["diffusion", "coefficients", "--sigma-bar", "39", "--lambda-star", "512", "--kappa", "42.43",
            "--R", "4", "--alpha-w", "1.1", "--xi", "0.75,0.39"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "Eq. 56" in res.output and "0.0939" in res.output
    info = json.loads(runner.invoke(app, args + ["--json"]).output)
    assert info["D_RR"]["long"]["coefficient"] == pytest.approx(21.0, rel=0.03)
    assert info["D_phiphi"]["short"]["coefficient"] == pytest.approx(1500, rel=0.03)
    assert info["late_ratio_eq56"] == pytest.approx(0.094, abs=5e-4)
    # xi from Eq. 46 instead of given
    info = json.loads(runner.invoke(app, args[:-2] + ["--sigma-z", "3.9,11", "--gas", "LGR4", "--json"]).output)
    assert info["environment"]["xi"]["RR"][1] == pytest.approx(0.38, abs=0.02)


def test_coefficients_errors():
    res = runner.invoke(app, ["diffusion", "coefficients"])
    assert res.exit_code == 2 and "--preset" in res.output
    res = runner.invoke(app, ["diffusion", "coefficients", "--preset", "M31"])
    assert res.exit_code == 2 and "unknown diffusion preset" in res.output
    res = runner.invoke(app, ["diffusion", "coefficients", "--sigma-bar", "-3"])
    assert res.exit_code == 2 and "sigma_bar" in res.output


def test_fit_a_long_format_table(tmp_path):
    """`diffusion fit TABLE --J-star` recovers the R8 long-wavelength coefficients from exact cold-ensemble draws."""
    import numpy as np
    from astropy.table import Table

    from diskorbits.diffusion import PAPER_ACTION, diffusion_preset

    d_RR, _, d_pp, _ = diffusion_preset("R8").regime("long")
    rng = np.random.default_rng(3)
    t = np.geomspace(20.0, 400.0, 10)  # Myr
    n = 4000
    # long-wavelength regime from J_R = 0: J_R exponential with mean d_RR t / 2, J_phi Gaussian of variance d_pp t
    dJR = rng.exponential(1.0, (t.size, n)) * (0.5 * d_RR * t)[:, None]
    dJp = rng.normal(0.0, 1.0, (t.size, n)) * np.sqrt(d_pp * t)[:, None]
    star = np.tile(np.arange(n), t.size)
    table = Table({"star": star, "t_gyr": np.repeat(t / 1e3, n), "dJ_R": dJR.ravel() / PAPER_ACTION,
                   "dJ_phi": dJp.ravel() / PAPER_ACTION})
    path = tmp_path / "changes.csv"
    table.write(path, format="ascii.csv")
    out = tmp_path / "fit.json"
    res = runner.invoke(app, ["diffusion", "fit", str(path), "--long-window", "0.02,0.4", "--J-star", "0.2",
                              "--bootstrap", "50", "--json", "-o", str(out)])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    long = info["regimes"]["long"]
    assert long["D_RR"]["coefficient"] == pytest.approx(9.3, abs=3 * long["D_RR"]["std"] + 0.05)
    assert long["D_phiphi"]["coefficient"] == pytest.approx(6900, abs=3 * long["D_phiphi"]["std"] + 20)
    assert info["regimes"]["short"] is None and out.exists()
    # human output names what was not fitted
    res = runner.invoke(app, ["diffusion", "fit", str(path), "--long-window", "0.02,0.4", "--J-star", "0.2",
                              "--bootstrap", "10"])
    assert res.exit_code == 0 and "not fitted" in res.output


def test_fit_errors_are_named(tmp_path):
    res = runner.invoke(app, ["diffusion", "fit", str(tmp_path / "missing.h5")])
    assert res.exit_code == 2 and "no such file" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("star,t_gyr,dJ_R\n0,0.1,1.0\n")
    res = runner.invoke(app, ["diffusion", "fit", str(bad), "--J-star", "0.2"])
    assert res.exit_code == 2 and "dJ_phi" in res.output


def test_evolve_summary_plot_and_resume(tmp_path):
    """`diffusion evolve` -> run file -> `summary --json` and `plot`; a finished run is not silently redone."""
    cfg = tmp_path / "small.toml"
    cfg.write_text(
        'name = "cli_small"\n[run]\nseed = 3\nn_stars = 3000\nduration_gyr = 1.0\ndt_myr = "auto"\n'
        'n_outputs = 12\nt_min_myr = 5.0\nn_store = 100\n[coefficients]\npreset = "R8"\n[stars]\n'
        'sigma_R0_kms = 0.0\nbox = "R8"\n'
    )
    out = tmp_path / "lv.h5"
    res = runner.invoke(app, ["diffusion", "evolve", str(cfg), "-o", str(out), "--no-progress", "--json"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["complete"] and s["n_stars"] == 3000 and s["t_gyr"] == pytest.approx(1.0)
    # D = min(long, short branch), so the heating stays below both pure-law (exact) predictions,
    # and by 1 Gyr it is close to the short-wavelength one
    ss, lo = s["self_similar"]["short"]["rms_dJR_kpckms"], s["eq29_30"]["long"]["rms_dJR_kpckms"]
    assert 0.8 * ss < s["rms_dJR_kpckms"] < min(ss, lo)
    again = json.loads(runner.invoke(app, ["diffusion", "summary", str(out), "--json"]).output)
    assert again["rms_dJR_kpckms"] == s["rms_dJR_kpckms"]
    human = runner.invoke(app, ["diffusion", "summary", str(out)])
    assert human.exit_code == 0 and "rms dJ_R" in human.output and "self-similar" in human.output
    res = runner.invoke(app, ["diffusion", "evolve", str(cfg), "-o", str(out), "--no-progress", "--json"])
    assert res.exit_code == 2 and "finished run" in res.output and "--overwrite" in res.output
    fig = tmp_path / "rms.png"
    res = runner.invoke(app, ["diffusion", "plot", str(out), "-o", str(fig)])
    assert res.exit_code == 0, res.output
    assert fig.stat().st_size > 10_000


def test_evolve_errors_are_named(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[run]\nn_stars = -5\n[coefficients]\npreset = "R8"\n')
    res = runner.invoke(app, ["diffusion", "evolve", str(cfg), "-o", str(tmp_path / "x.h5"), "--no-progress"])
    assert res.exit_code == 2 and "run.n_stars" in res.output
    res = runner.invoke(app, ["diffusion", "summary", str(tmp_path / "missing.h5")])
    assert res.exit_code == 2
