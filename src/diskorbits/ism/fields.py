"""Mock ISM potential fluctuations: Gaussian random fields as a box forcing.

A surface-density contrast ``delta(x, y, t)`` with the spectrum of
:class:`~diskorbits.ism.spectrum.ISMSpectrum` is realised on the periodic
``L x L`` box (rotating frame) at snapshot times ``j dt_snap`` and turned
into a potential fluctuation mode by mode (Modak et al. 2026, Eqs. 45, 50)::

    delta_phi_k(z) = -A (2 pi G Sigma_bar delta_k / k) chi(kH, z/H) / alpha_w

with the k = 0 mode zero and, optionally, every mode with ``k > k_max`` zero.

Temporal variants (``temporal=``): ``"sharp"`` (default; spectral synthesis in
(x, y, t) over a periodic window that is looped seamlessly), ``"lorentzian"``
(exact Ornstein-Uhlenbeck update of every mode each interval) and ``"white"``
(an independent realisation every snapshot).

Vertical structure: ``chi(kH, z~)`` is approximated by a low-rank separable
expansion ``chi(kH, z~) ~ chi(kH, 0) sum_m U_m(k) v_m(z~)`` (a truncated SVD
over the grid's |k| and ``0 <= z~ <= z_max/H``, rank set by ``basis_tol``),
so ``delta_phi(x, y, z) = sum_m v_m(|z|/H) Phi_m(x, y)``. Per snapshot we
store the planar grids ``(dPhi_m/dx, dPhi_m/dy, Phi_m)`` (spectral
derivatives); a kick gathers them bilinearly (periodic wrap) and sums over m
with ``v_m`` and ``v_m'`` from cubic Hermite tables in z (g_z is odd in z
and exactly zero at z = 0). ``midplane_only=True`` keeps only the mid-plane
field, evaluated at every z (the cheap 2-D model; needs
``vertical_forcing=False``).

Normalisation. Each grid mode ``k = 2 pi (m_x, m_y) / L`` has
``<|delta_k|^2> = P(k) / L^2``; the random numbers of mode ``(m_x, m_y)`` are
drawn from a key folded with that integer pair, so a finer grid reproduces
the coarse grid's modes exactly and only adds modes at higher k.

The realisation is fixed by the ``key`` given to :func:`make_mock_field`;
the key passed to :meth:`MockISMField.init` is ignored, so one field object
can drive several star ensembles.

Units: kpc, Myr, Msun internally; :meth:`MockISMField.rms_potential` reports
(km/s)^2.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)
from .. import units
from ..shearingbox.forcing import AbstractForcing
from .presets import ISMModel
from .snapshots import PotentialSnapshots, _bilinear_weights, _interp_channel, _periodic_stencil
from .spectrum import TEMPORAL_KINDS, TemporalKernel
from .vertical import _chi_numpy

__all__ = [
    "MIN_WINDOW",
    "MockFieldState",
    "MockISMField",
    "make_mock_field",
    "expected_rms_potential",
    "grid_wavenumbers",
]

#: Shortest allowed synthesis window for ``temporal="sharp"``, Myr: several
#: correlation times tau_* ~ 70 Myr, so that looping adds no spurious periodicity.
MIN_WINDOW = 400.0


def _potential_kernel_np(model, k, z, amplitude=1.0, k_max=None):
    """NumPy twin of :meth:`ISMModel.potential_kernel` times A, with the k_max filter."""
    k = np.asarray(k, dtype=float)
    ks = np.where(k > 0, k, 1.0)
    c = _chi_numpy(ks * model.H, float(z) / model.H, model.profile)[0]
    val = -float(amplitude) * 2 * np.pi * units.G * float(model.sigma_bar) * c / (model.profile.alpha_w * ks)
    keep = k > 0
    if k_max is not None:
        keep &= k <= k_max
    return np.where(keep, val, 0.0)


def _check_positive(value, name):
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name!r} must be a finite positive number, got {value!r}")
    return v


def grid_wavenumbers(L, n):
    """Wavevector components and modulus of the ``n x n`` FFT modes of an ``L``-periodic box.

    Returns ``(m, kx, ky, k)``: integer mode numbers ``[n]`` (FFT order) and
    the full-grid arrays ``kx, ky, k`` ``[n, n]`` in 1/kpc (axis 0 is y, axis 1 is x).
    """
    m = np.rint(np.fft.fftfreq(n) * n).astype(np.int64)
    kk = 2 * np.pi * m / L
    ky, kx = np.meshgrid(kk, kk, indexing="ij")
    return m, kx, ky, np.hypot(kx, ky)


def _mode_codes(m):
    """Grid-independent 32-bit label of every mode (m_y, m_x), for per-mode random keys."""
    my, mx = np.meshgrid(m, m, indexing="ij")
    return ((my & 0xFFFF) << 16 | (mx & 0xFFFF)).astype(np.uint32)


def _raw_key(key):
    if isinstance(key, (int, np.integer)):
        return jax.random.PRNGKey(int(key))
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    if key.shape != (2,) or key.dtype != jnp.uint32:
        raise ValueError(f"'key' must be a JAX PRNG key or an int seed, got {key!r}")
    return key


def _unit_complex_modes(key, codes, extra=()):
    """Unit-variance complex normals, one independent stream per mode code: ``[*codes.shape, *extra]``."""

    def one(c):
        g = jax.random.normal(jax.random.fold_in(key, c), (*extra, 2))
        return (g[..., 0] + 1j * g[..., 1]) * np.sqrt(0.5)

    flat = jax.vmap(one)(codes.reshape(-1))
    return flat.reshape(*codes.shape, *extra)


class MockFieldState(eqx.Module):
    """Field state of :class:`MockISMField` for snapshot interval ``j``.

    ``lo``/``hi`` are the channel grids ``[C, ny * nx]`` of snapshots ``j``
    and ``j + 1``; ``modes`` the complex mode amplitudes of snapshot ``j + 1``
    (Lorentzian only, else a dummy scalar).
    """

    j: jax.Array
    lo: jax.Array
    hi: jax.Array
    modes: jax.Array


class MockISMField(AbstractForcing):
    """Gaussian-random-field ISM potential fluctuations (build with :func:`make_mock_field`).

    Attributes (arrays in internal units; see the module docstring)
    ----------------------------------------------------------------
    key : jax.Array
        Raw PRNG key that fixes the realisation.
    sigma_k : jax.Array
        ``sqrt(2 P(k) / L^2) exp(i k.(dx, dx)/2)`` on the full ``[n, n]`` FFT grid
        (0 at k = 0); the phase refers the synthesis to the box corner.
    codes : jax.Array
        Per-mode labels used to derive the mode keys.
    rho : jax.Array
        AR(1) coefficients ``exp(-omega_c(k) dt_snap)`` (Lorentzian).
    window : jax.Array or None
        ``[n_window, n, n]`` contrast delta over the looped window (sharp).
    kernel : jax.Array
        ``[C, n, n//2 + 1]`` complex multipliers taking ``rfft2(delta)`` to the
        channel grids: ``dPhi_m/dx`` (m = 0..r-1), then ``dPhi_m/dy``, then ``Phi_m``.
    v_tab, dv_tab : jax.Array
        ``[r, n_z]`` basis functions v_m and ``dv_m/dz~`` at ``z~ = i dz~``.
    """

    key: jax.Array
    sigma_k: jax.Array
    codes: jax.Array
    rho: jax.Array
    window: jax.Array | None
    kernel: jax.Array
    v_tab: jax.Array
    dv_tab: jax.Array
    L: float
    dx: float
    dt_snap: float
    H: float
    dzt: float
    amplitude: float
    model: ISMModel
    k_max: float | None
    n: int = eqx.field(static=True)
    rank: int = eqx.field(static=True)
    temporal: str = eqx.field(static=True)
    p: int = eqx.field(static=True)
    midplane_only: bool = eqx.field(static=True)
    vertical_forcing: bool = eqx.field(static=True)

    # ------------------------------------------------------------------ geometry
    @property
    def x_centres(self) -> np.ndarray:
        """Cell-centre coordinates of the planar grid (x and y alike), kpc."""
        return -0.5 * float(self.L) + (np.arange(self.n) + 0.5) * float(self.dx)

    @property
    def n_channels(self) -> int:
        return 3 * self.rank

    @property
    def n_window(self) -> int:
        return 0 if self.window is None else self.window.shape[0]

    @property
    def temporal_kernel(self) -> TemporalKernel:
        return TemporalKernel(kind=self.temporal, p=self.p, dt_snap=self.dt_snap)

    # ------------------------------------------------------------------ contrast field
    def _delta_from_modes(self, modes):
        """Real contrast grid from complex unit mode amplitudes (real part of the synthesis)."""
        return jnp.real(jnp.fft.ifft2(self.sigma_k * modes)) * (self.n * self.n)

    def _white_modes(self, s):
        return _unit_complex_modes(jax.random.fold_in(self.key, s), self.codes)

    def _ou_step(self, modes, s):
        eps = _unit_complex_modes(jax.random.fold_in(self.key, s), self.codes)
        return self.rho * modes + jnp.sqrt(1.0 - self.rho**2) * eps

    def delta_grid(self, j):
        """Surface-density contrast delta at snapshot ``j`` on the planar grid ``[n, n]`` (y, x)."""
        return self.delta_sequence(int(j) + 1)[-1] if self.temporal == "lorentzian" else self._delta(j)

    def _delta(self, s):
        s = jnp.asarray(s, jnp.int32)
        if self.temporal == "sharp":
            return jax.lax.dynamic_index_in_dim(self.window, jnp.mod(s, self.n_window), keepdims=False)
        if self.temporal == "white":
            return self._delta_from_modes(self._white_modes(s))
        raise ValueError("the Lorentzian field is recursive; use state_at(j) or delta_sequence(n)")

    def delta_sequence(self, n_snapshots):
        """Contrast grids of snapshots ``0 .. n_snapshots - 1``: ``[n_snapshots, n, n]``."""
        n_snapshots = int(n_snapshots)
        if n_snapshots < 1:
            raise ValueError(f"'n_snapshots' must be >= 1, got {n_snapshots}")
        if self.temporal == "sharp":
            idx = np.arange(n_snapshots) % self.n_window
            return self.window[idx]
        if self.temporal == "white":
            return jax.lax.map(self._delta, jnp.arange(n_snapshots, dtype=jnp.int32))

        def body(modes, s):
            new = self._ou_step(modes, s)
            return new, self._delta_from_modes(new)

        m0 = _unit_complex_modes(jax.random.fold_in(self.key, 0), self.codes)
        _, rest = jax.lax.scan(body, m0, jnp.arange(1, n_snapshots, dtype=jnp.int32))
        return jnp.concatenate([self._delta_from_modes(m0)[None], rest], axis=0)

    # ------------------------------------------------------------------ channels and state
    def channels(self, delta):
        """Channel grids ``[C, n * n]`` of one snapshot from its contrast grid ``[n, n]``."""
        d = jnp.fft.rfft2(delta)
        ch = jnp.fft.irfft2(self.kernel * d[None], s=(self.n, self.n))
        return ch.reshape(self.n_channels, self.n * self.n)

    def init(self, key=None):
        """State of interval 0. ``key`` is ignored: the realisation is fixed at construction."""
        return self.state_at(0)

    def state_at(self, j):
        """State of interval ``j`` computed from scratch (the Lorentzian steps through 0..j)."""
        j = jnp.asarray(j, jnp.int32)
        if self.temporal == "lorentzian":
            m0 = _unit_complex_modes(jax.random.fold_in(self.key, 0), self.codes)
            m1 = self._ou_step(m0, 1)
            st = MockFieldState(
                j=jnp.asarray(0, jnp.int32),
                lo=self.channels(self._delta_from_modes(m0)),
                hi=self.channels(self._delta_from_modes(m1)),
                modes=m1,
            )
            return jax.lax.fori_loop(1, j + 1, lambda i, s: self.advance(s, i), st)
        return MockFieldState(
            j=j, lo=self.channels(self._delta(j)), hi=self.channels(self._delta(j + 1)), modes=jnp.zeros(())
        )

    def advance(self, state, j):
        """State of interval ``j`` from that of ``j - 1`` (returns ``state`` unchanged if it is already ``j``)."""
        j = jnp.asarray(j, jnp.int32)

        def step():
            if self.temporal == "lorentzian":
                modes = self._ou_step(state.modes, j + 1)
                return MockFieldState(j=j, lo=state.hi, hi=self.channels(self._delta_from_modes(modes)), modes=modes)
            lo = jax.lax.cond(j == state.j + 1, lambda: state.hi, lambda: self.channels(self._delta(j)))
            return MockFieldState(j=j, lo=lo, hi=self.channels(self._delta(j + 1)), modes=state.modes)

        return jax.lax.cond(j == state.j, lambda: state, step)

    # ------------------------------------------------------------------ kick
    def _basis(self, z):
        """``v_m(|z|/H)`` and ``d v_m / dz`` (per kpc, odd in z), cubic Hermite in z: lists of r ``[N]`` arrays."""
        nzt = self.v_tab.shape[1]
        u = jnp.minimum(jnp.abs(z) / (self.H * self.dzt), nzt - 1.0)
        i = jnp.minimum(jnp.floor(u).astype(jnp.int32), nzt - 2)
        t = u - i
        t2 = t * t
        t3 = t2 * t
        h00, h10, h01, h11 = 2 * t3 - 3 * t2 + 1, t3 - 2 * t2 + t, -2 * t3 + 3 * t2, t3 - t2
        g0, g10, g11 = 6 * t2 - 6 * t, 3 * t2 - 4 * t + 1, 3 * t2 - 2 * t
        # Beyond the table the field is frozen at z_max: no vertical force there.
        inside = jnp.abs(z) / (self.H * self.dzt) < nzt - 1.0
        scale = jnp.where(inside, jnp.sign(z) / (self.H * self.dzt), 0.0)
        vs, dvs = [], []
        for m in range(self.rank):
            v0 = jnp.take(self.v_tab[m], i, mode="clip")
            v1 = jnp.take(self.v_tab[m], i + 1, mode="clip")
            d0 = jnp.take(self.dv_tab[m], i, mode="clip") * self.dzt
            d1 = jnp.take(self.dv_tab[m], i + 1, mode="clip") * self.dzt
            vs.append(h00 * v0 + h10 * d0 + h01 * v1 + h11 * d1)
            dvs.append((g0 * (v0 - v1) + g10 * d0 + g11 * d1) * scale)
        return vs, dvs

    def acceleration(self, state, w, t, x, y, z):
        """``-grad(delta phi)`` at star positions (kpc) in kpc/Myr^2, linear in time between snapshots (Eq. B7)."""
        shape = jnp.shape(x)
        x = jnp.reshape(x, -1)
        y = jnp.reshape(y, -1)
        z = jnp.reshape(z, -1)
        r = self.rank
        x0 = -0.5 * self.L + 0.5 * self.dx
        ix0, ix1, fx = _periodic_stencil(x, x0, self.dx, self.n)
        iy0, iy1, fy = _periodic_stencil(y, x0, self.dx, self.n)
        cells = (iy0 * self.n + ix0, iy0 * self.n + ix1, iy1 * self.n + ix0, iy1 * self.n + ix1)
        weights = _bilinear_weights(fx, fy)

        need = 2 * r if (self.midplane_only or not self.vertical_forcing) else 3 * r
        grid = state.lo[:need] + w * (state.hi[:need] - state.lo[:need])

        def chan(c):
            return _interp_channel(grid, c, cells, weights)

        if self.midplane_only:
            return -chan(0).reshape(shape), -chan(1).reshape(shape), jnp.zeros(shape)
        v, dv = self._basis(z)
        ax = -sum(v[m] * chan(m) for m in range(r))
        ay = -sum(v[m] * chan(r + m) for m in range(r))
        if self.vertical_forcing:
            az = -sum(dv[m] * chan(2 * r + m) for m in range(r))
        else:
            az = jnp.zeros_like(z)
        return ax.reshape(shape), ay.reshape(shape), az.reshape(shape)

    # ------------------------------------------------------------------ diagnostics
    def exact_potential_kernel(self, z=0.0):
        """``[n, n//2+1]`` rfft multiplier from delta to delta_phi at height ``z`` (kpc), with exact chi."""
        _, _, _, k = grid_wavenumbers(self.L, self.n)
        k = k[:, : self.n // 2 + 1]
        return jnp.asarray(_potential_kernel_np(self.model, k, z, self.amplitude, self.k_max))

    def potential_grid(self, state_or_index, z=0.0, w=0.0):
        """delta_phi on the planar grid ``[n, n]`` (axis 0 y, axis 1 x), kpc^2/Myr^2.

        Given an integer snapshot index, the potential is computed exactly
        (chi evaluated at ``z``); given a :class:`MockFieldState`, from its
        stored channels (the vertical basis, or the mid-plane field), at
        fractional time ``w`` of the interval.
        """
        if isinstance(state_or_index, MockFieldState):
            st = state_or_index
            g = st.lo + w * (st.hi - st.lo)
            phi = g[2 * self.rank :].reshape(self.rank, self.n, self.n)
            if self.midplane_only:
                return phi[0]
            v, _ = self._basis(jnp.atleast_1d(jnp.asarray(z, dtype=float)))
            return sum(vm[0] * phi[m] for m, vm in enumerate(v))
        delta = self.delta_grid(int(state_or_index))
        return jnp.fft.irfft2(self.exact_potential_kernel(z) * jnp.fft.rfft2(delta), s=(self.n, self.n))

    def potential_sequence(self, n_snapshots, z=0.0):
        """Exact delta_phi grids of snapshots ``0 .. n_snapshots - 1``: ``[n_snapshots, n, n]``, kpc^2/Myr^2."""
        deltas = self.delta_sequence(n_snapshots)
        kern = self.exact_potential_kernel(z)
        return jnp.fft.irfft2(kern * jnp.fft.rfft2(deltas), s=(self.n, self.n))

    def rms_potential(self, n_snapshots=None, z=0.0) -> float:
        """rms of delta_phi over the grid and snapshots ``0..n_snapshots-1``, in (km/s)^2.

        Default: the whole window for ``"sharp"``, 200 snapshots otherwise.
        Compare Modak et al. (2026) Fig. 1, ~(6 km/s)^2 in TIGRESS-NCR R8.
        """
        if n_snapshots is None:
            n_snapshots = self.n_window if self.temporal == "sharp" else 200
        phi = self.potential_sequence(n_snapshots, z)
        return float(jnp.sqrt(jnp.mean(phi**2))) / units.KMS**2

    def to_snapshots(self, n_snapshots, z=None) -> PotentialSnapshots:
        """Exact potential of snapshots ``0..n_snapshots-1`` as :class:`PotentialSnapshots`.

        ``z`` (kpc): ``None`` for mid-plane data, or an increasing, uniformly
        spaced array of levels. Write with
        :func:`~diskorbits.ism.snapshots.write_potential_snapshots`; read back
        with ``x_boundary="periodic"`` (the mock field is box-periodic).
        """
        xc = self.x_centres
        if z is None:
            phi = np.asarray(self.potential_sequence(n_snapshots, 0.0))[:, None]
            zs = None
        else:
            zs = np.asarray(z, dtype=float)
            phi = np.stack([np.asarray(self.potential_sequence(n_snapshots, float(zz))) for zz in zs], axis=1)
        return PotentialSnapshots(phi=phi, x=xc, y=xc, z=zs, dt=float(self.dt_snap))


# ----------------------------------------------------------------------------- construction


def _vertical_basis(model, k_unique, z_max, dzt, tol, max_rank, n_fit=192):
    """Separable expansion of chi(kH, z~)/chi(kH, 0) over the grid's |k| and z~ in [0, z_max/H].

    The basis ``v_m(z~)`` is the leading right singular vectors of the
    normalised profiles of up to ``n_fit`` |k| values (log-spaced in index, so
    all the few low-k modes are kept); every |k| then gets its least-squares
    coefficients. The rank is the smallest for which every profile is
    reproduced to ``tol`` (max abs error relative to chi(kH, 0)).

    Returns ``(C, v, dv)``: coefficients ``[n_k, r]``, and ``v``/``dv``
    ``[n_z, r]`` the basis and its exact z~-derivative at ``z~ = i dzt``.
    """
    H = float(model.H)
    nz = int(math.ceil(z_max / (H * dzt))) + 1
    zt = np.arange(nz) * dzt
    kt = np.asarray(k_unique) * H
    c0 = _chi_numpy(kt, 0.0, model.profile)[0]
    X, dX = _chi_numpy(kt[:, None], zt[None, :], model.profile)
    # Flush the far tails (exp(-k z) underflows into denormals, which make
    # LAPACK crawl); they are far below any tolerance.
    X = np.where(np.abs(X) < 1e-30 * c0[:, None], 0.0, X / c0[:, None])
    dX = np.where(np.abs(dX) < 1e-30 * c0[:, None], 0.0, dX / c0[:, None])
    fit = np.unique(np.rint(np.geomspace(1, kt.size, min(n_fit, kt.size))).astype(int) - 1)
    U, S, Vt = np.linalg.svd(X[fit], full_matrices=False)
    r_max = min(max_rank, S.size)
    for rank in range(1, r_max + 1):
        coef = X @ Vt[:rank].T
        err = np.max(np.abs(X - coef @ Vt[:rank]))
        if err <= tol:
            break
    else:
        raise ValueError(
            f"vertical basis needs more than max_rank={max_rank} terms for basis_tol={tol}; "
            f"raise max_rank or basis_tol (error at max_rank: {err:.3g})"
        )
    v = Vt[:rank].T
    # v_m = X_fit^T U_m / S_m, so its derivative is the same combination of dX.
    dv = dX[fit].T @ U[:, :rank] / S[:rank]
    dv[0] = 0.0  # chi is even in z~
    return coef, v, dv


def _sharp_window(key, codes, sigma_k, omega_c, n_window, dt_snap, p):
    """Spectral synthesis of delta over a periodic window: ``[n_window, n, n]`` (NumPy).

    Each mode gets unit-variance complex noise in frequency shaped by the
    kernel, normalised on the discrete frequencies so that every mode's
    variance is exactly P(k)/L^2; the time series is its FFT, so the window
    is exactly periodic.
    """
    n = codes.shape[0]
    omega = 2 * np.pi * np.fft.fftfreq(n_window, d=dt_snap)
    # The normalisation constant of T cancels below, so only the shape is needed.
    out = np.empty((n, n, n_window), dtype=np.complex128)
    draw = jax.jit(lambda c: _unit_complex_modes(key, c, (n_window,)))
    for row in range(n):  # one row of modes at a time bounds the memory
        noise = np.asarray(draw(codes[row]))  # [n, n_window]
        T = 1.0 / (1.0 + (omega[None, :] / omega_c[row][:, None]) ** (2 * p))
        amp = np.sqrt(T / T.sum(axis=1, keepdims=True))
        out[row] = np.fft.fft(amp * noise, axis=1) * sigma_k[row][:, None]
    delta = np.real(np.fft.ifft2(out, axes=(0, 1))) * (n * n)
    return np.ascontiguousarray(np.moveaxis(delta, -1, 0))


def make_mock_field(
    box,
    model: ISMModel,
    *,
    key,
    grid_spacing=0.016,
    dt_snap=1.0,
    temporal="sharp",
    p=4,
    window=800.0,
    amplitude=1.0,
    k_max=None,
    vertical_forcing=True,
    midplane_only=False,
    z_max=4.0,
    basis_tol=1e-3,
    max_rank=24,
    white_power="low_frequency",
) -> MockISMField:
    """Build a mock ISM forcing for a shearing box.

    Parameters
    ----------
    box : ShearingBox
        Supplies the box side L (kpc).
    model : ISMModel
        Surface density, spectrum and vertical profile (e.g. ``ism_preset("R8")``).
    key : jax PRNG key or int
        Fixes the realisation (every variant; :meth:`MockISMField.init` ignores its key).
    grid_spacing : float
        Requested planar grid spacing, kpc (16 pc default); the grid has
        ``n = ceil(L / grid_spacing)`` cells, spacing ``L / n``.
    dt_snap : float
        Snapshot interval, Myr.
    temporal : {"sharp", "lorentzian", "white"}
        Temporal kernel (see :class:`~diskorbits.ism.spectrum.TemporalKernel`).
    p : int
        Sharpness of the ``"sharp"`` kernel.
    window : float
        Synthesis window of the ``"sharp"`` field, Myr (>= :data:`MIN_WINDOW`,
        a multiple of ``dt_snap``); the field repeats with this period.
    amplitude : float
        The factor A multiplying delta_phi.
    k_max : float, optional
        Sharp planar filter: modes with ``k > k_max`` (1/kpc) are zeroed.
    vertical_forcing : bool
        False sets ``a_z = 0`` (the paper's ``g_z = 0`` run); the planar
        forces still follow chi(kH, z/H).
    midplane_only : bool
        Use the mid-plane field at every height (2-D, fastest). Requires
        ``vertical_forcing=False``.
    z_max : float
        Height (kpc) up to which the vertical basis is tabulated; beyond it
        the field is frozen at its z_max value and a_z = 0.
    basis_tol : float
        Accuracy of the separable chi expansion, relative to chi(kH, 0) per mode.
    max_rank : int
        Upper bound on the number of basis terms.
    white_power : {"low_frequency", "variance"}
        Normalisation of the ``"white"`` field: keep the ``"sharp"`` model's
        power at low frequency, ``P(k) T_k(0)`` with the same ``p``, spread flat
        up to the snapshot Nyquist frequency (default), or give every snapshot
        the variance ``P(k)`` of the correlated field.

    Returns
    -------
    MockISMField
    """
    L = _check_positive(box.L, "box.L")
    dx_req = _check_positive(grid_spacing, "grid_spacing")
    dt_snap = _check_positive(dt_snap, "dt_snap")
    if temporal not in TEMPORAL_KINDS:
        raise ValueError(f"'temporal' must be one of {TEMPORAL_KINDS}, got {temporal!r}")
    if not np.isfinite(amplitude):
        raise ValueError(f"'amplitude' must be finite, got {amplitude!r}")
    if k_max is not None:
        k_max = _check_positive(k_max, "k_max")
    if midplane_only and vertical_forcing:
        raise ValueError("midplane_only=True has no vertical structure: pass vertical_forcing=False as well")
    z_max = _check_positive(z_max, "z_max")
    basis_tol = _check_positive(basis_tol, "basis_tol")
    n = int(math.ceil(L / dx_req - 1e-9))
    if n < 4:
        raise ValueError(f"grid_spacing={grid_spacing} kpc gives only {n} cells across L={L} kpc")
    dx = L / n
    key = _raw_key(key)

    m, kx, ky, k = grid_wavenumbers(L, n)
    codes = _mode_codes(m)
    spec = model.spectrum
    P = np.where(k > 0, np.asarray(spec.power(k)), 0.0)
    # The phase puts the synthesis origin at the box corner (x = y = -L/2)
    # rather than at the first cell centre, so a mode is the same function
    # of position on every grid.
    omega_c = np.array(spec.omega_c(k))
    if temporal == "white" and white_power == "low_frequency":
        # [design] The white field keeps the correlated model's power at low
        # frequency, P(k) T_k(0), and spreads it flat up to the snapshot Nyquist
        # frequency, so each snapshot carries P(k) T_k(0) / dt_snap. Equal
        # per-snapshot variance ("variance") would instead cut the power at the
        # frequencies that drive transport by tau_*/dt_snap ~ 30 and could not
        # give the extra heating Modak et al. (2026) report for this variant.
        T0 = 2 * p * math.sin(math.pi / (2 * p)) / np.where(k > 0, omega_c, 1.0)
        P = P * T0 / dt_snap
    elif white_power not in ("low_frequency", "variance"):
        raise ValueError(f"'white_power' must be 'low_frequency' or 'variance', got {white_power!r}")
    sigma_k = np.sqrt(2.0 * P / L**2) * np.exp(0.5j * (kx + ky) * dx)
    rho = np.exp(-omega_c * dt_snap)

    # Potential multipliers on the rfft half-plane; Nyquist derivatives are
    # zeroed (the sampled derivative of a Nyquist cosine vanishes).
    nh = n // 2 + 1
    kh, kxh, kyh = k[:, :nh], kx[:, :nh].copy(), ky[:, :nh].copy()
    if n % 2 == 0:
        kxh[:, -1] = 0.0
        kyh[n // 2, :] = 0.0
    active = kh > 0
    if k_max is not None:
        active &= kh <= k_max
    ks = np.where(kh > 0, kh, 1.0)
    H = float(model.H)
    base = -float(amplitude) * 2 * np.pi * units.G * float(model.sigma_bar) / (model.profile.alpha_w * ks)
    base = np.where(active, base, 0.0)

    dzt = min(0.04, 0.01 / H)  # basis table step in z~ (<= 10 pc)
    if midplane_only:
        rank = 1
        u = _chi_numpy(kh * H, 0.0, model.profile)[0][None]  # [1, n, nh]
        v_tab = np.ones((2, 1))
        dv_tab = np.zeros((2, 1))
    else:
        # Integer |m|^2 labels the distinct |k| exactly.
        m2 = np.rint((kh * L / (2 * np.pi)) ** 2).astype(np.int64)
        sel = active
        uniq, inv = np.unique(m2[sel], return_inverse=True)
        k_unique = 2 * np.pi * np.sqrt(uniq) / L
        Ur, v_tab, dv_tab = _vertical_basis(model, k_unique, z_max, dzt, basis_tol, int(max_rank))
        rank = Ur.shape[1]
        c0 = _chi_numpy(k_unique * H, 0.0, model.profile)[0]
        u = np.zeros((rank, n, nh))
        u[:, sel] = (Ur * c0[:, None])[inv].T
    pot = base[None] * u  # [r, n, nh]
    kernel = np.concatenate([1j * kxh[None] * pot, 1j * kyh[None] * pot, pot.astype(complex)], axis=0)

    window_arr = None
    if temporal == "sharp":
        window = _check_positive(window, "window")
        if window < MIN_WINDOW:
            raise ValueError(
                f"'window' must be >= {MIN_WINDOW} Myr (several correlation times), got {window}"
            )
        n_window = int(round(window / dt_snap))
        if abs(n_window * dt_snap - window) > 1e-9 * window:
            raise ValueError(f"'window' ({window} Myr) must be a multiple of dt_snap ({dt_snap} Myr)")
        window_arr = jnp.asarray(
            _sharp_window(jax.random.fold_in(key, 1), codes, sigma_k, omega_c, n_window, dt_snap, int(p))
        )
        key_field = key
    else:
        key_field = jax.random.fold_in(key, 2 if temporal == "white" else 3)

    return MockISMField(
        key=key_field,
        sigma_k=jnp.asarray(sigma_k),
        codes=jnp.asarray(codes),
        rho=jnp.asarray(rho),
        window=window_arr,
        kernel=jnp.asarray(kernel),
        v_tab=jnp.asarray(np.ascontiguousarray(v_tab.T)),
        dv_tab=jnp.asarray(np.ascontiguousarray(dv_tab.T)),
        L=L,
        dx=dx,
        dt_snap=dt_snap,
        H=H,
        dzt=float(dzt),
        amplitude=float(amplitude),
        model=model,
        k_max=k_max,
        n=n,
        rank=int(rank),
        temporal=temporal,
        p=int(p),
        midplane_only=bool(midplane_only),
        vertical_forcing=bool(vertical_forcing),
    )


def expected_rms_potential(box, model: ISMModel, *, grid_spacing=0.016, z=0.0, amplitude=1.0, k_max=None) -> float:
    """Ensemble rms of delta_phi (km/s)^2 at height z for the modes of a grid (no realisation).

    ``sqrt(sum_k |delta_phi_k / delta_k|^2 P(k) / L^2)`` over the ``n x n``
    FFT modes (k = 0 and ``k > k_max`` excluded), with exact chi. Used to set
    the provisional amplitude :data:`~diskorbits.ism.presets.CALIBRATED_C`.
    """
    L = _check_positive(box.L, "box.L")
    n = int(math.ceil(L / _check_positive(grid_spacing, "grid_spacing") - 1e-9))
    _, _, _, k = grid_wavenumbers(L, n)
    P = np.where(k > 0, np.asarray(model.spectrum.power(k)), 0.0)
    kern = _potential_kernel_np(model, k, z, amplitude, k_max)
    var = np.sum(kern**2 * P) / L**2
    return float(np.sqrt(var)) / units.KMS**2
