"""Scoring the linker on annotated clinical sentences: mentions, codes and context flags.

The annotation format is one sentence a line, ``|``-separated::

    domain|text|mention=CODE:flags;mention=CODE:flags

``domain`` is ``discharge``, ``radiology``, ``endoscopy`` or ``progress``; ``\\n`` in
the text is a line break; each gold mention is its exact text (found left to right),
its ICD-10-CM code and its flags, letters of ``n`` (negated), ``h`` (historical),
``y`` (hypothetical), ``u`` (uncertain) and ``f`` (family member). Lines starting
with ``#`` are comments.

:func:`score` runs a spaCy pipeline with the ``ehrfeat_linker`` and reports mention
recall (a gold mention is found when a linked mention overlaps it), code accuracy
at 1 over all gold mentions (full code, and category: the first three characters),
and precision, recall and F1 of each flag over the gold mentions that were found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ehrfeat.errors import InputError

__all__ = ["FLAG_LETTERS", "Annotated", "GoldMention", "read_annotated", "score"]

FLAG_LETTERS = {"n": "negated", "h": "historical", "y": "hypothetical", "u": "uncertain", "f": "family"}


@dataclass(frozen=True)
class GoldMention:
    start_char: int
    end_char: int
    text: str
    code: str
    flags: frozenset[str]


@dataclass(frozen=True)
class Annotated:
    domain: str
    text: str
    mentions: tuple[GoldMention, ...]


def read_annotated(path: str | Path) -> list[Annotated]:
    """Read the annotated sentences of ``path`` (format in the module docstring)."""
    out = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            domain, text, gold = line.split("|")
            text = text.replace("\\n", "\n")
            mentions, cursor = [], 0
            for item in gold.split(";"):
                mention, _, rest = item.partition("=")
                code, _, letters = rest.partition(":")
                start = text.index(mention, cursor)
                cursor = start + len(mention)
                mentions.append(GoldMention(start, cursor, mention, code, frozenset(FLAG_LETTERS[c] for c in letters)))
        except (ValueError, KeyError) as exc:
            raise InputError(f"{path}:{number}: cannot read the annotation {line!r} ({exc})",
                             fix="write domain|text|mention=CODE:flags;... with mentions as they appear in the text",
                             code="E1802") from exc
        out.append(Annotated(domain, text, tuple(mentions)))
    return out


def _f1(pairs: Iterable[tuple[bool, bool]]) -> dict[str, float | int]:
    tp = fp = fn = 0
    for gold, predicted in pairs:
        tp += gold and predicted
        fp += predicted and not gold
        fn += gold and not predicted
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": tp + fn}


def score(nlp: Any, sentences: Sequence[Annotated], *, misses: list[str] | None = None) -> dict[str, Any]:
    """Mention recall, code accuracy@1 and flag F1 of ``nlp`` on ``sentences`` (``misses`` collects the errors)."""
    found = full = category = 0
    flag_pairs: dict[str, list[tuple[bool, bool]]] = {name: [] for name in FLAG_LETTERS.values()}
    total = sum(len(s.mentions) for s in sentences)
    for sentence, doc in zip(sentences, nlp.pipe([s.text for s in sentences]), strict=True):
        predicted = list(doc.spans.get("ehrfeat_mentions", doc.ents))
        for gold in sentence.mentions:
            hit = next((p for p in predicted if p.start_char < gold.end_char and gold.start_char < p.end_char), None)
            if hit is None:
                if misses is not None:
                    misses.append(f"not found: {gold.text!r} in {sentence.text!r}")
                continue
            found += 1
            codes = hit._.ehrfeat_codes or []
            top = codes[0].code if codes else ""
            full += top == gold.code
            category += top[:3] == gold.code[:3]
            if misses is not None and top[:3] != gold.code[:3]:
                misses.append(f"code: {hit.text!r} -> {top or '-'} (gold {gold.code}) in {sentence.text!r}")
            for name in FLAG_LETTERS.values():
                value = bool(getattr(hit._, f"ehrfeat_{name}", False))
                flag_pairs[name].append((name in gold.flags, value))
                if misses is not None and value != (name in gold.flags):
                    misses.append(f"{name}: {hit.text!r} predicted {value} in {sentence.text!r}")
    return {
        "sentences": len(sentences),
        "gold_mentions": total,
        "mention_recall": round(found / total, 4) if total else 0.0,
        "code_accuracy_at_1": round(full / total, 4) if total else 0.0,
        "category_accuracy_at_1": round(category / total, 4) if total else 0.0,
        **{f"{name}": _f1(pairs) for name, pairs in flag_pairs.items()},
    }
