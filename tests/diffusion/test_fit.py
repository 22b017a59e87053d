"""Fitting diffusion coefficients to rms action curves (Modak et al. 2026, Eqs. 29-30, 39, C5)."""

import json
import math

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from diskorbits.diffusion import (
    PAPER_ACTION,
    PAPER_D,
    ActionChanges,
    auto_windows,
    cold_ensemble_rms,
    cold_ensemble_rms_prediction,
    diffusion_preset,
    fit_diffusion,
    fit_regime,
    j_star,
    load_fit_coefficients,
    write_fit_json,
)

R8 = diffusion_preset("R8")
# Internal-unit coefficients of the paper's R8 regimes (Eqs. 40-41).
LONG = R8.regime("long")  # (d_RR, 1, d_phiphi, 0)
SHORT = R8.regime("short")  # (d_RR, -1/2, d_phiphi, -1/2)


def curves(t, regime):
    d_RR, a_R, d_pp, a_p = LONG if regime == "long" else SHORT
    R, P = cold_ensemble_rms_prediction(np.asarray(t, float), d_RR, a_R, d_pp, a_p)
    return np.asarray(R), np.asarray(P)


def synthetic(t, regime, n, rng):
    """Per-star changes with the rms of Eqs. 29-30: exponential J_R (cold start: dJ_R = J_R), Gaussian dJ_phi.

    An exponential with mean mu has rms sqrt(2) mu; each time is drawn independently.
    """
    R, P = curves(t, regime)
    dJR = rng.exponential(scale=(R / math.sqrt(2.0))[:, None], size=(len(t), n))
    dJp = rng.normal(scale=P[:, None], size=(len(t), n))
    return dJR, dJp


# ---------------------------------------------------------------- exact recovery


@pytest.mark.parametrize("regime", ["long", "short"])
def test_fit_regime_recovers_analytic_coefficients_exactly(regime):
    t = np.geomspace(20.0, 1e4, 25)
    R, P = curves(t, regime)
    d_RR, d_pp = fit_regime(t, R, P, regime, (50.0, 5000.0))
    truth = LONG if regime == "long" else SHORT
    assert d_RR == pytest.approx(truth[0], rel=1e-12)
    assert d_pp == pytest.approx(truth[2], rel=1e-12)
    # batched input (bootstrap shape) gives the same per row
    bR, _ = fit_regime(t, np.stack([R, 2 * R]), np.stack([P, P]), regime)
    assert bR[0] == pytest.approx(truth[0], rel=1e-12)
    # rms dJ_R ~ d_RR^(1/(2 - alpha_R)): doubling it multiplies d_RR by 2^(2 - alpha_R)
    assert bR[1] / bR[0] == pytest.approx(2.0 ** (2.0 - truth[1]), rel=1e-12)


def test_both_regimes_give_the_broken_power_laws_and_eq39():
    t = np.geomspace(10.0, 1e4, 40)
    long_R, long_P = curves(t, "long")
    short_R, short_P = curves(t, "short")
    late = t > 1000.0
    data = ActionChanges(t, rms_dJR_given=np.where(late, short_R, long_R), rms_dJphi_given=np.where(late, short_P, long_P))
    fit = fit_diffusion(data, windows={"long": (20.0, 500.0), "short": (2000.0, 1e4)}, J_star=R8.J_star)
    D = fit.coefficients
    got, want = D.to_paper_units(), R8.to_paper_units()
    for comp in ("D_RR", "D_phiphi"):
        for regime in ("long", "short"):
            assert got[comp][regime]["coefficient"] == pytest.approx(want[comp][regime]["coefficient"], rel=1e-10)
        assert got[comp]["turnover_kpc_kms"] == pytest.approx(want[comp]["turnover_kpc_kms"], rel=1e-10)
    assert fit.late_ratio.value == pytest.approx(R8.late_ratio, rel=1e-10)  # Eq. 39
    assert fit.late_ratio.std is None and not fit.bootstrap
    assert fit.long.estimate("D_RR").value == pytest.approx(9.3, rel=1e-10)
    assert fit.long.log_residual_rms[0] == pytest.approx(0.0, abs=1e-10)
    assert fit.long.slopes["rms_dJR"][0] == pytest.approx(1.0, abs=1e-8)  # Eq. 35
    assert fit.short.slopes["rms_dJphi"][0] == pytest.approx(0.4, abs=1e-8)  # Eq. 38
    assert not fit.long.warnings and not fit.short.warnings


