"""Parquet <-> astropy Table through pyarrow alone.

astropy's own Parquet reader needs pandas; these two functions need only
pyarrow. Units are stored per field (``unit`` in the field metadata), the
table's ``meta`` as JSON under the schema key ``diskorbits_meta``; masked
entries become Parquet nulls and come back masked. Files written by astropy
(units in its ``table_meta_yaml`` key) are read with their units as well.
"""

from __future__ import annotations

import json

import astropy.units as u
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from astropy.table import MaskedColumn, Table

__all__ = ["read_parquet", "write_parquet"]

_META_KEY = b"diskorbits_meta"
_UNIT_KEY = b"unit"


def _jsonable(meta: dict) -> dict:
    out = {}
    for k, v in meta.items():
        try:
            json.dumps(v)
        except TypeError:
            v = str(v)
        out[str(k)] = v
    return out


def write_parquet(table: Table, path) -> None:
    """Write ``table`` to ``path`` (not atomic by itself; see :func:`~diskorbits.io.write_table`)."""
    arrays, fields = [], []
    for name in table.colnames:
        col = table[name]
        data = np.asarray(col)
        if data.dtype.kind in "biuf" and not data.dtype.isnative:
            data = data.astype(data.dtype.newbyteorder("="))  # FITS is big-endian; Arrow wants native
        mask = np.asarray(col.mask) if hasattr(col, "mask") and col.mask is not None else None
        if data.dtype.kind == "S":
            data = np.char.decode(data, "utf-8")
        if data.ndim > 1:
            # per-star vectors (e.g. APOGEE X_H) become fixed-size lists; masks are dropped
            flat = pa.array(data.reshape(len(data), -1).ravel())
            arr = pa.FixedSizeListArray.from_arrays(flat, int(np.prod(data.shape[1:])))
            meta_shape = {b"shape": json.dumps(list(data.shape[1:])).encode()}
        else:
            arr = pa.array(data, mask=mask if mask is not None and mask.any() else None)
            meta_shape = {}
        meta = {_UNIT_KEY: col.unit.to_string().encode()} if col.unit is not None else {}
        meta = {**meta, **meta_shape} or None
        arrays.append(arr)
        fields.append(pa.field(name, arr.type, metadata=meta))
    schema = pa.schema(fields, metadata={_META_KEY: json.dumps(_jsonable(dict(table.meta))).encode()})
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), path)


def _astropy_units(schema_meta: dict) -> dict:
    # files written by astropy keep an ECSV-style YAML header here
    raw = schema_meta.get(b"table_meta_yaml")
    if raw is None:
        return {}
    from astropy.table import meta as table_meta

    try:
        header = table_meta.get_header_from_yaml(raw.decode().splitlines())
    except Exception:  # a foreign or damaged header only costs us the units
        return {}
    return {c["name"]: c["unit"] for c in header.get("datatype", []) if c.get("unit")}


def read_parquet(path) -> Table:
    """Read a Parquet file into an astropy Table with units and masks."""
    ptable = pq.read_table(path)
    schema_meta = ptable.schema.metadata or {}
    fallback_units = _astropy_units(schema_meta)
    out = Table()
    for field, column in zip(ptable.schema, ptable.columns):
        unit = None
        if field.metadata and _UNIT_KEY in field.metadata:
            unit = field.metadata[_UNIT_KEY].decode()
        elif field.name in fallback_units:
            unit = fallback_units[field.name]
        chunk = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        mask = np.asarray(chunk.is_null())
        if pa.types.is_fixed_size_list(chunk.type):
            shape = json.loads(field.metadata[b"shape"]) if field.metadata and b"shape" in field.metadata else [-1]
            data = chunk.flatten().to_numpy(zero_copy_only=False).reshape([len(chunk), *shape])
            mask = np.zeros(len(chunk), dtype=bool)
        elif pa.types.is_floating(chunk.type) or pa.types.is_integer(chunk.type):
            data = chunk.fill_null(0).to_numpy(zero_copy_only=False)
        else:
            data = np.asarray(chunk.fill_null("").to_pylist() if pa.types.is_string(chunk.type) else chunk.to_pylist())
        unit = u.Unit(unit, parse_strict="silent") if unit else None
        out[field.name] = MaskedColumn(data, mask=mask, unit=unit) if mask.any() else data
        if unit is not None and not mask.any():
            out[field.name].unit = unit
    if _META_KEY in schema_meta:
        out.meta.update(json.loads(schema_meta[_META_KEY].decode()))
    return out
