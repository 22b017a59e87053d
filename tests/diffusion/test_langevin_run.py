"""Langevin run driver: run file, checkpoint/resume (bit-identical), summary, vertical suppression."""

import json

import numpy as np
import pytest

from diskorbits.diffusion.langevin_config import load_langevin_config
from diskorbits.diffusion.langevin_run import RUN_FORMAT, initial_population, read_langevin, run_langevin
from diskorbits.progress import RecordingProgress

BASE = {
    "name": "t",
    "run": {"seed": 3, "n_stars": 1000, "duration_gyr": 2.0, "n_outputs": 12, "checkpoint_every_gyr": 0.05},
}


def test_resume_is_bit_identical(tmp_path):
    cfg = load_langevin_config(BASE)
    full = run_langevin(cfg, tmp_path / "full.h5", progress=False)
    part = run_langevin(cfg, tmp_path / "part.h5", progress=False, stop_after_outputs=7)
    assert not part.complete and len(part.t_myr) == 7 and part.J_R is None
    ck = read_langevin(tmp_path / "part.h5")
    assert not ck.complete and ck.meta["outputs_done"] == 7
    with pytest.raises(FileExistsError):
        run_langevin(cfg, tmp_path / "part.h5", progress=False)
    with pytest.raises(ValueError, match="different configuration"):
        run_langevin(cfg.replace(run={"seed": 4}), tmp_path / "part.h5", progress=False, resume=True)
    rec = RecordingProgress()
    done = run_langevin(cfg, tmp_path / "part.h5", progress=rec, resume=True)
    assert done.complete
    assert rec.done == rec.events[0][1]  # the bar ends full after a resume
    for a, b in ((done.J_R, full.J_R), (done.J_phi, full.J_phi), (done.dJ_R, full.dJ_R), (done.dJ_phi, full.dJ_phi)):
        np.testing.assert_array_equal(a, b)
    for k in full.stats:
        np.testing.assert_array_equal(done.stats[k], full.stats[k])
    back = read_langevin(tmp_path / "part.h5")
    np.testing.assert_array_equal(back.J_R, full.J_R)
    np.testing.assert_array_equal(back.stats["rms_dJR"], full.stats["rms_dJR"])
    assert back.meta["format"] == RUN_FORMAT and back.config == cfg
    with pytest.raises(FileExistsError, match="finished"):
        run_langevin(cfg, tmp_path / "part.h5", progress=False, resume=True)
    again = run_langevin(cfg, tmp_path / "part.h5", progress=False, overwrite=True)
    np.testing.assert_array_equal(again.J_R, full.J_R)


def test_summary_is_json_ready_in_field_units(tmp_path):
    run = run_langevin(load_langevin_config(BASE).replace(run={"n_outputs": 30}), progress=False)
    s = run.summary()
    json.dumps(s)
    assert s["complete"] and s["t_gyr"] == pytest.approx(2.0) and s["n_stars"] == 1000
    assert s["rms_dJR_kpckms"] == pytest.approx(run.stats["rms_dJR"][-1] / 1.0227e-3, rel=1e-3)
    assert 1.0 < s["rms_dJR_kpckms"] < 5.0 and 50 < s["rms_dJphi_kpckms"] < 120
    assert s["slopes"]["rms_dJR"]["early"]["slope"] == pytest.approx(1.0, abs=0.05)  # long-wavelength regime
    assert s["slopes"]["rms_dJphi"]["early"]["slope"] == pytest.approx(0.5, abs=0.05)
    assert s["late_ratio_eq39"] == pytest.approx(0.0548, abs=1e-3)
    assert s["reflected_fraction_max"] == 0.0


def test_vertical_suppression_per_star():
    """sigma_z > 0: fixed J_z ~ exp(mean sigma_z^2 / nu), xi(J_z) of Eq. 46 on every star (Eq. 44)."""
    from diskorbits.ism import ism_preset
    from diskorbits.ism.vertical import suppression_factor

    warm = load_langevin_config({**BASE, "stars": {"sigma_z_kms": 10.0}})
    pop = initial_population(warm)
    model = ism_preset("R8")
    direct = suppression_factor(pop["J_z"][:50], float(model.spectrum.k_star), float(model.H), pop["nu"], model.profile)
    np.testing.assert_allclose(pop["xi"][:50], direct, atol=2e-6)
    assert np.mean(pop["J_z"]) * pop["nu"] == pytest.approx((10.0 * 1.0227e-3) ** 2, rel=0.1)
    assert 0.5 < pop["xi"].mean() < 0.8 and pop["xi"].max() <= 1.0  # Fig. 8: xi ~ 0.65 at 10 km/s
    cold = run_langevin(load_langevin_config(BASE), progress=False)
    hot = run_langevin(warm, progress=False)
    # the same noise, slower clocks: less heating and migration at every output
    assert np.all(hot.stats["rms_dJR"] < cold.stats["rms_dJR"])
    assert np.all(hot.stats["rms_dJphi"] < cold.stats["rms_dJphi"])
    assert hot.summary()["xi"]["mean"] == pytest.approx(pop["xi"].mean())
