"""Run configurations: every shipped experiment loads; bad input names the field."""

from pathlib import Path

import pytest

from diskorbits.shearingbox.config import ConfigError, RunConfig, load_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs" / "ism").glob("*.toml"))

# The paper's experiments (Modak et al. 2026 Secs. III-IV, App. A), one configuration each.
EXPECTED = {
    "r8_cold", "r8_sigmaR3", "r8_sigmaR5", "r8_sigmaR10", "r8_A0.5", "r8_A2", "r8_white",
    "r8_kmax0.03", "r8_kmax0.015", "r8_sigmaz10", "r8_sigmaz30", "r8_gz0", "lgr4_cold",
}


def test_every_paper_experiment_has_a_configuration():
    assert EXPECTED <= {p.stem for p in CONFIGS}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_configs_load_and_round_trip(path):
    cfg = load_config(path)
    assert cfg.name == path.stem
    assert load_config(cfg.to_toml()) == cfg
    assert cfg.run.n_stars == 50_000 and cfg.run.duration_gyr == 10.0


def test_experiment_settings_are_what_their_names_say():
    c = {p.stem: load_config(p) for p in CONFIGS}
    assert c["r8_sigmaR5"].stars.sigma_R0_kms == 5.0
    assert c["r8_sigmaz30"].stars.sigma_z0_kms == 30.0
    assert c["r8_A2"].field.amplitude == 2.0 and c["r8_A0.5"].field.amplitude == 0.5
    assert c["r8_white"].field.temporal == "white"
    assert c["r8_kmax0.015"].field.k_max_per_pc == 0.015
    assert c["r8_gz0"].field.vertical_forcing is False
    assert c["lgr4_cold"].box.preset == "LGR4" and c["lgr4_cold"].field.preset == "LGR4"
    box = c["lgr4_cold"].box.build()
    assert box.L == pytest.approx(0.512) and box.R0 == 4.0


@pytest.mark.parametrize(
    "text, match",
    [
        ("[run]\nn_stars = 0", r"run\.n_stars must be >= 1"),
        ("[run]\nnstars = 10", r"unknown key\(s\) in \[run\]: nstars"),
        ("[run]\nseed = 1.5", r"run\.seed must be an integer"),
        ("[run]\nduration_gyr = -1", r"run\.duration_gyr must be > 0"),
        ("[field]\ntemporal = \"blue\"", r"field\.temporal must be one of sharp, lorentzian, white"),
        ("[field]\nkind = \"snapshots\"", r"field\.path is required"),
        ("[field]\nkind = \"snapshots\"\npath = \"/nonexistent/phi.h5\"", r"field\.path: file not found"),
        ("[field]\nvertical_forcing = 1", r"field\.vertical_forcing must be true or false"),
        ("[box]\nq = 2.5", r"box\.q must satisfy 0 < q < 2"),
        ("[box]\npreset = \"R12\"", r"box\.preset must be one of"),
        ("[stars]\nsigma_R0_kms = \"cold\"", r"stars\.sigma_R0_kms must be a number"),
        ("[run]\ndt_myr = 2.0", r"run\.dt_myr \(2\.0\) must not exceed field\.dt_snap_myr"),
        ("[run]\nchunk_myr = 2.5", r"run\.chunk_myr \(2\.5\) must be a positive multiple"),
        ("[physics]\nx = 1", r"unknown key\(s\) in \[top level\]: physics"),
        ("[run\nseed = 1", r"not valid TOML"),
    ],
)
def test_bad_configurations_name_the_field(text, match):
    with pytest.raises(ConfigError, match=match):
        load_config(text)


def test_relative_snapshot_path_resolves_next_to_the_config(tmp_path):
    (tmp_path / "phi.h5").write_bytes(b"")
    cfg_path = tmp_path / "run.toml"
    cfg_path.write_text('[field]\nkind = "snapshots"\npath = "phi.h5"\n')
    cfg = load_config(cfg_path)
    assert Path(cfg.field.path) == tmp_path / "phi.h5"


def test_box_overrides_apply():
    cfg = load_config("[box]\npreset = \"R8\"\nq = 0.5\nOmega_kms_kpc = 30.0\n")
    box = cfg.box.build()
    assert box.q == 0.5
    assert cfg.box.parameters()["L_pc"] == 1024.0


def test_replace_revalidates():
    cfg = RunConfig()
    assert cfg.replace(run={"n_stars": 7}).run.n_stars == 7
    with pytest.raises(ConfigError, match="run.n_stars"):
        cfg.replace(run={"n_stars": -1})


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="configuration file not found"):
        load_config(tmp_path / "nope.toml")
