"""The executor gives the same ordered results on every backend."""

import numpy as np
import pytest

from diskorbits import frames
from diskorbits.parallel import Executor, chunk_slices, map_chunks
from diskorbits.progress import NoProgress, RecordingProgress, as_progress


def _transform_chunk(chunk):
    # a real JAX workload: observed -> Galactocentric cylinder
    c = frames.observed_to_cylindrical(
        chunk["ra"], chunk["dec"], chunk["distance"], chunk["pmra"], chunk["pmdec"], chunk["rv"], sun=frames.FRANKEL2020
    )
    return {"R": np.asarray(c.R), "v_phi": np.asarray(c.v_phi), "index": chunk["index"]}


def _fail_on_three(x):
    if x == 3:
        raise RuntimeError("chunk 3 failed")
    return x


@pytest.fixture(scope="module")
def stars():
    rng = np.random.default_rng(5)
    n = 1003
    return {
        "ra": rng.uniform(0, 360, n),
        "dec": rng.uniform(-80, 80, n),
        "distance": rng.uniform(0.1, 5, n),
        "pmra": rng.normal(0, 10, n),
        "pmdec": rng.normal(0, 10, n),
        "rv": rng.normal(0, 50, n),
        "index": np.arange(n),
    }


@pytest.fixture(scope="module")
def serial_result(stars):
    return map_chunks(_transform_chunk, stars, chunk_size=100, executor=Executor(n_workers=1))


def test_serial_matches_unchunked(stars, serial_result):
    whole = _transform_chunk(stars)
    for k in whole:
        np.testing.assert_array_equal(serial_result[k], whole[k])


def test_local_processes_identical_and_ordered(stars, serial_result):
    rec = RecordingProgress()
    ex = Executor(n_workers=2, progress=rec)
    assert ex.backend == "processes"
    out = map_chunks(_transform_chunk, stars, chunk_size=100, executor=ex, description="frames")
    for k in serial_result:
        np.testing.assert_array_equal(out[k], serial_result[k])
    assert rec.events[0] == ("start", 11, "frames") and rec.done == 11 and rec.events[-1] == ("close",)


def test_dask_local_cluster_identical(stars, serial_result):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert isinstance(address, str)
        ex = Executor(scheduler=address, progress=RecordingProgress())
        assert ex.backend == "dask"
        out = map_chunks(_transform_chunk, stars, chunk_size=100, executor=ex)
        assert ex.progress.done == 11
        # identical chunks must not be deduplicated by Dask
        assert ex.map(len, [[1], [1], [1]]) == [1, 1, 1]
        with pytest.raises(RuntimeError, match="chunk 3 failed"):
            ex.map(_fail_on_three, [1, 2, 3, 4])
    for k in serial_result:
        np.testing.assert_array_equal(out[k], serial_result[k])


def test_errors_propagate_and_validation():
    with pytest.raises(RuntimeError, match="chunk 3 failed"):
        Executor(n_workers=1).map(_fail_on_three, [1, 2, 3])
    with pytest.raises(ValueError, match="n_workers must be >= 1"):
        Executor(n_workers=0)
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        chunk_slices(10, 0)
    with pytest.raises(ValueError, match="equal lengths"):
        map_chunks(len, {"a": np.zeros(3), "b": np.zeros(4)})
    with pytest.raises(TypeError, match="progress must be"):
        Executor(progress="yes")


def test_chunk_slices_cover_range():
    s = chunk_slices(10, 4)
    assert [(x.start, x.stop) for x in s] == [(0, 4), (4, 8), (8, 10)]
    assert chunk_slices(0, 4) == []
    assert isinstance(as_progress(None), NoProgress)
    assert Executor(n_workers=1).map(len, []) == []
