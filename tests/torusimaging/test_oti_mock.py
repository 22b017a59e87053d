"""Phase-mixed mocks with known truth, and the OTI signal they must (and must not) show (PW2021 Secs. 6.1-6.2)."""

import astropy.units as u
import jax
import numpy as np
import pytest

from diskorbits import units
from diskorbits.actions import compute_actions
from diskorbits.frames import (
    SolarParameters,
    cartesian_to_cylindrical,
    observed_to_galactocentric,
)
from diskorbits.potentials import MilkyWayPotential
from diskorbits.torusimaging import (
    DiskInitialConditions,
    LinearAbundanceModel,
    PencilBeams,
    SphereSelection,
    abundance_deviations,
    fit_fourier,
    make_mock,
)

N_STARS = 3000  # all action calls then share one compiled batch size (4096)
RADIUS = 3.0
GRAD_JZ = 0.01 / (u.kpc * u.km / u.s)  # abundance rises with J_z (like [alpha/Fe])
B2_TRUE = 0.02

_fit = jax.jit(fit_fourier)


@pytest.fixture(scope="module")
def potential():
    return MilkyWayPotential()


@pytest.fixture(scope="module")
def model():
    # ratio 0 depends on the actions only; ratio 1 also on sin(2 theta_z) (violates phase mixing)
    grad = [[0.0, -2e-4, 0.01], [0.0, -2e-4, 0.01]] / (u.kpc * u.km / u.s)
    return LinearAbundanceModel([0.0, 0.1], grad, noise=[0.02, 0.02], angle_terms=[[0, 0, 0, 0], [0, 0, 0, B2_TRUE]])


@pytest.fixture(scope="module")
def mock(potential, model):
    return make_mock(jax.random.key(42), potential, N_STARS, abundance_model=model, selection=SphereSelection(RADIUS))


def _fourier(potential, R, z, vR, vphi, vz, ab, err, **kw):
    """Actions in ``potential`` -> Delta (spread metric, App. A weights) -> Fourier fit per ratio."""
    res = compute_actions(potential, R, z, vR, vphi, vz)
    ok = np.asarray(res.ok)
    assert ok.mean() > 0.999
    dev = abundance_deviations(np.asarray(res.actions)[ok], np.asarray(ab)[ok], np.asarray(err)[ok], metric="spread", **kw)
    th = np.asarray(res.theta_z)[ok]
    return [_fit(th, dev.deviation[:, r], dev.deviation_error[:, r]) for r in range(dev.deviation.shape[1])]


def _signif(fit, name):
    return float(fit.coefficient(name)) / float(fit.error(name))


# ---------------------------------------------------------------------------- the catalogue itself
def test_mock_catalogue_carries_its_truth(mock, model):
    assert mock.n_stars == N_STARS and mock.abundances.shape == (N_STARS, 2)
    c = mock.cartesian()
    d = np.linalg.norm(np.stack(c[:3], -1) - np.asarray(mock.sun.position), axis=-1)
    assert d.max() <= RADIUS
    # the frames module agrees: heliocentric distances of the observables
    obs = mock.observed()
    np.testing.assert_allclose(np.asarray(obs.distance), d, rtol=1e-10)
    J = np.asarray(mock.actions)
    assert np.all(J[:, [0, 2]] >= 0) and np.all(J[:, 1] > 0)
    np.testing.assert_allclose(np.asarray(mock.abundance_means)[:, 0], np.asarray(model.mean(J))[:, 0], rtol=1e-12)
    pull = np.asarray((mock.abundances - mock.abundance_means) / mock.abundance_errors)
    assert abs(pull.mean()) < 0.05 and abs(pull.std() - 1) < 0.05
    t = np.asarray(mock.time)
    assert t.min() >= 1000.0 and t.max() <= 5000.0
    # the spread of J_z spans the abundance gradient
    assert np.percentile(J[:, 2], 90) / units.KPC_KMS > 10.0


