"""The public surface is deliberate: __all__ lists exactly what exists, and float64 is on."""

import importlib
from importlib.metadata import version

import jax
import jax.numpy as jnp
import pytest

import diskorbits


@pytest.mark.parametrize(
    "module", ["diskorbits", "diskorbits.potentials", "diskorbits.actions", "diskorbits.orbits", "diskorbits.io",
     "diskorbits.shearingbox", "diskorbits.ism", "diskorbits.diffusion", "diskorbits.torusimaging",
     "diskorbits.sampling", "diskorbits.migration"]
)
def test_all_names_exist_and_are_unique(module):
    mod = importlib.import_module(module)
    assert len(set(mod.__all__)) == len(mod.__all__)
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert not missing, f"{module}.__all__ lists missing names {missing}"


def test_float64_enabled_on_import():
    assert jax.config.read("jax_enable_x64")
    assert jnp.asarray(1.0).dtype == jnp.float64


def test_version_matches_metadata():
    assert diskorbits.__version__ == version("diskorbits")
