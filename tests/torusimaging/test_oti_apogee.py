"""APOGEE DR17 x Gaia parent-sample cuts of Price-Whelan et al. 2021 Sec. 3."""

import numpy as np
import pytest
from astropy.table import Table

from diskorbits import frames
from diskorbits.io import read_catalogue, write_table
from diskorbits.torusimaging.apogee import (
    CUT_ORDER,
    LOGG_RANGE_SCRIPTS,
    APOGEESelection,
    element_column,
    load_apogee_gaia,
    sample_galactocentric,
    select_apogee_gaia,
)

MONTALBAN = "/work/shared/data/Montalban2021_X_APOGEE_DR17.fits"
ELEMENTS = ("FE_H", "MG_FE", "O_FE")

GOOD = {
    "APOGEE_ID": "2M00000000+0000000",
    "RA": 290.0, "DEC": 40.0,
    "ASPCAPFLAG": 64,  # N_M_WARN only: allowed
    "TEFF": 4800.0, "LOGG": 2.5, "SNR": 100.0,
    "APOGEE_TARGET1": 0, "APOGEE_TARGET2": 0, "APOGEE2_TARGET1": -(2**31), "APOGEE2_TARGET2": 0, "APOGEE2_TARGET3": 0,
    "FE_H": -0.1, "FE_H_ERR": 0.01, "MG_FE": 0.05, "MG_FE_ERR": 0.02, "O_FE": 0.05, "O_FE_ERR": 0.02,
    "GAIAEDR3_PARALLAX": 1.0, "GAIAEDR3_PARALLAX_ERROR": 0.02,
    "GAIAEDR3_PMRA": -3.0, "GAIAEDR3_PMDEC": -5.0, "VHELIO_AVG": -20.0,
}
# one row per cut, breaking only that cut
BAD = {
    "aspcapflag": {"ASPCAPFLAG": 1 << 23},
    "teff": {"TEFF": 3400.0},
    "logg": {"LOGG": 1.2},  # inside the authors' scripts' range, outside the paper's
    "snr": {"SNR": 15.0},
    "targeting": {"APOGEE2_TARGET3": 1 << 14},
    "low_alpha": {"MG_FE": 0.3},
    "elements": {"O_FE": np.nan},
    "parallax": {"GAIAEDR3_PARALLAX": 0.45, "GAIAEDR3_PARALLAX_ERROR": 0.01},
    "parallax_snr": {"GAIAEDR3_PARALLAX_ERROR": 0.2},
    "phase_space": {"VHELIO_AVG": np.nan},
    "distance_sphere": {"GAIAEDR3_PARALLAX": 0.6, "GAIAEDR3_PARALLAX_ERROR": 0.01},
}


def _table():
    rows = [dict(GOOD)]
    for i, (name, change) in enumerate(BAD.items()):
        rows.append({**GOOD, **change, "APOGEE_ID": f"2M{i:08d}+{name}"})
    rows.append({**GOOD, "SNR": 50.0})  # lower-SNR duplicate of row 0
    t = Table(rows=[[r[k] for k in GOOD] for r in rows], names=list(GOOD))
    for c in ("ASPCAPFLAG",):
        t[c] = t[c].astype(np.int64)
    for c in ("APOGEE_TARGET1", "APOGEE_TARGET2", "APOGEE2_TARGET1", "APOGEE2_TARGET2", "APOGEE2_TARGET3"):
        t[c] = t[c].astype(np.int32)
    return t


@pytest.fixture(scope="module")
def montalban():
    return load_apogee_gaia(MONTALBAN, elements=ELEMENTS)


def test_every_cut_removes_exactly_its_row():
    t = _table()
    s = select_apogee_gaia(t, APOGEESelection(max_distance=1.5), ELEMENTS)
    assert [c.name for c in s.report] == list(CUT_ORDER)
    assert all(c.status == "applied" for c in s.report)
    removed = s.counts()
    assert removed == {**{name: 1 for name in BAD}, "duplicates": 1}
    # the survivor is the high-SNR entry of the duplicated star
    assert len(s) == 1 and s.table["SNR"][0] == 100.0 and s.mask[0] and not s.mask[-1]
    for c in s.report:
        assert c.n_before - c.n_removed == c.n_after
    np.testing.assert_allclose(s.table["DISTANCE"], 1.0)


