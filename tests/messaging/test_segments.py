"""SMS length, encoding, segments and smart encoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gcnotify.core.errors import MessageTemplateError
from gcnotify.messaging.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SMART_ENCODING,
    SmsLength,
    check_sms,
    is_gsm7,
    measure,
    smart_encode,
)

GSM7_TEXT = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=800)
ANY_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION)),
        st.sampled_from(sorted(SMART_ENCODING)),
        st.characters(),
    ),
    max_size=800,
)


def test_default_alphabet_has_127_characters() -> None:
    """The GSM-7 default alphabet is 128 codes, one of them the escape, which is not sendable."""
    assert 127 == len(GSM7_BASIC)


def test_extension_table_holds_the_ten_escaped_characters() -> None:
    """The extension table is form feed, ^ { } \\ [ ~ ] | and the euro sign."""
    assert frozenset("\f^{}\\[~]|€") == GSM7_EXTENSION


def test_backtick_is_not_gsm7() -> None:
    """There is no backtick in GSM-7, a common mistake of copied tables."""
    assert not is_gsm7("`")


@pytest.mark.parametrize(
    ("units", "segments"),
    [(0, 1), (1, 1), (160, 1), (161, 2), (170, 2), (306, 2), (310, 3), (765, 5)],
)
def test_gsm7_segments_follow_160_and_153(units: int, segments: int) -> None:
    """GSM-7: one part up to 160 septets, then 153 per part (Genesys' 160, 170, 310 examples)."""
    assert SmsLength("GSM-7", units, segments, units) == measure("a" * units)


def test_extension_character_costs_two_septets() -> None:
    """An extension character is sent as escape plus code: 80 euro signs fill one part."""
    assert (160, 1) == (measure("€" * 80).units, measure("€" * 80).segments)


def test_one_extension_character_too_many_makes_two_parts() -> None:
    """159 letters and one brace are 161 septets: two parts."""
    assert 2 == measure("a" * 159 + "{").segments


@pytest.mark.parametrize(("units", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_segments_follow_70_and_67(units: int, segments: int) -> None:
    """UCS-2: one part up to 70 UTF-16 units, then 67 per part."""
    assert ("UCS-2", segments) == (measure("ж" * units).encoding, measure("ж" * units).segments)


def test_emoji_counts_two_utf16_units() -> None:
    """A character outside the Basic Multilingual Plane is a surrogate pair: two units."""
    assert SmsLength("UCS-2", 2, 1, 2) == measure("😀")


def test_one_curly_apostrophe_makes_the_whole_text_ucs2() -> None:
    """A single character outside GSM-7 switches the whole message to UCS-2."""
    assert ("UCS-2", 3) == (measure("a" * 150 + "’").encoding, measure("a" * 150 + "’").segments)


def test_check_accepts_765_characters() -> None:
    """765 characters is the Genesys maximum and still allowed."""
    assert 5 == check_sms("a" * 765).segments


def test_check_refuses_766_characters_saying_the_limit() -> None:
    """Over 765 characters the text is refused with the count and the limit in the message."""
    with pytest.raises(MessageTemplateError, match=r"766 characters, over the 765"):
        check_sms("a" * 766)


def test_check_counts_an_emoji_as_two_characters() -> None:
    """383 emoji are 766 UTF-16 units: refused, the stricter reading of the limit."""
    with pytest.raises(MessageTemplateError, match="766 characters"):
        check_sms("😀" * 383)


def test_every_replacement_is_gsm7() -> None:
    """Every smart-encoding target is itself GSM-7, so replacing can only leave GSM-7 behind."""
    assert [] == [k for k, v in SMART_ENCODING.items() if not is_gsm7(v)]


def test_no_replaced_character_is_gsm7() -> None:
    """Only characters that force UCS-2 are replaced; GSM-7 text is never rewritten."""
    assert [] == [k for k in SMART_ENCODING if is_gsm7(k)]


def test_smart_encoding_replaces_the_common_look_alikes() -> None:
    """Curly quotes, dashes, ellipsis and a no-break space become their GSM-7 equivalents."""
    assert '"It\'s ready" - at 5 pm...' == smart_encode("“It’s ready” — at 5\xa0pm…").text


def test_smart_encoding_records_segments_before_and_after() -> None:
    """A 150-letter text with one curly apostrophe drops from three segments to one."""
    result = smart_encode("a" * 150 + "’")
    assert (True, 3, 1) == (result.replaced, result.before.segments, result.after.segments)


def test_smart_encoding_leaves_text_with_an_emoji_unchanged() -> None:
    """An emoji has no GSM-7 equivalent, so the curly quote stays: the text is UCS-2 anyway."""
    assert ("’ok 😀", False) == (smart_encode("’ok 😀").text, smart_encode("’ok 😀").replaced)


def test_smart_encoding_declines_when_it_would_cost_more_segments() -> None:
    """70 ellipses are one UCS-2 part but 210 septets (two parts) replaced: left as they are."""
    assert ("…" * 70, False) == (smart_encode("…" * 70).text, smart_encode("…" * 70).replaced)


def test_zero_width_space_is_removed() -> None:
    """A zero-width space becomes nothing."""
    assert "ab" == smart_encode("a\u200bb").text


@given(GSM7_TEXT)
def test_gsm7_text_is_never_changed(text: str) -> None:
    """Smart encoding never changes a message that is already GSM-7."""
    result = smart_encode(text)
    assert (text, False) == (result.text, result.replaced)


@given(ANY_TEXT)
def test_smart_encoding_never_increases_segments(text: str) -> None:
    """Whatever the text, the segments after smart encoding are at most those before."""
    result = smart_encode(text)
    assert result.after.segments <= result.before.segments


@given(ANY_TEXT)
def test_smart_encoding_keeps_or_yields_gsm7(text: str) -> None:
    """A replaced text is always GSM-7; an unreplaced one is the original."""
    result = smart_encode(text)
    assert (result.after.encoding == "GSM-7") if result.replaced else (result.text == text)


@given(ANY_TEXT, st.integers(min_value=0, max_value=800))
def test_segments_are_monotone_in_length(text: str, cut: int) -> None:
    """A prefix of a text never costs more segments than the whole text."""
    assert measure(text[:cut]).segments <= measure(text).segments


@given(GSM7_TEXT, st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION)))
def test_appending_a_character_never_lowers_segments(text: str, char: str) -> None:
    """One more character costs at least as many segments."""
    assert measure(text).segments <= measure(text + char).segments
