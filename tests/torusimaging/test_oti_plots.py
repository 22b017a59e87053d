"""Smoke tests of the OTI figures (PW2021 Figs. 5 and 6 style)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.patches import StepPatch

from diskorbits.plotting.torusimaging import (
    a2_zero_crossing,
    plot_coefficients_vs_mass,
    plot_deviation_vs_angle,
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _data(n=2000, a2=0.02, seed=0):
    rng = np.random.default_rng(seed)
    th = rng.uniform(0, 2 * np.pi, n)
    return th, a2 * np.cos(2 * th) + rng.normal(0, 0.03, n)


def test_deviation_single_fit():
    th, d = _data()
    fig = plot_deviation_vs_angle(th - np.pi, d, [0.0, 0.0, 0.0, 0.02, 0.0], n_bins=24)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.lines]
    assert "stars" in labels and "Fourier fit" in labels
    steps = [p for p in ax.patches if isinstance(p, StepPatch)]
    assert len(steps) == 1 and len(steps[0].get_data().values) == 24
    # binned means follow the injected cos 2 theta signal
    vals = steps[0].get_data().values
    assert vals[0] > 0.01 and vals[6] < -0.01


def test_deviation_bootstrap_fits_and_density():
    th, d = _data(n=30000)
    boot = np.zeros((16, 5))
    boot[:, 3] = 0.02 + np.linspace(-0.002, 0.002, 16)
    fig = plot_deviation_vs_angle(th, d, boot)
    ax = fig.axes[0]
    thin = [line for line in ax.lines if line.get_color() == "tab:blue"]
    red = [line for line in ax.lines if line.get_color() == "tab:red"]
    assert len(thin) == 16 and len(red) == 1
    assert any(isinstance(c, QuadMesh) for c in ax.collections)  # density above MAX_POINTS
    np.testing.assert_allclose(red[0].get_ydata()[0], 0.02)


def test_deviation_errors():
    with pytest.raises(ValueError, match="same length"):
        plot_deviation_vs_angle([0.0, 1.0], [0.0])
    with pytest.raises(ValueError, match="coefficients"):
        plot_deviation_vs_angle([0.0], [0.0], [1.0, 2.0])


def test_coefficients_vs_mass():
    x = np.linspace(0.6, 1.6, 11)
    coeffs = np.stack([np.zeros_like(x), 0.01 + 0 * x, -0.005 + 0 * x, -0.05 * (x - 1.1), 0 * x], axis=-1)
    errs = np.full_like(coeffs, 0.002)
    fig = plot_coefficients_vs_mass(x, coeffs, errs, truth=1.1)
    assert len(fig.axes) == 3
    a2_ax = fig.axes[2]
    red = [line for line in a2_ax.lines if line.get_color() == "tab:red" and line.get_marker() == "s"]
    assert len(red) == 1
    np.testing.assert_allclose(red[0].get_xdata()[0], 1.1, atol=1e-12)
    x0, sx = a2_zero_crossing(x, coeffs[:, 3], errs[:, 3])
    np.testing.assert_allclose([x0, sx], [1.1, 0.04], atol=1e-12)
    assert np.isnan(a2_zero_crossing(x, np.ones_like(x))[0])
    fig = plot_coefficients_vs_mass(x, {"a2": coeffs[:, 3], "b2": coeffs[:, 4]}, terms=("a2", "b2"))
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="unknown or missing coefficient 'b2'"):
        plot_coefficients_vs_mass(x, coeffs[:, :4], terms=("b2",))
