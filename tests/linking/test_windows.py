"""split_windows: consecutive windows covering the note exactly, each within the limit, cut at sentence ends first."""

from __future__ import annotations

import pytest

from ehrfeat.linking.windows import split_windows

CASES = {
    "sentences": ("Type 2 diabetes. Asthma now. Headache since May! Fever? " * 20, 60),
    "lines": ("line one about asthma\n" * 30, 50),
    "words only": ("word " * 100, 33),
    "one long token": ("x" * 250, 40),
    "short": ("short note", 1000),
    "mixed": ("a. " + "y" * 70 + " b c d. e\n\nf " * 9, 25),
}


@pytest.mark.parametrize("name", list(CASES))
def test_windows_cover_the_text_within_the_limit(name: str) -> None:
    text, limit = CASES[name]
    windows = split_windows(text, limit)
    assert "".join(w for _, w in windows) == text
    assert all(len(w) <= limit for _, w in windows)
    assert [s for s, _ in windows] == [sum(len(w) for _, w in windows[:i]) for i in range(len(windows))]


def test_cuts_prefer_sentence_ends_then_spaces() -> None:
    text = "Diabetes is controlled. Asthma is mild today. Headache"  # the rest (30 characters) fits one window
    assert [w for _, w in split_windows(text, 30)] == ["Diabetes is controlled. ", "Asthma is mild today. Headache"]
    assert [w for _, w in split_windows("alpha beta gamma delta", 12)] == ["alpha beta ", "gamma delta"]
    assert [w for _, w in split_windows("abcdefghij", 4)] == ["abcd", "efgh", "ij"]
    with pytest.raises(ValueError):
        split_windows("x", 0)