def test_duplicates_keep_highest_snr_even_when_listed_last():
    t = _table()[[-1, 0]]  # low-SNR entry first
    s = select_apogee_gaia(t, elements=ELEMENTS)
    assert len(s) == 1 and s.table["SNR"][0] == 100.0


def test_logg_choice_and_disabled_cuts():
    t = _table()
    paper = select_apogee_gaia(t, APOGEESelection(), ELEMENTS)
    scripts = select_apogee_gaia(t, APOGEESelection(logg_range=LOGG_RANGE_SCRIPTS), ELEMENTS)
    assert paper.counts()["logg"] == 1 and scripts.counts()["logg"] == 0
    s = select_apogee_gaia(t, APOGEESelection(low_alpha_polygon=None, deduplicate=False), ELEMENTS)
    skipped = {c.name: c.reason for c in s.report if c.status == "skipped"}
    assert skipped == {"low_alpha": "disabled", "distance_sphere": "disabled", "duplicates": "disabled"}


def test_signed_32bit_target_flags_are_read_bitwise():
    t = _table()
    t["APOGEE2_TARGET1"][0] = np.int32(-(2**31) + (1 << 22))  # bit 31 (allowed) and bit 22 (excluded)
    s = select_apogee_gaia(t[:1], elements=ELEMENTS)
    assert s.counts()["targeting"] == 1


@pytest.mark.parametrize("column, cut", [("TEFF", "teff"), ("APOGEE2_TARGET3", "targeting"),
                                         ("MG_FE", "low_alpha"), ("GAIAEDR3_PARALLAX_ERROR", "parallax_snr")])
def test_missing_column_is_named_with_its_cut(column, cut):
    t = _table()
    t.remove_column(column)
    with pytest.raises(ValueError, match=rf"\['{column}'\].*'{cut}' cut"):
        select_apogee_gaia(t, elements=("FE_H", "O_FE"))
    s = select_apogee_gaia(t, APOGEESelection(on_missing="skip"), elements=("FE_H", "O_FE"))
    rep = {c.name: c for c in s.report}
    assert rep[cut].status == "skipped" and column in rep[cut].reason


def test_missing_element_and_bad_names():
    with pytest.raises(ValueError, match=r"C_FE.*'elements' cut"):
        select_apogee_gaia(_table(), elements=("C_FE",))
    assert element_column("[Mg/Fe]") == "MG_FE" and element_column("fe_h") == "FE_H"
    with pytest.raises(ValueError, match="Mg/H"):
        element_column("[Mg/H]")
    with pytest.raises(ValueError, match="logg_range"):
        APOGEESelection(logg_range=(3.4, 1.0))


def test_montalban_counts(montalban):
    s = montalban
    assert s.n_input == 95
    counts = s.counts()
    assert list(counts) == list(CUT_ORDER)
    # a metal-poor, mostly high-alpha Kepler-field sample: the low-alpha polygon removes most
    assert counts["aspcapflag"] == 8 and counts["low_alpha"] == 81 and counts["parallax"] == 3
    assert len(s) == 95 - sum(counts.values()) == 3
    assert {c.name for c in s.report if c.status == "skipped"} == {"distance_sphere"}


def test_montalban_paper_eight_elements_and_all_columns_present():
    s = load_apogee_gaia(MONTALBAN)
    assert s.elements == ("FE_H", "C_FE", "N_FE", "O_FE", "MG_FE", "SI_FE", "MN_FE", "NI_FE")
    assert len(s) == 3


def test_sample_feeds_frames(montalban, tmp_path):
    s = montalban
    cyl = sample_galactocentric(s)
    for c in cyl:
        assert np.all(np.isfinite(np.asarray(c)))
    R = np.asarray(cyl.R)
    assert np.all((R > 6.5) & (R < 9.5))  # Kepler field, d < 2 kpc
    # distances are 1 / parallax, and a written sample reads back through the catalogue reader
    np.testing.assert_allclose(s.table["DISTANCE"], 1.0 / np.asarray(s.table["GAIAEDR3_PARALLAX"], float))
    path = write_table(s.table, tmp_path / "sample.fits")
    cat = read_catalogue(path)
    assert cat.schema == "apogee_dr17" and cat.columns["distance"] == "DISTANCE" and cat.n_flagged == 0
    back = cat.galactocentric(frames.PW2021)
    for a, b in zip(back, cyl):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-9)  # float32 parallaxes
