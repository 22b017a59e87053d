"""Mock ISM fields: normalisation, spectra, temporal statistics, forces and state handling.

Physics checks of diskorbits.ism.fields (Modak et al. 2026, Eqs. 45, 50 and Sec. III.4).
Small grids (32 pc on the 1024 pc R8 box) keep the suite fast.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diskorbits import units
from diskorbits.ism import grid_wavenumbers, ism_preset, make_mock_field
from diskorbits.shearingbox.box import box_preset

BOX = box_preset("R8")
MODEL = ism_preset("R8")
COARSE = 0.032  # kpc


@eqx.filter_jit
def _acc(field, state, w, x, y, z):
    return field.acceleration(state, w, 0.0, x, y, z)


@eqx.filter_jit
def _scan(field, state, js):
    return jax.lax.scan(lambda s, j: (field.advance(s, j), None), state, js)[0]


def _modes(grids, dx):
    """Fourier coefficients of real grids [..., n, n] in the box-corner phase convention."""
    n = grids.shape[-1]
    _, kx, ky, _ = grid_wavenumbers(n * dx, n)
    return np.fft.fft2(np.asarray(grids)) / n**2 * np.exp(-0.5j * (kx + ky) * dx)


def _mode_variances(field):
    """Per-mode <|delta_k|^2> = P(k)/L^2 and the potential's |K(k)|^2 P(k)/L^2 on the full FFT grid."""
    _, _, _, k = grid_wavenumbers(field.L, field.n)
    s = np.where(k > 0, MODEL.spectrum.power(k), 0.0) / field.L**2
    kern = MODEL.potential_kernel(k) * field.amplitude
    if field.k_max is not None:
        kern = np.where(k > field.k_max, 0.0, kern)
    return k, s, kern**2 * s


@pytest.fixture(scope="module")
def white():
    # Per-snapshot variance P(k): the cleanest field for checking the spatial normalisation.
    return make_mock_field(BOX, MODEL, key=11, temporal="white", grid_spacing=COARSE,
                           vertical_forcing=False, midplane_only=True, white_power="variance")


@pytest.fixture(scope="module")
def white_deltas(white):
    return np.asarray(white.delta_sequence(64))


@pytest.fixture(scope="module")
def basis_field():
    # k_max keeps the field smooth on the grid, so finite differences are a sharp test.
    return make_mock_field(BOX, MODEL, key=5, temporal="sharp", window=400.0, grid_spacing=COARSE, k_max=10.0)


# ----------------------------------------------------------------------------- normalisation


def test_realised_variance_matches_spectrum(white, white_deltas):
    """<delta^2> = sum_k P(k)/L^2 over the grid's modes (~ int P d^2k/(2pi)^2), within sampling error."""
    _, s, sphi = _mode_variances(white)
    var = white_deltas.var(axis=(1, 2))
    # Sample variance of a Gaussian field: Var[mean delta^2] = 2 sum_k s_k^2 per realisation.
    sd = np.sqrt(2 * np.sum(s**2) / var.size)
    assert abs(var.mean() - s.sum()) < 4 * sd
    phi = np.asarray(white.potential_sequence(64))
    sd_phi = np.sqrt(2 * np.sum(sphi**2) / var.size)
    assert abs((phi**2).mean() - sphi.sum()) < 4 * sd_phi
    assert white.rms_potential(64) == pytest.approx(np.sqrt((phi**2).mean()) / units.KMS**2, rel=1e-10)
    # The grid sum approximates the continuum integral over the same annulus of k.
    kmin, kmax = 2 * np.pi / white.L, np.pi / white.dx
    assert s.sum() == pytest.approx(MODEL.spectrum.variance(kmin, kmax), rel=0.35)


def test_isotropic_power_spectrum_follows_model(white, white_deltas):
    k, s, _ = _mode_variances(white)
    power = np.mean(np.abs(_modes(white_deltas, white.dx)) ** 2, axis=0)
    m2 = np.rint((k * white.L / (2 * np.pi)) ** 2).astype(int)
    shells = np.unique(m2[(m2 > 0) & (k < np.pi / white.dx)])
    edges = np.unique(np.rint(np.geomspace(1, shells.max() + 1, 12)).astype(int))
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (m2 >= lo) & (m2 < hi)
        ratio = power[sel].sum() / s[sel].sum()
        # Sampling error of a shell: Var[sum |delta_k|^2] = 2 sum s_k^2 per realisation.
        sigma = np.sqrt(2 * np.sum(s[sel] ** 2) / len(white_deltas)) / s[sel].sum()
        assert abs(ratio - 1) < 5 * sigma, (lo, ratio, sigma)
    # High-k slope: measured power per mode falls as k^-n.
    hi = k > 3 * MODEL.spectrum.k_star
    slope = np.polyfit(np.log(k[hi]), np.log(power[hi]), 1)[0]
    assert slope == pytest.approx(-MODEL.spectrum.n, abs=0.1)


