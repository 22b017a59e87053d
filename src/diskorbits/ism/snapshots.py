"""User-supplied gridded potential snapshots (e.g. TIGRESS-NCR) as a box forcing.

File layout (HDF5 ``.h5``/``.hdf5``/``.hdf`` or NumPy ``.npz``; same names in both):

- ``phi``: the gas potential, shape ``[n_t, n_z, n_y, n_x]`` (3-D) or
  ``[n_t, n_y, n_x]`` (mid-plane only), C order, x fastest;
- ``x`` ``[n_x]``, ``y`` ``[n_y]`` and, for 3-D data, ``z`` ``[n_z]``: uniformly
  spaced, increasing cell-centre coordinates;
- ``t`` ``[n_t]`` uniformly spaced snapshot times, or a scalar ``dt`` (an HDF5
  root attribute or dataset, an ``.npz`` entry);
- ``units`` (HDF5 root attribute or ``.npz`` entry): a JSON object such as
  ``{"length": "pc", "time": "Myr", "potential": "km2 / s2"}`` in astropy
  unit syntax; missing entries default to pc, Myr and (km/s)^2.

The planar mean of every z-level of every snapshot is subtracted (the mean
gas potential only acts vertically, Modak et al. 2026 Sec. II.2), and
everything is converted to internal units (kpc, Myr, kpc^2/Myr^2).

:class:`SnapshotForcing` reproduces the kick of Modak et al. (2026)
Appendix B.2: forces ``-grad phi`` by centred second-order differences
(Eq. B8), periodic in y, one-sided second-order differences at the x
boundaries (Eq. B9; ``x_boundary="periodic"`` wraps instead, right for
fields that are periodic in the box frame such as our mock fields) and at
the z boundaries; linear interpolation in time between bracketing snapshots
(Eq. B7); and the paper's looping rule: interval ``j`` uses snapshots
``s = j mod (n_t - 1)`` and ``s + 1``, so after the last snapshot the run
jumps back to the first without interpolating between last and first (loop
period ``(n_t - 1) dt``). Where the paper takes the force at the nearest cell
centre we interpolate the force grids (bi/trilinearly) to the star; beyond
the outermost x (one-sided mode) or z cell centres the edge values are used.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import tempfile

import astropy.units as u
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)
from .. import units
from ..shearingbox.forcing import AbstractForcing

__all__ = [
    "DEFAULT_FILE_UNITS",
    "PotentialSnapshots",
    "read_potential_snapshots",
    "write_potential_snapshots",
    "SnapshotForcing",
    "SnapshotState",
    "load_snapshot_forcing",
]

#: Units assumed for a file that does not say (TIGRESS-NCR habits).
DEFAULT_FILE_UNITS = {"length": "pc", "time": "Myr", "potential": "km2 / s2"}
_PHYSICAL = {"length": units.LENGTH, "time": units.TIME, "potential": units.ENERGY}
_HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
_UNIFORM_RTOL = 1e-6
_NAMES = ("phi", "x", "y", "z", "t", "dt", "units")


# --------------------------------------------------------------------------
# Interpolation helpers shared with the mock fields. Grids are cell-centred
# and stored channel-major with the spatial axes flattened ([C, n_cells]):
# XLA on CPU turns one scalar gather per channel and corner into tight loops,
# whereas gathering [N, C] rows and contracting over C afterwards was ~10x
# slower (measured, docs/ism-fields.md).


def _periodic_stencil(x, x0, dx, n):
    """Lower/upper cell indices and fractional offset on a periodic axis of ``n`` cell centres."""
    u_ = (x - x0) / dx
    fl = jnp.floor(u_)
    f = u_ - fl
    i0 = jnp.mod(fl.astype(jnp.int32), n)
    i1 = jnp.where(i0 == n - 1, 0, i0 + 1)
    return i0, i1, f


def _clamped_stencil(x, x0, dx, n):
    """As :func:`_periodic_stencil` on a bounded axis, constant beyond the outer centres."""
    u_ = jnp.clip((x - x0) / dx, 0.0, n - 1.0)
    i0 = jnp.minimum(jnp.floor(u_).astype(jnp.int32), max(n - 2, 0))
    f = u_ - i0
    i1 = jnp.minimum(i0 + 1, n - 1)
    return i0, i1, f


def _bilinear_weights(fx, fy):
    return ((1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy)


def _interp_channel(grid, c, cells, weights):
    """Channel ``c`` of a ``[C, n_cells]`` grid combined over the stencil cells: ``[N]``.

    Interpolate the whole grid in time first (``lo + w (hi - lo)``):
    slicing lo and hi per channel inside the gather ran 5x slower.
    """
    row = grid[c]
    out = 0.0
    for idx, wt in zip(cells, weights):
        out = out + wt * jnp.take(row, idx, mode="clip")
    return out


# --------------------------------------------------------------------------
# Data container, reader and writer.


def _uniform_spacing(name, v):
    v = np.asarray(v, dtype=np.float64)
    if v.ndim != 1 or v.size < 1:
        raise ValueError(f"coordinate {name!r} must be a non-empty 1-D array, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"coordinate {name!r} contains NaN or inf")
    if v.size == 1:
        return v, None
    d = np.diff(v)
    step = float(np.mean(d))
    if not step > 0:
        raise ValueError(f"coordinate {name!r} must be strictly increasing")
    if np.max(np.abs(d - step)) > _UNIFORM_RTOL * step:
        raise ValueError(
            f"coordinate {name!r} is not uniformly spaced (spacings from {d.min():.6g} to {d.max():.6g}); "
            "resample onto a uniform grid first"
        )
    return v, step


@dataclasses.dataclass(frozen=True, eq=False)
class PotentialSnapshots:
    """A time series of gridded potential fluctuations in internal units.

    Attributes
    ----------
    phi : numpy.ndarray
        ``[n_t, n_z, n_y, n_x]`` potential, kpc^2/Myr^2 (``n_z = 1`` for mid-plane data).
    x, y : numpy.ndarray
        Uniform cell-centre coordinates, kpc.
    z : numpy.ndarray or None
        Uniform z levels, kpc; ``None`` for mid-plane-only data.
    dt : float
        Snapshot interval, Myr.
    t0 : float
        Time of the first snapshot, Myr (informational).
    """

    phi: np.ndarray
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray | None
    dt: float
    t0: float = 0.0

    def __post_init__(self):
        phi = np.asarray(self.phi, dtype=np.float64)
        if phi.ndim == 3:
            phi = phi[:, None]
        if phi.ndim != 4:
            raise ValueError(f"'phi' must have shape [n_t, n_z, n_y, n_x] or [n_t, n_y, n_x], got {phi.shape}")
        x, _ = _uniform_spacing("x", self.x)
        y, _ = _uniform_spacing("y", self.y)
        if x.size < 3 or y.size < 3:
            raise ValueError(f"need at least 3 cells in x and y, got n_x={x.size}, n_y={y.size}")
        if self.z is None:
            z = None
            nz = 1
        else:
            z, _ = _uniform_spacing("z", self.z)
            nz = z.size
        expect = (phi.shape[0], nz, y.size, x.size)
        if phi.shape != expect:
            raise ValueError(
                f"'phi' has shape {phi.shape} but the coordinates give (n_t, n_z, n_y, n_x) = {expect}"
            )
        if phi.shape[0] < 2:
            raise ValueError(f"need at least 2 snapshots to interpolate in time, got n_t={phi.shape[0]}")
        bad = ~np.isfinite(phi)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"'phi' contains {int(bad.sum())} NaN or inf values (first at index {first})")
        if not (np.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"snapshot interval 'dt' must be positive, got {self.dt!r}")
        object.__setattr__(self, "phi", phi)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "z", z)
        object.__setattr__(self, "dt", float(self.dt))
        object.__setattr__(self, "t0", float(self.t0))

    @property
    def planar(self) -> bool:
        """True for mid-plane-only data."""
        return self.z is None

    @property
    def n_t(self) -> int:
        return self.phi.shape[0]

    @property
    def t(self) -> np.ndarray:
        """Snapshot times, Myr."""
        return self.t0 + self.dt * np.arange(self.n_t)

    def subtract_planar_mean(self) -> "PotentialSnapshots":
        """Copy with the mean over (x, y) of every z-level and snapshot removed."""
        phi = self.phi - self.phi.mean(axis=(2, 3), keepdims=True)
        return dataclasses.replace(self, phi=phi)


def _parse_units(raw, path):
    spec = dict(DEFAULT_FILE_UNITS)
    if raw is not None:
        if isinstance(raw, bytes):
            raw = raw.decode()
        raw = str(raw)
        try:
            given = json.loads(raw)
        except json.JSONDecodeError:
            raise ValueError(
                f"{path}: attribute 'units' must be a JSON object like {json.dumps(DEFAULT_FILE_UNITS)}, got {raw!r}"
            ) from None
        if not isinstance(given, dict):
            raise ValueError(f"{path}: attribute 'units' must be a JSON object, got {raw!r}")
        unknown = set(given) - set(spec)
        if unknown:
            raise ValueError(f"{path}: unknown entries {sorted(unknown)} in 'units'; allowed {sorted(spec)}")
        spec.update(given)
    factors = {}
    for kind, text in spec.items():
        try:
            unit = u.Unit(text)
            factors[kind] = float((1.0 * unit).to_value(_PHYSICAL[kind]))
        except (ValueError, u.UnitConversionError, TypeError):
            raise ValueError(f"{path}: {kind} unit {text!r} is not a valid {kind} unit") from None
    return factors


def _read_raw(path):
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no snapshot file at {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix in _HDF5_SUFFIXES:
        import h5py

        with h5py.File(path, "r") as f:
            # Only the names of the layout are read: files may carry other (large) datasets.
            data = {k: f[k][()] for k in _NAMES if k in f and isinstance(f[k], h5py.Dataset)}
            found = sorted(f.keys())
            for k in ("units", "dt"):
                if k in f.attrs and k not in data:
                    data[k] = f.attrs[k]
        data["_found"] = found
    elif suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files if k in _NAMES}
            data["_found"] = sorted(f.files)
        if "units" in data:
            data["units"] = str(data["units"][()])
    else:
        raise ValueError(f"unknown snapshot file type {suffix!r} for {str(path)!r}; use .h5/.hdf5 or .npz")
    return data


def read_potential_snapshots(path, *, z_range=None, z_stride=1, subtract_mean=True) -> PotentialSnapshots:
    """Read and validate gridded potential snapshots (layout in the module docstring).

    Parameters
    ----------
    path : str or path-like
        ``.h5``/``.hdf5``/``.hdf`` or ``.npz`` file.
    z_range : (float, float), optional
        Keep only z-levels with ``z_range[0] <= z <= z_range[1]`` (kpc), to
        limit memory for tall boxes.
    z_stride : int
        Keep every ``z_stride``-th level (the potential is smooth in z).
    subtract_mean : bool
        Remove the planar mean of every z-level and snapshot (default).

    Returns
    -------
    PotentialSnapshots
        In internal units.

    Raises
    ------
    ValueError
        Missing datasets, bad units, non-uniform or mismatched grids, NaNs.
    """
    data = _read_raw(path)
    missing = [k for k in ("phi", "x", "y") if k not in data]
    if missing:
        raise ValueError(f"{path}: missing dataset(s) {missing}; found {data['_found']}")
    f = _parse_units(data.get("units"), path)
    phi = np.asarray(data["phi"], dtype=np.float64)
    if phi.ndim == 4 and "z" not in data:
        raise ValueError(f"{path}: 'phi' is 4-D {phi.shape} but there is no 'z' dataset")
    if phi.ndim == 3 and "z" in data:
        raise ValueError(f"{path}: 'phi' is 3-D {phi.shape} (mid-plane) but a 'z' dataset is present")
    if phi.ndim not in (3, 4):
        raise ValueError(f"{path}: 'phi' must be 3-D or 4-D, got shape {phi.shape}")
    n_t = phi.shape[0]
    if "t" in data:
        t, dt = _uniform_spacing("t", data["t"])
        if t.size != n_t:
            raise ValueError(f"{path}: 't' has {t.size} entries but 'phi' has {n_t} snapshots")
        if dt is None:
            raise ValueError(f"{path}: need at least 2 snapshots, got 1")
        if "dt" in data and not np.isclose(float(data["dt"]), dt, rtol=1e-6):
            raise ValueError(f"{path}: 'dt' = {float(data['dt'])} disagrees with the spacing of 't' ({dt})")
        t0 = float(t[0])
    elif "dt" in data:
        dt = float(np.asarray(data["dt"]))
        t0 = 0.0
    else:
        raise ValueError(f"{path}: need snapshot times 't' or an interval 'dt'")
    z = None
    if phi.ndim == 4:
        z = np.asarray(data["z"], dtype=np.float64) * f["length"]
        if z.ndim != 1 or z.size != phi.shape[1]:
            raise ValueError(f"{path}: 'z' has shape {z.shape} but 'phi' has {phi.shape[1]} z-levels")
        keep = np.ones(z.size, bool)
        if z_range is not None:
            keep &= (z >= z_range[0]) & (z <= z_range[1])
        idx = np.flatnonzero(keep)[:: int(z_stride)]
        if idx.size == 0:
            raise ValueError(f"z_range {z_range!r} (kpc) selects no z-level; file spans {z.min()}..{z.max()} kpc")
        z = z[idx]
        phi = phi[:, idx]
    snaps = PotentialSnapshots(
        phi=phi * f["potential"],
        x=np.asarray(data["x"], dtype=np.float64) * f["length"],
        y=np.asarray(data["y"], dtype=np.float64) * f["length"],
        z=z,
        dt=dt * f["time"],
        t0=t0 * f["time"],
    )
    return snaps.subtract_planar_mean() if subtract_mean else snaps


def write_potential_snapshots(path, snapshots: PotentialSnapshots, *, file_units=None) -> pathlib.Path:
    """Write snapshots in the layout :func:`read_potential_snapshots` reads.

    Parameters
    ----------
    path : str or path-like
        Destination; ``.h5``/``.hdf5``/``.hdf`` or ``.npz`` selects the format.
        Written to a temporary file first and renamed (atomic).
    snapshots : PotentialSnapshots
        Data in internal units.
    file_units : dict, optional
        Units to write in (keys ``length``, ``time``, ``potential``); default
        :data:`DEFAULT_FILE_UNITS`.
    """
    path = pathlib.Path(path)
    spec = dict(DEFAULT_FILE_UNITS)
    spec.update(file_units or {})
    f = _parse_units(json.dumps(spec), path)
    phi = snapshots.phi[:, 0] if snapshots.planar else snapshots.phi
    out = {
        "phi": phi / f["potential"],
        "x": snapshots.x / f["length"],
        "y": snapshots.y / f["length"],
        "t": snapshots.t / f["time"],
    }
    if not snapshots.planar:
        out["z"] = snapshots.z / f["length"]
    suffix = path.suffix.lower()
    if suffix not in _HDF5_SUFFIXES + (".npz",):
        raise ValueError(f"unknown snapshot file type {suffix!r}; use .h5/.hdf5 or .npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=suffix)
    os.close(fd)
    try:
        if suffix == ".npz":
            np.savez(tmp, units=np.array(json.dumps(spec)), dt=np.array(snapshots.dt / f["time"]), **out)
        else:
            import h5py

            with h5py.File(tmp, "w") as h:
                for k, v in out.items():
                    h.create_dataset(k, data=v)
                h.attrs["units"] = json.dumps(spec)
                h.attrs["dt"] = snapshots.dt / f["time"]
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


# --------------------------------------------------------------------------
# The forcing.


class SnapshotState(eqx.Module):
    """Field state of :class:`SnapshotForcing`: interval index and the two bracketing force grids."""

    j: jax.Array
    lo: jax.Array  # [C, n_z * ny * nx] forces of snapshot j mod (n_t - 1)
    hi: jax.Array  # same for the following snapshot


def _centred_periodic(phi, axis, d):
    return (jnp.roll(phi, -1, axis) - jnp.roll(phi, 1, axis)) / (2 * d)


def _centred_one_sided(phi, axis, d):
    """Centred differences inside, second-order one-sided at both ends (Eq. B9)."""
    n = phi.shape[axis]
    take = lambda i: jnp.take(phi, i, axis=axis)  # noqa: E731
    if n == 2:
        g = (take(1) - take(0)) / d
        return jnp.stack([g, g], axis=axis)
    inner = (jnp.take(phi, jnp.arange(2, n), axis=axis) - jnp.take(phi, jnp.arange(0, n - 2), axis=axis)) / (2 * d)
    first = (-3 * take(0) + 4 * take(1) - take(2)) / (2 * d)
    last = (3 * take(n - 1) - 4 * take(n - 2) + take(n - 3)) / (2 * d)
    return jnp.concatenate([jnp.expand_dims(first, axis), inner, jnp.expand_dims(last, axis)], axis=axis)


class SnapshotForcing(AbstractForcing):
    """Kicks from looped, gridded potential snapshots (Modak et al. 2026, App. B.2).

    Build with :meth:`from_snapshots` or :meth:`from_file`. The state holds
    the force grids of the two snapshots bracketing the current interval;
    it is a pure function of the interval index, so ``advance(init(k), 0)``
    equals ``init(k)`` and resumed runs are bit-identical. The key passed to
    :meth:`init` is not used (the data are deterministic).

    Attributes
    ----------
    phi : jax.Array
        ``[n_t, n_z, n_y * n_x]`` mean-subtracted potential, kpc^2/Myr^2.
    x0, y0, z0 : float
        First cell centres, kpc.
    dx, dy, dz : float
        Grid spacings, kpc (``dz`` is 1 for mid-plane data).
    dt_snap : float
        Snapshot interval, Myr; the integrator's interval must equal it.
    amplitude : float
        Multiplies the potential (the paper's factor A).
    """

    phi: jax.Array
    x0: float
    y0: float
    z0: float
    dx: float
    dy: float
    dz: float
    dt_snap: float
    amplitude: float
    nx: int = eqx.field(static=True)
    ny: int = eqx.field(static=True)
    nz: int = eqx.field(static=True)
    n_t: int = eqx.field(static=True)
    periodic_x: bool = eqx.field(static=True)
    vertical_forcing: bool = eqx.field(static=True)

    @classmethod
    def from_snapshots(cls, snapshots: PotentialSnapshots, *, box=None, x_boundary="one-sided",
                       amplitude=1.0, vertical_forcing=True) -> "SnapshotForcing":
        """Build from :class:`PotentialSnapshots`.

        Parameters
        ----------
        snapshots : PotentialSnapshots
            The data (planar means are removed here in any case).
        box : ShearingBox, optional
            If given, the grid must tile the box: ``n_x dx = n_y dy = L``.
        x_boundary : {"one-sided", "periodic"}
            Differences at the x edges: one-sided (paper Eq. B9; for
            shearing-periodic simulation data) or periodic wrap (box-frame
            periodic fields, e.g. written from a mock field).
        amplitude : float
            Factor A multiplying the potential.
        vertical_forcing : bool
            False sets ``a_z = 0`` (the paper's ``g_z = 0`` run).
        """
        if x_boundary not in ("one-sided", "periodic"):
            raise ValueError(f"x_boundary must be 'one-sided' or 'periodic', got {x_boundary!r}")
        if not np.isfinite(amplitude):
            raise ValueError(f"'amplitude' must be finite, got {amplitude!r}")
        snaps = snapshots.subtract_planar_mean()
        dx = float(np.diff(snaps.x).mean())
        dy = float(np.diff(snaps.y).mean())
        nx, ny = snaps.x.size, snaps.y.size
        if box is not None:
            for name, n, d in (("x", nx, dx), ("y", ny, dy)):
                if abs(n * d - box.L) > 1e-6 * box.L:
                    raise ValueError(
                        f"snapshot grid spans {n * d:.6g} kpc in {name} but the box has L = {box.L:.6g} kpc"
                    )
        if snaps.planar:
            z0, dz, nz = 0.0, 1.0, 1
        else:
            nz = snaps.z.size
            z0 = float(snaps.z[0])
            dz = float(np.diff(snaps.z).mean()) if nz > 1 else 1.0
        return cls(
            phi=jnp.asarray(snaps.phi.reshape(snaps.n_t, nz, ny * nx)),
            x0=float(snaps.x[0]), y0=float(snaps.y[0]), z0=z0,
            dx=dx, dy=dy, dz=dz, dt_snap=snaps.dt, amplitude=float(amplitude),
            nx=nx, ny=ny, nz=nz, n_t=snaps.n_t,
            periodic_x=(x_boundary == "periodic"), vertical_forcing=bool(vertical_forcing),
        )

    @classmethod
    def from_file(cls, path, *, box=None, z_range=None, z_stride=1, **kwargs) -> "SnapshotForcing":
        """Read a snapshot file (:func:`read_potential_snapshots`) and build the forcing."""
        snaps = read_potential_snapshots(path, z_range=z_range, z_stride=z_stride)
        return cls.from_snapshots(snaps, box=box, **kwargs)

    @property
    def planar(self) -> bool:
        return self.nz == 1

    @property
    def loop_period(self) -> float:
        """``(n_t - 1) dt``, Myr."""
        return (self.n_t - 1) * float(self.dt_snap)

    def snapshot_index(self, j):
        """Index of the first snapshot bracketing interval ``j`` (looping rule)."""
        return jnp.mod(jnp.asarray(j, jnp.int32), self.n_t - 1)

    def forces(self, s):
        """Force grids ``-A grad phi`` of snapshot ``s``: ``[C, n_z * ny * nx]`` (C = 2 planar, 3 otherwise)."""
        phi = self.amplitude * jax.lax.dynamic_index_in_dim(self.phi, s, keepdims=False)
        phi = phi.reshape(self.nz, self.ny, self.nx)
        gy = _centred_periodic(phi, 1, self.dy)
        gx = _centred_periodic(phi, 2, self.dx) if self.periodic_x else _centred_one_sided(phi, 2, self.dx)
        chans = [-gx, -gy]
        if not self.planar:
            gz = _centred_one_sided(phi, 0, self.dz)
            chans.append(-gz if self.vertical_forcing else jnp.zeros_like(gz))
        return jnp.stack(chans).reshape(len(chans), self.nz * self.ny * self.nx)

    def _state(self, j):
        j = jnp.asarray(j, jnp.int32)
        s = self.snapshot_index(j)
        return SnapshotState(j=j, lo=self.forces(s), hi=self.forces(s + 1))

    def init(self, key):
        return self._state(0)

    def advance(self, state, j):
        j = jnp.asarray(j, jnp.int32)

        def step():
            s = self.snapshot_index(j)
            # Consecutive intervals share a snapshot, except across the loop reset.
            reuse = (j == state.j + 1) & (s != 0)
            lo = jax.lax.cond(reuse, lambda: state.hi, lambda: self.forces(s))
            return SnapshotState(j=j, lo=lo, hi=self.forces(s + 1))

        return jax.lax.cond(j == state.j, lambda: state, step)

    def acceleration(self, state, w, t, x, y, z):
        shape = jnp.shape(x)
        x = jnp.reshape(x, -1)
        y = jnp.reshape(y, -1)
        z = jnp.reshape(z, -1)
        if self.periodic_x:
            ix0, ix1, fx = _periodic_stencil(x, self.x0, self.dx, self.nx)
        else:
            ix0, ix1, fx = _clamped_stencil(x, self.x0, self.dx, self.nx)
        iy0, iy1, fy = _periodic_stencil(y, self.y0, self.dy, self.ny)
        cells = (iy0 * self.nx + ix0, iy0 * self.nx + ix1, iy1 * self.nx + ix0, iy1 * self.nx + ix1)
        weights = _bilinear_weights(fx, fy)
        if not self.planar:
            iz0, iz1, fz = _clamped_stencil(z, self.z0, self.dz, self.nz)
            plane = self.ny * self.nx
            cells = tuple(iz0 * plane + c for c in cells) + tuple(iz1 * plane + c for c in cells)
            weights = tuple(wt * (1 - fz) for wt in weights) + tuple(wt * fz for wt in weights)
        need = 2 if (self.planar or not self.vertical_forcing) else 3
        grid = state.lo[:need] + w * (state.hi[:need] - state.lo[:need])
        ax = _interp_channel(grid, 0, cells, weights)
        ay = _interp_channel(grid, 1, cells, weights)
        az = jnp.zeros_like(z) if need == 2 else _interp_channel(grid, 2, cells, weights)
        return ax.reshape(shape), ay.reshape(shape), az.reshape(shape)


def load_snapshot_forcing(path, *, box=None, amplitude=1.0, vertical_forcing=True, x_boundary="one-sided",
                          z_range=None, z_stride=1) -> SnapshotForcing:
    """Read a snapshot file and build its :class:`SnapshotForcing` (the run driver's entry point).

    Same as ``SnapshotForcing.from_file(path, box=box, ...)``; see there and
    :func:`read_potential_snapshots` for the arguments.
    """
    return SnapshotForcing.from_file(
        path, box=box, z_range=z_range, z_stride=z_stride, x_boundary=x_boundary,
        amplitude=amplitude, vertical_forcing=vertical_forcing,
    )
