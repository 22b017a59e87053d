"""The fit summary (Table 1 view, Sec. 6 quantities) and the migration figures.

The derived numbers are checked against :mod:`diskorbits.migration.derived` on a
synthetic fit whose posterior is a point mass at Table 1; kappa comes from an
analytic flat rotation curve so that no potential has to be compiled.
"""

import json

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diskorbits import units
from diskorbits.migration import NAMES, UNITS, derived, table1, text_values
from diskorbits.migration.inference import PRIOR_BOUNDS, MigrationFit
from diskorbits.migration.model import GuidingTable
from diskorbits.migration.summary import PAPER_DERIVED, summarize
from diskorbits.plotting.migration import (
    plot_action_changes,
    plot_corner,
    plot_data_vs_model,
)
from diskorbits.sampling import OptimizeResult, SamplingResult

T1 = np.asarray(table1().to_vector())
LO = np.array([PRIOR_BOUNDS[n][0] for n in NAMES])
HI = np.array([PRIOR_BOUNDS[n][1] for n in NAMES])
TAU = 6.0 * u.Gyr
N_SIB, SIB_DRAWS = 2000, 2


def _flat_table(v_kms=235.0):
    """Guiding table of a flat rotation curve: L_c = R v, kappa = sqrt(2) v / R (nu is not used here)."""
    R = jnp.geomspace(0.05, 100.0, 400)
    v = v_kms * units.KMS
    return GuidingTable(jnp.log(R), jnp.log(R * v), jnp.log(jnp.sqrt(2.0) * v / R), jnp.log(10.0 * v / R))


TABLE = _flat_table()


def _fit(samples, mle=T1, complete=True, diagnostics=None):
    """A MigrationFit from posterior samples [chains, draws, 11] (display units) and an MLE point."""
    samples = np.asarray(samples, dtype=np.float64)
    c, d, _ = samples.shape
    sampling = SamplingResult(
        samples=samples, log_prob=np.zeros((c, d)), names=NAMES, kinds=("dimensionless",) * 11, display_units=("",) * 11,
        lower=LO, upper=HI, sampler="nuts", settings={}, seed=0, key_data=np.zeros(2, np.uint32), stats={},
        diagnostics=diagnostics, complete=complete, version="test",
    )  # fmt: skip
    mle_res = None
    if mle is not None:
        x = np.asarray(mle, dtype=np.float64)
        mle_res = OptimizeResult(
            x=x, log_likelihood=-1.0, names=NAMES, kinds=("dimensionless",) * 11, display_units=("",) * 11,
            starts=x[None], ends=x[None], values=np.array([-1.0]), converged=np.array([True]), n_evaluations=np.array([10]),
            agree=True, tolerance=0.1, spread=np.zeros(11),
        )  # fmt: skip
    return MigrationFit(names=NAMES, units=UNITS, lower=LO, upper=HI, mle=mle_res, sampling=sampling, sampler="nuts",
                        config={}, seed=7, selection={"kind": "none"}, catalogue={"n_stars": 1}, version="test",
                        complete=complete)  # fmt: skip


@pytest.fixture(scope="module")
def point():
    """Summary of a posterior that is a point mass at Table 1 (3 chains x 3 draws + the MLE: a batch of 10)."""
    f = _fit(np.tile(T1, (3, 3, 1)))
    key = jax.random.key(11)
    return f, summarize(f, key=key, table=TABLE, n_siblings=N_SIB, sibling_samples=SIB_DRAWS), key


def _value(q, unit):
    return float(np.asarray(q.to_value(unit)).ravel()[0])


def test_parameter_table_shows_fit_next_to_table1_and_text(point):
    _, s, _ = point
    p = s.parameters
    assert list(p) == list(NAMES)
    for n, v in zip(NAMES, T1):
        assert p[n]["mle"] == pytest.approx(v) and p[n]["median"] == pytest.approx(v)
        assert p[n]["p16"] == pytest.approx(v) and p[n]["p84"] == pytest.approx(v)
        assert p[n]["table1"] == pytest.approx(v)
    assert p["sigma_Lz"]["text"] == pytest.approx(567.0) and p["R_sigmaR"]["text"] == pytest.approx(27.0)
    assert p["sigma_Lz"]["unit"] == "kpc km/s" and p["tau_SFR"]["unit"] == "Gyr"
    assert p["R_d0"]["lower"] == PRIOR_BOUNDS["R_d0"][0]
    assert s.sampling["n_posterior"] == 9 and s.sampling["mle_agree"]