def test_grid_refinement_only_adds_modes():
    """Same key, 32 pc vs 16 pc grid: every coarse-grid mode is identical, and the potential rms
    barely changes (the added high-k power is small)."""
    coarse = make_mock_field(BOX, MODEL, key=3, window=400.0, grid_spacing=0.032, vertical_forcing=False, midplane_only=True)
    fine = make_mock_field(BOX, MODEL, key=3, window=400.0, grid_spacing=0.016, vertical_forcing=False, midplane_only=True)
    j = np.array([0, 57, 399])
    dc = _modes(coarse.window[j], coarse.dx)
    df = _modes(fine.window[j], fine.dx)
    m = np.rint(np.fft.fftfreq(32) * 32).astype(int)
    keep = m > -16  # the coarse Nyquist mode is not a mode of the fine grid
    mf = np.where(m < 0, m + 64, m)[keep]
    a = dc[:, keep][:, :, keep]
    b = df[:, mf][:, :, mf]
    assert np.max(np.abs(a - b)) < 1e-12 * np.max(np.abs(a))
    rc = coarse.rms_potential()
    rf = fine.rms_potential()
    assert rf == pytest.approx(rc, rel=0.01)
    # delta gains exactly the variance of the added modes, on average over the window.
    _, sc, _ = _mode_variances(coarse)
    _, sf, _ = _mode_variances(fine)
    extra = float(np.mean(fine.window**2) - np.mean(coarse.window**2))
    assert extra == pytest.approx(sf.sum() - sc.sum(), rel=0.1)


# ----------------------------------------------------------------------------- time dependence


def test_lorentzian_mode_autocorrelation_is_exponential():
    field = make_mock_field(BOX, MODEL, key=7, temporal="lorentzian", grid_spacing=COARSE,
                            vertical_forcing=False, midplane_only=True)
    D = _modes(np.asarray(field.delta_sequence(400)), field.dx)
    k = grid_wavenumbers(field.L, field.n)[3]
    sel = (k > 0) & (k < 40.0)
    a = D[:, sel]
    wc = MODEL.spectrum.omega_c(k[sel])
    for lag in (2, 8):
        rho = np.real(np.sum(a[lag:] * np.conj(a[:-lag]), axis=0)) / np.sum(np.abs(a) ** 2, axis=0)
        assert np.mean(rho - np.exp(-wc * lag * field.dt_snap)) == pytest.approx(0.0, abs=0.04)


def test_white_noise_decorrelates_between_snapshots(white, white_deltas):
    D = _modes(white_deltas, white.dx)
    k = grid_wavenumbers(white.L, white.n)[3]
    a = D[:, k > 0]
    rho = np.real(np.sum(a[1:] * np.conj(a[:-1]), axis=0)) / np.sum(np.abs(a) ** 2, axis=0)
    assert abs(np.mean(rho)) < 0.02


def test_sharp_field_is_periodic_over_the_window(basis_field):
    f = basis_field
    nw = f.n_window
    assert nw == 400
    assert np.array_equal(np.asarray(f.delta_grid(3)), np.asarray(f.delta_grid(3 + nw)))
    # Seamless loop: the end of the last interval is the start of the first.
    last = f.state_at(nw - 1)
    first = f.state_at(0)
    assert np.allclose(np.asarray(last.hi), np.asarray(first.lo), rtol=0, atol=0)
    x = jnp.array([0.1, -0.3])
    a_end = _acc(f, last, 1.0, x, x, 0.05 + x)
    a_start = _acc(f, first, 0.0, x, x, 0.05 + x)
    for p, q in zip(a_end, a_start):
        assert np.array_equal(np.asarray(p), np.asarray(q))