# ---------------------------------------------------------------- bootstrap


def test_synthetic_stars_recover_truth_within_bootstrap_errors():
    rng = np.random.default_rng(11)
    t = np.geomspace(100.0, 1000.0, 8)
    dJR, dJp = synthetic(t, "long", 4000, rng)
    fit = fit_diffusion(ActionChanges(t, dJ_R=dJR, dJ_phi=dJp), windows={"long": (100.0, 1000.0)}, n_bootstrap=300)
    f = fit.long
    assert f.samples.shape == (300, 2) and fit.n_stars == 4000
    for col, name in ((0, "D_RR"), (2, "D_phiphi")):
        est = f.estimate(name)
        truth = LONG[col] / PAPER_D * PAPER_ACTION ** LONG[col + 1]
        assert 0 < est.std < 0.05 * truth
        assert abs(est.value - truth) < 4 * est.std
        assert est.p16 < est.value < est.p84
    cov = f.covariance_paper
    assert cov.shape == (2, 2) and np.allclose(cov, cov.T)
    assert fit.short is None and "not requested" in fit.notes["short"]
    with pytest.raises(ValueError, match="short"):
        _ = fit.coefficients
    with pytest.raises(ValueError, match="Eq. 39"):
        _ = fit.late_ratio


def test_bootstrap_std_matches_scatter_over_independent_realisations():
    t = np.geomspace(2000.0, 1e4, 6)
    rng = np.random.default_rng(5)
    best, boot = [], []
    for k in range(40):
        dJR, dJp = synthetic(t, "short", 800, rng)
        fit = fit_diffusion(ActionChanges(t, dJ_R=dJR, dJ_phi=dJp), windows={"short": (1000.0, 1e4)}, seed=k)
        best.append([fit.short.d_RR, fit.short.d_phiphi])
        boot.append(np.std(fit.short.samples, axis=0, ddof=1))
    scatter = np.std(np.asarray(best), axis=0, ddof=1)
    mean_boot = np.mean(np.asarray(boot), axis=0)
    assert np.all(np.abs(mean_boot / scatter - 1.0) < 0.3), (mean_boot, scatter)
    # and the realisations scatter around the truth
    assert np.mean(np.asarray(best)[:, 0]) == pytest.approx(SHORT[0], rel=3 * scatter[0] / SHORT[0] / math.sqrt(40) + 1e-3)


def test_bootstrap_is_reproducible_from_the_seed():
    rng = np.random.default_rng(2)
    t = np.geomspace(100.0, 1000.0, 5)
    data = ActionChanges(t, *synthetic(t, "long", 300, rng))
    a = fit_diffusion(data, windows={"long": (100.0, 1000.0)}, n_bootstrap=20, seed=7)
    b = fit_diffusion(data, windows={"long": (100.0, 1000.0)}, n_bootstrap=20, seed=7)
    c = fit_diffusion(data, windows={"long": (100.0, 1000.0)}, n_bootstrap=20, seed=8)
    assert np.array_equal(a.long.samples, b.long.samples)
    assert not np.array_equal(a.long.samples, c.long.samples)


# ---------------------------------------------------------------- automatic windows


def _mean_only(t, x, J_star, **kw):
    """rms-only data whose <J_R>/J_* is x(t)."""
    R, P = curves(t, "long")
    return ActionChanges(t, rms_dJR_given=R, rms_dJphi_given=P, mean_JR=x * J_star, J_star=J_star, **kw)


def test_auto_windows_follow_the_documented_rule():
    Js = R8.J_star
    t = np.geomspace(10.0, 1e4, 40)
    w = auto_windows(_mean_only(t, t / 50.0, Js, tau_star=70.0))
    # long: [tau_*, t(<J_R> = 4 J_*) = 200 Myr]; short: [t(<J_R> = 20 J_*) = 1000 Myr, end]
    assert w["long"]["window"] == pytest.approx((70.0, 200.0), rel=1e-9)
    assert w["short"]["window"] == pytest.approx((1000.0, 1e4), rel=1e-9)
    assert not w["long"]["warnings"] and not w["short"]["warnings"]
    # a fast-heating (LGR4-like) ensemble reaches 4 J_* before 2 tau_*: relaxed window [t_hi / 3, t_hi]
    w = auto_windows(_mean_only(t, t / 10.0, Js, tau_star=70.0))
    assert w["long"]["window"] == pytest.approx((40.0 / 3.0, 40.0), rel=1e-9)
    assert "before tau_*" in w["long"]["warnings"][0]
    # a slow one only reaches 20 J_* at the very end: the short window falls back to 10 J_*
    w = auto_windows(_mean_only(t, t / 500.0, Js, tau_star=70.0))
    assert w["short"]["window"] == pytest.approx((5000.0, 1e4), rel=1e-9)
    assert w["short"]["warnings"]
    # never hot enough
    w = auto_windows(_mean_only(t, t / 5000.0, Js, tau_star=70.0))
    assert w["short"]["window"] is None and "reaches only" in w["short"]["reason"]


