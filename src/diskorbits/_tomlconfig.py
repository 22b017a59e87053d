"""Shared pieces of the TOML run configurations (``shearingbox``, ``diffusion``).

:class:`ConfigError` and the validators name the offending ``table.key``, so a
typo never falls back silently to a default; :func:`read_toml` accepts a path,
TOML text or a ready dict the same way everywhere.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["ConfigError", "read_toml", "dump_toml"]


class ConfigError(ValueError):
    """A configuration value is missing, misspelt, of the wrong type or out of range."""


def _number(table: str, key: str, value: Any, *, lo=None, hi=None, lo_open=False, integer=False):
    where = f"{table}.{key}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where} must be a number; got {value!r}")
    if integer and not float(value).is_integer():
        raise ConfigError(f"{where} must be an integer; got {value!r}")
    if not math.isfinite(float(value)):
        raise ConfigError(f"{where} must be finite; got {value!r}")
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise ConfigError(f"{where} must be {'>' if lo_open else '>='} {lo}; got {value!r}")
    if hi is not None and value > hi:
        raise ConfigError(f"{where} must be <= {hi}; got {value!r}")
    return int(value) if integer else float(value)


def _choice(table: str, key: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise ConfigError(f"{table}.{key} must be one of {', '.join(choices)}; got {value!r}")
    return value.lower()


def _bool(table: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{table}.{key} must be true or false; got {value!r}")
    return value


def _check_keys(table: str, given: dict, allowed) -> None:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ConfigError(
            f"unknown key(s) in [{table}]: {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def read_toml(source: str | Path | dict) -> tuple[dict, Path | None]:
    """``(document, base_dir)`` from a dict, a ``.toml`` path or TOML text.

    ``base_dir`` is the file's folder (relative paths inside resolve against it), else None.

    Raises
    ------
    FileNotFoundError
        If a path is given and does not exist.
    ConfigError
        If the text is not valid TOML.
    """
    if isinstance(source, dict):
        return source, None
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and source.endswith(".toml")):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"configuration file not found: {path}")
        try:
            return tomllib.loads(path.read_text()), path.parent
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return tomllib.loads(str(source)), None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from None


def dump_toml(doc: dict) -> str:
    """TOML text of a resolved configuration: an optional top-level ``name``, then one table per
    entry of scalars or lists of scalars (the inverse of :func:`read_toml` for our configurations)."""
    d = dict(doc)
    lines = []
    if "name" in d:
        lines += [f"name = {_toml_value(d.pop('name'))}", ""]
    for table, values in d.items():
        lines.append(f"[{table}]")
        for k, v in values.items():
            val = "[" + ", ".join(_toml_value(x) for x in v) + "]" if isinstance(v, (list, tuple)) else _toml_value(v)
            lines.append(f"{k} = {val}")
        lines.append("")
    return "\n".join(lines)
