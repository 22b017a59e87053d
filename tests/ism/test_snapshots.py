"""Gridded potential snapshots: file round trips, validation, finite-difference kicks and looping
(Modak et al. 2026, App. B.2), and agreement with the mock field they were written from."""

import json

import equinox as eqx
import h5py
import jax.numpy as jnp
import numpy as np
import pytest

from diskorbits import units
from diskorbits.ism import (
    PotentialSnapshots,
    SnapshotForcing,
    ism_preset,
    load_snapshot_forcing,
    make_mock_field,
    read_potential_snapshots,
    write_potential_snapshots,
)
from diskorbits.shearingbox.box import box_preset

BOX = box_preset("R8")


@eqx.filter_jit
def _acc(forcing, state, w, x, y, z):
    return forcing.acceleration(state, w, 0.0, x, y, z)


@eqx.filter_jit
def _adv(forcing, state, j):
    return forcing.advance(state, j)


def _grid(n, L=1.024):
    return -L / 2 + (np.arange(n) + 0.5) * L / n


def _snaps(n_t=4, nz=None, n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = _grid(n)
    z = None if nz is None else np.linspace(-0.2, 0.2, nz)
    shape = (n_t, n, n) if nz is None else (n_t, nz, n, n)
    return PotentialSnapshots(phi=rng.normal(size=shape) * 1e-3, x=x, y=x, z=z, dt=1.0, t0=250.0)


# ----------------------------------------------------------------------------- files


@pytest.mark.parametrize("suffix", [".h5", ".npz"])
@pytest.mark.parametrize("nz", [None, 5], ids=["midplane", "3d"])
def test_round_trip(tmp_path, suffix, nz):
    s = _snaps(nz=nz).subtract_planar_mean()
    path = write_potential_snapshots(tmp_path / f"phi{suffix}", s)
    back = read_potential_snapshots(path)
    np.testing.assert_allclose(back.phi, s.phi, rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(back.x, s.x, rtol=1e-12)
    assert back.dt == pytest.approx(1.0) and back.t0 == pytest.approx(250.0)
    assert (back.z is None) == (nz is None)
    # Written in the documented default file units (pc, Myr, (km/s)^2).
    if suffix == ".h5":
        with h5py.File(path) as f:
            assert json.loads(f.attrs["units"])["length"] == "pc"
            assert f["x"][0] == pytest.approx(s.x[0] * 1e3)
            assert f["phi"][()].max() == pytest.approx(s.phi.max() / units.KMS**2)


def test_units_and_mean_subtraction(tmp_path):
    """A file in kpc and (kpc/Myr)^2 with a planar offset reads back in internal units, offset removed."""
    x = _grid(8)
    phi = np.zeros((3, 8, 8)) + np.cos(2 * np.pi * x / 1.024)[None, None, :] + 5.0
    np.savez(tmp_path / "a.npz", phi=phi, x=x, y=x, dt=2.0,
             units=json.dumps({"length": "kpc", "potential": "kpc2 / Myr2"}))
    s = read_potential_snapshots(tmp_path / "a.npz")
    assert s.dt == 2.0 and s.x[0] == pytest.approx(x[0])
    np.testing.assert_allclose(s.phi[0, 0], phi[0] - 5.0, atol=1e-12)


def test_validation_messages(tmp_path):
    x = _grid(8)
    good = dict(phi=np.zeros((3, 8, 8)), x=x, y=x, t=np.arange(3.0))
    cases = [
        ({k: v for k, v in good.items() if k != "phi"}, "missing dataset.*phi"),
        ({**good, "x": x**3}, "not uniformly spaced"),
        ({**good, "phi": np.zeros((3, 8, 9))}, r"shape \(3, 1, 8, 9\).*\(3, 1, 8, 8\)"),
        ({**good, "phi": np.where(np.arange(8) == 3, np.nan, 0.0) * np.ones((3, 8, 8))}, "NaN"),
        ({k: v for k, v in good.items() if k != "t"}, "'t' or an interval 'dt'"),
        ({**good, "phi": np.zeros((3, 2, 8, 8))}, "no 'z' dataset"),
        ({**good, "units": json.dumps({"length": "Myr"})}, "not a valid length unit"),
        ({**good, "units": "pc"}, "JSON object"),
    ]
    for i, (data, msg) in enumerate(cases):
        path = tmp_path / f"bad{i}.npz"
        np.savez(path, **data)
        with pytest.raises(ValueError, match=msg):
            read_potential_snapshots(path)
    (tmp_path / "phi.txt").write_text("not a snapshot file")
    with pytest.raises(ValueError, match="file type"):
        read_potential_snapshots(tmp_path / "phi.txt")
    with pytest.raises(ValueError, match="spans"):
        SnapshotForcing.from_snapshots(_snaps(n=16), box=box_preset("LGR4"))


# ----------------------------------------------------------------------------- kicks


def test_centred_differences_of_a_plane_wave():
    """Eq. B8 on a periodic grid: the kick of cos(k.x) is exact up to the factor sin(k dx)/(k dx)."""
    n, L = 16, 1.024
    x = _grid(n, L)
    kx, ky = 2 * np.pi / L * 2, 2 * np.pi / L * 3
    X, Y = np.meshgrid(x, x)
    phi = np.cos(kx * X + ky * Y)[None].repeat(2, 0)
    f = SnapshotForcing.from_snapshots(PotentialSnapshots(phi=phi, x=x, y=x, z=None, dt=1.0), x_boundary="periodic")
    ax, ay, az = _acc(f, f.init(None), 0.0, jnp.asarray(X.ravel()), jnp.asarray(Y.ravel()), jnp.zeros(n * n))
    dx = L / n
    s = np.sin(kx * X + ky * Y).ravel()
    np.testing.assert_allclose(np.asarray(ax), kx * s * np.sin(kx * dx) / (kx * dx), atol=1e-12)
    np.testing.assert_allclose(np.asarray(ay), ky * s * np.sin(ky * dx) / (ky * dx), atol=1e-12)
    assert np.all(np.asarray(az) == 0)


def test_one_sided_x_boundaries_and_trilinear_z():
    """Eq. B9: second-order one-sided differences at the x edges are exact for a quadratic, as is the
    centred z difference; trilinear interpolation then reproduces the linear force field."""
    n, L = 16, 1.024
    x = _grid(n, L)
    z = np.linspace(-0.3, 0.3, 7)
    Z, Y, X = np.meshgrid(z, x, x, indexing="ij")
    phi = (0.5 * X**2 + 0.25 * Z**2 + 0.1 * X * Z)[None].repeat(2, 0)
    f = SnapshotForcing.from_snapshots(PotentialSnapshots(phi=phi, x=x, y=x, z=z, dt=1.0))
    rng = np.random.default_rng(1)
    xs = rng.uniform(x[0], x[-1], 300)
    zs = rng.uniform(-0.3, 0.3, 300)
    ax, ay, az = _acc(f, f.init(None), 0.5, jnp.asarray(xs), jnp.asarray(rng.uniform(-0.5, 0.5, 300)), jnp.asarray(zs))
    np.testing.assert_allclose(np.asarray(ax), -(xs + 0.1 * zs), atol=1e-12)
    # 0.25 z^2 is a planar mean (the mean gas potential), removed on reading: only 0.1 x z acts.
    np.testing.assert_allclose(np.asarray(az), -0.1 * xs, atol=1e-12)
    np.testing.assert_allclose(np.asarray(ay), 0.0, atol=1e-12)
    nogz = SnapshotForcing.from_snapshots(PotentialSnapshots(phi=phi, x=x, y=x, z=z, dt=1.0), vertical_forcing=False)
    assert np.all(np.asarray(_acc(nogz, nogz.init(None), 0.5, jnp.asarray(xs), jnp.zeros(300), jnp.asarray(zs))[2]) == 0)


def test_looping_rule_and_time_interpolation():
    """Interval j uses snapshots s = j mod (n_t - 1) and s + 1, linearly (Eq. B7); after the last
    snapshot the run restarts at the first without interpolating last -> first."""
    n, L = 8, 1.024
    x = _grid(n, L)
    X, Y = np.meshgrid(x, x)
    amps = np.array([1.0, 2.0, 3.0, 4.0])
    phi = amps[:, None, None] * np.cos(2 * np.pi * X / L)[None]
    f = SnapshotForcing.from_snapshots(PotentialSnapshots(phi=phi, x=x, y=x, z=None, dt=1.0), x_boundary="periodic")
    assert f.loop_period == 3.0
    xs = jnp.array([x[2]])
    unit = float(_acc(f, f.init(None), 0.0, xs, xs, xs)[0][0]) / amps[0]

    def ax(j, w):
        st = _adv(f, _adv(f, f.init(None), jnp.int32(j - 1)), jnp.int32(j)) if j > 0 else f.init(None)
        return float(_acc(f, st, jnp.asarray(w), xs, xs, xs)[0][0]) / unit

    assert ax(1, 0.25) == pytest.approx(2.25)
    assert ax(2, 1.0) == pytest.approx(4.0)  # end of the loop: last snapshot
    assert ax(3, 0.0) == pytest.approx(1.0)  # jumps back to the first
    assert ax(3, 0.5) == pytest.approx(1.5)
    assert ax(7, 0.5) == pytest.approx(2.5)  # 7 mod 3 = 1
    s0 = f.init(None)
    again = f.advance(s0, 0)
    assert np.array_equal(np.asarray(again.lo), np.asarray(s0.lo))
    assert np.array_equal(np.asarray(again.hi), np.asarray(s0.hi))


# ----------------------------------------------------------------------------- mock -> file -> forcing


def test_snapshot_forcing_reproduces_mock_field(tmp_path):
    """A mock field written to a file and read back kicks stars the same way, up to the
    finite-difference and interpolation errors (k_max keeps the field resolved)."""
    model = ism_preset("R8")
    mock = make_mock_field(BOX, model, key=21, window=400.0, grid_spacing=0.032, k_max=12.0)
    z = np.linspace(-0.1, 0.1, 21)
    path = write_potential_snapshots(tmp_path / "mock.h5", mock.to_snapshots(5, z=z))
    snap = load_snapshot_forcing(path, box=BOX, x_boundary="periodic")
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.uniform(-0.512, 0.512, 400))
    y = jnp.asarray(rng.uniform(-0.512, 0.512, 400))
    zs = jnp.asarray(rng.uniform(-0.09, 0.09, 400))
    sm, ss = mock.init(None), snap.init(None)
    for j in range(4):
        sm, ss = mock.advance(sm, j), snap.advance(ss, j)
        for w in (0.0, 0.6):
            am, as_ = _acc(mock, sm, w, x, y, zs), _acc(snap, ss, w, x, y, zs)
            scale = max(float(jnp.std(am[0])), float(jnp.std(am[1])))
            for p, q in zip(am[:2], as_[:2]):
                assert float(jnp.sqrt(jnp.mean((p - q) ** 2))) < 0.015 * scale
            # Vertical forces are small near the plane but must agree too.
            assert float(jnp.sqrt(jnp.mean((am[2] - as_[2]) ** 2))) < 0.015 * float(jnp.std(am[2]))
