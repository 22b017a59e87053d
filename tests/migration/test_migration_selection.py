"""Selection functions, dust and f_RC for the Frankel et al. (2020) model (Sec. 4, App. B).

Physics checks: distance windows from the distance modulus, dust shrinking them by the
analytic amount, solid angles against a Monte Carlo count of sky points, the position
sampler against the requested density (KS), the sampler's density and normalisation
through an importance-sampling identity, and the shape of f_RC.
"""

import csv
import importlib.util
import math
from importlib.metadata import PackageNotFoundError, version

import astropy.units as u
import jax
import numpy as np
import pytest
from astropy.table import Table
from scipy import integrate, optimize, stats

from diskorbits._tomlconfig import ConfigError
from diskorbits.migration import selection as selmod
from diskorbits.migration.dust import (
    A_H_OVER_A_V,
    CallableDust,
    DoubleExponentialDust,
    NoDust,
    bayestar_dust,
)
from diskorbits.migration.redclump import (
    RC_ABSOLUTE_MAGNITUDE_H,
    RC_JK0,
    RedClumpFraction,
    TabulatedRedClumpFraction,
    distance_from_modulus,
    distance_modulus,
)
from diskorbits.migration.selection import (
    KEPLER_ACTIVE_AREA_DEG2,
    Field,
    NoSelection,
    SurveySelection,
    apogee_dr17,
    kepler_field,
)

HAVE_GAIAUNLIMITED = importlib.util.find_spec("gaiaunlimited") is not None
needs_gu = pytest.mark.skipif(not HAVE_GAIAUNLIMITED, reason="gaiaunlimited (APOGEE sampling fractions) not installed")
KEPLER_FILE = "/work/shared/data/kepler_apogee_miglio2021.fit"

R_SUN, Z_SUN = 8.2, 0.0208
M_H = RC_ABSOLUTE_MAGNITUDE_H


def _rz(l, b, D):
    l, b = np.radians(l), np.radians(b)
    x = R_SUN - D * np.cos(b) * np.cos(l)
    y = D * np.cos(b) * np.sin(l)
    return np.hypot(x, y), Z_SUN + D * np.sin(b)


def disk_log_density(l, b, D, R_d=3.0, h_z=0.3):
    """ln rho of the simple disk of Eq. B4: exp(-R/R_d) sech^2(z/h_z)."""
    R, z = _rz(l, b, D)
    return -R / R_d - 2.0 * np.log(np.cosh(z / h_z))


def _csv_path():
    spec = importlib.util.find_spec("gaiaunlimited")
    return f"{next(iter(spec.submodule_search_locations))}/data/apogee_sampling_fractions.csv"


@pytest.fixture(scope="module")
def apogee_nodust():
    return apogee_dr17(dust=NoDust())


@pytest.fixture(scope="module")
def apogee_dust():
    return apogee_dr17()


# --------------------------------------------------------------------------- #
# APOGEE DR17 field table
# --------------------------------------------------------------------------- #
@needs_gu
def test_apogee_table_has_the_documented_cuts(apogee_nodust):
    # Independent count straight from the CSV: short cohort, the colour bin holding
    # (J-Ks)_0 = 0.68, |b| < 25 deg, non-zero fraction.
    with open(_csv_path()) as fh:
        rows = [
            r
            for r in csv.DictReader(fh)
            if r["cohort"].split("_")[0] == "short"
            and float(r["JK0min"]) <= RC_JK0 < float(r["JK0max"])
            and abs(float(r["GLAT"])) < 25.0
            and float(r["fracSampling"]) > 0
        ]
    sel = apogee_nodust
    assert len(sel) == len({r["FIELD"] for r in rows}) == len(rows)
    try:
        if version("gaiaunlimited") == "0.3.3":
            assert len(sel) == 410
    except PackageNotFoundError:  # pragma: no cover
        pass
    tab = sel.summary()
    assert np.all(np.abs(tab["b"].to_value(u.deg)) < 25.0)
    assert np.all(tab["h_min"].to_value(u.mag) >= 7.0) and np.all(tab["h_max"].to_value(u.mag) <= 12.0)
    assert np.all((tab["fraction"] > 0) & (tab["fraction"] <= 1))
    by_name = {r["FIELD"]: r for r in rows}
    # An APOGEE-1-style row and an APOGEE-2 blue-bin row (the red bin of 020-06 has 0.0437).
    i = list(tab["name"]).index("000+17")
    assert tab["fraction"][i] == pytest.approx(0.3391 * 0.9326, rel=1e-12)
    assert (tab["h_min"][i], tab["h_max"][i]) == (7.0 * u.mag, 12.0 * u.mag)
    j = list(tab["name"]).index("020-06")
    assert by_name["020-06"]["cohort"] == "short_blue"
    assert tab["fraction"][j] == pytest.approx(0.0163 * 0.6949, rel=1e-12)
    assert (tab["h_min"][j], tab["h_max"][j]) == (10.0 * u.mag, 12.0 * u.mag)
    # Solid angles: 2 pi (1 - cos r) of the CSV radii.
    omega = sum(2 * math.pi * (1 - math.cos(math.radians(float(r["RADIUS"])))) for r in rows)
    assert sel.solid_angles.sum() == pytest.approx(omega, rel=1e-12)
    assert apogee_dr17(dust=NoDust(), include_ak_fraction=False).fractions[i] == pytest.approx(0.3391)


