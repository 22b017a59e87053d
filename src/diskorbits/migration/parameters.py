"""Parameters of the Frankel et al. (2020) disk model and the constants it fixes.

:class:`ModelParameters` holds the eleven fitted parameters of Frankel et al.
(2020), Table 1, in internal units (kpc, Myr, kpc^2/Myr, kpc/Myr, dex).
Samplers and optimisers work on flat float64 vectors in **display units**
(the units of Table 1); :meth:`ModelParameters.from_vector` and
:meth:`ModelParameters.to_vector` convert, in the fixed order :data:`NAMES`
with units :data:`UNITS`, and both are traceable (usable inside ``jit``,
``vmap`` and ``grad``).

:class:`ModelConstants` holds what the paper fixes rather than fits: the
maximum age, the heating time offset, the circular speed used to turn
angular momenta into radii, the reference radii of Eqs. 2 and 6, the inner
[Fe/H] gradient and its break, and the 12 Gyr of Eq. 10.

Two presets are provided because the paper quotes two sets of numbers:
:func:`table1` (maximum-likelihood values of Table 1) and :func:`text_values`
(the values quoted in the running text where they differ: R_d0 = 2.9 kpc in
Sec. 4.2, x_io = 0.68 in Sec. 5.2, sigma_Lz = 567 kpc km/s and
R_sigmaR = 27 kpc in Sec. 5.1). See ``docs/migration.md``.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import (
    _config,  # noqa: F401  (float64)
    units,
)

__all__ = [
    "NAMES",
    "UNITS",
    "ModelConstants",
    "ModelParameters",
    "table1",
    "text_values",
]

#: Order of the entries of a parameter vector.
NAMES: tuple[str, ...] = (
    "R_d0",
    "x_io",
    "tau_SFR",
    "sigma_Lz",
    "beta",
    "sigma_vR0",
    "R_sigmaR",
    "a_z",
    "gamma_FeH",
    "grad_FeH",
    "FeH_max",
)
#: Display units of the vector entries (those of Frankel et al. 2020, Table 1).
UNITS: tuple[str, ...] = ("kpc", "", "Gyr", "kpc km/s", "", "km/s", "kpc", "", "", "dex/kpc", "dex")
# Display unit -> internal unit factor, entry by entry.
_SCALE: tuple[float, ...] = (1.0, 1.0, units.GYR, units.KPC_KMS, 1.0, units.KMS, 1.0, 1.0, 1.0, 1.0, 1.0)

_TABLE1 = {
    "R_d0": 2.8,
    "x_io": 0.65,
    "tau_SFR": 1.0,
    "sigma_Lz": 582.0,
    "beta": 0.3,
    "sigma_vR0": 49.0,
    "R_sigmaR": 19.0,
    "a_z": 1.16,
    "gamma_FeH": 0.456,
    "grad_FeH": -0.0936,
    "FeH_max": 0.7,
}
# Where the running text quotes a different value (Secs. 4.2, 5.1, 5.2).
_TEXT = dict(_TABLE1, R_d0=2.9, x_io=0.68, sigma_Lz=567.0, R_sigmaR=27.0)


def _is_traced(x) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x))


def _check(name: str, value, condition: str) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` (concrete, any shape) satisfies ``condition``."""
    if _is_traced(value):  # validated when concrete; traced values pass through
        return
    v = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise ValueError(f"parameter {name!r} must be finite, got {value!r}")
    ok = {"positive": v > 0, "non-negative": v >= 0, "negative": v < 0, "finite": np.ones_like(v, bool)}[condition]
    if not np.all(ok):
        raise ValueError(f"parameter {name!r} must be {condition}, got {value!r}")


def _float(x):
    return jnp.asarray(x, dtype=jnp.float64)


