"""Batching never changes what the linker finds: one note at a time and whole ``nlp.pipe`` batches agree."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import spacy

import ehrfeat.linking.component  # noqa: F401  (registers the factory without the entry point)
from ehrfeat.linking.component import MENTIONS_KEY
from ehrfeat.linking.context import FLAGS

NOTES = [
    "Patient with type 2 diabetes mellitus and essential hypertension, started metformin.",
    "Patient denies headache. No history of asthma. Mother had type 1 diabetes mellitus.",
    "Pt w/ T2DM, HTN, CKD stage 3; c/o SOB and asthma.",
    "",
    "Past medical history: heart failure, asthma.\nFamily history: essential hypertension.\nPE: headache.",
    "nothing to link here",
    "Known case of heart failure. Cephalgia, possible asthma. HIGH BLOOD PRESSURE noted.",
    "Asthma. Asthma. Asthma and headache; chronic kidney disease, stage 3.",
] * 3


class CallCounter:
    """Wraps an encoder and records the texts of each ``encode`` call."""

    def __init__(self, inner):  # type: ignore[no-untyped-def]
        self.inner = inner
        self.calls: list[list[str]] = []

    fingerprint = property(lambda self: self.inner.fingerprint)
    dim = property(lambda self: self.inner.dim)

    def encode(self, texts, batch_size=64, show_progress_bar=False, normalize_embeddings=True):  # type: ignore[no-untyped-def]
        self.calls.append(list(texts))
        return self.inner.encode(texts, batch_size=batch_size)


def _links(doc):  # type: ignore[no-untyped-def]
    """Everything the linker sets on a doc, scores rounded to 5 places (float noise of another batch shape)."""
    def codes(span):  # type: ignore[no-untyped-def]
        return [(c.system, c.code, c.description, round(c.score, 5)) for c in span._.ehrfeat_codes]

    def flags(span):  # type: ignore[no-untyped-def]
        return tuple(getattr(span._, name) for name in (*FLAGS.values(), "ehrfeat_section"))

    return (
        [(e.start_char, e.end_char, e.label_, e.text, codes(e), flags(e)) for e in doc.ents],
        [(s.start_char, s.end_char) for s in doc.spans.get(MENTIONS_KEY, [])],
        doc._.ehrfeat_unresolved_abbreviations,
    )


def _nlp(config: dict):  # type: ignore[no-untyped-def]
    nlp = spacy.blank("en")
    nlp.add_pipe("ehrfeat_linker", config=config)
    return nlp


@pytest.mark.parametrize("batch_size", [1, 4, 64])
def test_batches_link_exactly_like_one_note_at_a_time(linker_config, tiny_encoder, batch_size):
    one_by_one = _nlp(linker_config)
    single = [_links(one_by_one(text)) for text in NOTES]
    batched = _nlp(linker_config)
    counter = CallCounter(tiny_encoder)
    batched.get_pipe("ehrfeat_linker").set_encoder(counter)
    docs = list(batched.pipe(NOTES, batch_size=batch_size))
    assert [_links(doc) for doc in docs] == single
    assert sum(len(links[0]) for links in single) > 40  # the notes do link: codes, flags and abbreviations
    assert any(flag for links in single for *_, flags in links[0] for flag in flags[:-1])
    # one encoder call per batch that has new mention texts, each distinct text once in the whole run
    seen = [t for call in counter.calls for t in call]
    assert len(seen) == len(set(seen))
    assert len(counter.calls) <= -(-len(NOTES) // batch_size)
    if batch_size == 64:
        assert len(counter.calls) == 1


def test_two_processes_after_the_parent_encoded(linker_config):
    """Workers forked from a parent that has encoded must not free its encoder (that deadlocked)."""
    script = textwrap.dedent(
        f"""
        import time, spacy, ehrfeat.linking.component
        nlp = spacy.blank("en")
        nlp.add_pipe("ehrfeat_linker", config={linker_config!r})
        serial = [[(e.text, [c.code for c in e._.ehrfeat_codes]) for e in d.ents] for d in nlp.pipe({NOTES!r})]
        time.sleep(2)  # the parent's onnxruntime threads stop spinning and wait: what the fork inherits
        parallel = [[(e.text, [c.code for c in e._.ehrfeat_codes]) for e in d.ents]
                    for d in nlp.pipe({NOTES!r}, n_process=2, batch_size=4)]
        assert parallel == serial, (parallel, serial)
        print("linked", sum(map(len, parallel)))
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the workers too
        proc.communicate()
        pytest.fail("nlp.pipe(n_process=2) hung after the parent had encoded")
    assert proc.returncode == 0, err[-2000:]
    assert int(out.split()[-1]) > 40


def test_encoder_threads_block_when_idle_unless_asked_to_spin(tiny_onnx_model, monkeypatch):
    from ehrfeat.onnx.runtime import OnnxEncoder

    def spinning(encoder: OnnxEncoder) -> str:
        return encoder.session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")

    monkeypatch.delenv("EHRFEAT_ORT_SPINNING", raising=False)
    quiet = OnnxEncoder(tiny_onnx_model)
    monkeypatch.setenv("EHRFEAT_ORT_SPINNING", "1")
    spinner = OnnxEncoder(tiny_onnx_model)
    assert (spinning(quiet), spinning(spinner)) == ("0", "1")
    texts = ["type 2 diabetes mellitus", "asthma", "heart failure"]
    assert (quiet.encode(texts) == spinner.encode(texts)).all()  # the same vectors either way
