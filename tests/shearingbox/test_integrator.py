"""Physics of the shearing-box SEI (Modak et al. 2026, App. B; Rein & Tremaine 2011)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diskorbits.shearingbox import (
    BoxState,
    NoForcing,
    PlaneWaveForcing,
    azimuthal_action,
    drift,
    guiding_centre,
    integrate,
    jacobi_energy,
    radial_action,
    schwarzschild_initial_conditions,
    state_from_actions_angles,
    steps_per_interval,
    vertical_energy,
)


def _epicycles(box, rng, n, a_max, xg_max):
    """Random unperturbed planar epicycles: (state, x_g, y0, a_R, theta_R)."""
    x_g = rng.uniform(-xg_max, xg_max, n)
    y0 = rng.uniform(-0.5 * box.L, 0.5 * box.L, n)
    a = rng.uniform(0.0, a_max, n)
    th = rng.uniform(0.0, 2 * np.pi, n)
    zero = np.zeros(n)
    state = state_from_actions_angles(
        box, x_g=x_g, y0=y0, J_R=0.5 * box.kappa * a**2, theta_R=th, J_z=zero, theta_z=zero
    )
    return state, x_g, y0, a, th


def _wrap(d, L):
    return d - L * np.round(d / L)


def _sheet(box):
    """Observer of the trajectory in the unbounded sheet."""
    return lambda s: (s.x + s.nwrap * box.L, s.y, s.vx, s.vy - s.nwrap * box.q * box.Omega * box.L, s.nwrap)


@pytest.mark.parametrize("q", [1.0, 0.5, 1.5])
def test_unperturbed_orbits_equal_epicycle_solution(make_box, q):
    """With phi_g = 0 the SEI reproduces Eqs. 4-5 to rounding over 30 epicycles."""
    box = make_box(q=q)
    state, x_g, y0, a, th = _epicycles(box, np.random.default_rng(1), 24, a_max=0.45, xg_max=0.45)
    period = 2 * np.pi / box.kappa
    n_intervals, dt_snap, n_sub = 240, period / 8, 25
    _, _, (x, y, vx, vy, nwrap) = integrate(
        box, NoForcing(), state, NoForcing().init(None),
        j0=0, n_intervals=n_intervals, n_sub=n_sub, dt_snap=dt_snap, observe=_sheet(box),
    )
    assert np.any(np.asarray(nwrap) != 0), "expected some boundary crossings"
    t = dt_snap * np.arange(1, n_intervals + 1)[:, None]
    phase = box.kappa * t + th
    qOm = box.q * box.Omega
    x_exact = x_g - a * np.cos(phase)
    y_exact = y0 - qOm * x_g * t + box.gamma * a * np.sin(phase)
    vx_exact = box.kappa * a * np.sin(phase)
    vy_exact = -qOm * x_g + 2 * box.Omega * a * np.cos(phase)
    np.testing.assert_allclose(x, x_exact, rtol=0, atol=1e-12)
    np.testing.assert_allclose(vx, vx_exact, rtol=0, atol=1e-12 * box.Omega)
    np.testing.assert_allclose(vy, vy_exact, rtol=0, atol=1e-12 * box.Omega)
    # In the box, y is the sheet azimuth plus the accumulated shear shift
    # nwrap q Omega L t (mod L): checks the sign convention of the boundary map.
    y_box_exact = y_exact + np.asarray(nwrap) * qOm * box.L * t
    err_y = np.abs(_wrap(np.asarray(y) - y_box_exact, box.L))
    assert err_y.max() < 1e-12 * max(1.0, np.abs(y_box_exact).max())


def _vertical_stars(box, vz0_kms, kms):
    vz0 = np.asarray(vz0_kms) * kms
    n = vz0.size
    zero = jnp.zeros(n)
    return BoxState(zero, zero, zero, zero, zero, jnp.asarray(vz0), zero)


def test_vertical_energy_bounded_over_10_gyr(r8, kms):
    """Eq. B5 sub-step at the paper's dt = 1e-4 x 2 pi / Omega: |dE_z/E_z| <= 1e-6 over 10 Gyr, no drift."""
    state = _vertical_stars(r8, [5.0, 10.0, 20.0, 30.0], kms)
    dt = 1e-4 * 2 * np.pi / r8.Omega
    dt_snap = 10.0
    n_sub = steps_per_interval(dt_snap, dt)
    e0 = np.asarray(vertical_energy(r8, state))
    _, _, e = integrate(
        r8, NoForcing(), state, NoForcing().init(None), j0=0, n_intervals=1000, n_sub=n_sub, dt_snap=dt_snap,
        observe=lambda s: vertical_energy(r8, s),
    )
    rel = np.abs(np.asarray(e) / e0 - 1.0)
    assert rel.max() <= 1e-6
    assert rel.max() > 1e-12  # the check can see the error at all
    # Symplectic: the error oscillates; the last Gyr is no worse than the first.
    assert np.all(rel[-100:].max(axis=0) <= 1.5 * rel[:100].max(axis=0))


