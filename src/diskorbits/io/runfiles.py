"""Opening the project's HDF5 run files (shearing-box runs, Langevin runs).

Every run file carries a ``format`` tag, the resolved configuration as TOML
(``config_toml``) and a ``complete`` flag; these helpers check them the same way
for every kind of run, so a wrong file or a changed configuration is refused with
the same clear message everywhere.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import h5py

__all__ = ["open_run_file", "check_resumable"]


@contextlib.contextmanager
def open_run_file(path: str | Path, fmt: str, kind: str) -> Iterator[h5py.File]:
    """Open a run file for reading after checking it exists and carries the ``fmt`` tag.

    ``kind`` names the file type in errors (e.g. ``"shearing-box"``).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"run file not found: {path}")
    with h5py.File(path, "r") as h:
        found = h.attrs.get("format", "")
        if found != fmt:
            raise ValueError(f"{path} is not a diskorbits {kind} run file (format {found!r})")
        yield h


def check_resumable(attrs, path: str | Path, config_toml: str) -> bool:
    """Refuse to resume a file written by another configuration; True if the stored run is complete.

    ``attrs``: the file's attributes (``h.attrs``, or a mapping with ``config_toml`` and ``complete``).
    """
    if str(attrs["config_toml"]) != config_toml:
        raise ValueError(
            f"{path} was written by a different configuration; refusing to resume "
            "(use a new output file or the same configuration)"
        )
    return bool(attrs["complete"])
