"""The code keys of the SQLite database path: ``system<US>code`` texts that SQL packs, split, decoded and mapped in Arrow.

A key is ``code_system || char(31) || code`` when both are text, else
``char(1) || quote(system) || char(31) || quote(code)`` (SQL), or ``char(1)`` and the
Python ``repr`` of the pair (:func:`typed_key`, for rows read one by one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Known", "decode_key", "split_keys", "typed_key"]

US, RS = "\x1f", "\x1e"  # unit separator (system | code), record separator (row | row)


def split_keys(text: str | None, n: int) -> tuple[np.ndarray, Any] | None:
    """Row -> distinct key index, and the distinct keys (Arrow); ``None`` when a separator hides in a code."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if n == 0:
        return np.zeros(0, np.int64), pa.array([], pa.large_string())
    parts = pc.split_pattern(pa.array([text or ""], pa.large_string()), RS).flatten()
    if len(parts) != n:
        return None
    encoded = pc.dictionary_encode(parts)
    keys = encoded.dictionary
    if len(keys) and not pc.all(pc.equal(pc.count_substring(keys, US), 1)).as_py():
        return None
    return np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.int64), keys


class Known:
    """The keys seen so far and their columns: a range's distinct keys are looked up in C, only new ones in Python."""

    def __init__(self) -> None:
        import pyarrow as pa

        self.keys = pa.array([], pa.large_string())
        self.columns = np.zeros(0, np.int64)

    def lookup(self, keys: Any, column: Callable[[str], int]) -> np.ndarray:
        import pyarrow as pa
        import pyarrow.compute as pc

        at = pc.index_in(keys, value_set=self.keys).to_numpy(zero_copy_only=False)
        new = np.flatnonzero(np.isnan(at)) if at.dtype.kind == "f" else np.zeros(0, np.int64)
        if len(new):
            fresh = keys.take(pa.array(new)).to_pylist()
            self.keys = pa.concat_arrays([self.keys, pa.array(fresh, pa.large_string())])
            self.columns = np.concatenate([self.columns, np.fromiter((column(k) for k in fresh), np.int64, len(fresh))])
            at = pc.index_in(keys, value_set=self.keys).to_numpy(zero_copy_only=False)
        return self.columns[np.asarray(at, np.int64)] if len(keys) else np.zeros(0, np.int64)


def typed_key(system: object, code: object) -> str:
    if isinstance(system, str) and isinstance(code, str) and US not in system + code and RS not in system + code:
        return system + US + code
    return "\x01" + repr((system, code))


def decode_key(key: str) -> tuple[object, object]:
    """The raw (system, code) of a key that :data:`_KEY` (or :func:`typed_key`) made."""
    if not key.startswith("\x01"):
        system, code = key.split(US)
        return system, code
    if key.startswith("\x01("):  # typed_key
        import ast

        pair = ast.literal_eval(key[1:])
        return pair[0], pair[1]
    return tuple(_unquote(part) for part in key[1:].split(US, 1))  # type: ignore[return-value]


def _unquote(text: str) -> object:
    """The value that SQLite's ``quote()`` printed as ``text``."""
    if text == "NULL":
        return None
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text.startswith(("X'", "x'")):
        return bytes.fromhex(text[2:-1])
    try:
        return int(text)
    except ValueError:
        return float(text)
