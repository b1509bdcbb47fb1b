"""Tiny random BERT encoders (hidden 32, 2 layers) for tests and the ``smoke`` recipe.

The tokenizer is a WordPiece vocabulary of the words of the terms given (and their
characters, for anything else), so a tiny model still sees real clinical words. Everything is seeded: the same
terms and seed give byte-identical folders.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

__all__ = ["DEFAULT_TINY_TERMS", "make_tiny_bert"]

DEFAULT_TINY_TERMS = (
    "Type 2 diabetes mellitus without complications",
    "Type 2 diabetes mellitus with diabetic chronic kidney disease",
    "Type 1 diabetes mellitus with ketoacidosis",
    "Essential (primary) hypertension",
    "Heart failure, unspecified",
    "Chronic obstructive pulmonary disease with acute exacerbation",
    "Major depressive disorder, single episode",
    "Malignant neoplasm of breast",
    "Supervision of normal pregnancy",
    "Asthma, unspecified",
    "Acute myocardial infarction",
    "Chronic kidney disease, stage 3",
    "Obesity, unspecified",
    "Hyperlipidemia, unspecified",
    "Pneumonia, unspecified organism",
)

_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def _vocabulary(terms: Iterable[str], size: int) -> dict[str, int]:
    """Special tokens, every character (alone and as ``##`` continuation), then the most frequent words.

    Built here rather than by the tokenizers WordPiece trainer, whose merges break ties in hash
    order and so give another vocabulary in every process.
    """
    from collections import Counter

    from tokenizers.normalizers import BertNormalizer
    from tokenizers.pre_tokenizers import BertPreTokenizer

    normalize, split = BertNormalizer(lowercase=True), BertPreTokenizer()
    words = Counter(w for t in terms for w, _ in split.pre_tokenize_str(normalize.normalize_str(t)))
    chars = sorted({c for w in words for c in w})
    tokens = [*_SPECIALS, *chars, *(f"##{c}" for c in chars)]
    tokens += [w for w, _ in sorted(words.items(), key=lambda x: (-x[1], x[0])) if w not in tokens]
    return {token: i for i, token in enumerate(tokens[:size])}


def make_tiny_bert(
    folder: str | Path,
    terms: Iterable[str] = DEFAULT_TINY_TERMS,
    *,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    vocab_size: int = 1000,
    max_length: int = 32,
    pooling: str = "mean",
    seed: int = 0,
) -> Path:
    """Write a random BERT with a WordPiece tokenizer trained on ``terms`` to ``folder``."""
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    wordpiece = BertWordPieceTokenizer(_vocabulary(terms, vocab_size), lowercase=True)
    tokenizer = BertTokenizerFast(tokenizer_object=wordpiece._tokenizer, model_max_length=max_length)
    tokenizer.add_special_tokens({"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]", "mask_token": "[MASK]"})
    tokenizer.save_pretrained(out)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden * 2,
        max_position_embeddings=max(64, max_length),
        pad_token_id=tokenizer.pad_token_id,
    )
    BertModel(config).save_pretrained(out, safe_serialization=True)
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": hidden, f"pooling_mode_{'cls_token' if pooling == 'cls' else 'mean_tokens'}": True})
    )
    (out / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_length, "do_lower_case": False}))
    return out
