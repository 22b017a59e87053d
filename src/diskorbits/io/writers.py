"""Atomic table writers (FITS, CSV, ECSV, Parquet) that keep units.

Every writer goes to a temporary file in the destination directory and then
``os.replace``-s it onto the target, so a crash or a full disk never leaves a
half-written catalogue under the final name (``os.replace`` is atomic on a
single file system).

Units travel in each format's own metadata: FITS ``TUNITn``, the ECSV YAML
header, Parquet field metadata (see :mod:`.parquet`). Plain CSV has no place
for them, so ``.csv`` files are written as ECSV with a comma delimiter: still a
comma-separated file with ``#`` comment lines (``pandas.read_csv(...,
comment='#')`` reads it), and :func:`diskorbits.io.read_table` recovers the units.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from astropy.table import Table

from .atomic import atomic_path
from .catalogues import table_format
from .parquet import write_parquet

__all__ = ["write_table"]


def write_table(table: Table, path: str | Path, *, format: str | None = None, overwrite: bool = False) -> Path:
    """Write ``table`` to ``path`` atomically.

    Parameters
    ----------
    table : astropy.table.Table
        Columns with units keep them in the file.
    path : str or Path
        Destination; the format follows the extension (``.fits``, ``.csv``,
        ``.ecsv``, ``.parquet``) unless ``format`` is given.
    format : str, optional
        ``'fits'``, ``'csv'``, ``'ascii.ecsv'`` or ``'parquet'``.
    overwrite : bool
        Replace an existing file (default: refuse).

    Returns
    -------
    Path
        The written path.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    ValueError
        For an unknown extension.
    """
    path = Path(path)
    fmt = format or table_format(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"output file {str(path)!r} exists; pass overwrite=True (CLI: --overwrite)")
    kwargs = {}
    if fmt == "csv":
        fmt, kwargs = "ascii.ecsv", {"delimiter": ","}
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            write_parquet(table, tmp)
        else:
            with warnings.catch_warnings():
                # long metadata keys become FITS HIERARCH cards; that is fine
                warnings.filterwarnings("ignore", message=".*HIERARCH card.*")
                table.write(tmp, format=fmt, overwrite=True, **kwargs)
    return path
