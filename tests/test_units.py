"""The internal unit system against astropy's own conversions."""

import astropy.units as u
import numpy as np
import pytest

from diskorbits import units


def test_constants_match_astropy():
    import astropy.constants as c

    assert units.G == pytest.approx(c.G.to_value(u.kpc**3 / u.Msun / u.Myr**2), rel=1e-15)
    assert units.G == pytest.approx(4.4985e-12, rel=1e-4)
    assert units.KMS == pytest.approx((1 * u.km / u.s).to_value(u.kpc / u.Myr), rel=1e-15)
    # 1 kpc km/s in kpc^2/Myr, and 1 km/s/kpc in 1/Myr are the same number as 1 km/s in kpc/Myr / kpc
    assert units.KPC_KMS == pytest.approx(units.KMS, rel=1e-15)
    assert units.KMS_KPC == pytest.approx(units.KMS, rel=1e-15)


def test_sun_orbits_in_about_230_myr():
    # v = 230 km/s at 8 kpc: one orbit in 2 pi R / v ~ 214 Myr (a physical sanity anchor)
    period = 2 * np.pi * 8.0 / (230 * units.KMS)
    assert 210 < period < 220


@pytest.mark.parametrize(
    "q, kind, expected",
    [
        (8000 * u.pc, "length", 8.0),
        (220 * u.km / u.s, "velocity", 220 * units.KMS),
        (1 * u.Gyr, "time", 1000.0),
        (1800 * u.kpc * u.km / u.s, "action", 1800 * units.KPC_KMS),
        (30 * u.km / u.s / u.kpc, "frequency", 30 * units.KMS_KPC),
        (180 * u.deg, "angle", np.pi),
        (3.0, "length", 3.0),
    ],
)
def test_to_internal(q, kind, expected):
    assert units.to_internal(q, kind) == pytest.approx(expected, rel=1e-14)


def test_wrong_physical_type_names_argument():
    with pytest.raises(u.UnitConversionError, match="'R'.*length"):
        units.to_internal(3 * u.km / u.s, "length", "R")


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown unit kind"):
        units.to_internal(1.0, "banana")


def test_round_trip_quantity():
    q = units.to_quantity(np.array([1.0, 2.0]), "velocity")
    assert q.unit == u.kpc / u.Myr
    np.testing.assert_allclose(units.to_internal(q.to(u.km / u.s), "velocity"), [1.0, 2.0], rtol=1e-14)
