"""Test shim: the modules named in EHRFEAT_TEST_BLOCK (comma-separated) import as if not installed.

Put this folder first on PYTHONPATH of a subprocess. A finder placed before all others
raises ``ModuleNotFoundError`` (with ``name`` set, as Python's own does) for a blocked
module and its submodules. Unlike ``sys.modules[name] = None``, nothing is left in
``sys.modules``, so libraries that peek there (scipy looks for ``torch``) behave as on a
machine without the package.
"""

from __future__ import annotations

import os
import sys

_BLOCKED = frozenset(n.strip() for n in os.environ.get("EHRFEAT_TEST_BLOCK", "").split(",") if n.strip())


class _Blocker:
    @staticmethod
    def find_spec(fullname: str, path: object = None, target: object = None) -> None:
        if fullname.split(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)


if _BLOCKED:
    sys.meta_path.insert(0, _Blocker())  # type: ignore[arg-type]
