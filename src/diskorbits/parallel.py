"""One executor for fanning catalogue work out over chunks.

:class:`Executor` maps a function over a sequence of chunks and returns the
results *in input order*, whichever backend ran them:

- ``n_workers=1``: in this process, one chunk after another (debuggable,
  no pickling);
- ``n_workers>1`` (default: all cores): local worker processes through
  :class:`concurrent.futures.ProcessPoolExecutor` started with the ``spawn``
  method -- JAX keeps threads and device state that a ``fork`` would copy
  into an inconsistent child;
- ``scheduler="tcp://host:8786"``: an existing Dask cluster via
  ``distributed.Client(address)``; ``n_workers`` is then ignored.

The mapped function and the chunks must be picklable (a module-level
function and NumPy arrays are). :func:`map_chunks` splits dictionaries of
arrays into chunks and concatenates what comes back.

>>> ex = Executor(n_workers=1)
>>> ex.map(sum, [[1, 2], [3, 4]])
[3, 7]
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing
import os
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .progress import AbstractProgress, as_progress

__all__ = ["Executor", "chunk_slices", "map_chunks", "default_workers"]


def default_workers() -> int:
    """Cores this process may use (respects CPU affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclasses.dataclass(frozen=True)
class Executor:
    """Map a function over chunks locally or on a Dask cluster.

    Parameters
    ----------
    n_workers : int, optional
        Local worker processes; default :func:`default_workers`. 1 runs serially in-process.
    scheduler : str, optional
        Address of a Dask scheduler (e.g. ``"tcp://127.0.0.1:8786"``).
    progress : bool or AbstractProgress, optional
        Progress reporting per finished chunk; silent by default.

    Raises
    ------
    ValueError
        If ``n_workers < 1``.
    """

    n_workers: int | None = None
    scheduler: str | None = None
    progress: Any = None

    def __post_init__(self):
        if self.n_workers is not None and int(self.n_workers) < 1:
            raise ValueError(f"n_workers must be >= 1; got {self.n_workers!r}")
        as_progress(self.progress)  # validate early

    @property
    def backend(self) -> str:
        """``'dask'``, ``'serial'`` or ``'processes'``."""
        if self.scheduler:
            return "dask"
        return "serial" if self.workers == 1 else "processes"

    @property
    def workers(self) -> int:
        return int(self.n_workers) if self.n_workers is not None else default_workers()

    def map(self, fn: Callable, chunks: Sequence, *, description: str = "") -> list:
        """``[fn(c) for c in chunks]``, computed by the chosen backend, in input order.

        An exception in any chunk is re-raised here after the remaining work is cancelled.
        """
        chunks = list(chunks)
        progress: AbstractProgress = as_progress(self.progress)
        with progress:
            progress.start(len(chunks), description)
            if not chunks:
                return []
            # one chunk: spawning a process would only add start-up and compile time
            if self.backend == "serial" or (self.backend == "processes" and len(chunks) == 1):
                out = []
                for c in chunks:
                    out.append(fn(c))
                    progress.advance(1)
                return out
            if self.backend == "dask":
                return self._map_dask(fn, chunks, progress)
            return self._map_processes(fn, chunks, progress)

    def _map_processes(self, fn, chunks, progress):
        ctx = multiprocessing.get_context("spawn")
        results: list = [None] * len(chunks)
        with cf.ProcessPoolExecutor(max_workers=min(self.workers, len(chunks)), mp_context=ctx) as pool:
            futures = {pool.submit(fn, c): i for i, c in enumerate(chunks)}
            try:
                for fut in cf.as_completed(futures):
                    results[futures[fut]] = fut.result()
                    progress.advance(1)
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
        return results

    def _map_dask(self, fn, chunks, progress):
        try:
            from distributed import Client, as_completed
        except ImportError as exc:  # pragma: no cover - dependency is declared
            raise ImportError("a Dask scheduler was given but 'distributed' is not installed") from exc
        results: list = [None] * len(chunks)
        with Client(self.scheduler) as client:
            # pure=False: identical chunks must still each produce a result
            futures = client.map(fn, chunks, pure=False)
            index = {f.key: i for i, f in enumerate(futures)}
            try:
                for fut in as_completed(futures):
                    results[index[fut.key]] = fut.result()
                    progress.advance(1)
            except BaseException:
                client.cancel(futures)
                raise
        return results


def chunk_slices(n: int, chunk_size: int) -> list[slice]:
    """Consecutive slices covering ``range(n)`` in pieces of at most ``chunk_size``."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1; got {chunk_size!r}")
    return [slice(i, min(i + chunk_size, n)) for i in range(0, n, chunk_size)]


def map_chunks(
    fn: Callable[[Mapping[str, np.ndarray]], Mapping[str, np.ndarray]],
    arrays: Mapping[str, np.ndarray],
    *,
    chunk_size: int = 10_000,
    executor: Executor | None = None,
    description: str = "",
) -> dict[str, np.ndarray]:
    """Apply ``fn`` to row-chunks of a dict of equal-length arrays and concatenate.

    Parameters
    ----------
    fn : callable
        Takes a dict of 1-D arrays (one chunk of rows), returns a dict of
        arrays with the same number of rows. Must be picklable for process
        and Dask backends.
    arrays : mapping of str -> array_like
        Equal-length columns.
    chunk_size : int
        Rows per chunk.
    executor : Executor, optional
        Default: serial, silent.

    Returns
    -------
    dict of numpy.ndarray
        Each output column concatenated over chunks, in input row order.
    """
    cols = {k: np.asarray(v) for k, v in arrays.items()}
    lengths = {k: len(v) for k, v in cols.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"arrays must have equal lengths; got {lengths}")
    n = next(iter(lengths.values()), 0)
    chunks = [{k: v[s] for k, v in cols.items()} for s in chunk_slices(n, chunk_size)]
    executor = executor or Executor(n_workers=1)
    parts = executor.map(fn, chunks, description=description)
    if not parts:
        return {}
    return {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}
