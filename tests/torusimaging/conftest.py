"""Fixtures shared by the OTI tests: a fast fake catalogue and the two-ratio abundance model of the mocks."""

import astropy.units as u
import jax.numpy as jnp
import numpy as np
import pytest

from diskorbits import units
from diskorbits.torusimaging import LinearAbundanceModel, MockCatalogue


def _fake_mock(cfg):
    """Disc-like phase space around the Sun without integrating orbits (fast; no OTI signal)."""
    n, r = cfg.n_stars, len(cfg.ratios)
    rng = np.random.default_rng(cfg.seed)
    a = lambda x: jnp.asarray(x, dtype=jnp.float64)  # noqa: E731
    ab = rng.normal(0.0, 0.1, (n, r))
    return MockCatalogue(
        R=a(rng.uniform(7.5, 8.7, n)), phi=a(rng.uniform(-0.1, 0.1, n)), z=a(rng.normal(0, 0.3, n)),
        v_R=a(rng.normal(0, 30, n) * units.KMS), v_phi=a(rng.normal(230, 20, n) * units.KMS),
        v_z=a(rng.normal(0, 15, n) * units.KMS), actions=a(np.abs(rng.normal(0, 1, (n, 3)))),
        theta_z=a(np.full(n, np.nan)), abundances=a(ab), abundance_errors=a(np.full((n, r), 0.02)),
        abundance_means=a(ab * 0.9), time=a(rng.uniform(1000, 5000, n)), sun=cfg.sun(),
    )


@pytest.fixture(scope="session")
def fake_oti_mock():
    """``cfg -> MockCatalogue``: CLI plumbing tests that need a catalogue file, not an OTI signal."""
    return _fake_mock


@pytest.fixture(scope="session")
def two_ratio_model():
    """Two ratios with different action gradients (the recovery mocks): O_FE-like and FE_H-like."""
    return LinearAbundanceModel(
        [0.03, 0.0],
        np.array([[1e-4, 5e-5, 0.005], [-2e-4, -2.6e-4, -0.004]]) / (u.kpc * u.km / u.s),
        noise=[0.03, 0.01],
    )
