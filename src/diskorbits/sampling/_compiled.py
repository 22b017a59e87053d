"""Low-overhead host callables of a problem's log-densities for NumPy-driven loops (emcee, scipy).

``eqx.filter_jit`` re-flattens its arguments on every call (~1 ms), which is
most of the cost of a cheap likelihood called 10^4-10^5 times by emcee or
Nelder-Mead. Here the problem is split once into its arrays (passed to the
compiled function as arguments, so large data never become constants) and
the rest, which is a static argument of one module-level ``jax.jit``: runs on
the same problem (resumes, restarts) reuse the compiled code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import equinox as eqx
import jax
import numpy as np


class _Hashed:
    """A static argument whose (slow, recursive) Module hash is computed once."""

    __slots__ = ("_hash", "obj")

    def __init__(self, obj):
        self.obj = obj
        self._hash = hash(obj)

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return isinstance(other, _Hashed) and (self.obj is other.obj or (self._hash == other._hash and self.obj == other.obj))


def _evaluate(dyn, x, static, fn, batched):
    p = eqx.combine(dyn, static.obj if isinstance(static, _Hashed) else static)
    return jax.vmap(lambda t: fn(p, t))(x) if batched else fn(p, x)


_shared = jax.jit(_evaluate, static_argnums=(2, 3, 4))


def host_function(problem, fn: Callable, *, batched: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """``x -> np.asarray(fn(problem, x))``, compiled once per input shape; ``batched`` vmaps over rows of ``x``.

    ``fn`` should be a module-level function so that its identity, and with it the
    compiled code, is shared between calls.
    """
    dyn, static = eqx.partition(problem, eqx.is_array)
    try:
        compiled = functools.partial(_shared, static=_Hashed(static), fn=fn, batched=batched)
    except TypeError:  # non-array leaves that cannot be hashed: compile privately
        compiled = jax.jit(functools.partial(_evaluate, static=static, fn=fn, batched=batched))
    return lambda x: np.asarray(compiled(dyn, np.asarray(x, dtype=np.float64)))
