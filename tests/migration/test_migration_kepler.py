"""The Miglio et al. (2021) Kepler giants as a catalogue for the Frankel et al. (2020) likelihood.

Checks that would fail if the loader were wrong: the rebuilt observables go back to the
authors' Galactocentric coordinates in the returned frame (and not in a wrong one), the
rebuilt proper motions and line-of-sight velocities agree with Gaia EDR3 and APOGEE DR17
for the stars shared with the Montalban et al. (2021) file, the cuts keep exactly the
stars they say, the uncertainties follow the quoted intervals, every star lies in the
Kepler field's footprint, and a wrong file is refused naming the column.
"""

import json
import math
import os
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table, join

from diskorbits import frames, units
from diskorbits.migration import (
    MIGLIO2021_FRAME,
    read_kepler_miglio2021,
    read_observations,
)
from diskorbits.migration.kepler import (
    AGE_ERR_FLOOR_DEX,
    FEH_ERR_DEX,
    LOW_ALPHA_CUT,
    MIGLIO2021_FILE,
    PM_ERR_MASYR,
    RV_ERR_KMS,
    miglio2021_red_clump_fraction,
)
from diskorbits.migration.likelihood import CATALOGUE_COLUMNS
from diskorbits.migration.redclump import RedClumpFraction
from diskorbits.migration.samples import galactic_to_icrs
from diskorbits.migration.selection import KEPLER_BORESIGHT, kepler_field

