"""Convergence diagnostics for MCMC output: autocorrelation times, split R-hat, bulk and tail ESS.

All functions take ``samples`` of shape ``[chains, draws, dim]`` (emcee walkers
count as chains) and return one number per parameter.

* :func:`integrated_time` -- the integrated autocorrelation time
  ``tau = 1 + 2 sum_{t>=1} rho_t`` with the autocorrelation function averaged
  over chains and Sokal's (1997) self-consistent window (the smallest ``M``
  with ``M >= c tau(M)``, ``c = 5``), as recommended for ensemble samplers by
  Goodman & Weare (2010) and the emcee documentation. Frankel et al. (2020,
  Sec. 4.3) ran emcee for more than 50 autocorrelation times.
* :func:`split_rhat` -- rank-normalised split R-hat, the larger of the bulk
  and the folded (tail) value (Vehtari et al. 2021, Sec. 4.2).
* :func:`ess_bulk`, :func:`ess_tail` -- effective sample sizes of the
  rank-normalised split chains and of the 5% / 95% quantile indicators
  (Vehtari et al. 2021, Secs. 3.2, 4.3), with Geyer's (1992) initial
  monotone sequence truncation of the autocorrelation sum.
* :func:`diagnose` -- all of them, checked against thresholds, in a
  :class:`Diagnostics` whose ``warnings`` are also emitted as
  :class:`ConvergenceWarning`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence

import numpy as np
import scipy.special

__all__ = [
    "DEFAULT_ESS_MIN",
    "DEFAULT_RHAT_MAX",
    "DEFAULT_TAU_MULTIPLE",
    "ConvergenceWarning",
    "Diagnostics",
    "diagnose",
    "ess_bulk",
    "ess_tail",
    "integrated_time",
    "split_rhat",
]

#: A run should be this many autocorrelation times long (Frankel et al. 2020 Sec. 4.3; emcee docs).
DEFAULT_TAU_MULTIPLE: float = 50.0
#: Largest acceptable split R-hat (Vehtari et al. 2021, Sec. 4.3).
DEFAULT_RHAT_MAX: float = 1.01
#: Smallest acceptable bulk / tail ESS (Vehtari et al. 2021: 100 per chain for 4 chains).
DEFAULT_ESS_MIN: float = 400.0
#: Sokal's window constant for the integrated autocorrelation time.
SOKAL_C: float = 5.0


class ConvergenceWarning(UserWarning):
    """A sampler or optimiser result that should not be trusted as it stands."""


def _as_samples(samples, name: str = "samples") -> np.ndarray:
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x[..., None]
    if x.ndim != 3:
        raise ValueError(f"{name} must have shape [chains, draws, dim] (or [chains, draws]); got {x.shape}")
    if x.shape[1] < 4:
        raise ValueError(f"{name} needs at least 4 draws per chain, got {x.shape[1]}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def _autocovariance(x: np.ndarray) -> np.ndarray:
    """Biased autocovariance of each row of ``x [m, n]`` at lags ``0..n-1`` (FFT, zero padded)."""
    n = x.shape[-1]
    nfft = 1 << (2 * n - 1).bit_length()
    xc = x - x.mean(axis=-1, keepdims=True)
    f = np.fft.rfft(xc, n=nfft, axis=-1)
    return np.fft.irfft(f * np.conj(f), n=nfft, axis=-1)[..., :n] / n


# ----------------------------------------------------------------------------- autocorrelation time


def _tau_one(x: np.ndarray, c: float) -> float:
    acov = _autocovariance(x)
    var = acov[:, :1]
    if np.any(var <= 0):
        return float("nan")
    rho = np.mean(acov / var, axis=0)  # chain-averaged normalised autocorrelation function
    taus = 2.0 * np.cumsum(rho) - 1.0  # tau(M) = 1 + 2 sum_{t=1}^{M} rho_t
    ok = np.arange(taus.size) >= c * taus
    return float(taus[np.argmax(ok)] if np.any(ok) else taus[-1])


def integrated_time(samples, c: float = SOKAL_C) -> np.ndarray:
    """Integrated autocorrelation time of every parameter, in draws.

    Parameters
    ----------
    samples : array [chains, draws, dim] or [chains, draws]
    c : float
        Window constant: the sum stops at the first lag ``M >= c tau(M)``.

    Returns
    -------
    ndarray [dim]
        ``tau``; NaN for a parameter that never moves. When no lag satisfies the
        window condition the run is too short and the returned value is a lower bound.

    Notes
    -----
    For an AR(1) process with lag-1 correlation ``rho`` the exact value is
    ``(1 + rho) / (1 - rho)``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> tau = integrated_time(rng.normal(size=(4, 4000, 1)))
    >>> bool(abs(tau[0] - 1.0) < 0.1)
    True
    """
    x = _as_samples(samples)
    return np.array([_tau_one(x[:, :, k], c) for k in range(x.shape[2])])


# ----------------------------------------------------------------------------- R-hat and ESS (Vehtari et al. 2021)


def _split(x: np.ndarray) -> np.ndarray:
    """``[m, n]`` -> ``[2m, n // 2]``: first and second half of every chain (middle draw dropped if n odd)."""
    h = x.shape[1] // 2
    return np.concatenate([x[:, :h], x[:, x.shape[1] - h :]], axis=0)


def _rank_normalise(x: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled ranks (Vehtari et al. 2021, Eq. 14): ``Phi^-1((r - 3/8) / (S + 1/4))``."""
    # imported lazily: scipy.stats costs ~1 s at import and only this function needs it
    from scipy.stats import rankdata

    r = rankdata(x, method="average", axis=None).reshape(x.shape)
    return scipy.special.ndtri((r - 0.375) / (x.size + 0.25))


def _rhat(x: np.ndarray) -> float:
    """Classic potential scale reduction of ``[m, n]`` chains (Gelman et al. 2013, Eqs. 11.2-11.4)."""
    n = x.shape[1]
    w = np.mean(np.var(x, axis=1, ddof=1))
    b = n * np.var(np.mean(x, axis=1), ddof=1)
    if not w > 0:
        return float("nan")
    return float(np.sqrt(((n - 1) / n * w + b / n) / w))


def _ess(x: np.ndarray) -> float:
    """Effective sample size of ``[m, n]`` chains (Vehtari et al. 2021, Eqs. 10-13).

    The combined autocorrelation ``rho_t = 1 - (W - mean_m acov_m(t)) / var+`` is
    summed in pairs ``P_k = rho_2k + rho_2k+1`` until the first negative pair,
    and the pairs are made non-increasing (Geyer's initial monotone sequence).
    """
    m, n = x.shape
    acov = _autocovariance(x)
    w = np.mean(acov[:, 0]) * n / (n - 1)
    var_plus = w * (n - 1) / n + (np.var(np.mean(x, axis=1), ddof=1) if m > 1 else 0.0)
    if not var_plus > 0:
        return float("nan")
    rho = 1.0 - (w - np.mean(acov, axis=0)) / var_plus
    rho[0] = 1.0
    n_pairs = n // 2
    pairs = rho[: 2 * n_pairs].reshape(n_pairs, 2).sum(axis=1)
    negative = np.nonzero(pairs < 0)[0]
    pairs = pairs[: negative[0]] if negative.size else pairs
    pairs = np.minimum.accumulate(pairs)
    tau = -1.0 + 2.0 * np.sum(pairs)
    # antithetic chains can give tau < 1; cap as Stan does (ESS <= S log10 S)
    tau = max(tau, 1.0 / np.log10(m * n))
    return float(m * n / tau)


def split_rhat(samples) -> np.ndarray:
    """Rank-normalised split R-hat ``[dim]``: max of the bulk and folded values (Vehtari et al. 2021, Sec. 4.2).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> bool(split_rhat(rng.normal(size=(4, 1000, 2))).max() < 1.01)
    True
    """
    x = _as_samples(samples)
    out = []
    for k in range(x.shape[2]):
        s = x[:, :, k]
        bulk = _rhat(_rank_normalise(_split(s)))
        tail = _rhat(_rank_normalise(_split(np.abs(s - np.median(s)))))
        out.append(max(bulk, tail) if np.isfinite(bulk) and np.isfinite(tail) else float("nan"))
    return np.array(out)


def ess_bulk(samples) -> np.ndarray:
    """Bulk effective sample size ``[dim]``: ESS of the rank-normalised split chains (Vehtari et al. 2021, Sec. 4.3)."""
    x = _as_samples(samples)
    return np.array([_ess(_rank_normalise(_split(x[:, :, k]))) for k in range(x.shape[2])])


def ess_tail(samples) -> np.ndarray:
    """Tail effective sample size ``[dim]``: the smaller ESS of the 5% and 95% quantile indicators (Vehtari et al. 2021)."""
    x = _as_samples(samples)
    out = []
    for k in range(x.shape[2]):
        s = _split(x[:, :, k])
        q05, q95 = np.quantile(s, [0.05, 0.95])
        out.append(min(_ess((s <= q05).astype(float)), _ess((s <= q95).astype(float))))
    return np.array(out)


# ----------------------------------------------------------------------------- summary object


@dataclasses.dataclass(frozen=True)
class Diagnostics:
    """Convergence numbers of one run, per parameter, and the warnings they raise.

    Attributes
    ----------
    names : tuple of str [dim]
    n_chains, n_draws : int
        Shape of the samples diagnosed (after any burn-in was removed).
    tau : ndarray [dim]
        Integrated autocorrelation time, draws.
    rhat : ndarray [dim]
        Rank-normalised split R-hat.
    ess_bulk, ess_tail : ndarray [dim]
        Effective sample sizes.
    thresholds : dict
        ``tau_multiple``, ``rhat_max``, ``ess_min`` used for the warnings.
    warnings : tuple of str
        Human-readable problems (empty when the run passes every check).
    """

    names: tuple[str, ...]
    n_chains: int
    n_draws: int
    tau: np.ndarray
    rhat: np.ndarray
    ess_bulk: np.ndarray
    ess_tail: np.ndarray
    thresholds: dict
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not self.warnings

    def to_dict(self) -> dict:
        """JSON-ready per-parameter numbers, thresholds and warnings."""
        per = {
            n: {"tau": _num(self.tau[i]), "rhat": _num(self.rhat[i]),
                "ess_bulk": _num(self.ess_bulk[i]), "ess_tail": _num(self.ess_tail[i])}
            for i, n in enumerate(self.names)
        }  # fmt: skip
        return {"n_chains": self.n_chains, "n_draws": self.n_draws, "parameters": per,
                "thresholds": dict(self.thresholds), "warnings": list(self.warnings)}  # fmt: skip

    def table(self) -> str:
        """A plain-text table: one row per parameter."""
        w = max(len(n) for n in self.names)
        rows = [f"{'parameter':<{w}}  {'tau':>8}  {'R-hat':>7}  {'ESS bulk':>9}  {'ESS tail':>9}"]
        for i, n in enumerate(self.names):
            rows.append(f"{n:<{w}}  {self.tau[i]:8.1f}  {self.rhat[i]:7.4f}  {self.ess_bulk[i]:9.0f}  {self.ess_tail[i]:9.0f}")
        return "\n".join(rows + [f"warning: {m}" for m in self.warnings])


def _num(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


def diagnose(
    samples,
    names: Sequence[str] | None = None,
    *,
    tau_multiple: float = DEFAULT_TAU_MULTIPLE,
    rhat_max: float = DEFAULT_RHAT_MAX,
    ess_min: float = DEFAULT_ESS_MIN,
    extra_warnings: Sequence[str] = (),
    warn: bool = True,
) -> Diagnostics:
    """Autocorrelation times, split R-hat and ESS of ``samples``, checked against thresholds.

    Parameters
    ----------
    samples : array [chains, draws, dim]
        Post-warmup / post-burn-in draws.
    names : sequence of str [dim], optional
        Parameter names for the messages (default ``x0, x1, ...``).
    tau_multiple : float
        Warn when ``draws < tau_multiple * max(tau)``.
    rhat_max : float
        Warn for every parameter with R-hat above this.
    ess_min : float
        Warn for every parameter whose bulk or tail ESS is below this.
    extra_warnings : sequence of str
        Sampler-specific problems (divergences, acceptance) to list with the others.
    warn : bool
        Also emit every warning as a :class:`ConvergenceWarning`.

    Returns
    -------
    Diagnostics

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = diagnose(rng.normal(size=(4, 500, 2)), ["a", "b"])
    >>> d.ok
    True
    """
    x = _as_samples(samples)
    dim = x.shape[2]
    names = tuple(f"x{i}" for i in range(dim)) if names is None else tuple(names)
    if len(names) != dim:
        raise ValueError(f"names has {len(names)} entries but samples have {dim} parameters")
    for label, v in (("tau_multiple", tau_multiple), ("rhat_max", rhat_max), ("ess_min", ess_min)):
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"{label} must be a positive number, got {v!r}")
    tau = integrated_time(x)
    rhat = split_rhat(x)
    eb, et = ess_bulk(x), ess_tail(x)
    msgs: list[str] = []
    n = x.shape[1]
    if np.any(np.isfinite(tau)):
        k = int(np.nanargmax(tau))
        if n < tau_multiple * tau[k]:
            msgs.append(
                f"run length {n} < {tau_multiple:g} autocorrelation times (tau = {tau[k]:.0f} for {names[k]}); "
                "the tau estimate itself is unreliable"
            )
    frozen = [names[i] for i in range(dim) if not np.isfinite(rhat[i])]
    if frozen:
        msgs.append(f"parameters {frozen} do not vary within chains; R-hat and ESS cannot be estimated")
    for i in range(dim):
        if np.isfinite(rhat[i]) and rhat[i] > rhat_max:
            msgs.append(f"R-hat {rhat[i]:.3f} > {rhat_max:g} for {names[i]}")
    for i in range(dim):
        low = [(label, v[i]) for label, v in (("bulk", eb), ("tail", et)) if np.isfinite(v[i]) and v[i] < ess_min]
        for label, v in low:
            msgs.append(f"{label} ESS {v:.0f} < {ess_min:g} for {names[i]}")
    msgs.extend(str(m) for m in extra_warnings)
    if warn:
        for m in msgs:
            warnings.warn(m, ConvergenceWarning, stacklevel=2)
    return Diagnostics(
        names=names, n_chains=int(x.shape[0]), n_draws=int(n), tau=tau, rhat=rhat, ess_bulk=eb, ess_tail=et,
        thresholds={"tau_multiple": float(tau_multiple), "rhat_max": float(rhat_max), "ess_min": float(ess_min)},
        warnings=tuple(msgs),
    )  # fmt: skip