def test_warm_ensembles_have_no_long_wavelength_regime():
    Js = R8.J_star
    t = np.geomspace(10.0, 1e4, 40)
    data = _mean_only(t, 10.0 + t / 50.0, Js, tau_star=70.0, mean_JR0=10.0 * Js)
    fit = fit_diffusion(data)
    assert fit.long is None and "starts warm" in fit.notes["long"]
    # the short window needs <J_R> >= 3 <J_R>_0 (cold start of Eqs. 29-30), here at t = 1 Gyr,
    # not just 20 J_* (t = 0.5 Gyr); crossings are interpolated log-linearly between samples
    assert fit.short.window_myr[0] == pytest.approx(1000.0, rel=0.02)
    with pytest.raises(ValueError, match="long"):
        _ = fit.coefficients
    assert fit.to_dict()["coefficients"] is None


def test_auto_windows_need_j_star():
    t = np.geomspace(10.0, 1e4, 10)
    R, P = curves(t, "long")
    with pytest.raises(ValueError, match="J_star"):
        fit_diffusion(ActionChanges(t, rms_dJR_given=R, rms_dJphi_given=P))


# ---------------------------------------------------------------- tables


def _long_table(t, dJR, dJp, rng):
    m, n = dJR.shape
    rows = rng.permutation(m * n)  # any row order
    star = np.tile(np.arange(n), m)[rows]
    tt = np.repeat(t, n)[rows]
    return Table(
        {"star_id": star + 1000, "t": tt / 1e3, "dJ_R": dJR.ravel()[rows] / PAPER_ACTION,
         "dJ_phi": dJp.ravel()[rows] / PAPER_ACTION}
    )  # fmt: skip


def test_long_format_csv_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    t = np.geomspace(100.0, 1000.0, 6)
    dJR, dJp = synthetic(t, "long", 200, rng)
    path = tmp_path / "changes.csv"
    _long_table(t, dJR, dJp, rng).write(path, format="ascii.csv")  # Gyr, kpc km/s: the defaults
    data = ActionChanges.from_table(path, J_star=0.2 * u.kpc * u.km / u.s)
    assert data.per_star and data.n_stars == 200 and data.label == "changes"
    assert np.allclose(data.t_myr, t, rtol=1e-12)
    assert np.allclose(data.dJ_R, dJR, rtol=1e-12) and np.allclose(data.dJ_phi, dJp, rtol=1e-12)
    assert data.J_star == pytest.approx(0.2 * PAPER_ACTION)
    direct = fit_diffusion(ActionChanges(t, dJ_R=dJR, dJ_phi=dJp), windows={"long": (100.0, 1000.0)}, n_bootstrap=30)
    table = fit_diffusion(data, windows={"long": (100.0, 1000.0)}, n_bootstrap=30)
    assert table.long.d_RR == pytest.approx(direct.long.d_RR, rel=1e-10)
    assert table.long.d_phiphi == pytest.approx(direct.long.d_phiphi, rel=1e-10)


def test_table_units_are_honoured(tmp_path):
    rng = np.random.default_rng(4)
    t = np.geomspace(100.0, 1000.0, 4)
    dJR, dJp = synthetic(t, "long", 50, rng)
    tab = _long_table(t, dJR, dJp, rng)
    tab["t"] = tab["t"] * 1e3 * u.Myr
    tab["dJ_R"] = tab["dJ_R"] * PAPER_ACTION * u.kpc**2 / u.Myr
    tab["dJ_phi"] = tab["dJ_phi"] * u.kpc * u.km / u.s
    path = tmp_path / "changes.ecsv"
    tab.write(path)
    data = ActionChanges.from_table(path)
    assert np.allclose(data.t_myr, t, rtol=1e-12) and np.allclose(data.dJ_R, dJR, rtol=1e-10)
    assert np.allclose(data.dJ_phi, dJp, rtol=1e-10)