@needs_gu
def test_selection_is_the_fraction_inside_and_zero_outside(apogee_nodust):
    sel = apogee_nodust
    l, b = sel.centres
    d_min, d_max = sel.distance_limits()
    # Fields whose cap touches no other field: S must be exactly their fraction.
    cos = np.clip(sel._centres @ sel._centres.T, -1, 1)
    sep = np.degrees(np.arccos(cos))
    r = sel._radius
    isolated = ~np.any((sep < r[:, None] + r[None, :]) & ~np.eye(len(sel), dtype=bool), axis=1)
    assert isolated.sum() > 300
    iso = np.flatnonzero(isolated)
    mid = np.sqrt(d_min * d_max)[iso]
    np.testing.assert_array_equal(sel(l[iso], b[iso], mid), sel.fractions[iso])
    np.testing.assert_array_equal(sel(l[iso], b[iso], 0.97 * d_min[iso]), 0.0)
    np.testing.assert_array_equal(sel(l[iso], b[iso], 1.03 * d_max[iso]), 0.0)
    # Directions in no field: zero at every distance.
    rng = np.random.default_rng(4)
    ls, bs = rng.uniform(0, 360, 5000), np.degrees(np.arcsin(rng.uniform(-1, 1, 5000)))
    out = sel.field_index(ls, bs) == -1
    assert 0 < out.sum() < 5000
    for D in (0.3, 1.0, 3.0):
        assert np.all(sel(ls[out], bs[out], D) == 0.0)
    assert np.all(sel(ls[~out], bs[~out], 2.0) > 0.0)
    # field_index agrees with a brute-force nearest-containing-centre search.
    v = np.stack([np.cos(np.radians(bs)) * np.cos(np.radians(ls)), np.cos(np.radians(bs)) * np.sin(np.radians(ls)),
                  np.sin(np.radians(bs))], axis=1)
    c = v @ sel._centres.T
    inside = c >= np.cos(np.radians(r))
    brute = np.where(inside.any(axis=1), np.argmax(np.where(inside, c, -2.0), axis=1), -1)
    np.testing.assert_array_equal(sel.field_index(ls, bs), brute)
    # Overlapping fields combine as independent chances: 1 - (1 - S_1)(1 - S_2).
    f1 = Field(l=10.0, b=0.0, radius=2.0, h_min=7.0, h_max=12.0, fraction=0.3)
    f2 = Field(l=11.0, b=0.0, radius=2.0, h_min=7.0, h_max=11.0, fraction=0.5)
    two = SurveySelection((f1, f2))
    np.testing.assert_allclose(two(10.5, 0.0, [1.0, 4.0]), [1 - 0.7 * 0.5, 0.3])


