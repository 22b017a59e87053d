"""The CLI on the real survey files, through typer's CliRunner."""

import json
import os
from pathlib import Path

import astropy.coordinates as coord
import astropy.units as u
import numpy as np
import pytest
from typer.testing import CliRunner

import diskorbits as do
from diskorbits import frames
from diskorbits import catalogue_actions as cli_actions
from diskorbits.cli import app
from diskorbits.io import read_table

# shared/ sits beside the checkout (as in CI); DISKORBITS_SHARED_DATA overrides it
DATA = Path(os.environ.get("DISKORBITS_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
KEPLER = DATA / "kepler_apogee_miglio2021.fit"
APOGEE = DATA / "Montalban2021_X_APOGEE_DR17.fits"

pytestmark = pytest.mark.skipif(not DATA.exists(), reason="shared data not available")
runner = CliRunner()


def _stand_in_potential(name):
    # cheap MN + NFW potential (PW2021-like); the CLI plumbing, not the preset, is under test
    return do.MiyamotoNagaiPotential(6.8e10, 3.0, 0.28) + do.NFWPotential(5.4e11, 15.62)


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setattr(cli_actions, "build_potential", _stand_in_potential)


def test_help_lists_command_groups():
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for word in ("actions", "version", "ism", "migration"):
        assert word in res.stdout
    res = runner.invoke(app, ["actions", "--help"])
    assert res.exit_code == 0 and "--scheduler" in res.stdout and "--chunk-size" in res.stdout


def test_version():
    res = runner.invoke(app, ["version"])
    assert res.exit_code == 0 and res.stdout.strip() == f"diskorbits {do.__version__}"
    res = runner.invoke(app, ["version", "--json"])
    assert json.loads(res.stdout)["diskorbits"] == do.__version__


def test_kepler_galactocentric_columns_json(tmp_path, stand_in):
    out = tmp_path / "kepler_actions.parquet"
    res = runner.invoke(
        app,
        ["actions", str(KEPLER), "-o", str(out), "--method", "epicycle", "--chunk-size", "1500", "--json", "--no-progress"],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["N"] == 3315 and summary["N_flagged"] == 0
    assert summary["input_layout"] == "cylindrical:miglio2021" and summary["frame"] == "frankel2020"
    t = read_table(out)
    src = read_table(KEPLER)
    assert len(t) == len(src)
    # input columns passed through, row order kept
    np.testing.assert_array_equal(np.asarray(t["KIC"]), np.asarray(src["KIC"]))
    for col, unit in [("J_phi", "kpc km / s"), ("Omega_R", "km / (kpc s)"), ("theta_z", "rad"), ("z_max", "kpc")]:
        assert t[col].unit == u.Unit(unit)
    # J_phi = R v_T of the published Galactocentric columns, in kpc km/s
    np.testing.assert_allclose(t["J_phi"], src["GalR"] * src["vT"], rtol=1e-10)
    assert summary["medians"]["J_phi"] == pytest.approx(float(np.median(src["GalR"] * src["vT"])), rel=1e-9)
    # orbit extents land near the authors' own (different potential and method): loose, honest check
    assert np.median(np.abs(t["eccentricity"] - src["Ecc"])) < 0.05
    assert np.all(t["flag"] == 0)


def test_apogee_observed_columns_human_summary(tmp_path, stand_in):
    out = tmp_path / "apogee_actions.fits"
    res = runner.invoke(app, ["actions", str(APOGEE), "-o", str(out), "--frame", "pw2021", "--method", "epicycle", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "95 stars" in res.stdout and "J_R" in res.stdout
    t = read_table(out)
    # the catalogue's own 'eccentricity' column clashes with ours and is kept renamed
    assert "eccentricity_input" in t.colnames and "eccentricity" in t.colnames
    assert t.meta.get("FRAME", t.meta.get("frame")) == "pw2021"
    # J_phi against astropy's Galactocentric for the same stars (distance = Bailer-Jones, pc)
    d = np.asarray(t["GAIAEDR3_R_MED_PHOTOGEO"], float) / 1e3
    sc = coord.SkyCoord(
        ra=np.asarray(t["RA"], float) * u.deg,
        dec=np.asarray(t["DEC"], float) * u.deg,
        distance=d * u.kpc,
        pm_ra_cosdec=np.asarray(t["GAIAEDR3_PMRA"], float) * u.mas / u.yr,
        pm_dec=np.asarray(t["GAIAEDR3_PMDEC"], float) * u.mas / u.yr,
        radial_velocity=np.asarray(t["VHELIO_AVG"], float) * u.km / u.s,
    ).transform_to(frames.PW2021.to_astropy())
    lz = -(sc.x * sc.v_y - sc.y * sc.v_x).to_value(u.kpc * u.km / u.s)
    ok = np.asarray(t["flag"]) == 0
    assert ok.sum() >= 90
    np.testing.assert_allclose(np.asarray(t["J_phi"])[ok], lz[ok], rtol=1e-9)
    assert np.all(np.asarray(t["J_R"])[ok] >= 0) and np.all(np.asarray(t["J_z"])[ok] >= 0)


def test_missing_column_error_names_it(tmp_path, stand_in):
    src = read_table(APOGEE)[["RA", "DEC", "GAIAEDR3_PARALLAX", "GAIAEDR3_PMDEC", "VHELIO_AVG"]]
    path = tmp_path / "no_pmra.csv"
    src.write(path, format="ascii.csv")
    res = runner.invoke(app, ["actions", str(path), "-o", str(tmp_path / "o.fits"), "--no-progress"])
    assert res.exit_code == 2
    assert "missing pmra" in res.output and "available columns: RA, DEC" in res.output
    assert not (tmp_path / "o.fits").exists()
    # the same file works once the column is supplied through a mapping
    src["pm_a"] = read_table(APOGEE)["GAIAEDR3_PMRA"]
    src.write(path, format="ascii.csv", overwrite=True)
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\npmra = "pm_a"\nparallax = "GAIAEDR3_PARALLAX"\nra = "RA"\ndec = "DEC"\n')
    res = runner.invoke(
        app,
        [
            "actions", str(path), "-o", str(tmp_path / "o.ecsv"), "--columns", str(mapping),
            "-c", "pmdec=GAIAEDR3_PMDEC", "-c", "rv=VHELIO_AVG[km/s]", "--method", "epicycle", "--json", "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    s = json.loads(res.stdout)
    assert s["input_layout"] == "observed:user" and s["N"] == 95


def test_errors_for_bad_options(tmp_path, stand_in):
    res = runner.invoke(app, ["actions", str(KEPLER), "-o", str(tmp_path / "x.fits"), "--frame", "nope", "--no-progress"])
    assert res.exit_code == 2 and "unknown solar-parameter preset 'nope'" in res.output
    res = runner.invoke(app, ["actions", str(tmp_path / "absent.fits"), "-o", str(tmp_path / "x.fits"), "--no-progress"])
    assert res.exit_code == 2 and "does not exist" in res.output
    (tmp_path / "x.fits").write_text("")
    res = runner.invoke(app, ["actions", str(KEPLER), "-o", str(tmp_path / "x.fits"), "--no-progress"])
    assert res.exit_code == 2 and "--overwrite" in res.output


def test_real_presets_if_available(tmp_path):
    try:
        cli_actions.build_potential("milkyway")
    except ValueError:
        pytest.skip("potential presets not available yet")
    out = tmp_path / "a.fits"
    res = runner.invoke(
        app, ["actions", str(APOGEE), "-o", str(out), "--frame", "pw2021", "--json", "--no-progress", "--method", "epicycle"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["potential"] == "milkyway"


def test_scheduler_option_runs_chunks_on_dask(tmp_path, stand_in):
    """--scheduler sends the catalogue's chunks to a Dask cluster; the table equals the local run's."""
    distributed = pytest.importorskip("distributed")
    local = tmp_path / "local.fits"
    res = runner.invoke(app, ["actions", str(KEPLER), "-o", str(local), "--method", "epicycle", "--chunk-size", "1000", "--no-progress"])
    assert res.exit_code == 0, res.output
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        out = tmp_path / "dask.fits"
        res = runner.invoke(
            app,
            ["actions", str(KEPLER), "-o", str(out), "--method", "epicycle", "--chunk-size", "1000",
             "--scheduler", cluster.scheduler_address, "--no-progress", "--json"],
        )
        assert res.exit_code == 0, res.output
    a, b = read_table(local), read_table(out)
    for k in ("J_R", "J_z", "theta_z", "Omega_R", "flag"):
        np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]))


@pytest.mark.parametrize(
    "command, text",
    [
        (["actions"], "KEY=COLUMN[unit]"),
        (["oti", "fit"], "default_rng([seed, t, c])"),
        (["migration", "fit"], "([[fields]] or a mock configuration's [selection])"),
    ],
)
def test_help_keeps_square_brackets(command, text):
    """Typer renders help with rich, which reads a lowercase ``[word]`` as a style tag and drops it."""
    res = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "400"})
    assert res.exit_code == 0, res.output
    assert text in " ".join(res.stdout.split()), res.stdout
