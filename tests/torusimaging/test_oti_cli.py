"""``diskorbits oti fit | summary | plot`` on a tiny catalogue (the inference itself is tested in test_oti_inference)."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import diskorbits.torusimaging as ti
from diskorbits.cli import app
from diskorbits.torusimaging import (
    OTIInference,
    RatioEstimate,
    fiducial_parameters,
)
from diskorbits.torusimaging.catalogue import load_oti_catalogue, read_oti_fit_extras
from diskorbits.torusimaging.mock_config import load_mock_config, write_mock_catalogue

CONFIG = """
[mock]
seed = 3
n_stars = 150
[potential]
disk_mass_factor = 1.1
[abundances]
ratios = ["FE_H", "O_FE"]
"""
TABLE1_ROWS = ["disk_mass_factor", "h_z", "z_sun", "v_z_sun", "disk_mass", "disk_to_halo_mass_ratio"]


def _fake_bootstrap(data, ratios=None, *, n_bootstrap=128, free=None, seed=0, x0=None, setup=None, **kw):
    """Stands in for the optimisation: scattered samples around x0 in the free parameters."""
    names = ti.PARAMETER_NAMES
    mask = np.array([n in free for n in names])
    x0 = fiducial_parameters(setup) if x0 is None else np.asarray(x0)
    rng = np.random.default_rng(seed)
    est = {}
    for j, name in enumerate(data.ratio_names):
        s = np.tile(x0, (n_bootstrap, 1))
        s[:, mask] += rng.normal(0, 1, (n_bootstrap, mask.sum())) * np.array([0.05, 0.01, 0.001, 0.0003])[mask]
        est[name] = RatioEstimate(name, s, np.ones(n_bootstrap), np.full(n_bootstrap, 5), np.ones(n_bootstrap, bool), mask)
    config = {"method": kw.get("method", "nelder-mead"), "n_bootstrap": n_bootstrap, "seed": seed, "n_stars": data.n_stars,
              "setup": setup.describe(), "fit_options": {k: v for k, v in kw.items() if k in ("maxiter", "xatol")}}
    return OTIInference(estimates=est, config=config, setup=setup)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory, fake_oti_mock):
    cfg = load_mock_config(CONFIG)
    path = tmp_path_factory.mktemp("oti_cli") / "mock.fits"
    write_mock_catalogue(fake_oti_mock(cfg), path, cfg)
    return path


@pytest.fixture()
def fast(monkeypatch):
    monkeypatch.setattr(ti, "bootstrap_inference", _fake_bootstrap)


def test_catalogue_reader(catalogue):
    cat = load_oti_catalogue(catalogue, ["fe_h", "[O/Fe]"])
    assert cat.layout == "mock" and cat.data.ratio_names == ("FE_H", "O_FE") and cat.data.n_stars == 150
    assert cat.truth["disk_mass_factor"] == 1.1 and cat.n_dropped == 0
    with pytest.raises(ValueError, match="MG_FE, MG_FE_ERR"):
        load_oti_catalogue(catalogue, ["MG_FE"])


def test_fit_summary_plot(catalogue, tmp_path, fast):
    runner = CliRunner()
    out = tmp_path / "r.h5"
    args = ["oti", "fit", str(catalogue), "--elements", "FE_H,O_FE", "--bootstrap", "4", "--free", "disk_mass_factor,z_sun",
            "--metric", "raw", "--k", "16", "--maxiter", "3", "--xatol", "0.5", "--workers", "1", "--no-progress", "-o", str(out)]
    res = runner.invoke(app, args + ["--json"])
    assert res.exit_code == 0, res.output
    t1 = json.loads(res.stdout)
    assert t1["rows"] == TABLE1_ROWS and t1["columns"] == ["FE_H", "O_FE", "joint"]
    assert t1["free"] == ["disk_mass_factor", "z_sun"] and t1["truth"]["disk_mass_factor"] == 1.1
    assert t1["table"]["joint"]["h_z"]["fixed"] and not t1["table"]["joint"]["z_sun"]["fixed"]
    assert t1["table"]["FE_H"]["disk_mass"]["unit"] == "Msun" and t1["table"]["FE_H"]["disk_mass"]["std"] > 0
    assert set(t1["paper_table1"]) == {"all eight ratios", "without [Mg/Fe], [Si/Fe]"}
    _, extras, scan, _ = read_oti_fit_extras(out)
    assert extras["catalogue"]["elements"] == ["FE_H", "O_FE"] and scan is None
    assert ti.read_oti_result(out).estimates["O_FE"].samples.shape == (4, 4)
    # refuses to overwrite
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and "exists" in res.output
    # summary: JSON equals the fit's table; the text table names rows and the paper's columns
    res = runner.invoke(app, ["oti", "summary", str(out), "--json"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.stdout)
    assert s["table"] == t1["table"] and s["rows"] == TABLE1_ROWS
    # not a terminal (as here): the whole table, no cells cut to "…" at 80 columns
    res = runner.invoke(app, ["oti", "summary", str(out)])
    assert res.exit_code == 0 and "M_disk / M*_disk" in res.stdout and "PW2021 (all 8)" in res.stdout
    assert "…" not in res.stdout and max(map(len, res.stdout.splitlines())) > 80
    assert "h_z [kpc]" in res.stdout and "z_sun [pc]" in res.stdout  # units shown, not taken as style tags
    # plot: ellipses written; no scan and no catalogue -> skipped with a message
    res = runner.invoke(app, ["oti", "plot", str(out), "-o", str(tmp_path / "figs"), "--catalogue", str(tmp_path / "gone.fits"), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert [p.rsplit("/", 1)[-1] for p in info["written"]] == ["oti_ellipses.png"]
    assert any("no a2 scan" in m for m in info["skipped"]) and any("not available" in m for m in info["skipped"])
    assert (tmp_path / "figs" / "oti_ellipses.png").stat().st_size > 1000


@pytest.mark.slow
def test_real_fit_with_scan_and_all_plots(catalogue, tmp_path):
    """One small real run: Nelder-Mead over the disk factor, bootstrap 2, a 2-point a2 scan, all three figures."""
    runner = CliRunner()
    out = tmp_path / "real.h5"
    res = runner.invoke(app, ["oti", "fit", str(catalogue), "--elements", "O_FE", "--bootstrap", "2", "--free", "disk_mass_factor",
                              "--metric", "raw", "--k", "16", "--maxiter", "2", "--xatol", "1", "--fatol", "1", "--workers", "1",
                              "--a2-scan", "0.9,1.3,2", "--scan-bootstrap", "2", "--no-progress", "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    t1 = json.loads(res.stdout)
    assert t1["a2_scan"]["ratio"] == "O_FE" and len(t1["a2_scan"]["a2_mean"]) == 2
    assert np.isfinite(t1["table"]["O_FE"]["disk_mass_factor"]["mean"])
    res = runner.invoke(app, ["oti", "plot", str(out), "-o", str(tmp_path / "f"), "--bootstrap-fits", "2", "--json"])
    assert res.exit_code == 0, res.output
    names = sorted(p.rsplit("/", 1)[-1] for p in json.loads(res.stdout)["written"])
    assert names == ["oti_coefficients_vs_mass.png", "oti_deviation_vs_angle.png", "oti_ellipses.png"]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--elements", "FE_H,MG_FE"], "MG_FE"),
        (["--elements", "FE_H", "--free", "disk_mass_factor,h_sun"], "h_sun"),
        (["--elements", "FE_H", "--method", "simplex"], "--method"),
        (["--elements", "FE_H", "--a2-scan", "1.4,0.8,3"], "--a2-scan"),
        (["--elements", "FE_H", "--k", "500"], "too few"),
    ],
)
def test_fit_errors_exit_2(catalogue, tmp_path, fast, extra, message):
    res = CliRunner().invoke(app, ["oti", "fit", str(catalogue), "--metric", "raw", "-o", str(tmp_path / "x.h5"), *extra])
    assert res.exit_code == 2 and message in res.output, res.output
    assert not (tmp_path / "x.h5").exists()


def test_summary_errors_exit_2(tmp_path):
    res = CliRunner().invoke(app, ["oti", "summary", str(tmp_path / "none.h5")])
    assert res.exit_code == 2 and "does not exist" in res.output
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    res = CliRunner().invoke(app, ["oti", "plot", str(bad), "-o", str(tmp_path / "f")])
    assert res.exit_code == 2 and "not an HDF5" in res.output