def test_advance_is_consistent_and_idempotent(basis_field):
    lor = make_mock_field(BOX, MODEL, key=2, temporal="lorentzian", grid_spacing=0.064)
    for f in (basis_field, lor):
        s0 = f.init(jax.random.PRNGKey(0))
        same = f.advance(s0, 0)
        assert all(np.array_equal(np.asarray(p), np.asarray(q)) for p, q in zip(jax.tree.leaves(s0), jax.tree.leaves(same)))
        # As the integrator does: the state is the carry of a lax.scan over intervals (int64 j under x64).
        s = _scan(f, s0, jnp.arange(1, 4))
        ref = f.state_at(3)
        np.testing.assert_allclose(np.asarray(s.hi), np.asarray(ref.hi), rtol=0, atol=1e-14 * float(jnp.abs(ref.hi).max()))
        assert int(s.j) == 3


# ----------------------------------------------------------------------------- forces


def _centres(f):
    xc = jnp.asarray(f.x_centres)
    X, Y = jnp.meshgrid(xc, xc)  # axis 0 is y
    return X.ravel(), Y.ravel()


def test_forces_are_minus_the_potential_gradient(basis_field):
    """Spectral kick grids = -grad of the stored potential (4th-order differences in x, y; z by h -> 0)."""
    f = basis_field
    st = f.state_at(3)
    X, Y = _centres(f)
    for z in (0.0, 0.12):
        ax, ay, az = _acc(f, st, 0.4, X, Y, jnp.full_like(X, z))
        phi = np.asarray(f.potential_grid(st, z=z, w=0.4))
        d = f.dx

        def d4(p, axis):
            r = lambda s: np.roll(p, -s, axis)  # noqa: E731
            return (8 * (r(1) - r(-1)) - (r(2) - r(-2))) / (12 * d)

        scale = np.max(np.abs(np.asarray(ax)))
        assert np.max(np.abs(np.asarray(ax).reshape(f.n, f.n) + d4(phi, 1))) < 2e-3 * scale
        assert np.max(np.abs(np.asarray(ay).reshape(f.n, f.n) + d4(phi, 0))) < 2e-3 * scale
        h = 1e-4
        dphi = (np.asarray(f.potential_grid(st, z=z + h, w=0.4)) - np.asarray(f.potential_grid(st, z=z - h, w=0.4))) / (2 * h)
        if z == 0.0:
            assert np.all(np.asarray(az) == 0.0)  # the vertical force vanishes by symmetry
        else:
            assert np.max(np.abs(np.asarray(az).reshape(f.n, f.n) + dphi)) < 1e-5 * np.max(np.abs(dphi))


def test_vertical_basis_reproduces_exact_chi(basis_field):
    """The separable expansion in z matches delta_phi computed with the exact chi(kH, z/H)."""
    f = basis_field
    st = f.state_at(10)
    ref0 = np.asarray(f.potential_grid(10, z=0.0))
    for z in (0.0, 0.03, 0.25, 0.8, 2.5):
        exact = np.asarray(f.potential_grid(10, z=z))
        approx = np.asarray(f.potential_grid(st, z=z))
        assert np.max(np.abs(approx - exact)) < 3e-3 * np.max(np.abs(ref0))
    # The potential weakens away from the mid-plane (gas layer of rms thickness H = 250 pc).
    assert np.std(np.asarray(f.potential_grid(10, z=0.5))) < 0.6 * np.std(ref0)


def test_vertical_forcing_switch_and_midplane_model(basis_field):
    full = basis_field
    kw = dict(key=5, window=400.0, grid_spacing=COARSE, k_max=10.0)
    nogz = make_mock_field(BOX, MODEL, vertical_forcing=False, **kw)
    mid = make_mock_field(BOX, MODEL, vertical_forcing=False, midplane_only=True, **kw)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.uniform(-0.512, 0.512, 200))
    y = jnp.asarray(rng.uniform(-0.512, 0.512, 200))
    z = jnp.asarray(rng.normal(0, 0.2, 200))
    s1, s2, s3 = full.state_at(4), nogz.state_at(4), mid.state_at(4)
    a1, a2 = _acc(full, s1, 0.3, x, y, z), _acc(nogz, s2, 0.3, x, y, z)
    assert np.array_equal(np.asarray(a1[0]), np.asarray(a2[0])) and np.array_equal(np.asarray(a1[1]), np.asarray(a2[1]))
    assert np.all(np.asarray(a2[2]) == 0.0) and np.any(np.asarray(a1[2]) != 0.0)
    zero = jnp.zeros_like(z)
    a1z, a3 = _acc(full, s1, 0.3, x, y, zero), _acc(mid, s3, 0.3, x, y, z)
    scale = float(jnp.max(jnp.abs(a1z[0])))
    assert np.all(np.asarray(a1z[2]) == 0.0)
    # The 2-D model applies the mid-plane field at every height.
    assert np.max(np.abs(np.asarray(a3[0] - a1z[0]))) < 3e-3 * scale
    assert np.max(np.abs(np.asarray(a3[1] - a1z[1]))) < 3e-3 * scale


