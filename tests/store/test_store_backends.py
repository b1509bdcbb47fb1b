"""Every schema kind has a backend that satisfies StoreBackend; skip reasons are one enum."""

from __future__ import annotations

import inspect

import pytest

from ehrfeat.errors import InputError
from ehrfeat.store import native, omop
from ehrfeat.store.backends import BACKENDS, StoreBackend, backend_for
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