def test_mock_is_a_function_of_the_key(potential):
    quick = {"selection": None, "time_range": (100.0, 200.0), "n_steps": 20}  # cheap: determinism only
    a = make_mock(jax.random.key(1), potential, 2100, **quick)
    b = make_mock(jax.random.key(1), potential, 2100, **quick)
    c = make_mock(jax.random.key(2), potential, 2100, **quick)
    np.testing.assert_array_equal(np.asarray(a.abundances), np.asarray(b.abundances))
    np.testing.assert_array_equal(np.asarray(a.z), np.asarray(b.z))
    assert not np.any(np.asarray(a.z) == np.asarray(c.z))


def _angle_moments(potential, m):
    """Significance of mean cos/sin(k theta), k = 1, 2, for theta_z and theta_R (uniform: ~N(0, 1))."""
    res = compute_actions(potential, m.R, m.z, m.v_R, m.v_phi, m.v_z)
    out = {}
    for name in ("theta_z", "theta_R"):
        th = np.asarray(getattr(res, name))
        th = th[np.isfinite(th)]
        # mean of cos/sin(k theta) has standard error 1/sqrt(2N) for uniform angles
        out[name] = np.array([np.mean(f(k * th)) * np.sqrt(2 * th.size) for k in (1, 2) for f in (np.cos, np.sin)])
    return out, res


def test_unselected_mock_is_phase_mixed(potential):
    # far from equilibrium on purpose: a thin initial layer puts every star near theta_z = 0 or pi
    hot = DiskInitialConditions(scale_height=0.05)
    full = make_mock(jax.random.key(7), potential, N_STARS, selection=None, initial=hot, n_steps=1500)
    moments, res = _angle_moments(potential, full)
    for name, sig in moments.items():
        assert np.all(np.abs(sig) < 4.0), (name, sig)
    unmixed, _ = _angle_moments(
        potential, make_mock(jax.random.key(7), potential, N_STARS, selection=None, initial=hot, time_range=(0.0, 1.0))
    )
    assert unmixed["theta_z"][2] > 20, "the check must detect unmixed angles"
    # the actions are conserved along the integrated orbits (Staeckel-fudge + leapfrog accuracy)
    rel = np.abs(np.asarray(res.J_z) - np.asarray(full.actions[:, 2])) / np.asarray(full.actions[:, 2])
    assert np.nanmedian(rel) < 0.01
    phi = np.asarray(full.phi)
    assert phi.min() < -3.0 and phi.max() > 3.0


# ---------------------------------------------------------------------------- the OTI signal
@pytest.fixture(scope="module")
def disk_scan(potential, mock):
    cyl = (mock.R, mock.z, mock.v_R, mock.v_phi, mock.v_z)
    return {f: _fourier(potential.with_disk(f), *cyl, mock.abundances, mock.abundance_errors) for f in (0.8, 1.0, 1.25)}


def test_true_potential_shows_no_angle_dependence(disk_scan):
    fit = disk_scan[1.0][0]
    for name in ("a1", "b1", "a2", "b2"):
        assert abs(_signif(fit, name)) < 4.0, (name, float(fit.coefficient(name)), float(fit.error(name)))


def test_wrong_disk_mass_gives_significant_a2_of_known_sign(disk_scan):
    """Abundance rising with J_z: too heavy a disk -> a2 > 0, too light -> a2 < 0; zero crossing at the truth."""
    a2 = {f: float(fits[0].a2) for f, fits in disk_scan.items()}
    assert _signif(disk_scan[0.8][0], "a2") < -6
    assert _signif(disk_scan[1.25][0], "a2") > 6
    lo, hi = (0.8, 1.0) if a2[1.0] > 0 else (1.0, 1.25)
    crossing = lo + (hi - lo) * a2[lo] / (a2[lo] - a2[hi])
    assert abs(crossing - 1.0) < 0.08, (a2, crossing)


def test_angle_dependent_abundances_give_b2(disk_scan):
    fit_mixed, fit_b2 = disk_scan[1.0]
    assert _signif(fit_b2, "b2") > 15
    assert float(fit_b2.b2) == pytest.approx(B2_TRUE, abs=5 * float(fit_b2.error("b2")))
    assert abs(_signif(fit_mixed, "b2")) < 4.0