def test_amplitude_scales_forces_linearly():
    kw = dict(key=4, temporal="white", grid_spacing=COARSE)
    f1 = make_mock_field(BOX, MODEL, amplitude=1.0, **kw)
    f2 = make_mock_field(BOX, MODEL, amplitude=2.0, **kw)
    x = jnp.linspace(-0.5, 0.5, 50)
    a1 = _acc(f1, f1.state_at(2), 0.7, x, -x, 0.3 * x)
    a2 = _acc(f2, f2.state_at(2), 0.7, x, -x, 0.3 * x)
    for p, q in zip(a1, a2):
        np.testing.assert_allclose(np.asarray(q), 2 * np.asarray(p), rtol=1e-12, atol=1e-20)


def test_kmax_filter_removes_short_waves(basis_field):
    f = basis_field
    phi = np.asarray(f.potential_grid(f.state_at(0), z=0.0))
    P = np.abs(np.fft.fft2(phi)) ** 2
    k = grid_wavenumbers(f.L, f.n)[3]
    assert np.max(P[k > f.k_max]) < 1e-24 * np.max(P)
    assert np.max(P[(k > 0) & (k <= f.k_max)]) > 0


def test_kick_is_periodic_across_box_edges(basis_field):
    f = basis_field
    st = f.state_at(1)
    L = f.L
    y = jnp.array([-0.2, 0.1, 0.4])
    z = jnp.array([0.0, 0.05, -0.3])
    left = _acc(f, st, 0.5, jnp.full(3, -L / 2), y, z)
    right = _acc(f, st, 0.5, jnp.full(3, L / 2), y, z)
    for p, q in zip(left, right):
        np.testing.assert_allclose(np.asarray(p), np.asarray(q), rtol=1e-9, atol=1e-18)
    top = _acc(f, st, 0.5, y, jnp.full(3, L / 2), z)
    bottom = _acc(f, st, 0.5, y, jnp.full(3, -L / 2), z)
    for p, q in zip(top, bottom):
        np.testing.assert_allclose(np.asarray(p), np.asarray(q), rtol=1e-9, atol=1e-18)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="window"):
        make_mock_field(BOX, MODEL, key=0, window=200.0, grid_spacing=0.064)
    with pytest.raises(ValueError, match="vertical_forcing"):
        make_mock_field(BOX, MODEL, key=0, midplane_only=True)
    with pytest.raises(ValueError, match="temporal"):
        make_mock_field(BOX, MODEL, key=0, temporal="pink")
    with pytest.raises(ValueError, match="k_max"):
        make_mock_field(BOX, MODEL, key=0, k_max=-1.0)
    with pytest.raises(ValueError, match="grid_spacing"):
        make_mock_field(BOX, MODEL, key=0, grid_spacing=0.0)
    with pytest.raises(ValueError, match="multiple of dt_snap"):
        make_mock_field(BOX, MODEL, key=0, window=400.5, grid_spacing=0.064)


def test_default_white_field_keeps_low_frequency_power(white):
    """The default white field carries P(k) T_k(0)/dt_snap per snapshot: the sharp model's power at omega -> 0."""
    loud = make_mock_field(BOX, MODEL, key=11, temporal="white", grid_spacing=COARSE,
                           vertical_forcing=False, midplane_only=True)
    k = grid_wavenumbers(white.L, white.n)[3]
    wc = np.asarray(MODEL.spectrum.omega_c(np.where(k > 0, k, 1.0)))
    T0 = 8 * np.sin(np.pi / 8) / wc  # sharp kernel, p = 4, at omega = 0 (Myr)
    ratio = np.abs(np.asarray(loud.sigma_k)) ** 2 / np.where(k > 0, np.abs(np.asarray(white.sigma_k)) ** 2, 1.0)
    np.testing.assert_allclose(ratio[k > 0], (T0 / 1.0)[k > 0], rtol=1e-12)
    with pytest.raises(ValueError, match="white_power"):
        make_mock_field(BOX, MODEL, key=1, temporal="white", grid_spacing=COARSE, white_power="loud")