def test_small_amplitude_vertical_frequency_is_nu(r8, kms):
    """Tiny vertical oscillations have the mid-plane frequency nu of Eq. 17."""
    state = _vertical_stars(r8, [0.01], kms)  # a_z ~ 0.1 pc
    _, _, z = integrate(
        r8, NoForcing(), state, NoForcing().init(None), j0=0, n_intervals=1000, n_sub=8, dt_snap=1.0,
        observe=lambda s: s.z,
    )
    z = np.asarray(z)[:, 0]
    t = np.arange(1, z.size + 1, dtype=float)
    # Upward zero crossings, linearly interpolated.
    i = np.nonzero((z[:-1] < 0) & (z[1:] >= 0))[0]
    tc = t[i] - z[i] * (t[i + 1] - t[i]) / (z[i + 1] - z[i])
    period = (tc[-1] - tc[0]) / (tc.size - 1)
    assert tc.size >= 10
    np.testing.assert_allclose(2 * np.pi / period, r8.nu, rtol=1e-5)


def _phi_wave(forcing, s):
    return forcing.amplitude * jnp.cos(forcing.kx * s.x + forcing.ky * s.y)


@pytest.mark.parametrize("case", ["oblique wave, wide box", "radial wave, crossings"])
def test_static_perturbation_energy_error_is_second_order(make_box, kms, case):
    """With a static plane wave, E_J + phi_g is conserved to O(dt^2): halving dt cuts the error 4x.

    An oblique wave is not shear-periodic, so it is tested in a box too wide
    to cross; a radial wave (k_y = 0) is, and is tested with crossings.
    """
    k = 2 * np.pi  # one wave per kpc
    if case == "oblique wave, wide box":
        box = make_box(L=64.0)
        forcing = PlaneWaveForcing(amplitude=(6 * kms) ** 2, kx=k, ky=k)
    else:
        box = make_box()
        forcing = PlaneWaveForcing(amplitude=(6 * kms) ** 2, kx=2 * np.pi / box.L, ky=0.0)
    state, *_ = _epicycles(box, np.random.default_rng(3), 8, a_max=0.2, xg_max=0.45)

    def energy(s):
        # phi_g at the box position equals phi_g in the sheet for both waves.
        return jacobi_energy(box, s) + _phi_wave(forcing, s)

    e0 = np.asarray(energy(state))
    errors = []
    for n_sub in (4, 8, 16):
        _, _, (e, nwrap) = integrate(
            box, forcing, state, forcing.init(None), j0=0, n_intervals=40, n_sub=n_sub, dt_snap=8.0,
            observe=lambda s: (energy(s), s.nwrap),
        )
        errors.append(np.abs(np.asarray(e) - e0).max(axis=0))
    crossed = np.any(np.asarray(nwrap) != 0)
    assert crossed == (case == "radial wave, crossings")
    errors = np.array(errors)
    ratios = errors[:-1] / errors[1:]
    assert np.all(errors[-1] < 1e-2 * forcing.amplitude)
    assert np.all((ratios > 3.5) & (ratios < 4.6)), ratios


