"""A parameter-inference problem: a log-likelihood of a flat vector and uniform box priors.

Frankel et al. (2020, Sec. 4.3) fit their migration model with "uniform priors
with wide ranges"; every driver in :mod:`diskorbits.sampling` therefore works
on one object, :class:`Problem`, that holds

* ``log_likelihood(theta) -> scalar`` for a float64 vector ``theta [dim]`` in
  internal units (pure JAX, jit-able and differentiable for NUTS);
* the parameter ``names`` and the box ``lower <= theta <= upper``;
* optionally the unit kind of each parameter (``"action"``, ``"velocity"``,
  ...; :mod:`diskorbits.units`) and the unit to show it in (``"kpc km / s"``).

The log-posterior is the log-likelihood inside the box and ``-inf`` outside
(the constant ``-sum log(upper - lower)`` of the normalised uniform prior is
left out). Gradient samplers work in unconstrained coordinates

    u_i = logit((theta_i - lower_i) / (upper_i - lower_i)),

whose log-Jacobian ``sum_i log(upper_i - lower_i) + log s(u_i) + log(1 - s(u_i))``
(``s`` the logistic function) is added to the log-posterior so that the
density of ``u`` maps back to the density of ``theta``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import astropy.units as u
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import (
    _config,  # noqa: F401  (float64)
    units,
)

__all__ = ["Problem"]


def _unit_kind(unit: u.UnitBase) -> str:
    """The :mod:`diskorbits.units` kind whose internal unit ``unit`` converts to."""
    for kind, internal in units._INTERNAL.items():
        if unit.is_equivalent(internal, equivalencies=units._EQUIVALENCIES.get(kind, [])):
            return kind
    raise ValueError(f"unit {unit!s} matches none of the internal unit kinds {sorted(units._INTERNAL)}")


def display_scales(kinds, display_units) -> np.ndarray:
    """Factors ``[dim]`` taking values in the internal unit of each kind to its display unit (1 for ``""``)."""
    out = []
    for k, d in zip(kinds, display_units):
        eq = units._EQUIVALENCIES.get(k, [])
        out.append(float((1.0 * units._INTERNAL[k]).to_value(u.Unit(d), equivalencies=eq)) if d else 1.0)
    return np.asarray(out)


class Problem(eqx.Module):
    """Log-likelihood, parameter names and uniform box priors of an inference problem.

    Parameters
    ----------
    log_likelihood : callable
        ``theta [dim] -> scalar`` (float64, internal units). Must be traceable by
        JAX; NUTS also differentiates it. An ``equinox.Module`` holding the data
        is best: its arrays then enter compiled code as arguments, not constants.
    names : sequence of str [dim]
        Unique parameter names.
    lower, upper : array_like [dim]
        Box bounds in internal units; finite, ``lower < upper``.
    kinds : sequence of str [dim], optional
        Unit kind of each parameter (``"length"``, ``"time"``, ``"velocity"``,
        ``"action"``, ..., ``"dimensionless"``; see :func:`diskorbits.units.to_internal`).
        Default all ``"dimensionless"``: the numbers are used as given.
    display_units : sequence of str [dim], optional
        Units for summaries (``"kpc km / s"``, ``"km / s"``, ``"Gyr"``; ``""`` for
        the internal unit). Must be convertible from the kind's internal unit.

    Raises
    ------
    ValueError
        Duplicate or empty names, mismatched lengths, non-finite or inverted bounds,
        unknown kinds, display units of the wrong physical type.
    TypeError
        ``log_likelihood`` is not callable.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> p = Problem(lambda t: -0.5 * jnp.sum(t**2), ("a", "b"), [-5.0, -5.0], [5.0, 5.0])
    >>> float(p.log_posterior(jnp.array([1.0, 0.0]))), float(p.log_posterior(jnp.array([6.0, 0.0])))
    (-0.5, -inf)
    """

    log_likelihood: Callable
    lower: jax.Array
    upper: jax.Array
    names: tuple[str, ...] = eqx.field(static=True)
    kinds: tuple[str, ...] = eqx.field(static=True)
    display_units: tuple[str, ...] = eqx.field(static=True)

    def __init__(self, log_likelihood, names, lower, upper, kinds=None, display_units=None):
        if not callable(log_likelihood):
            raise TypeError(f"log_likelihood must be callable, got {type(log_likelihood).__name__}")
        if isinstance(names, str):
            raise TypeError("names must be a sequence of strings, not one string")
        names = tuple(str(n) for n in names)
        dim = len(names)
        if dim == 0 or any(not n for n in names):
            raise ValueError(f"names must be non-empty strings, got {names!r}")
        if len(set(names)) != dim:
            raise ValueError(f"names must be unique, got {names!r}")
        lo = np.asarray(lower, dtype=np.float64)
        hi = np.asarray(upper, dtype=np.float64)
        if lo.shape != (dim,) or hi.shape != (dim,):
            raise ValueError(f"lower and upper must have shape ({dim},) like names; got {lo.shape} and {hi.shape}")
        bad = [names[i] for i in range(dim) if not (np.isfinite(lo[i]) and np.isfinite(hi[i]) and lo[i] < hi[i])]
        if bad:
            raise ValueError(f"bounds must be finite with lower < upper; not so for {bad}")
        kinds = ("dimensionless",) * dim if kinds is None else tuple(str(k) for k in kinds)
        if len(kinds) != dim:
            raise ValueError(f"kinds must have {dim} entries like names, got {len(kinds)}")
        unknown = sorted({k for k in kinds if k not in units._INTERNAL})
        if unknown:
            raise ValueError(f"unknown unit kinds {unknown}; expected some of {sorted(units._INTERNAL)}")
        display_units = ("",) * dim if display_units is None else tuple(str(d) for d in display_units)
        if len(display_units) != dim:
            raise ValueError(f"display_units must have {dim} entries like names, got {len(display_units)}")
        for n, k, d in zip(names, kinds, display_units):
            if d and not u.Unit(d).is_equivalent(units._INTERNAL[k], equivalencies=units._EQUIVALENCIES.get(k, [])):
                raise ValueError(f"display unit {d!r} of {n!r} is not a {k} unit")
        self.log_likelihood = log_likelihood
        self.lower = jnp.asarray(lo)
        self.upper = jnp.asarray(hi)
        self.names = names
        self.kinds = kinds
        self.display_units = display_units

    @classmethod
    def from_bounds(cls, log_likelihood, bounds: Mapping, display_units: Mapping | None = None) -> Problem:
        """Build a problem from ``{name: (lower, upper)}``; Quantity bounds fix kind and display unit.

        Parameters
        ----------
        log_likelihood : callable
            As for :class:`Problem`; its argument follows the order of ``bounds``.
        bounds : mapping of str to (lower, upper)
            Plain numbers (internal units, dimensionless kind) or Quantities (e.g.
            ``(100, 2000) * u.kpc * u.km / u.s``, or a tuple of two Quantities), which are
            converted to internal units and shown in their own unit.
        display_units : mapping of str to str, optional
            Overrides the display unit of some parameters.

        Examples
        --------
        >>> import astropy.units as u, jax.numpy as jnp
        >>> p = Problem.from_bounds(lambda t: -jnp.sum(t), {"sigma": (1, 100) * u.km / u.s, "beta": (0.0, 1.0)})
        >>> p.kinds, p.display_units
        (('velocity', 'dimensionless'), ('km / s', ''))
        """
        names, lo, hi, kinds, shown = [], [], [], [], []
        display_units = dict(display_units or {})
        unknown = sorted(set(display_units) - set(bounds))
        if unknown:
            raise ValueError(f"display_units names {unknown} that are not in bounds")
        for name, pair in bounds.items():
            if isinstance(pair, u.Quantity):
                pair = (pair[0], pair[1]) if pair.shape == (2,) else pair
            if len(pair) != 2:
                raise ValueError(f"bounds[{name!r}] must be (lower, upper), got {pair!r}")
            a, b = pair
            kind, unit = "dimensionless", ""
            if isinstance(a, u.Quantity) or isinstance(b, u.Quantity):
                if not (isinstance(a, u.Quantity) and isinstance(b, u.Quantity)):
                    raise TypeError(f"bounds[{name!r}]: give both bounds as Quantities or neither")
                kind, unit = _unit_kind(a.unit), a.unit.to_string()
            names.append(name)
            lo.append(float(units.to_internal(a, kind, f"bounds[{name!r}]")))
            hi.append(float(units.to_internal(b, kind, f"bounds[{name!r}]")))
            kinds.append(kind)
            shown.append(display_units.get(name, unit))
        return cls(log_likelihood, names, lo, hi, kinds, shown)

    # ------------------------------------------------------------------ basics

    @property
    def ndim(self) -> int:
        """Number of parameters."""
        return len(self.names)

    @property
    def display_scales(self) -> np.ndarray:
        """Factor ``[dim]`` taking internal values to :attr:`display_units` (1 where none is set)."""
        return display_scales(self.kinds, self.display_units)

    def in_bounds(self, theta) -> jax.Array:
        """True where ``lower <= theta <= upper`` in every entry (``theta [..., dim]``)."""
        theta = jnp.asarray(theta)
        return jnp.all((theta >= self.lower) & (theta <= self.upper), axis=-1)

    def log_prior(self, theta) -> jax.Array:
        """Unnormalised uniform log-prior: 0 inside the box, ``-inf`` outside."""
        return jnp.where(self.in_bounds(theta), 0.0, -jnp.inf)

    def log_posterior(self, theta) -> jax.Array:
        """Log-likelihood inside the box, ``-inf`` outside (``theta [dim]``, internal units)."""
        theta = jnp.asarray(theta, dtype=jnp.float64)
        inside = self.in_bounds(theta)
        # evaluate the likelihood at a point inside the box so a model that is
        # undefined out there cannot leak NaN into the gradient of the where
        safe = jnp.where(inside, theta, 0.5 * (self.lower + self.upper))
        return jnp.where(inside, jnp.asarray(self.log_likelihood(safe), dtype=jnp.float64), -jnp.inf)

    # ------------------------------------------------------------------ unconstrained space

    def to_unconstrained(self, theta) -> jax.Array:
        """``u = logit((theta - lower) / (upper - lower))`` (``theta`` strictly inside the box)."""
        x = (jnp.asarray(theta, dtype=jnp.float64) - self.lower) / (self.upper - self.lower)
        return jnp.log(x) - jnp.log1p(-x)

    def from_unconstrained(self, u_) -> jax.Array:
        """Inverse of :meth:`to_unconstrained`: ``theta = lower + (upper - lower) s(u)``."""
        return self.lower + (self.upper - self.lower) * jax.nn.sigmoid(jnp.asarray(u_, dtype=jnp.float64))

    def log_jacobian(self, u_) -> jax.Array:
        """``log |d theta / d u|`` summed over parameters (``u [dim]``).

        ``d theta_i / d u_i = (upper_i - lower_i) s(u_i) (1 - s(u_i))``, with
        ``log s(u) = -softplus(-u)`` and ``log(1 - s(u)) = -softplus(u)`` (no
        cancellation for large ``|u|``).
        """
        u_ = jnp.asarray(u_, dtype=jnp.float64)
        return jnp.sum(jnp.log(self.upper - self.lower) - jax.nn.softplus(-u_) - jax.nn.softplus(u_), axis=-1)

    def log_density_unconstrained(self, u_) -> jax.Array:
        """Log-posterior of ``u``: ``log L(theta(u)) + log |d theta / d u|`` (what NUTS samples)."""
        return jnp.asarray(self.log_likelihood(self.from_unconstrained(u_)), dtype=jnp.float64) + self.log_jacobian(u_)

    # ------------------------------------------------------------------ boundary helpers

    def point(self, values, name: str = "theta") -> np.ndarray:
        """A parameter vector ``[dim]`` (internal units) from a vector or a ``{name: value}`` mapping.

        Mapping values may be Quantities of each parameter's kind. The point must be
        finite and inside the box.

        Raises
        ------
        ValueError
            Wrong length, missing or unknown names, NaN, outside the box.
        """
        if isinstance(values, Mapping):
            missing = [n for n in self.names if n not in values]
            extra = sorted(set(values) - set(self.names))
            if missing or extra:
                raise ValueError(f"{name}: missing parameters {missing}, unknown parameters {extra}")
            out = np.array([float(units.to_internal(values[n], k, f"{name}[{n!r}]")) for n, k in zip(self.names, self.kinds)])
        else:
            if isinstance(values, u.Quantity):
                raise TypeError(f"{name}: give Quantities as a {{name: value}} mapping, not one array")
            out = np.asarray(values, dtype=np.float64)
            if out.shape != (self.ndim,):
                raise ValueError(f"{name} must have shape ({self.ndim},), got {out.shape}")
        bad = [n for n, v in zip(self.names, out) if not np.isfinite(v)]
        if bad:
            raise ValueError(f"{name} is not finite for {bad}")
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        outside = [n for n, v, a, b in zip(self.names, out, lo, hi) if not a <= v <= b]
        if outside:
            raise ValueError(f"{name} lies outside the prior box for {outside}")
        return out

    def unconstrained_np(self, theta) -> np.ndarray:
        """:meth:`to_unconstrained` in NumPy, for host-side set-up (inf on a bound)."""
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        x = (np.asarray(theta, dtype=np.float64) - lo) / (hi - lo)
        with np.errstate(divide="ignore"):
            return np.log(x) - np.log1p(-x)

    def center(self) -> np.ndarray:
        """The centre of the box ``[dim]``."""
        return 0.5 * (np.asarray(self.lower) + np.asarray(self.upper))

    def describe(self) -> list[dict]:
        """Names, kinds, display units and bounds (internal units) as JSON-ready dicts."""
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        return [
            {"name": n, "kind": k, "display_unit": d, "lower": float(a), "upper": float(b)}
            for n, k, d, a, b in zip(self.names, self.kinds, self.display_units, lo, hi)
        ]

