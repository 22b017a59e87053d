"""Langevin run configuration: validation (errors name table.key), sources of coefficients, round trips."""

import json
from pathlib import Path

import numpy as np
import pytest

from diskorbits.diffusion import diffusion_preset
from diskorbits.diffusion.langevin_config import ConfigError, LangevinConfig, load_langevin_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs" / "diffusion").glob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load_and_round_trip(path):
    cfg = load_langevin_config(path)
    again = load_langevin_config(cfg.to_toml())
    assert again == cfg
    assert again.to_toml() == cfg.to_toml()


def test_shipped_configs_exist():
    names = {p.stem for p in CONFIGS}
    assert {"r8_langevin", "r8_langevin_small", "r8_langevin_sigmaz10"} <= names
    big = load_langevin_config(CONFIGS[[p.stem for p in CONFIGS].index("r8_langevin")])
    assert big.run.n_stars == 1_000_000 and big.run.duration_gyr == 10.0 and big.coefficients.preset == "R8"


@pytest.mark.parametrize(
    "doc, where",
    [
        ({"run": {"sede": 1}}, "[run]"),
        ({"run": {"n_stars": 0}}, "run.n_stars"),
        ({"run": {"n_stars": 2.5}}, "run.n_stars"),
        ({"run": {"dt_myr": "fast"}}, "run.dt_myr"),
        ({"run": {"dt_myr": -1.0}}, "run.dt_myr"),
        ({"run": {"seed": True}}, "run.seed"),
        ({"run": {"t_min_myr": 5e4}}, "run.t_min_myr"),
        ({"run": {"checkpoint_every_gyr": 0}}, "run.checkpoint_every_gyr"),
        ({"coefficients": {"preset": "R9"}}, "coefficients.preset"),
        ({"coefficients": {"preset": "R8", "rr_long": 1.0}}, "[coefficients]"),
        ({"coefficients": {"rr_long": 1.0, "rr_short": 1.0, "pp_long": 1.0, "pp_short": 1.0}}, "coefficients.J_star"),
        ({"coefficients": {"rr_long": -1.0, "rr_short": 1.0, "pp_long": 1.0, "pp_short": 1.0, "J_star": 0.2}},
         "coefficients.rr_long"),
        ({"coefficients": {"preset": "R8", "scale": 0}}, "coefficients.scale"),
        ({"coefficients": {"fit": "no/such/file.json"}}, "coefficients.fit"),
        ({"coefficients": {"pres": "R8"}}, "[coefficients]"),
        ({"stars": {"sigma_R0_kms": -1.0}}, "stars.sigma_R0_kms"),
        ({"stars": {"kappa_kms_kpc": 40.0, "box": "R8"}}, "stars.kappa_kms_kpc"),
        ({"stars": {"kappa_kms_kpc": 40.0, "sigma_z_kms": 10.0}}, "stars.nu_kms_kpc"),
        ({"stars": {"box": "R7"}}, "stars.box"),
        ({"stars": {"ism": "MW"}}, "stars.ism"),
        ({"runs": {}}, "top level"),
        ({"run": []}, "[run]"),
    ],
)  # fmt: skip
def test_errors_name_the_key(doc, where):
    with pytest.raises(ConfigError) as exc:
        load_langevin_config(doc)
    assert where in str(exc.value)


def test_defaults_and_sources(tmp_path):
    cfg = load_langevin_config({})
    assert cfg.coefficients.preset == "R8" and cfg.run.dt_myr == "auto" and cfg.stars.box == "R8"
    D = cfg.coefficients.build()
    R8 = diffusion_preset("R8")
    assert float(D.D_RR.low.d) == float(R8.D_RR.low.d)
    # explicit paper-unit values and a 2x scale (A^2)
    exp = load_langevin_config({"coefficients": {"rr_long": 9.3, "rr_short": 6.9, "pp_long": 6900.0,
                                                 "pp_short": 4600.0, "J_star": 0.2, "scale": 2.0}})  # fmt: skip
    De = exp.coefficients.build()
    np.testing.assert_allclose(float(De.D_RR.high.d), 2 * float(R8.D_RR.high.d))
    np.testing.assert_allclose(float(De.D_RR.turnover), float(R8.D_RR.turnover))
    assert load_langevin_config(exp.to_toml()) == exp
    # a fit file: bare to_paper_units() layout, and nested under "coefficients" as the fit helper writes it
    lg = diffusion_preset("LGR4")
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(lg.to_paper_units()))
    nested = tmp_path / "sub" / "nested.json"
    nested.parent.mkdir()
    nested.write_text(json.dumps({"format": "x", "coefficients": lg.to_paper_units()}))
    for path in (bare, nested):
        Df = load_langevin_config({"coefficients": {"fit": str(path)}}).coefficients.build()
        np.testing.assert_allclose(float(Df.D_phiphi.high.d), float(lg.D_phiphi.high.d), rtol=1e-12)
        np.testing.assert_allclose(float(Df.J_star), float(lg.J_star), rtol=1e-12)
    # relative to the configuration file
    (tmp_path / "cfg.toml").write_text('[coefficients]\nfit = "sub/nested.json"\n')
    assert Path(load_langevin_config(tmp_path / "cfg.toml").coefficients.fit) == nested
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"coefficients": None, "notes": {"short": "not fitted"}}))
    with pytest.raises(ConfigError, match="coefficients.fit"):
        load_langevin_config({"coefficients": {"fit": str(bad)}})


def test_replace_and_frequencies():
    cfg = load_langevin_config({"stars": {"sigma_R0_kms": 5.0}})
    c2 = cfg.replace(run={"n_stars": 10}, coefficients={"preset": "LGR4"}, stars={"kappa_kms_kpc": 30.0})
    assert c2.run.n_stars == 10 and c2.coefficients.preset == "LGR4" and c2.stars.box is None
    assert c2.stars.sigma_R0_kms == 5.0
    kappa, nu = cfg.stars.frequencies()
    from diskorbits.shearingbox import box_preset

    assert kappa == pytest.approx(float(box_preset("R8").kappa))
    assert nu == pytest.approx(float(box_preset("R8").nu))
    assert isinstance(c2, LangevinConfig)
    with pytest.raises(FileNotFoundError):
        load_langevin_config("missing.toml")