def test_solar_height_moves_b1_and_solar_vz_moves_a1(potential, mock):
    """theta_z = 0 at the upward midplane crossing: z_sun -> sin term, v_z,sun -> cos term."""
    obs = mock.observed()
    sun = mock.sun

    def fit_with(z_sun, dvz):
        v_sun = np.asarray(sun.v_sun) + np.array([0.0, 0.0, dvz * units.KMS])
        wrong = SolarParameters(sun.galcen_distance, z_sun, v_sun)
        c = observed_to_galactocentric(obs.ra, obs.dec, obs.distance, obs.pmra, obs.pmdec, obs.rv, sun=wrong)
        R, _, z, vR, vphi, vz = cartesian_to_cylindrical(*c)
        return _fourier(potential, R, z, vR, vphi, vz, mock.abundances[:, :1], mock.abundance_errors[:, :1])[0]

    ref = fit_with(float(sun.z_sun), 0.0)
    high = fit_with(float(sun.z_sun) + 0.02, 0.0)  # assumed Sun 20 pc too high
    fast = fit_with(float(sun.z_sun), 1.0)  # assumed v_z,sun 1 km/s too large
    db1 = (float(high.b1) - float(ref.b1)) / float(ref.error("b1"))
    da1 = (float(high.a1) - float(ref.a1)) / float(ref.error("a1"))
    assert db1 < -5 and abs(da1) < 2, (db1, da1)
    db1 = (float(fast.b1) - float(ref.b1)) / float(ref.error("b1"))
    da1 = (float(fast.a1) - float(ref.a1)) / float(ref.error("a1"))
    assert da1 < -5 and abs(db1) < 2, (db1, da1)


# ---------------------------------------------------------------------------- selection
def test_pencil_beams_cover_their_sky_fraction():
    beams = PencilBeams(n_fields=400, radius_deg=3.0, complete_within=0.5)
    rng = np.random.default_rng(0)
    v = rng.normal(size=(200_000, 3))
    v /= np.linalg.norm(v, axis=1)[:, None]
    inside = beams.contains(*(2.0 * v.T))
    frac = beams.sky_fraction
    assert abs(inside.mean() - frac) < 4 * np.sqrt(frac * (1 - frac) / v.shape[0])
    # a star in a field is within radius_deg of some centre
    cosang = (v[inside] @ beams.centres.T).max(axis=1)
    assert np.all(cosang >= np.cos(np.radians(3.0)) - 1e-12)
    assert np.all(beams.contains(*(0.4 * v[:1000].T)))  # complete nearby


def test_sphere_arc_equals_uniform_azimuth_rejection():
    sel = SphereSelection(2.0)
    rng = np.random.default_rng(1)
    R, z = rng.uniform(6.0, 10.5, 2000), rng.normal(0.0, 0.8, 2000)
    phi = rng.uniform(-np.pi, np.pi, (2000, 400))
    x, y = -R[:, None] * np.cos(phi), R[:, None] * np.sin(phi)
    frac = sel(x, y, np.broadcast_to(z[:, None], x.shape)).mean(axis=1)
    np.testing.assert_allclose(frac, sel.half_arc(R, z) / np.pi, atol=0.1)
    assert np.all(sel.half_arc(R, z) <= sel.max_half_arc() + 1e-15)


def test_mock_with_pencil_beams_stays_in_the_fields(potential):
    sel = SphereSelection(RADIUS, beams=PencilBeams())
    m = make_mock(jax.random.key(3), potential, 2100, selection=sel, time_range=(100.0, 400.0), n_steps=200)
    c = m.cartesian()
    assert np.all(sel(c.x, c.y, c.z, m.sun))


def test_mock_misuse_raises(potential):
    with pytest.raises(ValueError, match="n_stars"):
        make_mock(jax.random.key(0), potential, 0)
    with pytest.raises(ValueError, match="t_min < t_max"):
        make_mock(jax.random.key(0), potential, 10, time_range=(5.0, 1.0))
    with pytest.raises(TypeError, match="selection"):
        make_mock(jax.random.key(0), potential, 10, selection="apogee")
    with pytest.raises(ValueError, match="radius"):
        SphereSelection(-1.0)
    with pytest.raises(u.UnitConversionError, match="gradient"):
        LinearAbundanceModel([0.0], [0.0, 0.0, 1.0] * u.km)