def test_distance_window_matches_the_distance_modulus():
    fields = (
        Field(l=45.0, b=5.0, radius=1.0, h_min=7.0, h_max=12.0, fraction=0.2),
        Field(l=200.0, b=-8.0, radius=1.5, h_min=10.0, h_max=12.2, fraction=0.6),
    )
    for M in (M_H, -1.49):
        sel = SurveySelection(fields, absolute_magnitude=M)
        d_min, d_max = sel.distance_limits()
        np.testing.assert_allclose(d_min, [0.01 * 10 ** ((7.0 - M) / 5), 0.01 * 10 ** ((10.0 - M) / 5)], rtol=1e-13)
        np.testing.assert_allclose(d_max, [0.01 * 10 ** ((12.0 - M) / 5), 0.01 * 10 ** ((12.2 - M) / 5)], rtol=1e-13)
        # the apparent magnitude at the limits is the window edge
        np.testing.assert_allclose(sel.apparent_magnitude([45.0, 200.0], [5.0, -8.0], d_max), [12.0, 12.2], atol=1e-12)
        Dg = np.array([d_min[0] * (1 - 1e-9), d_min[0] * (1 + 1e-9), d_max[0] * (1 - 1e-9), d_max[0] * (1 + 1e-9)])
        np.testing.assert_array_equal(sel.field_selection(Dg, 0), [0.0, 0.2, 0.2, 0.0])
    # The red clump with 7 <= H <= 12 is seen from 0.49 to 4.92 kpc without dust.
    assert fields[0].distance_window() == pytest.approx((0.4920, 4.9204), abs=1e-4)
    # -1.49 instead of -1.46 moves every distance by 10^(0.03/5)
    lo46 = SurveySelection(fields).distance_limits()[0]
    lo49 = SurveySelection(fields, absolute_magnitude=-1.49).distance_limits()[0]
    np.testing.assert_allclose(lo49 / lo46, 10 ** (0.006), rtol=1e-12)
    assert float(distance_from_modulus(distance_modulus(3.7 * u.kpc))) == pytest.approx(3.7, rel=1e-14)


def test_dust_shrinks_the_window_by_the_analytic_amount():
    dust = DoubleExponentialDust()
    a0, hR, hz, k = dust.a_v_per_kpc, dust.scale_length, dust.scale_height, A_H_OVER_A_V
    # Towards the anticentre in the plane, A_H(D) = k a0 h_R (1 - exp(-D/h_R)) exp(-z_sun/h_z).
    a_h = lambda D: k * a0 * hR * (1 - np.exp(-D / hR)) * np.exp(-Z_SUN / hz)
    np.testing.assert_allclose(dust.extinction_H(180.0, 0.0, [0.5, 2.0, 5.0]), a_h(np.array([0.5, 2.0, 5.0])), rtol=1e-12)
    f = Field(l=180.0, b=0.0, radius=0.5, h_min=7.0, h_max=12.0, fraction=1.0)
    sel = SurveySelection((f,), dust=dust, n_dust_directions=1)
    d_min, d_max = (float(x[0]) for x in sel.distance_limits())
    expect = [optimize.brentq(lambda D, h=h: M_H + 5 * np.log10(D / 0.01) + a_h(D) - h, 0.01, 10, xtol=1e-14) for h in (7, 12)]
    assert (d_min, d_max) == pytest.approx(expect, rel=1e-10)
    d_max0 = f.distance_window()[1]
    assert d_max / d_max0 == pytest.approx(10 ** (-a_h(d_max) / 5), rel=1e-10)
    assert 0.80 < d_max / d_max0 < 0.90  # ~0.35 mag of A_H at ~4 kpc: a ~15% shorter reach
    # High latitude: the whole dust column is ~k a0 h_z / sin b, a < 1% effect.
    hi = SurveySelection((Field(l=180.0, b=60.0, radius=0.5, h_min=7.0, h_max=12.0),), dust=dust, n_dust_directions=1)
    assert 0.99 < hi.distance_limits()[1][0] / d_max0 < 1.0
    # Averaging over the field's sight lines: S_i(D) steps down from f to 0 in multiples of f/K.
    avg = SurveySelection((Field(l=30.0, b=0.0, radius=1.5, h_min=7.0, h_max=12.0, fraction=0.4),), dust=dust,
                          n_dust_directions=8)
    lo, hi_ = avg._d_lo[0], avg._d_hi[0]
    assert np.ptp(hi_) > 0.05  # the sight lines differ at b = 0
    D = np.linspace(lo.max() * 1.001, hi_.max() * 1.01, 400)
    s = avg.field_selection(D, 0)
    assert np.all(np.diff(s) <= 0) and s[0] == pytest.approx(0.4) and s[-1] == 0.0
    np.testing.assert_allclose(s * 8 / 0.4, np.round(s * 8 / 0.4), atol=1e-12)


