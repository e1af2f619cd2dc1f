"""The one rule for what may appear in an email header."""

from __future__ import annotations

import pytest

from gcnotify.core.text import header_problem, one_line

LINE_BREAKS = ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("char", LINE_BREAKS, ids=[f"U+{ord(c):04X}" for c in LINE_BREAKS])
def test_every_line_break_is_named(char: str) -> None:
    """Each character str.splitlines() breaks on is a line break, named by code point."""
    problem = header_problem(f"a{char}b")
    assert problem is not None
    assert f"U+{ord(char):04X}" in problem
    assert "line break" in problem


@pytest.mark.parametrize("char", ["\x00", "\t", "\x1b", "\x7f", "\x9b", "\ud800"])
def test_other_control_characters_are_named(char: str) -> None:
    """C0, DEL, C1 and lone surrogates are refused too."""
    problem = header_problem(f"a{char}b")
    assert problem is not None
    assert f"U+{ord(char):04X}" in problem


def test_printable_text_has_no_problem() -> None:
    """Non-ASCII letters, punctuation and emoji are fine in a header."""
    assert header_problem("Café — Réseau 📞 «ok»") is None


def test_problem_names_the_first_offending_character() -> None:
    """The problem points at the first bad character and its position."""
    assert "U+2028" in (header_problem("ab\u2028c\nd") or "")
    assert "character 3" in (header_problem("ab\u2028c\nd") or "")


def test_one_line_turns_each_run_of_breaks_into_one_space() -> None:
    """Whatever header_problem refuses, one_line neutralises, so sends and dry runs agree."""
    text = "a\r\nb\u2028\u2029c\x85d\x00e\tf "
    assert "a b c d e f" == one_line(text)
    assert header_problem(one_line(text)) is None


def test_one_line_leaves_clean_text_alone() -> None:
    """Clean text passes through unchanged."""
    assert "Support — Mon 05 Jan 2026" == one_line("Support — Mon 05 Jan 2026")


def test_other_non_printables_are_allowed() -> None:
    """A no-break space or a zero-width joiner (emoji sequences) is text, not a line break."""
    text = "Ops\u00a0team \U0001f469\u200d\U0001f4bb"
    assert (None, text) == (header_problem(text), one_line(text))