def test_rms_only_table_fits_without_bootstrap(tmp_path):
    t = np.geomspace(20.0, 1e4, 30)
    R, P = curves(t, "short")
    path = tmp_path / "rms.csv"
    Table({"t_myr": t, "rms_dJR": R / PAPER_ACTION, "rms_dJphi": P / PAPER_ACTION}).write(path, format="ascii.csv")
    data = ActionChanges.from_table(path)
    assert not data.per_star and data.n_stars is None
    fit = fit_diffusion(data, windows={"short": (500.0, 1e4)}, n_bootstrap=100)
    assert fit.short.d_RR == pytest.approx(SHORT[0], rel=1e-10)
    assert fit.short.d_phiphi == pytest.approx(SHORT[2], rel=1e-10)
    assert fit.n_bootstrap == 0 and fit.short.samples is None and fit.rms_band is None
    d = fit.to_dict()
    assert d["bootstrap"] is False and "rms-only" in d["bootstrap_note"]
    assert d["regimes"]["short"]["D_RR"]["std"] is None


def test_missing_or_bad_columns_are_named():
    t = np.array([100.0, 200.0])
    with pytest.raises(ValueError, match=r"'dJ_phi' not found.*available columns: \['star', 't', 'dJ_R'\]"):
        ActionChanges.from_table({"star": [0, 1, 0, 1], "t": [0.1, 0.1, 0.2, 0.2], "dJ_R": [1.0, 2, 3, 4]})
    with pytest.raises(ValueError, match="neither per-star columns.*available columns"):
        ActionChanges.from_table({"time": t, "foo": t})
    with pytest.raises(ValueError, match=r"column 'dJ_R' \(dJ_R\) has 1 NaN"):
        ActionChanges.from_table(
            {"star": [0, 1, 0, 1], "t": [0.1, 0.1, 0.2, 0.2], "dJ_R": [1.0, np.nan, 3, 4], "dJ_phi": [1.0, 2, 3, 4]}
        )
    with pytest.raises(ValueError, match="every star at every time"):
        ActionChanges.from_table({"star": [0, 1, 0], "t": [0.1, 0.1, 0.2], "dJ_R": [1.0, 2, 3], "dJ_phi": [1.0, 2, 3]})
    with pytest.raises(ValueError, match="'dJ_R'.*shape"):
        ActionChanges(t, dJ_R=np.ones((3, 4)), dJ_phi=np.ones((3, 4)))


# ---------------------------------------------------------------- run files


TINY_RUN = {
    "name": "tiny",
    "run": {"seed": 2, "n_stars": 200, "duration_gyr": 0.6, "dt_myr": 1.0, "chunk_myr": 20.0,
            "checkpoint_every_myr": 600.0, "n_star_snapshots": 12},
    "box": {"preset": "R8"},
    "stars": {"sigma_R0_kms": 0.0, "sigma_z0_kms": 0.0},
    "field": {"kind": "mock", "preset": "R8", "temporal": "sharp", "grid_spacing_pc": 128.0, "window_myr": 400.0,
              "dt_snap_myr": 2.0},
}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from diskorbits.shearingbox.config import load_config
    from diskorbits.shearingbox.run import run_shearing_box

    path = tmp_path_factory.mktemp("run") / "tiny.h5"
    return path, run_shearing_box(load_config(TINY_RUN), path)


def test_run_file_end_to_end(tiny_run, tmp_path):
    path, run = tiny_run
    data = ActionChanges.from_run(path)
    box = run.config.box.build()
    assert data.J_star == pytest.approx(float(j_star(box.kappa, 10.0)))  # k_* = 0.01/pc (R8)
    assert data.J_star / PAPER_ACTION == pytest.approx(0.2, rel=0.02)  # Sec. III.3
    assert 60.0 < data.tau_star < 75.0  # Eq. 32, ~70 Myr
    assert data.n_stars == 200 and np.array_equal(data.t_myr, run.star_t_myr)
    assert np.array_equal(ActionChanges.from_run(run).dJ_R, data.dJ_R)
    assert data.mean_radial_action()[-1] == pytest.approx(float(run.stats["mean_JR"][-1]), rel=1e-12)

    auto = fit_diffusion(path, n_bootstrap=50)
    assert set(auto.regimes) == {"long", "short"}
    for r in ("long", "short"):
        assert (auto.regimes[r] is None) == (r in auto.notes)

    fit = fit_diffusion(data, windows={"long": (20.0, 120.0), "short": (200.0, 600.0)}, n_bootstrap=50, seed=1)
    for f in (fit.long, fit.short):
        for name in ("D_RR", "D_phiphi"):
            e = f.estimate(name)
            assert np.isfinite(e.value) and e.value > 0 and e.std > 0
    out = write_fit_json(fit, tmp_path / "fit.json")
    doc = json.loads(out.read_text())
    assert doc["n_stars"] == 200 and doc["n_bootstrap"] == 50 and doc["seed"] == 1
    assert doc["windows_myr"] == {"long": [20.0, 120.0], "short": [200.0, 600.0]}
    assert set(doc["coefficients"]) == set(fit.coefficients.to_paper_units())
    with pytest.warns(UserWarning, match="exponential closure"):
        back = load_fit_coefficients(out)
    assert float(back.D_RR.turnover) == pytest.approx(float(fit.coefficients.D_RR.turnover), rel=1e-12)
    assert float(back.J_star) == pytest.approx(float(fit.coefficients.J_star), rel=1e-12)


