"""Test shim: make the modules named in EHRFEAT_TEST_BLOCK (comma-separated) unimportable, as if not installed.

Put this folder first on PYTHONPATH of a subprocess; ``sys.modules[name] = None`` makes
``import name`` raise ModuleNotFoundError (``name`` set) and ``importlib.util.find_spec(name)``
return None, exactly what a missing package does.
"""

from __future__ import annotations

import os
import sys

for _name in os.environ.get("EHRFEAT_TEST_BLOCK", "").split(","):
    if _name.strip():
        sys.modules[_name.strip()] = None  # type: ignore[assignment]
