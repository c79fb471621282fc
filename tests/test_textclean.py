"""The repair rules: which split words are joined, which word pairs are left alone, and
that every repair records the original text at its exact place in the source."""

from __future__ import annotations

import pytest

from policygraph.textclean import clean_line, should_join

# Words split by a stray space, as they occur in published texts (the first two are
# from the bundled document).
SPLIT_WORDS = [
    ("Brea", "k"),
    ("Ma", "ke"),
    ("Strengt", "hen"),
    ("Promo", "te"),
    ("Impro", "ve"),
    ("deve", "lopment"),
    ("qual", "ity"),
    ("sup", "ply"),
    ("Enhan", "ce"),
    ("manufac", "turing"),
    ("gover", "nance"),
    ("innova", "tion"),
    ("Establis", "h"),
    ("finan", "cial"),
    ("sys", "tem"),
    ("constr", "uction"),
    ("agricul", "tural"),
    ("Impl", "ement"),
    ("Accel", "erate"),
    ("Tigh", "ten"),
]

# Pairs of real words that would also make a word if joined: joining them would
# change what the text says.
WORD_PAIRS = [
    "to day",
    "any one",
    "can not",
    "be cause",
    "in to",
    "a long",
    "for get",
    "some times",
    "every one",
    "a part",
    "on to",
    "may be",
    "all ready",
    "in deed",
    "no body",
    "some one",
    "with in",
    "out side",
    "a way",
    "any way",
    "every day",
    "over all",
    "under take",
    "for ever",
    "up on",
    "be low",
    "a head",
    "a cross",
    "some what",
    "an other",
    "work force",
    "out come",
    "man power",
]


@pytest.mark.parametrize(("left", "right"), SPLIT_WORDS, ids=" ".join)
def test_split_words_are_joined(left, right):
    assert should_join(left, right)


@pytest.mark.parametrize("pair", WORD_PAIRS)
def test_word_pairs_are_left_alone(pair):
    left, right = pair.split()
    assert not should_join(left, right)
    sentence = f"They said {pair} again."
    assert clean_line(sentence, 0, "en").value == sentence


@pytest.mark.parametrize(("left", "right"), SPLIT_WORDS[:6], ids=" ".join)
def test_split_word_repair_records_original_and_offsets(left, right):
    prefix = "   We will "  # the indentation is layout, dropped without a repair
    line = f"{prefix}{left} {right} the work"
    offset = 1000
    text = clean_line(line, offset, "en")
    assert text.value == f"We will {left}{right} the work"
    (repair,) = text.repairs
    assert (repair.rule, repair.original, repair.repaired) == (
        "split-word",
        f"{left} {right}",
        left + right,
    )
    source = " " * offset + line
    assert source[repair.start : repair.end] == f"{left} {right}"
    assert repair.start == offset + len(prefix)


def test_split_word_after_a_word_it_cannot_join():
    # Pairs are tried overlapping: "to brea" fails, "brea k" must still be tried.
    text = clean_line("in order to brea k the bottleneck", 0, "en")
    assert text.value == "in order to break the bottleneck"
    assert [r.original for r in text.repairs] == ["brea k"]


def test_fragments_of_names_and_numbers_are_not_words():
    for line in ("see the file if_ppp.h is here", "items 4.b e and f"):
        assert clean_line(line, 0, "en").value == line


@pytest.mark.parametrize(
    ("dash", "name"),
    [
        ("\u2013", "en dash"),
        ("\u2014", "em dash"),
        ("\u2011", "non-breaking hyphen"),
        ("\u2212", "minus"),
    ],
)
def test_dash_inside_a_word_becomes_a_hyphen(dash, name):
    line = f"medium- and high{dash}end products"
    text = clean_line(line, 7, "en")
    assert text.value == "medium- and high-end products"
    (repair,) = text.repairs
    assert (repair.rule, repair.original, repair.repaired) == ("dash", dash, "-")
    assert (" " * 7 + line)[repair.start : repair.end] == dash
    assert repair.start == 7 + line.index(dash)


def test_spaced_dashes_are_punctuation_and_stay():
    line = "quality \u2014 not quantity \u2013 first"
    assert clean_line(line, 0, "en").value == line
    assert clean_line(line, 0, "en").repairs == ()


@pytest.mark.parametrize(
    ("gap", "name"),
    [("  ", "double space"), ("\u00a0", "no-break space"), ("\t", "tab"), (" \u00a0 ", "mixed")],
)
def test_odd_whitespace_between_words_becomes_one_space(gap, name):
    line = f"quality{gap}supervision and{gap}services"
    text = clean_line(line, 3, "en")
    assert text.value == "quality supervision and services"
    assert len(text.repairs) == 2
    source = " " * 3 + line
    for repair in text.repairs:
        assert repair.rule == "whitespace"
        assert repair.original == gap
        assert source[repair.start : repair.end] == gap
    assert [r.start for r in text.repairs] == [3 + line.index(gap), 3 + line.rindex(gap)]


def test_clean_text_needs_no_repair():
    line = "Improve the quality of construction projects"
    assert clean_line(line, 0, "en").value == line
    assert clean_line(line, 0, "en").repairs == ()


def test_chinese_spaces_between_characters_are_removed_and_recorded():
    line = "推动 质量\u3000提升，加快\u00a0 标准升级"
    offset = 40
    text = clean_line(line, offset, "zh")
    assert text.value == "推动质量提升，加快标准升级"
    source = " " * offset + line
    assert [source[r.start : r.end] for r in text.repairs] == [" ", "\u3000", "\u00a0 "]
    assert all(r.rule == "whitespace" and r.repaired == "" for r in text.repairs)


def test_chinese_text_keeps_spaces_next_to_latin_words():
    line = "实施 GB/T 19001 标准"
    assert clean_line(line, 0, "zh").value == line


def test_line_break_inside_a_text_is_layout_not_a_repair():
    text = clean_line("paid by the county\n  according to the area", 0, "en")
    assert text.value == "paid by the county according to the area"
    assert text.repairs == ()
