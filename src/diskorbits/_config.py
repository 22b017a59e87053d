"""The one piece of global state we allow: JAX runs in float64."""

import jax

jax.config.update("jax_enable_x64", True)
