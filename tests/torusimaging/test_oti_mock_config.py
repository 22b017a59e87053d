"""OTI mock configuration (TOML), the FITS mock catalogue and ``diskorbits oti mock``."""

import json

import jax.numpy as jnp
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from typer.testing import CliRunner

from diskorbits import units
from diskorbits._tomlconfig import ConfigError
from diskorbits.cli import app
from diskorbits.io import read_catalogue
from diskorbits.torusimaging import MockCatalogue
from diskorbits.torusimaging.mock_config import (
    MockConfig,
    load_mock_config,
    read_mock_header,
    write_mock_catalogue,
)

CONFIGS = "configs/oti"
SMALL = """
[mock]
seed = 3
n_stars = 50
[sun]
z_sun_pc = 25.0
v_z_sun_kms = 8.0
[abundances]
ratios = ["FE_H", "[O/Fe]"]
gradient_jz = [-0.004, 0.005]
noise = 0.02
"""


def fake_mock(cfg: MockConfig) -> MockCatalogue:
    """A mock-shaped catalogue without integrating orbits (fast): disc-like phase space around the Sun."""
    n, r = cfg.n_stars, len(cfg.ratios)
    rng = np.random.default_rng(cfg.seed)
    a = lambda x: jnp.asarray(x, dtype=jnp.float64)
    ab = rng.normal(0.0, 0.1, (n, r))
    return MockCatalogue(
        R=a(rng.uniform(6.5, 9.5, n)), phi=a(rng.uniform(-0.3, 0.3, n)), z=a(rng.normal(0, 0.5, n)),
        v_R=a(rng.normal(0, 35, n) * units.KMS), v_phi=a(rng.normal(220, 25, n) * units.KMS),
        v_z=a(rng.normal(0, 20, n) * units.KMS), actions=a(np.abs(rng.normal(0, 1, (n, 3)))),
        theta_z=a(np.full(n, np.nan)), abundances=a(ab), abundance_errors=a(np.full((n, r), 0.02)),
        abundance_means=a(ab * 0.9), time=a(rng.uniform(1000, 5000, n)), sun=cfg.sun(),
    )


def test_shipped_configs_validate_and_round_trip():
    for name, n_ratios in (("mock_pw2021.toml", 8), ("mock_small.toml", 2)):
        cfg = load_mock_config(f"{CONFIGS}/{name}")
        assert len(cfg.ratios) == n_ratios and cfg.abundance_model().n_ratios == n_ratios
        assert load_mock_config(cfg.to_toml()).doc == cfg.doc
    pw = load_mock_config(f"{CONFIGS}/mock_pw2021.toml")
    assert pw.doc["potential"] == {"disk_mass_factor": 1.1, "h_z_kpc": 0.28}
    assert pw.selection().beams is not None
    np.testing.assert_allclose(float(pw.potential().circular_velocity(8.122)) / units.KMS, 229.0, rtol=1e-10)


def test_config_objects():
    cfg = load_mock_config(SMALL)
    assert cfg.ratios == ("FE_H", "O_FE") and cfg.seed == 3
    np.testing.assert_allclose(float(cfg.sun().z_sun), 0.025)
    np.testing.assert_allclose(np.asarray(cfg.sun().v_sun)[2] / units.KMS, 8.0)
    m = cfg.abundance_model()
    np.testing.assert_allclose(np.asarray(m.gradient)[:, 2] * units.KPC_KMS, [-0.004, 0.005])
    np.testing.assert_allclose(np.asarray(m.noise), [0.02, 0.02])
    assert not bool(m.depends_on_angle)
    assert cfg.replace(mock={"seed": 9}).seed == 9