def test_derived_numbers_equal_derived_module(point):
    _, s, key = point
    d = s.derived
    kk = u.kpc * u.km / u.s
    expect = {
        "rms_delta_lz": _value(derived.rms_delta_lz(table1(), TAU), kk),
        "migration_distance": _value(derived.migration_distance(table1(), TAU), u.kpc),
        "drift_fraction": float(derived.drift_fraction(table1(), TAU)),
        "rms_delta_jr_8kpc": _value(derived.rms_delta_jr(table1(), TAU, 8.0, table=TABLE), kk),
        "rms_delta_jr_12kpc": _value(derived.rms_delta_jr(table1(), TAU, 12.0, table=TABLE), kk),
        "mean_radial_action_6kpc": _value(derived.mean_radial_action(table1(), TAU, 6.0, table=TABLE), kk),
        "rms_delta_lz_truncated_6kpc": _value(derived.rms_delta_lz_truncated(table1(), TAU, 6.0 * 235 * units.KMS), kk),
        "action_change_ratio_8kpc": float(derived.action_change_ratio(table1(), TAU, 8.0, table=TABLE)),
        "sun_lz0": _value(derived.solar_birth(table1()).lz0, kk),
        "sun_R0": _value(derived.solar_birth(table1()).R0, u.kpc),
    }
    for k, v in expect.items():
        assert d[k]["mle"] == pytest.approx(v, rel=1e-10), k
        assert d[k]["median"] == pytest.approx(v, rel=1e-10), k
        assert d[k]["p16"] == pytest.approx(v, rel=1e-10) and d[k]["p84"] == pytest.approx(v, rel=1e-10), k
    assert d["sun_lz0"]["feh_error_mle"] == pytest.approx(_value(derived.solar_birth(table1()).lz0_err, kk), rel=1e-10)
    # the siblings: one derived.solar_siblings call on [MLE, 2 draws] with the summary's key
    sib = derived.solar_siblings(np.tile(T1, (1 + SIB_DRAWS, 1)), key, n=N_SIB, table=TABLE)
    for name, attr in (("siblings_lz_low", "lz_low"), ("siblings_lz_high", "lz_high"), ("siblings_jr_high", "jr_high")):
        vals = np.asarray(getattr(sib, attr).to_value(kk))
        assert d[name]["mle"] == pytest.approx(vals[0], rel=1e-12)
        assert d[name]["median"] == pytest.approx(np.median(vals[1:]), rel=1e-12)


def test_derived_numbers_against_the_paper(point):
    # Table 1 reproduces the Sun's birth place of Sec. 6.4 within its error (1824 +- 127 kpc km/s, 7.8 +- 0.6 kpc)
    _, s, _ = point
    for k in ("sun_lz0", "sun_R0"):
        e = s.derived[k]
        assert e["paper"] == PAPER_DERIVED[k]["value"]
        assert abs(e["mle"] - e["paper"]) < e["paper_error"], k
    # Eq. 23 quotes 619 kpc km/s with the Sec. 6.1 sigma_Lz = 572 kpc km/s (a batch of 10 again: compiled once)
    f = _fit(np.tile(np.asarray(text_values(sigma_Lz=572.0).to_vector()), (2, 5, 1)), mle=None)
    d = summarize(f, table=TABLE, sibling_samples=0, n_siblings=200).derived
    assert d["rms_delta_lz"]["mle"] is None
    assert d["rms_delta_lz"]["median"] == pytest.approx(619.0, rel=0.01)
    assert "siblings_lz_low" not in d  # no MLE and no sibling draws: nothing to draw siblings for


def test_summary_is_plain_json_data(point):
    _, s, _ = point
    d = json.loads(json.dumps(s.to_dict()))
    assert set(d) == {"parameters", "derived", "sampling", "warnings", "run", "paper"}
    assert d["paper"]["table1"]["sigma_Lz"] == 582.0 and d["paper"]["text"]["x_io"] == 0.68
    assert d["run"]["seed"] == 7 and d["run"]["radii_kpc"] == [6.0, 8.0, 12.0] and d["run"]["tau_gyr"] == 6.0