def test_solid_angles_sum_to_the_covered_sky():
    assert Field(l=0, b=0, radius=90, h_min=7, h_max=12).solid_angle == pytest.approx(2 * np.pi, rel=1e-14)
    r = np.radians(1.0)
    assert Field(l=0, b=0, radius=1.0, h_min=7, h_max=12).solid_angle == pytest.approx(np.pi * r**2, rel=1e-4)
    # Disjoint fields: the share of random sky directions inside them is sum(Omega) / 4 pi.
    centres = [(0, 0), (60, 30), (120, -30), (180, 60), (240, -60), (300, 0)]
    sel = SurveySelection(tuple(Field(l=a, b=c, radius=10.0, h_min=7, h_max=12) for a, c in centres))
    rng = np.random.default_rng(11)
    n = 200_000
    inside = sel.field_index(rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))) >= 0
    p = sel.solid_angles.sum() / (4 * np.pi)
    assert abs(inside.mean() - p) < 4 * np.sqrt(p * (1 - p) / n)
    assert sel.summary()["solid_angle"].sum().to_value(u.deg**2) == pytest.approx(6 * 2 * np.pi * (1 - np.cos(np.radians(10))) * (180 / np.pi) ** 2)


# --------------------------------------------------------------------------- #
# Sampling positions (Appendix B, steps 1-2)
# --------------------------------------------------------------------------- #
def test_sampled_distances_and_directions_follow_the_requested_density():
    f = Field(l=150.0, b=5.0, radius=1.0, h_min=7.0, h_max=12.0, fraction=0.3)
    sel = SurveySelection((f,))
    s = sel.sample_positions(np.random.default_rng(2), 4000, disk_log_density)
    d_min, d_max = f.distance_window()
    assert np.all((s.D >= d_min) & (s.D <= d_max)) and np.all(s.field == 0)
    grid = np.linspace(d_min, d_max, 20001)
    target = np.exp(disk_log_density(150.0, 5.0, grid)) * grid**2
    cdf = integrate.cumulative_trapezoid(target, grid, initial=0.0)
    cdf /= cdf[-1]
    assert stats.kstest(s.D, lambda x: np.interp(x, grid, cdf)).pvalue > 0.01
    # ... and the test can fail: the same samples against a thinner disk
    wrong = np.exp(disk_log_density(150.0, 5.0, grid, h_z=0.1)) * grid**2
    wcdf = integrate.cumulative_trapezoid(wrong, grid, initial=0.0)
    assert stats.kstest(s.D, lambda x: np.interp(x, grid, wcdf / wcdf[-1])).pvalue < 1e-3
    # Directions uniform over the cap: 1 - cos(theta) uniform on [0, 1 - cos r].
    v = np.stack([np.cos(np.radians(s.b)) * np.cos(np.radians(s.l)), np.cos(np.radians(s.b)) * np.sin(np.radians(s.l)),
                  np.sin(np.radians(s.b))], axis=1)
    u_ = (1 - v @ sel._centres[0]) / (1 - np.cos(np.radians(1.0)))
    assert u_.max() <= 1 + 1e-9 and stats.kstest(u_, "uniform").pvalue > 0.01
    # The returned density and normalisation: q = rho D^2 S / Z with Z = Omega f int rho D^2 dD.
    Z = f.solid_angle * 0.3 * integrate.quad(lambda D: np.exp(disk_log_density(150.0, 5.0, D)) * D**2, d_min, d_max,
                                             epsrel=1e-12)[0]
    assert math.exp(s.log_norm) == pytest.approx(Z, rel=1e-5)
    expect = disk_log_density(150.0, 5.0, s.D) + 2 * np.log(s.D) + math.log(0.3) - math.log(Z)
    np.testing.assert_allclose(s.log_density, expect, atol=1e-4)


def test_fields_receive_samples_in_proportion_to_their_survey_volume():
    fields = (
        Field(l=90.0, b=3.0, radius=1.49, h_min=7.0, h_max=12.0, fraction=0.1),
        Field(l=240.0, b=-6.0, radius=0.8, h_min=10.0, h_max=12.2, fraction=0.6),
    )
    sel = SurveySelection(fields)
    n = 20000
    s = sel.sample_positions(7, n, disk_log_density)
    F = []
    for f in fields:
        lo, hi = f.distance_window()
        F.append(f.solid_angle * f.fraction * integrate.quad(lambda D, f=f: np.exp(disk_log_density(f.l, f.b, D)) * D**2,
                                                             lo, hi, epsrel=1e-12)[0])
    np.testing.assert_allclose(np.exp(s.log_field_norms), F, rtol=1e-5)
    p = F[0] / sum(F)
    k = np.sum(s.field == 0)
    assert abs(k - n * p) < 4 * np.sqrt(n * p * (1 - p))