class ModelParameters(eqx.Module):
    """The eleven fitted parameters of Frankel et al. (2020), Table 1, in internal units.

    Every field is a float64 array; all fields share one shape, ``()`` for one
    parameter set or ``(n,)`` for a batch of posterior samples (see
    :meth:`from_vector`).

    Attributes
    ----------
    R_d0 : kpc
        Birth scale length; ``<L_z0> = R_d0 v_circ`` (Eq. 1). Positive.
    x_io : dimensionless
        Inside-out coefficient of the star-formation history (Eq. 2).
    tau_SFR : Myr
        Star-formation time scale (Eq. 2). Positive.
    sigma_Lz : kpc^2/Myr
        Angular-momentum diffusion strength at ``tau_m`` (Eq. 4). Positive.
    beta : dimensionless
        Time exponent of radial heating (Eq. 6). Non-negative.
    sigma_vR0 : kpc/Myr
        Radial velocity dispersion at 8 kpc and age ``tau_m`` (Eq. 6). Positive.
    R_sigmaR : kpc
        Radial scale of the dispersion (Eq. 6). Positive.
    a_z : dimensionless
        Scaling of the Ting & Rix (2019) vertical-action law (Eq. 12). Positive.
    gamma_FeH : dimensionless
        Time exponent of the enrichment (Eq. 10). Non-negative.
    grad_FeH : dex/kpc
        Outer birth [Fe/H] gradient (Eq. 8). Negative, so that [Fe/H] is
        monotonic in L_z0 and the birth relation can be inverted.
    FeH_max : dex
        Central [Fe/H] today (Eq. 7). Finite.

    Raises
    ------
    ValueError
        At construction with concrete values, naming the first parameter
        that is non-finite or outside its physical range. Traced values
        (inside ``jit``/``vmap``) are not checked; use :meth:`is_valid`.

    Examples
    --------
    >>> from diskorbits.migration import table1, ModelParameters
    >>> p = table1()
    >>> [round(float(v), 4) for v in p.to_vector()][:4]
    [2.8, 0.65, 1.0, 582.0]
    >>> ModelParameters.from_vector(p.to_vector()).sigma_Lz == p.sigma_Lz
    Array(True, dtype=bool)
    """

    R_d0: jax.Array = eqx.field(converter=_float)
    x_io: jax.Array = eqx.field(converter=_float)
    tau_SFR: jax.Array = eqx.field(converter=_float)
    sigma_Lz: jax.Array = eqx.field(converter=_float)
    beta: jax.Array = eqx.field(converter=_float)
    sigma_vR0: jax.Array = eqx.field(converter=_float)
    R_sigmaR: jax.Array = eqx.field(converter=_float)
    a_z: jax.Array = eqx.field(converter=_float)
    gamma_FeH: jax.Array = eqx.field(converter=_float)
    grad_FeH: jax.Array = eqx.field(converter=_float)
    FeH_max: jax.Array = eqx.field(converter=_float)

    def __check_init__(self):
        for name, condition in _CONDITIONS.items():
            _check(name, getattr(self, name), condition)
        if not _is_traced(self):
            shapes = {np.shape(getattr(self, n)) for n in NAMES}
            if len(shapes) != 1:
                raise ValueError(f"all parameters must share one shape, got shapes {sorted(shapes)}")

    # -- vectors in display units ------------------------------------------

    @classmethod
    def from_vector(cls, vector) -> ModelParameters:
        """Parameters from a vector (or a batch ``(..., 11)``) in display units, order :data:`NAMES`.

        Traceable: usable inside ``jit``/``vmap``/``grad`` (no checks on traced
        values; combine with :meth:`is_valid` for a prior's support).

        Raises
        ------
        ValueError
            If the last axis does not have length 11, or (concrete input) a
            value is out of range.
        """
        v = jnp.asarray(vector, dtype=jnp.float64)
        if v.ndim == 0 or v.shape[-1] != len(NAMES):
            raise ValueError(f"'vector' must have last axis of length {len(NAMES)} ({', '.join(NAMES)}), got shape {v.shape}")
        return cls(**dict(zip(NAMES, _columns_internal(v))))

    def to_vector(self) -> jax.Array:
        """The parameters as a float64 vector ``(..., 11)`` in display units, order :data:`NAMES`."""
        return _stack_display(tuple(getattr(self, n) for n in NAMES))

    @classmethod
    def from_display(cls, **values) -> ModelParameters:
        """Parameters from keyword values in display units (:data:`UNITS`); all eleven are required.

        Raises
        ------
        TypeError
            If a name is missing or unknown.
        """
        missing = [n for n in NAMES if n not in values]
        unknown = [n for n in values if n not in NAMES]
        if missing or unknown:
            raise TypeError(f"from_display needs exactly the parameters {NAMES}; missing {missing}, unknown {unknown}")
        return cls(**{n: jnp.asarray(values[n], dtype=jnp.float64) * s for n, s in zip(NAMES, _SCALE)})

    def display(self) -> dict[str, np.ndarray]:
        """``{name: value}`` in display units (concrete parameters only)."""
        return {n: np.asarray(getattr(self, n)) / s for n, s in zip(NAMES, _SCALE)}

    def is_valid(self) -> jax.Array:
        """Traceable boolean (per batch entry): all parameters finite and inside their physical range."""
        ok = jnp.ones(jnp.shape(self.R_d0), dtype=bool)
        for name, condition in _CONDITIONS.items():
            v = getattr(self, name)
            ok = ok & jnp.isfinite(v)
            if condition == "positive":
                ok = ok & (v > 0)
            elif condition == "non-negative":
                ok = ok & (v >= 0)
            elif condition == "negative":
                ok = ok & (v < 0)
        return ok

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Shape shared by all fields: ``()`` for one parameter set."""
        return tuple(jnp.shape(self.R_d0))


@jax.jit
def _columns_internal(v):
    # one compiled call instead of 22 eager ops (cheap eager use; inlined under jit)
    return tuple(v[..., i] * s for i, s in enumerate(_SCALE))


@jax.jit
def _stack_display(values):
    return jnp.stack([x / s for x, s in zip(values, _SCALE)], axis=-1)


_CONDITIONS = {
    "R_d0": "positive",
    "x_io": "finite",
    "tau_SFR": "positive",
    "sigma_Lz": "positive",
    "beta": "non-negative",
    "sigma_vR0": "positive",
    "R_sigmaR": "positive",
    "a_z": "positive",
    "gamma_FeH": "non-negative",
    "grad_FeH": "negative",
    "FeH_max": "finite",
}


class ModelConstants(eqx.Module):
    """What Frankel et al. (2020) fix rather than fit, in internal units.

    Attributes
    ----------
    tau_m : Myr
        Maximum age of the low-alpha disk, 6 Gyr (Secs. 3.2, 3.4); the ages of
        Eq. 2 live on ``[0, tau_m]``.
    tau_1 : Myr
        Heating time offset ("a dynamical time"), 110 Myr (Eq. 6).
    v_circ : kpc/Myr
        Circular speed used to convert angular momenta to radii, 235 km/s
        (Eqs. 1, 2, 7-9 and the migration distance of Sec. 6.1).
    R_io : kpc
        Reference radius of the inside-out term of Eq. 2, 8.2 kpc.
    R_sigma : kpc
        Reference radius of the dispersion law of Eq. 6, 8 kpc.
    grad_inner : dex/kpc
        Inner birth [Fe/H] gradient, -0.03 dex/kpc (Eq. 8).
    R_break : kpc
        Break of the gradient, ``L_z0 = R_break v_circ`` = 3 kpc x 235 km/s (Eq. 8).
    tau_FeH : Myr
        Time scale of Eq. 10, 12 Gyr.
    """

    tau_m: float = 6.0 * units.GYR
    tau_1: float = 110.0
    v_circ: float = 235.0 * units.KMS
    R_io: float = 8.2
    R_sigma: float = 8.0
    grad_inner: float = -0.03
    R_break: float = 3.0
    tau_FeH: float = 12.0 * units.GYR

    def __check_init__(self):
        for name in ("tau_m", "tau_1", "v_circ", "R_io", "R_break", "tau_FeH"):
            _check(name, getattr(self, name), "positive")
        _check("R_sigma", self.R_sigma, "finite")
        _check("grad_inner", self.grad_inner, "negative")
        if not _is_traced(self) and not float(self.tau_FeH) > float(self.tau_m):
            raise ValueError(f"'tau_FeH' ({self.tau_FeH} Myr) must exceed 'tau_m' ({self.tau_m} Myr) for Eq. 10")

    @property
    def lz_break(self):
        """Angular momentum of the gradient break, ``R_break v_circ`` (kpc^2/Myr)."""
        return self.R_break * self.v_circ


def table1(**overrides) -> ModelParameters:
    """Maximum-likelihood values of Frankel et al. (2020), Table 1.

    R_d0 = 2.8 kpc, x_io = 0.65, tau_SFR = 1 Gyr, sigma_Lz = 582 kpc km/s,
    beta = 0.3, sigma_vR0 = 49 km/s, R_sigmaR = 19 kpc, a_z = 1.16,
    gamma_FeH = 0.456, grad_FeH = -0.0936 dex/kpc, FeH_max = 0.7 dex.

    Parameters
    ----------
    **overrides : float
        Replacement values **in display units** (:data:`UNITS`), e.g.
        ``table1(sigma_vR0=43.0)``.
    """
    return ModelParameters.from_display(**_merged(_TABLE1, overrides))


def text_values(**overrides) -> ModelParameters:
    """Table 1 with the values the running text quotes where they differ.

    R_d0 = 2.9 kpc (Sec. 4.2), x_io = 0.68 (Sec. 5.2), sigma_Lz = 567 kpc km/s
    and R_sigmaR = 27 kpc (Sec. 5.1); everything else as :func:`table1`.
    Sec. 6.1 quotes a third sigma_Lz, 572 kpc km/s (``text_values(sigma_Lz=572.0)``).
    The "43 km/s at the Sun" of Sec. 5.1 is an outcome of Eq. 6, not a
    parameter, and is not part of this preset (``docs/migration.md``).

    Parameters
    ----------
    **overrides : float
        Replacement values in display units.
    """
    return ModelParameters.from_display(**_merged(_TEXT, overrides))


def _merged(base, overrides):
    unknown = [n for n in overrides if n not in NAMES]
    if unknown:
        raise TypeError(f"unknown parameter(s) {unknown}; expected names from {NAMES}")
    return dict(base, **overrides)