def test_warnings_for_prior_faces_and_unfinished_runs():
    rng = np.random.default_rng(0)
    x = T1 + 0.01 * (HI - LO) * rng.standard_normal((2, 40, 11))
    x[..., 0] = LO[0] + 0.002 * (HI[0] - LO[0]) * rng.random((2, 40))  # R_d0 piled at the lower face
    mle = T1.copy()
    mle[3] = HI[3]  # sigma_Lz on the upper face
    s = summarize(_fit(x, mle=mle, complete=False), derived=False)
    text = " | ".join(s.warnings)
    assert "MLE lies on a face of the prior box for ['sigma_Lz']" in text
    assert "outer 1% of the box for ['R_d0']" in text
    assert "unfinished" in text
    assert s.derived == {}
    clean = summarize(_fit(T1 + 0.01 * (HI - LO) * rng.standard_normal((2, 40, 11))), derived=False)
    assert clean.warnings == ()


def test_summarize_rejects_bad_input():
    with pytest.raises(TypeError, match="'fit' must be a MigrationFit"):
        summarize({"not": "a fit"})
    f = _fit(np.tile(T1, (1, 4, 1)))
    with pytest.raises(ValueError, match="'max_samples' must be an integer >= 1"):
        summarize(f, max_samples=0)
    with pytest.raises(ValueError, match="'tau' must be a positive time"):
        summarize(f, tau=-1.0 * u.Gyr, derived=False)


# ----------------------------------------------------------------------------- figures


def test_corner_plot_has_the_lower_triangle():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(1)
    x = T1 + 0.02 * (HI - LO) * rng.standard_normal((300, 11))
    fig = plot_corner(x, reference=T1, truth=T1, mle=T1, bins=12)
    assert len(fig.axes) == 66  # lower triangle of the 11 x 11 grid, d (d + 1) / 2
    diagonal = [fig.axes[i * (i + 1) // 2 + i] for i in range(11)]
    assert "R_{d0}" in diagonal[0].get_title() and "sigma_{L_z}" in diagonal[3].get_title()
    assert fig.axes[-1].get_xlabel().endswith("[dex]")  # [Fe/H]_max closes the last row
    assert fig.axes[1].get_ylabel().startswith("$x_{io}$")  # second row starts with x_io
    plt.close(fig)
    with pytest.raises(ValueError, match="'truth' must have 11 entries"):
        plot_corner(x, truth=T1[:3])
    with pytest.raises(ValueError, match="must be finite"):
        plot_corner(np.full((5, 2), np.nan))


def test_action_change_figure_shows_bands_paper_curves_and_kpc_axes():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(2)
    # 400 draws and the default age grid, as 'migration plot' uses them (compiled once per session)
    x = T1 + 0.01 * (HI - LO) * rng.standard_normal((400, 11))
    fig = plot_action_changes(x, radii=(6.0, 8.0, 12.0), table=TABLE)
    top, bottom = fig.axes[0], fig.axes[1]
    assert len(fig.axes) == 2  # two panels, each with a right-hand axis in kpc
    right = [ax.child_axes[0] for ax in (top, bottom)]
    assert "migration distance [kpc]" in right[0].get_ylabel() and "[kpc]" in right[1].get_ylabel()
    labels = [ln.get_label() for ln in top.get_lines()]
    assert labels[:3] == ["6 kpc", "8 kpc", "12 kpc"] and "Eq. 23" in labels[3]
    # the median curve at 8 kpc, 6 Gyr equals derived.rms_delta_jr on the same draws
    y = bottom.get_lines()[1].get_ydata()[-1]
    ref = np.median(derived.rms_delta_jr(x, TAU, 8.0, table=TABLE).value)
    assert y == pytest.approx(ref, rel=1e-10)
    # Eq. 23 curve: 63 kpc km/s at 6 Gyr
    assert bottom.get_lines()[3].get_ydata()[-1] == pytest.approx(63.0)
    plt.close(fig)
    with pytest.raises(ValueError, match="'ages' must be a 1-D grid"):
        plot_action_changes(T1, ages=[0.0, 7.0], table=TABLE)


def test_data_vs_model_panels():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(3)
    data = {"L_z": rng.normal(1800, 400, 200), "J_R": rng.exponential(40, 200), "age": rng.uniform(0.5, 6, 200),
            "feh": rng.normal(0, 0.2, 200), "R": rng.normal(8, 1.5, 200)}  # fmt: skip
    fig = plot_data_vs_model(data, data)
    assert len(fig.axes) == 5 and fig.axes[3].get_xlabel().startswith("[Fe/H]")
    plt.close(fig)
    fig = plot_data_vs_model(data, None, note="skipped for the test")
    assert any("skipped for the test" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['J_R'\]"):
        plot_data_vs_model({k: v for k, v in data.items() if k != "J_R"})