@pytest.mark.parametrize(
    "text, match",
    [
        ("[mock]\nseed = -1\n", r"mock\.seed must be >= 0"),
        ("[mock]\nn_stars = 2.5\n", r"mock\.n_stars must be an integer"),
        ("[potential]\nh_z_kpc = 0\n", r"potential\.h_z_kpc must be > 0"),
        ("[potential]\ndisk_mas_factor = 1.0\n", r"unknown key\(s\) in \[potential\]: disk_mas_factor"),
        ("[selection]\npencil_beams = 1\n", r"selection\.pencil_beams must be true or false"),
        ("[sun]\nz_sun_pc = \"20\"\n", r"sun\.z_sun_pc must be a number"),
        ("[abundances]\nratios = [\"FE_H\", \"O_FE\"]\nnoise = [0.1]\n", r"abundances\.noise must have one value per ratio \(2\)"),
        ("[abundances]\nratios = [\"FE_H\"]\nnoise = -0.1\n", r"abundances\.noise must be >= 0"),
        ("[abundances]\nratios = [\"[Mg/H]\"]\n", r"abundances\.ratios"),
        ("[abundances]\nratios = [\"O_FE\", \"[O/Fe]\"]\n", r"abundances\.ratios has duplicates"),
        ("[angles]\ncos2 = [0.1, 0.2]\n[abundances]\nratios = [\"O_FE\"]\n", r"angles\.cos2 must have one value"),
        ("[mock]\nt_min_myr = 100.0\nt_max_myr = 50.0\n", r"mock\.t_max_myr must be > 100"),
        ("[mokc]\nseed = 1\n", r"unknown table\(s\) mokc"),
    ],
)
def test_config_errors_name_the_key(text, match):
    if "ratios" not in text:
        text += '[abundances]\nratios = ["O_FE"]\n'
    with pytest.raises(ConfigError, match=match):
        load_mock_config(text)


def test_ratios_are_required():
    with pytest.raises(ConfigError, match=r"abundances\.ratios is required"):
        load_mock_config("[mock]\nseed = 1\n")


def test_written_catalogue_reads_back_to_the_mock(tmp_path):
    cfg = load_mock_config(SMALL)
    mock = fake_mock(cfg)
    path = write_mock_catalogue(mock, tmp_path / "mock.fits", cfg)
    with pytest.raises(FileExistsError):
        write_mock_catalogue(mock, path, cfg)
    cat = read_catalogue(path)
    assert cat.schema == "apogee_dr17" and cat.columns["parallax"] == "GAIAEDR3_PARALLAX" and cat.n_flagged == 0
    back = cat.galactocentric(cfg.sun())
    for got, want in zip(back, mock.cylindrical):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=0, atol=1e-10)
    t = Table.read(path)
    for r, name in enumerate(cfg.ratios):
        np.testing.assert_array_equal(t[name], np.asarray(mock.abundances)[:, r])
        np.testing.assert_array_equal(t[name + "_ERR"], 0.02)
        np.testing.assert_array_equal(t[name + "_TRUE"], np.asarray(mock.abundance_means)[:, r])
    np.testing.assert_allclose(t["TRUE_JZ"], np.asarray(mock.actions)[:, 2] / units.KPC_KMS)
    assert t["TRUE_JZ"].unit.is_equivalent("kpc km / s") and t["TRUE_JZ"].unit.to("kpc km / s") == 1.0
    got_cfg, seed = read_mock_header(path)
    assert seed == 3 and got_cfg.doc == cfg.doc
    assert fits.getheader(path, 1)["NSTARS"] == 50


def test_cli_mock(tmp_path, monkeypatch):
    monkeypatch.setattr(MockConfig, "make", fake_mock)
    cfg_path = tmp_path / "c.toml"
    cfg_path.write_text(SMALL)
    out = tmp_path / "m.fits"
    runner = CliRunner()
    res = runner.invoke(app, ["oti", "mock", str(cfg_path), "-o", str(out), "--n-stars", "20", "--seed", "7", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["n_stars"] == 20 and summary["seed"] == 7 and summary["ratios"] == ["FE_H", "O_FE"]
    cfg, seed = read_mock_header(out)
    assert seed == 7 and cfg.n_stars == 20 and len(Table.read(out)) == 20
    # refuses to overwrite; bad configuration -> exit code 2 naming the key
    res = runner.invoke(app, ["oti", "mock", str(cfg_path), "-o", str(out)])
    assert res.exit_code == 2 and "exists" in res.output
    cfg_path.write_text(SMALL.replace("seed = 3", "seed = -3"))
    res = runner.invoke(app, ["oti", "mock", str(cfg_path), "-o", str(tmp_path / "x.fits")])
    assert res.exit_code == 2 and "mock.seed" in res.output


def test_cli_select(tmp_path):
    runner = CliRunner()
    out = tmp_path / "sample.fits"
    res = runner.invoke(app, ["oti", "select", "/work/shared/data/Montalban2021_X_APOGEE_DR17.fits", "-o", str(out),
                              "--logg-min", "1.0", "--json"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.stdout)
    assert s["selection"]["logg_range"] == [1.0, 3.4]
    assert [c["name"] for c in s["cuts"]][:2] == ["aspcapflag", "teff"]
    assert s["n_selected"] == len(Table.read(out)) == 3
    res = runner.invoke(app, ["oti", "select", "/work/shared/data/kepler_apogee_miglio2021.fit"])
    assert res.exit_code == 2 and "ASPCAPFLAG" in res.output
