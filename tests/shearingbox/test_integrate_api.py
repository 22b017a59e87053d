"""Transforms, exact resume and argument checking of the shearing-box integrator."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diskorbits.shearingbox import (
    BoxState,
    NoForcing,
    PlaneWaveForcing,
    drift,
    ensemble_observer,
    integrate,
    kick,
    schwarzschild_initial_conditions,
    steps_per_interval,
)


@pytest.fixture(scope="module")
def warm(r8, kms):
    return schwarzschild_initial_conditions(r8, 256, sigma_R0=15 * kms, sigma_z0=8 * kms, key=jax.random.PRNGKey(7))


def _leaves_equal(a, b):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(la) == len(lb) and all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb))


def test_split_run_is_bit_identical(r8, kms, warm, snapshot_wave):
    """integrate(0, k) then integrate(k, m) == integrate(0, k + m), bit for bit (checkpoint/resume)."""
    forcing = snapshot_wave(amplitude=(8 * kms) ** 2, kx=2 * np.pi / r8.L, ky=2 * np.pi / r8.L, omega=0.05,
                            dt_snap=1.0)
    observe = ensemble_observer(r8, warm)
    kw = dict(n_sub=5, dt_snap=1.0, observe=observe)
    f0 = forcing.init(jax.random.PRNGKey(0))
    s_full, f_full, o_full = integrate(r8, forcing, warm, f0, j0=0, n_intervals=12, **kw)
    s_a, f_a, o_a = integrate(r8, forcing, warm, f0, j0=0, n_intervals=7, **kw)
    s_b, f_b, o_b = integrate(r8, forcing, s_a, f_a, j0=7, n_intervals=5, **kw)
    assert np.any(np.asarray(s_full.nwrap) != 0)
    assert _leaves_equal(s_b, s_full)
    assert _leaves_equal(f_b, f_full)
    assert _leaves_equal(jax.tree.map(lambda a, b: jnp.concatenate([a, b]), o_a, o_b), o_full)
    # j0 may be traced: the same answer from an array index.
    s_c, _, _ = integrate(r8, forcing, s_a, f_a, j0=jnp.asarray(7), n_intervals=5, **kw)
    assert _leaves_equal(s_c, s_full)


def test_observations_are_stacked_per_interval(r8, warm):
    _, _, obs = integrate(r8, NoForcing(), warm, NoForcing().init(None), j0=0, n_intervals=3, n_sub=2,
                          dt_snap=1.0, observe=lambda s: {"x": s.x, "m": jnp.mean(s.vx)})
    assert obs["x"].shape == (3, 256) and obs["m"].shape == (3,)
    _, _, none = integrate(r8, NoForcing(), warm, NoForcing().init(None), j0=0, n_intervals=3, n_sub=2, dt_snap=1.0)
    assert none is None


def test_float64_throughout(r8, warm):
    forcing = PlaneWaveForcing(amplitude=1e-5, kx=2 * np.pi / r8.L, ky=0.0)
    s, _, _ = integrate(r8, forcing, warm, forcing.init(None), j0=0, n_intervals=2, n_sub=3, dt_snap=1.0)
    for leaf in jax.tree.leaves((warm, s)):
        assert leaf.dtype == jnp.float64


def test_drift_under_jit_and_vmap(r8, warm):
    """drift/kick give the same numbers eagerly, under jit (static or traced box) and under vmap."""
    eager = drift(r8, warm, 0.7, 123.0)
    static = eqx.filter_jit(drift)(r8, warm, 0.7, 123.0)
    traced = jax.jit(drift)(r8, warm, 0.7, 123.0)  # box parameters and dt become tracers
    for other in (static, traced):
        for a, b in zip(jax.tree.leaves(eager), jax.tree.leaves(other)):
            np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-15)
    # vmap over a leading batch of two ensembles equals two separate calls.
    batch = jax.tree.map(lambda a: jnp.stack([a, a[::-1]]), warm)
    out = jax.vmap(lambda s: drift(r8, s, 0.7, 123.0))(batch)
    rev = drift(r8, jax.tree.map(lambda a: a[::-1], warm), 0.7, 123.0)
    for a, b, c in zip(jax.tree.leaves(out), jax.tree.leaves(eager), jax.tree.leaves(rev)):
        np.testing.assert_allclose(a[0], b, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(a[1], c, rtol=1e-13, atol=1e-15)
    k = kick(warm, 1.0, 2.0, 3.0, 0.5)
    np.testing.assert_array_equal(k.vz, warm.vz + 1.5)
    np.testing.assert_array_equal(k.x, warm.x)


def test_integrate_under_vmap(r8, kms, warm):
    forcing = PlaneWaveForcing(amplitude=(5 * kms) ** 2, kx=2 * np.pi / r8.L, ky=2 * np.pi / r8.L)
    other = jax.tree.map(lambda a: a[::-1], warm)
    batch = jax.tree.map(lambda a, b: jnp.stack([a, b]), warm, other)

    def run(s):
        return integrate(r8, forcing, s, forcing.init(None), j0=0, n_intervals=3, n_sub=4, dt_snap=1.0)[0]

    out = jax.vmap(run)(batch)
    for i, s in enumerate((warm, other)):
        ref = run(s)
        for a, b in zip(jax.tree.leaves(out), jax.tree.leaves(ref)):
            np.testing.assert_allclose(a[i], b, rtol=1e-13, atol=1e-16)


def test_steps_per_interval():
    assert steps_per_interval(1.0, 0.25) == 4
    assert steps_per_interval(1.0, 0.3) == 4
    assert steps_per_interval(1.1, 0.1) == 11  # 1.1 / 0.1 = 11.000000000000002
    assert steps_per_interval(0.1, 1.0) == 1
    with pytest.raises(ValueError, match="'dt'"):
        steps_per_interval(1.0, 0.0)
    with pytest.raises(ValueError, match="'dt_snap'"):
        steps_per_interval(float("nan"), 0.1)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(n_intervals=-1), "'n_intervals'"),
        (dict(n_intervals=2.0), "'n_intervals'"),
        (dict(n_sub=0), "'n_sub'"),
        (dict(dt_snap=-1.0), "'dt_snap'"),
        (dict(j0=-3), "'j0'"),
        (dict(observe=3), "'observe'"),
        (dict(forcing="none"), "'forcing'"),
        (dict(state=(1, 2)), "'state'"),
    ],
)
def test_integrate_rejects_bad_arguments(r8, warm, change, match):
    kw = dict(forcing=NoForcing(), state=warm, j0=0, n_intervals=1, n_sub=1, dt_snap=1.0)
    kw.update(change)
    forcing, state = kw.pop("forcing"), kw.pop("state")
    with pytest.raises(ValueError, match=match):
        integrate(r8, forcing, state, None, **kw)


def test_boxstate_is_a_pytree_of_seven_arrays(warm):
    assert isinstance(warm, BoxState)
    assert len(jax.tree.leaves(warm)) == 7


def test_public_names():
    import diskorbits.shearingbox as sb

    assert len(set(sb.__all__)) == len(sb.__all__)
    assert not [n for n in sb.__all__ if not hasattr(sb, n)]
    for name in ("ShearingBox", "VerticalPotential", "box_preset", "AbstractForcing", "NoForcing",
                 "PlaneWaveForcing", "BoxState", "drift", "kick", "integrate", "steps_per_interval"):
        assert name in sb.__all__