@needs_gu
def test_importance_sampling_identity_on_apogee(apogee_dust):
    # mean over samples of rho D^2 S / q estimates Z: checks log_density and log_norm
    # together; the residual is the paper's field-centre approximation (~0.3%).
    sel = apogee_dust
    s = sel.sample_positions(np.random.default_rng(5), 20000, disk_log_density)
    S = sel(s.l, s.b, s.D)
    assert np.all(S > 0)
    w = np.exp(disk_log_density(s.l, s.b, s.D) - s.log_density) * s.D**2 * S
    ratio = w.mean() / math.exp(s.log_norm)
    assert ratio == pytest.approx(1.0, abs=0.01)
    assert np.mean(sel.field_index(s.l, s.b) == s.field) > 0.97  # differs only in overlaps


def test_no_selection_is_one_inside_its_region_and_samples_a_uniform_sphere():
    assert np.all(NoSelection()([0, 100, 200], [-90, 0, 90], [0, 1e3, 1e6]) == 1.0)
    sel = NoSelection(d_max=2.0, b_max=30.0)
    np.testing.assert_array_equal(sel([0, 0, 0, 0], [0, 31, 0, -29], [1, 1, 2.5, 1.9]), [1, 0, 0, 1])
    with pytest.raises(ValueError, match="d_max"):
        NoSelection().sample_positions(0, 10, disk_log_density)
    s = sel.sample_positions(np.random.default_rng(3), 5000, lambda l, b, D: np.zeros(np.broadcast(l, b, D).shape))
    assert stats.kstest((s.D / 2.0) ** 3, "uniform").pvalue > 0.01  # rho = const: p(D) ~ D^2
    sb = np.sin(np.radians(s.b)) / np.sin(np.radians(30.0))
    assert stats.kstest((sb + 1) / 2, "uniform").pvalue > 0.01
    assert stats.kstest(s.l / 360.0, "uniform").pvalue > 0.01
    volume = 4 / 3 * np.pi * 2.0**3 * np.sin(np.radians(30.0))
    assert math.exp(s.log_norm) == pytest.approx(volume, rel=1e-5)
    # log_density is exactly that of the draw: D^2 interpolated linearly on the 512-node grid ...
    grid = np.linspace(0.0, 2.0, 512)
    z_grid = 4 * np.pi * np.sin(np.radians(30.0)) * integrate.trapezoid(grid**2, grid)
    np.testing.assert_allclose(s.log_density, np.log(np.interp(s.D, grid, grid**2) / z_grid), atol=1e-10)
    # ... which is the ideal D^2 / V up to the grid's resolution (worst in the first cells)
    far = s.D > 0.1
    np.testing.assert_allclose(s.log_density[far], 2 * np.log(s.D[far]) - np.log(volume), atol=2e-4)


# --------------------------------------------------------------------------- #
# User fields, Kepler, errors
# --------------------------------------------------------------------------- #
TOML = """
name = "two fields"
n_dust_directions = 4
[dust]
model = "double_exponential"
scale_height = 0.12
[[fields]]
name = "a"
l = 30.0
b = 2.0
radius = 1.5
h_min = 7.0
h_max = 12.0
fraction = 0.25
[[fields]]
name = "b"
l = 150.0
b = -4.0
radius = 0.8
h_min = 8.0
h_max = 11.5
fraction = 0.5
"""


