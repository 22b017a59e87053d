"""Catalogue readers on the real survey files in shared/data beside the checkout."""

import warnings
import os
from pathlib import Path

import astropy.coordinates as coord
import astropy.units as u
import numpy as np
import pytest
from astropy.table import MaskedColumn, Table

from diskorbits import frames, units
from diskorbits.io import (
    FLAG_BAD_PARALLAX,
    FLAG_MISSING,
    ColumnMapping,
    catalogue_from_table,
    read_catalogue,
    read_column_mapping,
    read_table,
    write_table,
)

# shared/ sits beside the checkout (as in CI); DISKORBITS_SHARED_DATA overrides it
DATA = Path(os.environ.get("DISKORBITS_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
KEPLER = DATA / "kepler_apogee_miglio2021.fit"
APOGEE = DATA / "Montalban2021_X_APOGEE_DR17.fits"
COROT = DATA / "corot_apogee_anders2017.fit"

pytestmark = pytest.mark.skipif(not DATA.exists(), reason="shared data not available")


def test_miglio2021_cylindrical_columns():
    cat = read_catalogue(KEPLER)
    assert (cat.kind, cat.schema, len(cat)) == ("cylindrical", "miglio2021", 3315)
    assert cat.columns == {"R": "GalR", "phi": "Galphi", "z": "GalZ", "v_R": "vR", "v_phi": "vT", "v_z": "vZ"}
    assert cat.n_flagged == 0
    g = cat.galactocentric()
    t = cat.table
    np.testing.assert_allclose(np.asarray(g.R), t["GalR"], rtol=1e-15)
    np.testing.assert_allclose(np.asarray(g.phi), t["Galphi"], rtol=1e-15)  # file says rad
    np.testing.assert_allclose(np.asarray(g.v_phi) / units.KMS, t["vT"], rtol=1e-12)
    # the published frame shares our convention: disc stars rotate with v_phi > 0
    assert np.median(np.asarray(g.v_phi) / units.KMS) > 200


def test_miglio2021_observed_positions_agree_with_published_R():
    # the Kepler table also has RA/Dec/distance; positions alone fix R and z
    cat = read_catalogue(KEPLER)
    t = cat.table
    ok = ~t["Dist"].mask
    c = coord.SkyCoord(
        ra=np.asarray(t["RAdeg"][ok]) * u.deg,
        dec=np.asarray(t["DEdeg"][ok]) * u.deg,
        distance=np.asarray(t["Dist"][ok]) * u.kpc,
    )
    g = c.transform_to(frames.FRANKEL2020.to_astropy())
    R = np.hypot(g.x, g.y).to_value(u.kpc)
    # Miglio+2021 used a slightly different R_sun; a few per cent agreement
    np.testing.assert_allclose(np.median(R), np.median(t["GalR"][ok]), rtol=0.03)


def test_apogee_dr17_observed_matches_astropy():
    cat = read_catalogue(APOGEE)
    assert (cat.kind, cat.schema, len(cat)) == ("observed", "apogee_dr17", 95)
    assert cat.columns["rv"] == "VHELIO_AVG" and cat.columns["pmra"] == "GAIAEDR3_PMRA"
    # Bailer-Jones distances are stored in pc without TUNIT; we must read them as pc
    assert cat.columns["distance"].startswith("GAIAEDR3_R_MED")
    d = cat.values["distance"].to_value(u.kpc)
    plx = np.asarray(cat.table["GAIAEDR3_PARALLAX"], dtype=float)
    np.testing.assert_allclose(np.median(d * plx), 1.0, rtol=0.1)
    t = cat.table
    sun = frames.FRANKEL2020
    sc = coord.SkyCoord(
        ra=np.asarray(t["RA"], float) * u.deg,
        dec=np.asarray(t["DEC"], float) * u.deg,
        distance=d * u.kpc,
        pm_ra_cosdec=np.asarray(t["GAIAEDR3_PMRA"], float) * u.mas / u.yr,
        pm_dec=np.asarray(t["GAIAEDR3_PMDEC"], float) * u.mas / u.yr,
        radial_velocity=np.asarray(t["VHELIO_AVG"], float) * u.km / u.s,
    ).transform_to(sun.to_astropy())
    g = cat.galactocentric(sun)
    R_ref = np.hypot(sc.x, sc.y).to_value(u.kpc)
    np.testing.assert_allclose(np.asarray(g.R), R_ref, rtol=1e-9)
    lz_ref = -(sc.x * sc.v_y - sc.y * sc.v_x).to_value(u.kpc * u.km / u.s)
    np.testing.assert_allclose(np.asarray(g.R * g.v_phi) / units.KPC_KMS, lz_ref, rtol=1e-9)


def test_apogee_parallax_mapping_and_bad_parallax_flag():
    table = read_table(APOGEE)
    table = table[["RA", "DEC", "GAIAEDR3_PARALLAX", "GAIAEDR3_PMRA", "GAIAEDR3_PMDEC", "VHELIO_AVG"]]
    table["GAIAEDR3_PARALLAX"][3] = -0.2
    table["VHELIO_AVG"] = MaskedColumn(table["VHELIO_AVG"], mask=np.arange(len(table)) == 5)
    cat = catalogue_from_table(table)
    assert cat.schema == "apogee_dr17" and "parallax" in cat.columns and "distance" not in cat.columns
    assert cat.flag[3] & FLAG_BAD_PARALLAX and cat.flag[5] & FLAG_MISSING
    assert cat.n_flagged == 2
    g = cat.galactocentric(frames.PW2021)
    R = np.asarray(g.R)
    assert np.isnan(R[3]) and np.isnan(R[5]) and np.isfinite(np.delete(R, [3, 5])).all()


def test_corot_cartesian_left_handed_with_masked_rows():
    cat = read_catalogue(COROT)
    assert (cat.kind, cat.schema, cat.cartesian_convention) == ("cartesian", "anders2017", "sun_at_plus_x")
    assert cat.n_flagged == 102  # velocities masked in the VizieR table
    g = cat.galactocentric()
    ok = cat.flag == 0
    t = cat.table
    np.testing.assert_allclose(np.asarray(g.R)[ok], np.asarray(t["Rg"])[ok], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(g.v_phi)[ok] / units.KMS, np.asarray(t["vPhig"])[ok], rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(np.asarray(g.v_R)[ok] / units.KMS, np.asarray(t["vRg"])[ok], rtol=1e-5, atol=1e-3)
    assert np.isnan(np.asarray(g.v_phi)[~ok]).all()


def test_gaia_names_and_user_mapping():
    rng = np.random.default_rng(0)
    n = 20
    t = Table(
        {
            "ra": rng.uniform(0, 360, n),
            "dec": rng.uniform(-60, 60, n),
            "parallax": rng.uniform(0.2, 2, n),
            "pmra": rng.normal(0, 5, n),
            "pmdec": rng.normal(0, 5, n),
            "radial_velocity": rng.normal(0, 40, n),
        }
    )
    cat = catalogue_from_table(t)
    assert cat.schema == "gaia" and cat.kind == "observed"
    ref = frames.observed_to_cylindrical(
        t["ra"], t["dec"], None, t["pmra"], t["pmdec"], t["radial_velocity"], parallax=t["parallax"], sun=frames.PW2021
    )
    np.testing.assert_allclose(np.stack(cat.galactocentric(frames.PW2021)), np.stack(ref), rtol=1e-12)
    # renamed columns + a unit given by the mapping
    t2 = t.copy()
    t2.rename_column("radial_velocity", "HRV")
    t2["dist_pc"] = 1000.0 / t2["parallax"]
    with pytest.raises(ValueError, match=r"missing rv.*available columns: ra, dec"):
        catalogue_from_table(t2)
    m = ColumnMapping.from_options(["rv=HRV", "distance=dist_pc[pc]"])
    cat2 = catalogue_from_table(t2, m)
    assert cat2.schema == "user" and cat2.columns["distance"] == "dist_pc"
    np.testing.assert_allclose(np.stack(cat2.galactocentric(frames.PW2021)), np.stack(ref), rtol=1e-12)


def test_mapping_errors(tmp_path):
    t = Table({"a": [1.0], "b": [2.0]})
    with pytest.raises(ValueError, match=r"column 'nope'.*available columns: a, b"):
        catalogue_from_table(t, ColumnMapping(columns={"ra": "nope"}, kind="observed"))
    with pytest.raises(ValueError, match="unknown coordinate name"):
        ColumnMapping(columns={"RA": "a"})
    with pytest.raises(ValueError, match="KEY=COLUMN"):
        ColumnMapping.from_options(["ra"])
    # a unit of the wrong physical type is refused, naming the column
    t = Table({"R": [8.0] * u.kpc, "phi": [0.1] * u.rad, "z": [0.0] * u.kpc, "v_R": [0.0] * u.km / u.s,
               "v_phi": [220.0] * u.mag, "v_z": [0.0] * u.km / u.s})
    with pytest.raises(ValueError, match=r"column 'v_phi'.*mag"):
        catalogue_from_table(t)
    toml = tmp_path / "map.toml"
    toml.write_text('kind = "observed"\n[columns]\nrv = "HRV"\n[units]\nrv = "m / s"\n')
    m = read_column_mapping(toml)
    assert m.kind == "observed" and m.columns == {"rv": "HRV"} and m.units == {"rv": "m / s"}
    toml.write_text("[colums]\n")
    with pytest.raises(ValueError, match="unknown key"):
        read_column_mapping(toml)


def test_missing_file_and_bad_extension(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_catalogue(tmp_path / "nope.fits")
    (tmp_path / "x.txt").write_text("a\n")
    with pytest.raises(ValueError, match="supported extensions"):
        read_catalogue(tmp_path / "x.txt")


@pytest.mark.parametrize("ext", ["fits", "csv", "ecsv", "parquet"])
def test_write_read_round_trip_keeps_units_and_masks(tmp_path, ext):
    src = read_catalogue(KEPLER).table[:50]
    src = src[["KIC", "APOGEE", "GalR", "Galphi", "GalZ", "vR", "vT", "vZ", "Age"]]
    src.meta = {"diskorbits_version": "test", "frame": "frankel2020"}
    out = write_table(src, tmp_path / f"cat.{ext}")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left
    back = read_table(out)
    assert back.colnames == src.colnames
    assert back["vT"].unit == u.km / u.s and back["Galphi"].unit == u.rad
    # FITS upper-cases header keywords
    assert {k.lower(): v for k, v in back.meta.items()}.get("frame") == "frankel2020"
    np.testing.assert_array_equal(np.ma.getmaskarray(back["Age"]), np.ma.getmaskarray(src["Age"]))
    np.testing.assert_allclose(np.asarray(back["GalR"]), np.asarray(src["GalR"]))
    cat = read_catalogue(out)
    assert cat.schema == "miglio2021"
    with pytest.raises(FileExistsError, match="exists"):
        write_table(src, out)
    write_table(src[:3], out, overwrite=True)
    assert len(read_table(out)) == 3


def test_failed_write_leaves_no_partial_file(tmp_path):
    bad = Table({"a": [object(), object()]}, dtype=[object])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception):
            write_table(bad, tmp_path / "bad.fits")
    assert list(tmp_path.iterdir()) == []
