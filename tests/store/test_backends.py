"""Every schema kind has a backend that satisfies StoreBackend; databases and MEDS folders are PatientStores;
skip reasons are one enum."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from ehrfeat.errors import InputError
from ehrfeat.store import native, omop
from ehrfeat.store.backends import BACKENDS, PatientStore, StoreBackend, backend_for
from ehrfeat.store.records import SkipCollector, SkipReason
from ehrfeat.store.schema import PatientSchema

PROTOCOL_METHODS = ("code_groups", "patient_refs", "code_texts", "iter_chunks", "patient_ids")


def test_each_kind_reads_with_its_backend() -> None:
    assert backend_for(PatientSchema("omop")) is omop
    assert backend_for(PatientSchema("native")) is native
    assert set(BACKENDS) == {"omop", "native"}


@pytest.mark.parametrize("kind", sorted(BACKENDS))
def test_backends_have_the_protocol_s_functions_with_its_parameters(kind: str) -> None:
    backend = BACKENDS[kind]
    for name in PROTOCOL_METHODS:
        wanted = list(inspect.signature(getattr(StoreBackend, name)).parameters)[1:]  # without self
        assert list(inspect.signature(getattr(backend, name)).parameters) == wanted, (kind, name)


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(InputError, match="E128"):
        backend_for(PatientSchema("meds-on-tape"))


def test_skip_reasons_keep_the_texts_reports_show() -> None:
    skips = SkipCollector()
    skips.add(SkipReason.MALFORMED_CODE.rows, 2, "ICD10CM:XX")
    skips.add(SkipReason.NULL_PATIENT.rows, 1)
    report = skips.report()
    assert dict(report.counts) == {"malformed code (rows)": 2, "null patient_id (rows)": 1}
    assert dict(report.examples) == {"malformed code (rows)": ("ICD10CM:XX",)}
    assert SkipReason.UNMAPPED.rows_of("SOURCE_TEXT") == "unmapped concept (source value only): SOURCE_TEXT (rows)"


def test_a_database_and_a_meds_folder_are_both_patient_stores(tmp_path: Path) -> None:
    """The same events as a native database and as a MEDS folder: same patients, every row read in batches."""
    from ehrfeat.store.database import open_database
    from ehrfeat.store.events import EventReadReport, SqlStore
    from ehrfeat.store.meds.dataset import MedsReadReport, open_meds
    from ehrfeat.store.schema import detect_schema
    from tests.helpers import make_native_db
    from tests.meds_data import EVENTS, write_events

    db = make_native_db(tmp_path / "p.db", [(s, t[:10], "ICD10CM", "I10", None) for s, t, _ in EVENTS])
    engine = open_database(db)
    sql = SqlStore(engine, detect_schema(engine))
    meds = open_meds(write_events(tmp_path / "meds"))
    reports = {"sql": EventReadReport(), "meds": MedsReadReport()}
    for name, store in (("sql", sql), ("meds", meds)):
        assert isinstance(store, PatientStore)
        assert store.patient_ids().tolist() == [1, 2, 3]
        assert sum(len(batch) for batch in store.iter_batches(reports[name], batch_size=3)) == len(EVENTS)
    assert reports["meds"].rows_read == len(EVENTS) and reports["meds"].shards == 2
