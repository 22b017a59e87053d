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
