"""Catalogue and table input/output.

- :mod:`.columns`: column schemas for Gaia, APOGEE DR17 and Galactocentric
  tables, and user column mappings;
- :mod:`.catalogues`: readers into a :class:`Catalogue` with per-star flags;
- :mod:`.writers`: atomic writers for FITS, CSV, ECSV and Parquet;
- :mod:`.atomic`: the atomic-write primitive every result file goes through;
- :mod:`.runfiles`: opening HDF5 run files (format tag, resume guard).
"""

from .catalogues import (
    FLAG_BAD_PARALLAX,
    FLAG_MISSING,
    FLAG_OK,
    Catalogue,
    catalogue_from_table,
    read_catalogue,
    read_table,
    table_format,
)
from .columns import SCHEMAS, ColumnMapping, Schema, read_column_mapping
from .writers import write_table

__all__ = [
    "FLAG_OK",
    "FLAG_MISSING",
    "FLAG_BAD_PARALLAX",
    "Catalogue",
    "ColumnMapping",
    "Schema",
    "SCHEMAS",
    "catalogue_from_table",
    "read_catalogue",
    "read_column_mapping",
    "read_table",
    "table_format",
    "write_table",
]