DATA = Path(os.environ.get("DISKORBITS_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
FILE = DATA / MIGLIO2021_FILE
MONTALBAN = DATA / "Montalban2021_X_APOGEE_DR17.fits"

pytestmark = pytest.mark.skipif(not FILE.exists(), reason=f"{FILE} not available")


def _col(t, name):
    return np.ma.filled(np.ma.asarray(t[name], dtype=np.float64), np.nan)


@pytest.fixture(scope="module")
def raw():
    return Table.read(FILE)


@pytest.fixture(scope="module")
def frc(raw):
    return miglio2021_red_clump_fraction(raw)


@pytest.fixture(scope="module")
def cat():
    return read_kepler_miglio2021(FILE)


@pytest.fixture(scope="module")
def cat_all():
    """Every star with finite values, no other cut."""
    return read_kepler_miglio2021(FILE, red_clump_only=False, low_alpha=False, h_range=None)


def _back_to_galactocentric(t, sun):
    ra, dec = galactic_to_icrs(np.asarray(t["l"]), np.asarray(t["b"]))
    c = frames.observed_to_cylindrical(
        ra, dec, np.asarray(t["distance"]), np.asarray(t["pmra"]), np.asarray(t["pmdec"]), np.asarray(t["rv"]), sun=sun
    )
    return {k: np.asarray(v) for k, v in c._asdict().items()}


# --------------------------------------------------------------------------- frame and round trip
def test_round_trip_recovers_the_authors_galactocentric_coordinates(cat_all):
    c = _back_to_galactocentric(cat_all, MIGLIO2021_FRAME)
    # velocities: exactly the catalogue's, to round-off
    for ours, theirs in (("v_R", "vR"), ("v_phi", "vT"), ("v_z", "vZ")):
        np.testing.assert_allclose(c[ours] / units.KMS, np.asarray(cat_all[theirs]), rtol=0, atol=1e-6)
    # positions: to the file's precision (it rounds to 1 pc and 1 mrad)
    dR = c["R"] - np.asarray(cat_all["GalR"])
    dz = c["z"] - np.asarray(cat_all["GalZ"])
    dphi = np.angle(np.exp(1j * (c["phi"] - np.asarray(cat_all["Galphi"]))))
    assert np.median(np.abs(dR)) < 5e-4 and np.max(np.abs(dR)) < 6e-3
    assert np.median(np.abs(dz)) < 5e-4 and np.max(np.abs(dz)) < 4e-3
    assert np.max(np.abs(dphi)) < 2.5e-3
    errors = json.loads(cat_all.meta["errors"])["position_vs_catalogue"]
    assert errors["median_abs_dR_kpc"] == pytest.approx(np.median(np.abs(dR)), rel=1e-6)


def test_a_wrong_frame_does_not_reproduce_the_positions(cat_all):
    # Frankel et al. (2020)'s frame: R_sun 75 pc further out, z_sun 0.8 pc higher
    c = _back_to_galactocentric(cat_all, frames.FRANKEL2020)
    assert np.median(np.abs(c["R"] - np.asarray(cat_all["GalR"]))) > 0.05
    # and 20.8 pc instead of the 20 pc we found leaves a visible offset in z
    alt = frames.SolarParameters(8.125 * u.kpc, 20.8 * u.pc, MIGLIO2021_FRAME.v_sun)
    c = _back_to_galactocentric(cat_all, alt)
    assert abs(np.median(c["z"] - np.asarray(cat_all["GalZ"]))) > 6e-4


def test_frame_values_and_meta(cat):
    d = MIGLIO2021_FRAME.describe()
    assert d["galcen_distance_kpc"] == pytest.approx(8.125)
    assert d["z_sun_pc"] == pytest.approx(20.0)
    np.testing.assert_allclose(d["v_sun_kms"], [10.9, 245.6, 7.8])
    meta = json.loads(cat.meta["frame"])
    np.testing.assert_allclose(meta.pop("v_sun_kms"), d.pop("v_sun_kms"), rtol=1e-12)
    assert meta == pytest.approx(d, rel=1e-12)


def test_positions_are_the_observed_ones(cat_all, raw):
    ok = np.isfinite(_col(raw, "Age")) & np.isfinite(_col(raw, "Dist"))
    r = raw[ok]
    np.testing.assert_array_equal(np.asarray(cat_all["KIC"]), np.asarray(r["KIC"]))
    g = SkyCoord(ra=_col(r, "_RA") * u.deg, dec=_col(r, "_DE") * u.deg).galactic
    np.testing.assert_allclose(np.asarray(cat_all["l"]), g.l.deg, atol=1e-9)
    np.testing.assert_allclose(np.asarray(cat_all["b"]), g.b.deg, atol=1e-9)
    np.testing.assert_array_equal(np.asarray(cat_all["distance"]), _col(r, "Dist"))


@pytest.mark.skipif(not MONTALBAN.exists(), reason="Montalban et al. (2021) file not available")
def test_rebuilt_velocities_match_gaia_edr3_and_apogee_dr17(cat_all):
    m = Table.read(MONTALBAN)
    m["APOGEE"] = np.char.strip(np.asarray(m["APOGEE_ID"]).astype(str))
    j = join(cat_all["APOGEE", "pmra", "pmdec", "rv", "distance"], m["APOGEE", "GAIAEDR3_PMRA", "GAIAEDR3_PMDEC", "VHELIO_AVG"],
             keys="APOGEE", metadata_conflicts="silent")  # fmt: skip
    assert len(j) >= 40
    dra = np.asarray(j["pmra"]) - np.asarray(j["GAIAEDR3_PMRA"])
    ddec = np.asarray(j["pmdec"]) - np.asarray(j["GAIAEDR3_PMDEC"])
    drv = np.asarray(j["rv"]) - np.asarray(j["VHELIO_AVG"])
    # the authors used Gaia DR2 and an earlier APOGEE release: agreement to ~0.1 mas/yr and ~0.3 km/s
    assert np.median(np.abs(dra)) < 0.1 and np.median(np.abs(ddec)) < 0.1
    assert np.median(np.abs(drv)) < 0.5
    # a sign error in vR or a wrong solar motion would show at the km/s level
    assert abs(np.median(drv)) < 0.3


# --------------------------------------------------------------------------- cuts
def test_cuts_keep_exactly_the_stars_they_say(cat, raw):
    feh, alpha, ev, H = _col(raw, "__Fe_H_"), _col(raw, "__alpha_M_"), _col(raw, "evstate"), _col(raw, "Hmag")
    finite = np.isfinite(_col(raw, "Age")) & np.isfinite(_col(raw, "Dist"))
    a, s = LOW_ALPHA_CUT
    expected = finite & (ev == 2) & (alpha < a + s * feh) & (H >= 7.0) & (H <= 11.0)
    np.testing.assert_array_equal(np.sort(np.asarray(cat["KIC"])), np.sort(np.asarray(raw["KIC"])[expected]))
    assert np.all(np.asarray(cat["evstate"]) == 2)
    assert np.all(np.asarray(cat["alpha_m"]) < a + s * np.asarray(cat["feh"]))
    flow = json.loads(cat.meta["cuts"])["cutflow"]
    assert flow == {"file": 3315, "finite": 3292, "red_clump": 887, "low_alpha": 885, "h_range": 883}


def test_each_cut_can_be_switched(raw, cat, cat_all):
    assert len(cat_all) == 3292
    rgb_too = read_kepler_miglio2021(raw, red_clump_only=False, h_range=None)
    a, s = LOW_ALPHA_CUT
    high = np.asarray(cat_all["alpha_m"]) >= a + s * np.asarray(cat_all["feh"])
    assert len(rgb_too) == len(cat_all) - np.count_nonzero(high) and np.count_nonzero(high) > 300
    young = read_kepler_miglio2021(raw, age_max=3.0 * u.Gyr)
    assert np.all(np.asarray(young["age"]) <= 3.0)
    assert len(young) == np.count_nonzero(np.asarray(cat["age"]) <= 3.0)
    assert json.loads(young.meta["cuts"])["cutflow"]["age_max"] == len(young)


def test_catalogue_columns_and_uncertainties(cat, raw):
    assert set(CATALOGUE_COLUMNS) <= set(cat.colnames)
    obs = read_observations(cat)  # the likelihood's own validation accepts it
    idx = np.searchsorted(np.asarray(raw["KIC"]), np.asarray(cat["KIC"]), sorter=np.argsort(np.asarray(raw["KIC"])))
    r = raw[np.argsort(np.asarray(raw["KIC"]))[idx]]
    np.testing.assert_array_equal(np.asarray(r["KIC"]), np.asarray(cat["KIC"]))
    np.testing.assert_allclose(obs["distance_err"], 0.5 * (_col(r, "b_dist_lc") - _col(r, "b_Dist")), rtol=1e-12)
    width = 0.5 * np.log10(_col(r, "b_age_lc") / _col(r, "b_Age"))
    np.testing.assert_allclose(obs["age_err_dex"], np.maximum(width, AGE_ERR_FLOOR_DEX), rtol=1e-12)
    assert np.any(width < AGE_ERR_FLOOR_DEX) and np.any(width > 2 * AGE_ERR_FLOOR_DEX)
    np.testing.assert_allclose(obs["age"], _col(r, "Age"))
    np.testing.assert_allclose(obs["feh"], _col(r, "__Fe_H_"))
    assert np.all(obs["feh_err"] == FEH_ERR_DEX) and np.all(obs["pmra_err"] == PM_ERR_MASYR)
    assert np.all(obs["pmdec_err"] == PM_ERR_MASYR) and np.all(obs["rv_err"] == RV_ERR_KMS)


def test_error_settings_accept_quantities(raw):
    t = read_kepler_miglio2021(raw, pm_err=80 * u.uas / u.yr, rv_err=0.5 * u.km / u.s, feh_err=0.03)
    assert np.allclose(np.asarray(t["pmra_err"]), 0.08) and np.allclose(np.asarray(t["rv_err"]), 0.5)
    assert np.allclose(np.asarray(t["feh_err"]), 0.03)


# --------------------------------------------------------------------------- selection
def test_every_star_lies_in_the_kepler_footprint(cat, raw):
    sep = SkyCoord(l=np.asarray(cat["l"]) * u.deg, b=np.asarray(cat["b"]) * u.deg, frame="galactic").separation(
        SkyCoord(l=KEPLER_BORESIGHT[0] * u.deg, b=KEPLER_BORESIGHT[1] * u.deg, frame="galactic")
    )
    assert sep.deg.max() < 8.0
    sel = kepler_field()
    s = sel(np.asarray(cat["l"]), np.asarray(cat["b"]), np.asarray(cat["distance"]))
    outside = int(np.count_nonzero(s == 0))
    # a few clump stars are beyond the standard-candle distance window (their own M_H differs)
    assert 0 < outside < 0.02 * len(cat)
    kept = read_kepler_miglio2021(raw, selection=sel)
    assert len(kept) == len(cat) - outside
    assert np.all(np.asarray(kept["selection"]) > 0)
    assert json.loads(kept.meta["cuts"])["cutflow"]["selection"] == len(kept)


# --------------------------------------------------------------------------- wrong input
@pytest.mark.parametrize("missing", ["vT", "evstate", "b_age_lc"])
def test_missing_column_is_named(raw, missing):
    t = raw.copy(copy_data=False)
    t.remove_column(missing)
    with pytest.raises(ValueError, match=missing):
        read_kepler_miglio2021(t)


def test_bad_arguments(raw, tmp_path):
    with pytest.raises(FileNotFoundError):
        read_kepler_miglio2021(tmp_path / "nope.fits")
    with pytest.raises(ValueError, match="h_range"):
        read_kepler_miglio2021(raw, h_range=(11.0, 7.0))
    with pytest.raises(ValueError, match="no star survives"):
        read_kepler_miglio2021(raw, age_max=0.01)
    with pytest.raises(TypeError, match="sun"):
        read_kepler_miglio2021(raw, sun="frankel2020")
    with pytest.raises(ValueError, match="feh_err"):
        read_kepler_miglio2021(raw, feh_err=-1.0)


# --------------------------------------------------------------------------- the sample's age selection
def test_red_clump_fraction_carries_the_mass_cut(raw, frc):
    f = frc
    base = RedClumpFraction(tau_on=400.0)
    grid = np.linspace(1000.0, 8000.0, 701)
    ratio = np.asarray(f(grid)) / np.asarray(base(grid))
    assert ratio[grid == 2000.0][0] > 0.99 and ratio[grid == 7000.0][0] < 0.05
    # the 50% point of the mass cut lies among the oldest clump ages of the file (max 6.3 Gyr)
    half = grid[np.argmin(np.abs(ratio - 0.5))]
    assert 4500.0 < half < 6200.0
    # no cut -> no age selection; values are probabilities
    g = miglio2021_red_clump_fraction(raw, mass_min=0.5)
    assert float(g(8000.0)) / float(base(8000.0)) > 0.99
    assert float(np.max(np.asarray(f.values))) <= 1.0 and float(np.min(np.asarray(f.values))) >= 0.0
    assert math.isclose(float(f(0.0)), 0.0, abs_tol=1e-12)


# --------------------------------------------------------------------------- into the likelihood
def test_every_star_has_support_in_the_data_model(cat, frc):
    # build_likelihood refuses a star with S f_RC = 0 in all of its samples. S > 0 is checked
    # above; here f_RC at every star's age (building a likelihood compiles the action engine,
    # ~30 s, which benchmarks/fit_kepler_miglio2021.py does on all stars).
    f = frc
    tau = np.minimum(np.asarray(cat["age"]) * 1000.0, 6000.0)  # the likelihood truncates ages at tau_m = 6 Gyr
    assert np.all(np.asarray(f(tau)) > 1e-3)
    # with the package default f_RC the youngest (secondary-clump) stars would sit where f_RC ~ 0
    assert float(np.min(np.asarray(RedClumpFraction()(tau)))) < 0.01
