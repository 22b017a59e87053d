"""The run driver: resumable, bit-identical checkpoints, self-describing run files, CLI."""

import json

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from diskorbits.cli import app
from diskorbits.progress import RecordingProgress
from diskorbits.shearingbox.config import load_config
from diskorbits.shearingbox.run import read_run, run_shearing_box

SMALL = """
name = "small"
[run]
seed = 3
n_stars = 300
duration_gyr = 0.12
dt_myr = 0.5
chunk_myr = 10.0
checkpoint_every_myr = 30.0
n_star_snapshots = 5
[box]
preset = "R8"
[stars]
sigma_R0_kms = 2.0
sigma_z0_kms = 5.0
[field]
kind = "mock"
preset = "R8"
temporal = "{temporal}"
grid_spacing_pc = 32.0
window_myr = 400.0
"""


def small(temporal="sharp"):
    return load_config(SMALL.format(temporal=temporal))


def _final(path):
    with h5py.File(path, "r") as h:
        return {k: np.asarray(v) for k, v in h["final"].items()}, {k: np.asarray(v) for k, v in h["stats"].items()}


@pytest.mark.parametrize("temporal", ["sharp", "lorentzian", "white"])
def test_resumed_run_is_bit_identical(tmp_path, temporal):
    cfg = small(temporal)
    whole = tmp_path / "whole.h5"
    split = tmp_path / "split.h5"
    run_shearing_box(cfg, whole)
    part = run_shearing_box(cfg, split, stop_after_intervals=40)  # killed after 40 Myr
    assert not part.complete
    with h5py.File(split, "r") as h:
        assert not h.attrs["complete"] and h.attrs["intervals_done"] == 40
    done = run_shearing_box(cfg, split)  # resumes from the checkpoint
    assert done.complete
    a_state, a_stats = _final(whole)
    b_state, b_stats = _final(split)
    for k in a_state:
        np.testing.assert_array_equal(a_state[k], b_state[k], err_msg=k)
    for k in a_stats:
        np.testing.assert_array_equal(a_stats[k], b_stats[k], err_msg=k)
    ra, rb = read_run(whole), read_run(split)
    for k in ra.stars:
        np.testing.assert_array_equal(ra.stars[k], rb.stars[k], err_msg=k)


def test_run_file_describes_itself(tmp_path):
    cfg = small()
    out = tmp_path / "run.h5"
    rec = RecordingProgress()
    res = run_shearing_box(cfg, out, progress=rec)
    assert rec.done == 120  # Myr of simulated time
    run = read_run(out)
    assert run.complete and run.config == cfg and run.seed == 3
    assert run.version == res.version
    assert run.t_myr[0] == 0.0 and run.t_myr[-1] == pytest.approx(120.0)
    assert len(run.t_myr) == 121 and np.all(np.diff(run.t_myr) > 0)
    assert run.stars["dx_g"].shape == (len(run.star_t_myr), 300)
    assert run.star_t_myr[-1] == pytest.approx(120.0)
    # the per-star records and the ensemble curves describe the same stars
    np.testing.assert_allclose(np.sqrt(np.mean(run.stars["dx_g"][-1] ** 2)), run.stats["rms_dxg"][-1], rtol=1e-12)
    with h5py.File(out, "r") as h:
        assert "checkpoint" not in h
        assert h["stats/sigma_R"].attrs["unit"] == "kpc/Myr"
        assert h.attrs["dt_myr"] == pytest.approx(0.5)


def test_existing_output_is_not_clobbered(tmp_path):
    cfg = small()
    out = tmp_path / "run.h5"
    run_shearing_box(cfg, out)
    with pytest.raises(FileExistsError, match="already holds a finished run"):
        run_shearing_box(cfg, out)
    other = cfg.replace(run={"seed": 4})
    part = tmp_path / "part.h5"
    run_shearing_box(cfg, part, stop_after_intervals=20)
    with pytest.raises(ValueError, match="different configuration"):
        run_shearing_box(other, part)
    assert run_shearing_box(other, part, overwrite=True).complete


def test_unperturbed_box_keeps_actions(tmp_path):
    cfg = small().replace(field={"kind": "none"})
    run = run_shearing_box(cfg)
    assert np.max(np.abs(run.stats["rms_dJR"])) < 1e-12
    assert np.max(np.abs(run.stats["rms_dxg"])) < 1e-11


def test_cli_run_summary_plot(tmp_path):
    cfg_path = tmp_path / "small.toml"
    cfg_path.write_text(SMALL.format(temporal="sharp"))
    out = tmp_path / "run.h5"
    runner = CliRunner()
    r = runner.invoke(app, ["ism", "run", str(cfg_path), "-o", str(out), "--no-progress", "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["n_stars"] == 300 and s["complete"] and s["t_gyr"] == pytest.approx(0.12)
    r = runner.invoke(app, ["ism", "summary", str(out), "--json"])
    assert r.exit_code == 0, r.output
    s2 = json.loads(r.stdout)
    assert s2["rms_dxg_kpc"] == pytest.approx(s["rms_dxg_kpc"]) and s2["rms_dxg_kpc"] > 0
    r = runner.invoke(app, ["ism", "summary", str(out)])
    assert r.exit_code == 0 and "rms dJ_phi" in r.stdout
    r = runner.invoke(app, ["ism", "plot", str(out), "-o", str(tmp_path / "fig")])
    assert r.exit_code == 0, r.output
    for name in ("sigma_R.png", "actions.png", "dxg_histograms.png"):
        assert (tmp_path / "fig" / name).stat().st_size > 1000
    bad = tmp_path / "bad.toml"
    bad.write_text("[run]\nn_stars = -3\n")
    r = runner.invoke(app, ["ism", "run", str(bad), "-o", str(tmp_path / "x.h5")])
    assert r.exit_code == 2 and "run.n_stars" in r.output


def test_run_from_user_snapshot_file(tmp_path):
    """kind = "snapshots": a potential file (here written from a mock) drives the same integrator."""
    import jax

    from diskorbits.ism import ism_preset, make_mock_field, write_potential_snapshots
    from diskorbits.shearingbox import box_preset

    box = box_preset("R8")
    mock = make_mock_field(box, ism_preset("R8"), key=jax.random.PRNGKey(5), grid_spacing=0.032,
                           window=400.0, midplane_only=True, vertical_forcing=False)
    phi_file = write_potential_snapshots(tmp_path / "phi.h5", mock.to_snapshots(41))
    cfg_path = tmp_path / "snap.toml"
    cfg_path.write_text(
        '[run]\nn_stars = 200\nduration_gyr = 0.1\ndt_myr = 0.5\n'
        f'[field]\nkind = "snapshots"\npath = "{phi_file.name}"\n'
    )
    run = run_shearing_box(load_config(cfg_path), tmp_path / "snap.h5")
    assert run.complete and run.t_myr[-1] == pytest.approx(100.0)  # 100 Myr > 40-Myr loop: wraps twice
    assert 0 < run.stats["rms_dxg"][-1] < 0.5 and np.all(np.isfinite(run.stats["rms_dJR"]))
    assert read_run(tmp_path / "snap.h5").config.field.kind == "snapshots"