def test_user_fields_from_table_file_and_toml_agree(tmp_path):
    dust = DoubleExponentialDust(scale_height=0.12)
    from_toml = SurveySelection.from_toml(TOML)
    t = Table(
        {"GLON": [30.0, 150.0] * u.deg, "GLAT": [2.0, -4.0] * u.deg, "radius": np.radians([1.5, 0.8]) * u.rad,
         "h_min": [7.0, 8.0], "h_max": [12.0, 11.5], "fraction": [0.25, 0.5], "name": ["a", "b"]}
    )
    from_tab = SurveySelection.from_table(t, columns={"l": "GLON", "b": "GLAT"}, dust=dust, n_dust_directions=4)
    path = tmp_path / "fields.ecsv"
    t.write(path)
    from_file = SurveySelection.from_table(path, columns={"l": "GLON", "b": "GLAT"}, dust=dust, n_dust_directions=4)
    as_dict = {"l": [30.0, 150.0], "b": [2.0, -4.0], "radius": [1.5, 0.8], "h_min": [7.0, 8.0], "h_max": [12.0, 11.5],
               "fraction": [0.25, 0.5]}
    from_dict = SurveySelection.from_table(as_dict, dust=dust, n_dust_directions=4)
    D = np.linspace(0.3, 5.0, 50)
    ref = from_toml.field_selection(D)
    for other in (from_tab, from_file, from_dict):
        np.testing.assert_allclose(other.field_selection(D), ref, rtol=1e-12)
        np.testing.assert_allclose(other.solid_angles, from_toml.solid_angles, rtol=1e-12)
    assert [f.name for f in from_toml.fields] == ["a", "b"] and from_toml.name == "two fields"

    with pytest.raises(ValueError, match="missing column"):
        SurveySelection.from_table({k: v for k, v in as_dict.items() if k != "fraction"})
    with pytest.raises(ConfigError, match="unknown key"):
        SurveySelection.from_toml(TOML.replace("scale_height", "scale_hieght"))
    with pytest.raises(ConfigError, match="fields\\[1\\].*h_min"):
        SurveySelection.from_toml(TOML.replace("h_min = 8.0", "h_min = 13.0"))


def test_kepler_field_contains_the_miglio2021_stars():
    from astropy.coordinates import SkyCoord

    t = Table.read(KEPLER_FILE)
    gal = SkyCoord(np.asarray(t["RAdeg"]), np.asarray(t["DEdeg"]), unit="deg").galactic
    l, b = gal.l.deg, gal.b.deg
    sel = kepler_field()
    assert np.mean(sel.field_index(l, b) == 0) > 0.99
    assert np.all(sel.field_index((l + 180.0) % 360, b) == -1)  # a control: the same cap shifted away
    # The fill factor spreads the ~105 deg^2 of CCDs over the 8 deg cap.
    assert sel.fractions[0] * sel.solid_angles[0] * (180 / np.pi) ** 2 == pytest.approx(KEPLER_ACTIVE_AREA_DEG2, rel=1e-12)
    # Red-clump stars (evstate 2) sit inside the standard-candle distance window of 7 <= H <= 11.
    rc = np.asarray(t["evstate"]) == 2
    D = np.ma.filled(t["Dist"], np.nan)[rc]
    ok = np.isfinite(D)
    assert np.mean(sel(l[rc][ok], b[rc][ok], D[ok]) > 0) > 0.95


def test_bad_input_raises_clear_errors(tmp_path, monkeypatch, apogee_nodust):
    sel = SurveySelection((Field(l=0, b=0, radius=1, h_min=7, h_max=12),))
    with pytest.raises(ValueError, match="'l' must be finite"):
        sel(np.nan, 0.0, 1.0)
    with pytest.raises(ValueError, match="'D'.*>= 0"):
        sel(0.0, 0.0, -1.0)
    with pytest.raises(ValueError, match="'b'"):
        sel(0.0, 95.0, 1.0)
    with pytest.raises(u.UnitConversionError, match="'D'"):
        sel(0.0, 0.0, 1.0 * u.s)
    assert float(sel(0.0 * u.deg, 0.0 * u.rad, 1000.0 * u.pc)) == 1.0
    with pytest.raises(ValueError, match="h_min"):
        Field(l=0, b=0, radius=1, h_min=12, h_max=7)
    with pytest.raises(ValueError, match="'radius'"):
        Field(l=0, b=0, radius=0, h_min=7, h_max=12)
    with pytest.raises(ValueError, match="'fraction'"):
        Field(l=0, b=0, radius=1, h_min=7, h_max=12, fraction=1.5)
    with pytest.raises(TypeError, match="rng"):
        sel.sample_positions("seed", 10, disk_log_density)
    with pytest.raises(ValueError, match="NaN"):
        sel.sample_positions(0, 10, lambda l, b, D: np.full(np.broadcast(l, b, D).shape, np.nan))
    with pytest.raises(ValueError, match="unknown APOGEE cohort"):
        apogee_dr17(cohort="shortest")
    bad_csv = tmp_path / "fractions.csv"
    bad_csv.write_text("FIELD,GLON,GLAT\nx,1,2\n")
    with pytest.raises(ValueError, match="missing column"):
        apogee_dr17(path=bad_csv)
    monkeypatch.setattr(selmod.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match="pip install gaiaunlimited"):
        apogee_dr17()
    monkeypatch.undo()
    with pytest.raises(ValueError, match="non-finite extinction"):
        SurveySelection((Field(l=0, b=0, radius=1, h_min=7, h_max=12),), dust=CallableDust(lambda l, b, D: np.nan * D))
    if importlib.util.find_spec("dustmaps") is None:
        with pytest.raises(ImportError, match="pip install dustmaps"):
            bayestar_dust(0.47)


