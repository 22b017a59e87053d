"""Building blocks of the fast Stäckel-fudge kernel and the chunked driver."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import diskorbits as do
from diskorbits import units
from diskorbits.actions import StaeckelFudge, compute_actions
from diskorbits.actions import compute as compute_mod
from diskorbits.actions import staeckel

KMS = units.KMS


def test_polynomial_sin_cos_match_libm_on_quarter_period():
    w = np.concatenate([np.linspace(0.0, 0.5 * np.pi, 20001), np.geomspace(1e-300, 1.0, 2000)])
    s, c = map(np.asarray, jax.jit(staeckel._sin_cos)(jnp.asarray(w)))
    np.testing.assert_allclose(s, np.sin(w), rtol=4e-16, atol=0.0)
    # cos w near pi/2 carries the absolute error of w itself (~1e-16)
    np.testing.assert_allclose(c, np.cos(w), rtol=4e-16, atol=2e-16)
    # derivatives (gradients of the actions flow through them)
    ds = jax.vmap(jax.grad(lambda x: staeckel._sin_cos(x)[0]))(jnp.asarray(w[:20001]))
    np.testing.assert_allclose(np.asarray(ds), np.cos(w[:20001]), rtol=1e-15, atol=1e-15)


def test_expm1_sinh_cosh_keep_relative_precision():
    u = np.concatenate([np.geomspace(1e-300, 30.0, 5000), np.linspace(0.0, 15.0, 5001)])
    sh, ch = map(np.asarray, jax.jit(staeckel._sinh_cosh)(jnp.asarray(u)))
    np.testing.assert_allclose(sh, np.sinh(u), rtol=2e-15, atol=0.0)
    np.testing.assert_allclose(ch, np.cosh(u), rtol=2e-15, atol=0.0)


def test_partial_weights_rotation_recurrence_matches_direct_sines():
    n = 16
    k = np.arange(1, n)
    nodes = (np.arange(n) + 0.5) * np.pi / n
    C = np.cos(np.outer(nodes, k))
    for psi in (0.0, 1e-3, 0.7, np.pi, 4.0, 2 * np.pi, 3 * np.pi - 1e-3):
        direct = (psi + 2.0 * C @ (np.sin(k * psi) / k)) / n
        got = np.asarray(staeckel._partial_weights(jnp.asarray(psi), n))
        np.testing.assert_allclose(got, direct, rtol=0.0, atol=1e-14)


def test_chunked_batches_equal_single_batches(monkeypatch):
    """Inputs longer than CHUNK are cut into pieces; the pieces' results are the per-star results."""
    # the Milky Way and method of test_staeckel.py / test_epicycle.py: with every batch
    # padded to 1024 stars this reuses their compiled solver instead of building another
    pot = (
        do.MiyamotoNagaiPotential(6.8e10, 3.0, 0.28)
        + do.HernquistPotential(5e9, 1.0)
        + do.HernquistPotential(1.71e9, 0.07)
        + do.NFWPotential(5.4e11, 15.62)
    )
    rng = np.random.default_rng(11)
    n = 2500
    R, z = rng.uniform(4.0, 12.0, n), rng.uniform(-1.0, 1.0, n)
    vR, vphi, vz = rng.normal(0, 35, n) * KMS, rng.normal(220, 25, n) * KMS, rng.normal(0, 20, n) * KMS
    method = StaeckelFudge(delta=2.5)
    monkeypatch.setattr(compute_mod, "CHUNK", 1024)
    whole = compute_actions(pot, R, z, vR, vphi, vz, method=method)
    cols = (R, z, vR, vphi, vz)
    parts = [compute_actions(pot, *(a[i : i + 800] for a in cols), method=method) for i in range(0, n, 800)]
    for key in ("J_R", "J_z", "Omega_R", "Omega_z", "theta_R", "theta_z"):
        got = np.concatenate([np.asarray(getattr(p, key)) for p in parts])
        np.testing.assert_allclose(np.asarray(getattr(whole, key)), got, rtol=1e-13, atol=0.0)
    assert np.all(np.asarray(whole.flag) == 0)