@pytest.mark.parametrize("kind", ["snapshot", "clock"])
def test_trajectories_converge_at_second_order(make_box, kms, snapshot_wave, clock_wave, kind):
    """Time-dependent forcing, through w (snapshot interpolation) or t: global error ~ dt^2.

    A kick at the wrong time within the step (not t^(n+1/2)) would make this
    first order. The waves are not shear-periodic, so the box is too wide to cross.
    """
    box = make_box(L=64.0)
    k = 2 * np.pi  # one wave per kpc
    dt_snap = 10.0
    if kind == "snapshot":
        forcing = snapshot_wave(amplitude=(3 * kms) ** 2, kx=k, ky=2 * k, omega=0.09, dt_snap=dt_snap)
    else:
        forcing = clock_wave(amplitude=(3 * kms) ** 2, kx=k, ky=2 * k, omega=0.09)
    state, *_ = _epicycles(box, np.random.default_rng(4), 16, a_max=0.2, xg_max=0.45)
    finals = []
    for n_sub in (4, 8, 16):
        s, _, _ = integrate(box, forcing, state, forcing.init(None), j0=0, n_intervals=20, n_sub=n_sub, dt_snap=dt_snap)
        assert np.all(np.asarray(s.nwrap) == 0)
        finals.append(np.stack([s.x, s.y, s.vx / box.Omega, s.vy / box.Omega]))
    e1 = np.abs(finals[0] - finals[1]).max()
    e2 = np.abs(finals[1] - finals[2]).max()
    assert e1 < 1e-2  # kpc: in the asymptotic regime
    assert 3.5 < e1 / e2 < 4.6, e1 / e2


def test_boundary_crossings_keep_guiding_centre_and_actions(r8):
    """A star near x = L/2 crossing the shearing-periodic boundary keeps x_g, J_phi, J_R, E_J."""
    box = r8
    n = 4
    x_g = np.full(n, 0.45 * box.L)
    zero = np.zeros(n)
    state = state_from_actions_angles(
        box, x_g=x_g, y0=np.linspace(-0.4, 0.4, n), J_R=np.full(n, 0.5 * box.kappa * 0.15**2),
        theta_R=np.linspace(0, 6, n), J_z=zero, theta_z=zero,
    )

    def observe(s):
        return dict(xg=guiding_centre(box, s), Jphi=azimuthal_action(box, s), JR=radial_action(box, s),
                    EJ=jacobi_energy(box, s), x=s.x, y=s.y, nwrap=s.nwrap)

    _, _, obs = integrate(box, NoForcing(), state, NoForcing().init(None), j0=0, n_intervals=400, n_sub=20,
                          dt_snap=4.0, observe=observe)
    obs = {k: np.asarray(v) for k, v in obs.items()}
    crossings = np.abs(np.diff(obs["nwrap"], axis=0)).sum(axis=0)
    assert np.all(crossings >= 10)

    def initial(f):
        return np.broadcast_to(np.asarray(f(box, state)), obs["xg"].shape)

    np.testing.assert_allclose(obs["xg"], initial(guiding_centre), rtol=0, atol=1e-13)
    np.testing.assert_allclose(obs["xg"][0], x_g, rtol=0, atol=1e-13)
    np.testing.assert_allclose(obs["Jphi"], initial(azimuthal_action), rtol=1e-14)
    np.testing.assert_allclose(obs["JR"], initial(radial_action), rtol=1e-12)
    np.testing.assert_allclose(obs["EJ"], initial(jacobi_energy), rtol=1e-12)
    half = 0.5 * box.L
    assert np.all((obs["y"] >= -half) & (obs["y"] < half))
    assert np.all(np.abs(obs["x"]) <= half * (1 + 1e-15))


def test_drift_is_time_reversible_through_the_boundary(r8, kms):
    """H0(-dt) undoes H0(dt), including the boundary map with its time-dependent shift."""
    s0 = schwarzschild_initial_conditions(r8, 500, sigma_R0=20 * kms, sigma_z0=10 * kms, key=jax.random.PRNGKey(9))
    t, dt = 345.6, 30.0
    s1 = drift(r8, s0, dt, t)
    assert np.any(np.asarray(s1.nwrap) != 0)
    s2 = drift(r8, s1, -dt, t + dt)
    for a, b in zip(jax.tree.leaves(s2), jax.tree.leaves(s0)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)