# ---------------------------------------------------------------- plots


def test_plots_draw_the_expected_artists(tiny_run, tmp_path):
    import matplotlib.pyplot as plt

    from diskorbits.plotting.diffusion import (
        plot_coefficients,
        plot_fit,
        plot_rms_curves,
    )

    fig = plot_coefficients([R8, diffusion_preset("LGR4")], save=tmp_path / "D.png")
    assert len(fig.axes) == 2 and (tmp_path / "D.png").exists()
    assert all(len(ax.lines) == 6 for ax in fig.axes)  # curve, J_* line, turnover marker per set
    plt.close(fig)

    t = np.geomspace(10.0, 1e4, 20)
    R, P = curves(t, "short")
    fig = plot_rms_curves(
        [{"label": "data", "t_myr": t, "rms_dJR": R, "rms_dJphi": P, "band_lo": (0.9 * R, 0.9 * P),
          "band_hi": (1.1 * R, 1.1 * P)},
         {"label": "model", "t_myr": t, "rms_dJR": R, "rms_dJphi": P, "kind": "model"}]
    )  # fmt: skip
    assert len(fig.axes) == 3 and all(len(ax.lines) == 2 for ax in fig.axes)
    assert len(fig.axes[0].collections) == 1 and len(fig.axes[2].collections) == 0
    plt.close(fig)

    _, run = tiny_run
    data = ActionChanges.from_run(run)
    fit = fit_diffusion(data, windows={"long": (20.0, 120.0), "short": (200.0, 600.0)}, n_bootstrap=20,
                        J_star=data.J_star)  # fmt: skip
    fig = plot_fit(fit, data)
    assert all(len(ax.lines) == 3 for ax in fig.axes)  # data, long (dashed), short (dotted)
    assert [ln.get_linestyle() for ln in fig.axes[0].lines] == ["-", "--", ":"]
    assert all(len(ax.patches) == 2 for ax in fig.axes)  # shaded windows
    plt.close(fig)
    fig = plot_coefficients(fit)  # a fit with bootstrap samples gets a band
    assert len(fig.axes[0].collections) == 1
    plt.close(fig)
    with pytest.raises(ValueError, match="labels"):
        plot_coefficients([R8], labels=["a", "b"])


def test_self_similar_closure_recovers_its_own_curves_and_differs_from_eq29_only_when_short():
    """closure="self-similar" inverts the exact cold-start solution; same as Eqs. 29-30 for the long regime."""
    t = np.geomspace(100.0, 1e4, 12)
    for regime, (d_RR, a_R, d_pp, a_p) in (("long", LONG), ("short", SHORT)):
        R, P = cold_ensemble_rms(t, d_RR, a_R, d_pp, a_p, "self-similar")
        got = fit_regime(t, np.asarray(R), np.asarray(P), regime, closure="self-similar")
        assert got == pytest.approx((d_RR, d_pp), rel=1e-10)
        paper = fit_regime(t, np.asarray(R), np.asarray(P), regime)  # exponential closure
        if regime == "long":
            assert paper == pytest.approx((d_RR, d_pp), rel=1e-10)
        else:
            # Eq. 29 has 1.944 (d t)^0.4 where the exact solution has 1.015 (d t)^0.4: d_RR is 5x too small
            assert paper[0] / d_RR == pytest.approx((1.0148 / 1.9440) ** 2.5, rel=2e-3)
    with pytest.raises(ValueError, match="closure"):
        fit_regime(t, np.asarray(R), np.asarray(P), "short", closure="gaussian")
