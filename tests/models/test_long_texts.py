"""Long code descriptions: the shipped model reads 64 tokens, every ICD-10-CM leaf keeps its own vector,
and embed-codes warns about truncation only for texts longer than that."""

from __future__ import annotations

import json
import logging
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ehrfeat.models import shipped_model_path
from tests.helpers import make_native_db

SHIPPED = shipped_model_path("hiprbert-mini")
shipped = pytest.mark.skipif(not (SHIPPED / "ehrfeat_onnx.json").is_file(), reason="this checkout ships no hiprbert-mini")


def _icd10cm_leaf_descriptions() -> list[str]:
    cm = pytest.importorskip("simple_icd_10_cm")
    return sorted({cm.get_description(c) for c in cm.get_all_codes(with_dots=True) if cm.is_leaf(c)})


def _tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(SHIPPED / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


@shipped
def test_shipped_max_length_covers_every_icd10cm_leaf_description() -> None:
    max_length = json.loads((SHIPPED / "ehrfeat_onnx.json").read_text())["max_length"]
    longest = max(len(e.ids) for e in _tokenizer().encode_batch(_icd10cm_leaf_descriptions()))
    assert max_length >= 64 and longest <= max_length, (max_length, longest)  # 45 word pieces with [CLS]/[SEP]


@shipped
@pytest.mark.slow
def test_no_two_distinct_icd10cm_leaf_descriptions_share_a_vector() -> None:
    """Distinct ICD-10-CM leaf descriptions get distinct vectors from the shipped model on the CPU.

    Embedding all ~74.7k leaf descriptions takes minutes on a 2-core CI machine (it was run
    by hand: 74,731 distinct descriptions, 74,731 distinct vectors), so this test embeds the
    ones that collided when the model read 25 tokens (every description sharing its first 25
    tokens with another: about 6,000 in 1,500 groups, found cheaply with the tokenizer), plus a
    random sample of 1,500 others.
    """
    from ehrfeat.models.loader import load_encoder

    descriptions = _icd10cm_leaf_descriptions()
    groups: dict[tuple[int, ...], list[str]] = defaultdict(list)
    for text, encoding in zip(descriptions, _tokenizer().encode_batch(descriptions), strict=True):
        groups[tuple(encoding.ids[:24])].append(text)  # [CLS] + 23 word pieces (+ [SEP]): what 25 tokens kept
    colliding = [t for g in groups.values() if len(g) > 1 for t in g]
    assert len(colliding) > 4000  # the long descriptions that shared a vector at max length 25
    rest = sorted(set(descriptions) - set(colliding))
    texts = colliding + random.Random(0).sample(rest, 1500)
    encoder = load_encoder("hiprbert-mini", device="cpu")
    vectors = encoder.encode(texts, batch_size=64)
    assert encoder.last_stats.truncated == 0
    assert len(np.unique(vectors, axis=0)) == len(texts)


@shipped
@pytest.mark.slow
def test_embed_codes_warns_only_about_texts_longer_than_the_model_takes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from ehrfeat.cli.main import app

    tokenizer = _tokenizer()
    medium = "Nondisplaced fracture of lateral condyle of right humerus, subsequent encounter for fracture with delayed healing, " * 2
    long = medium * 3
    n_medium, n_long = len(tokenizer.encode(medium).ids), len(tokenizer.encode(long).ids)
    assert 25 < n_medium <= 64 < n_long  # truncated at 25 before; only the long one exceeds 64
    db = make_native_db(
        tmp_path / "p.db",
        [(1, "2020-01-01", "LOCAL", "MEDIUM", None), (1, "2020-01-01", "LOCAL", "LONG", None), (2, "2020-01-01", "ICD10CM", "S42.451G", None)],
        [("LOCAL", "MEDIUM", medium), ("LOCAL", "LONG", long)],
    )
    with caplog.at_level(logging.WARNING, logger="ehrfeat.onnx.runtime"):
        result = CliRunner().invoke(app, ["embed-codes", str(db), "--model", "hiprbert-mini", "--no-progress"])
    assert result.exit_code == 0, result.output
    warnings = [r.getMessage() for r in caplog.records if "truncated" in r.getMessage()]
    assert warnings == ["1 of 3 texts were longer than 64 tokens and were truncated"], warnings