def test_callable_dust_hook_matches_the_builtin_model():
    # A 3D map enters as a function of (l, b, D) times a band coefficient.
    dust = DoubleExponentialDust()
    hook = CallableDust(lambda l, b, D: dust.extinction_H(l, b, D) / A_H_OVER_A_V, coefficient=A_H_OVER_A_V)
    f = (Field(l=20.0, b=1.0, radius=1.0, h_min=7, h_max=12, fraction=0.2),)
    a = SurveySelection(f, dust=dust).distance_limits()
    c = SurveySelection(f, dust=hook).distance_limits()
    np.testing.assert_allclose(np.concatenate(a), np.concatenate(c), rtol=1e-12)


# --------------------------------------------------------------------------- #
# f_RC(tau)
# --------------------------------------------------------------------------- #
def test_red_clump_fraction_has_the_documented_shape():
    f = RedClumpFraction()
    tau = np.linspace(0.0, 14000.0, 2801)  # Myr, 5 Myr steps
    y = np.asarray(f(tau))
    at = lambda t: y[round(t / 5.0)]
    assert np.all((y >= 0) & (y <= 1)) and y[0] == 0.0
    assert np.all(y[tau < 500] < 0.01)  # ~0 below 0.5 Gyr
    i = int(np.argmax(y))
    assert 1000 <= tau[i] <= 2000 and y[i] == pytest.approx(1.0, abs=1e-4)
    assert f.peak_age == pytest.approx(tau[i], abs=5.0)
    assert np.all(np.diff(y[: i + 1]) >= 0) and np.all(np.diff(y[i:]) <= 0)
    assert at(900.0) == pytest.approx(0.60, abs=0.01)  # steep onset
    # slow late decline: the log-slope approaches -alpha = -0.46
    assert np.log(at(12000.0) / at(6000.0)) / np.log(2.0) == pytest.approx(-0.46, abs=0.01)
    assert 0.3 < at(10000.0) < 0.5
    # units at the boundary, log, and JAX transforms
    np.testing.assert_allclose(f(tau / 1000.0 * u.Gyr), y, rtol=1e-14)
    logs = np.asarray(f.log(tau))
    assert logs[0] == -np.inf and np.allclose(logs[1:], np.log(y[1:]))
    g = jax.jit(jax.grad(lambda t: f(t)))(1500.0)
    assert float(g) == pytest.approx((at(1505.0) - at(1495.0)) / 10.0, rel=1e-3)
    with pytest.raises(ValueError, match="'slope'"):
        RedClumpFraction(slope=20.0)
    with pytest.raises(ValueError, match="'amplitude'"):
        RedClumpFraction(amplitude=1.5)


def test_tabulated_red_clump_fraction_interpolates_and_validates():
    t = TabulatedRedClumpFraction([0.0, 1.0, 10.0] * u.Gyr, [0.0, 1.0, 0.5])
    np.testing.assert_allclose(t(np.array([500.0, 5500.0, 20000.0])), [0.5, 0.75, 0.0])
    with pytest.raises(ValueError, match="'values'"):
        TabulatedRedClumpFraction([0.0, 1.0], [0.0, 2.0])
    with pytest.raises(ValueError, match="'ages'"):
        TabulatedRedClumpFraction([1.0, 0.0], [0.0, 1.0])
    assert RC_JK0 == pytest.approx(0.68)
