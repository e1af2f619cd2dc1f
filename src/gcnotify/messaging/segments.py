"""SMS text: GSM-7 or UCS-2, how many segments it costs, and smart encoding of look-alikes.

An SMS is sent in GSM-7 when every character is in the GSM 03.38 default alphabet or its
extension table, and in UCS-2 otherwise; one character outside both halves the characters per
segment. The tables are 3GPP TS 23.038 section 6.2.1 (the default alphabet) and 6.2.1.1 (the
extension table, each character sent as ESC + code, so two septets), as checked against two
vendor manuals that reproduce GSM 03.38 (Siemens TC35 AT command set p.144, Moxa OnCell G3111
manual appendix F). Segment sizes are Genesys Cloud's: 160 septets in one part, 153 per part
when split; 70 UTF-16 units in one part, 67 per part (Genesys help "character limit for SMS
messages" and "how Genesys Cloud handles messages with Unicode characters"). The agentless
``textBody`` is capped at 765 characters (SDK model ``SendAgentlessOutboundMessageRequest``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gcnotify.core.errors import MessageTemplateError

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "MAX_SMS_CHARACTERS",
    "SMART_ENCODING",
    "Encoding",
    "SmartEncoded",
    "SmsLength",
    "check_sms",
    "is_gsm7",
    "measure",
    "smart_encode",
]

Encoding = Literal["GSM-7", "UCS-2"]

# The default alphabet in code order 0x00-0x7F; 0x1B is the escape to the extension table, not a
# character that can be sent, so it is left out of the set.
_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ\u00a7¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_BASIC: frozenset[str] = frozenset(_BASIC_TABLE) - {"\x1b"}
GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")

MAX_SMS_CHARACTERS = 765
_GSM7_SINGLE, _GSM7_PART = 160, 153
_UCS2_SINGLE, _UCS2_PART = 70, 67


@dataclass(frozen=True)
class SmsLength:
    """What a text costs as an SMS: its encoding, length in that encoding's units, and segments.

    ``units`` is septets for GSM-7 (an extension character is two) and UTF-16 code units for
    UCS-2 (a character outside the Basic Multilingual Plane, such as most emoji, is two).
    ``characters`` is the length the 765 limit is checked against, in UTF-16 code units.
    """

    encoding: Encoding
    units: int
    segments: int
    characters: int


@dataclass(frozen=True)
class SmartEncoded:
    """The text to send after smart encoding, and what it cost before and after.

    ``replaced`` is False when the text was left as it was (already GSM-7, or replacing would
    not have made it GSM-7 or would have cost more segments); ``before`` then equals ``after``.
    """

    text: str
    replaced: bool
    before: SmsLength
    after: SmsLength


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 default alphabet or its extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _utf16_units(text: str) -> int:
    # Counted, not encoded: a lone surrogate (from a bad JSON escape) still has a length.
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _segments(units: int, single: int, part: int) -> int:
    if units <= single:
        return 1
    return -(-units // part)


def measure(text: str) -> SmsLength:
    """The encoding, length and segment count of ``text``; never raises, whatever its length.

    Segments follow Genesys' figures: one part up to 160 septets (70 UTF-16 units), else
    ceil(n / 153) (ceil(n / 67)). An empty text still costs one segment.
    """
    characters = _utf16_units(text)
    if is_gsm7(text):
        septets = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        return SmsLength("GSM-7", septets, _segments(septets, _GSM7_SINGLE, _GSM7_PART), characters)
    return SmsLength(
        "UCS-2", characters, _segments(characters, _UCS2_SINGLE, _UCS2_PART), characters
    )


def check_sms(text: str) -> SmsLength:
    """Measure ``text`` and refuse it when Genesys would: more than 765 characters.

    Characters are counted as UTF-16 code units, the stricter reading (an emoji counts two), since
    Genesys does not say what it counts; a text refused here would be refused by the API or risk
    it.
    """
    length = measure(text)
    if length.characters > MAX_SMS_CHARACTERS:
        raise MessageTemplateError(
            f"the SMS text is {length.characters} characters, over the {MAX_SMS_CHARACTERS} "
            f"Genesys accepts ({length.encoding}, {length.segments} segments): shorten the "
            "template or the variables it is given"
        )
    return length


# Twilio's Smart Encoding replacements, grouped by what they become. Sources: Twilio's table
# "List of characters replaced by Smart Encoding"
# (https://www.twilio.com/docs/messaging/services/smart-encoding-char-list) and, for the rows past
# what was retrieved of it, Twilio's own segment calculator (github.com/TwilioDevEd/
# message-segment-calculator, src/libs/SmartEncodingMap.ts, commit 7a272df), whose first rows
# match the table. Left out on purpose: the C0/C1 control characters and TAB (not look-alikes;
# a template should not hold them), and U+2039/U+203A, which the calculator maps to the opposite
# angle bracket. Unicode spaces become one space (the calculator writes two).
_REPLACEMENTS: tuple[tuple[str, str], ...] = (
    ('"', "\u00ab\u00bb\u02ba\u02ee\u201c\u201d\u201e\u201f\u275d\u275e\u301d\u301e\uff02"),
    (
        "'",
        "\u0060\u00b4\u02b9\u02bb\u02bc\u02bd\u02c8\u02ca\u02cb\u0313\u0314\u2018"
        "\u2019\u201b\u275b\u275c\ufe10\ufe11\uff07",
    ),
    ("/", "\u00f7\u0337\u0338\u2044\u2215\u29f8\uff0f"),
    ("1/4", "\u00bc"),
    ("1/2", "\u00bd"),
    ("3/4", "\u00be"),
    ("\\", "\u20e5\u29f5\u29f9\ufe68\uff3c"),
    ("_", "\u0332\u2017\uff3f"),
    ("|", "\u20d2\u20d3\u2223\u239c\u239f\u23b8\u23b9\u23d0\uff5c"),
    ("-", "\u2010\u2013\u2014\u2015\u2022\u2043\u23bc\u23bd\ufe63\uff0d"),
    ("@", "\ufe6b\uff20"),
    ("$", "\ufe69\uff04"),
    ("!", "\u01c3\ufe15\ufe57\uff01"),
    ("#", "\ufe5f\uff03"),
    ("%", "\ufe6a\uff05"),
    ("&", "\ufe60\uff06"),
    (",", "\u0326\u201a\u3001\ufe50\ufe51\uff0c\uff64"),
    ("(", "\u2768\u276a\u27ee\u2985\ufe59\uff08"),
    (")", "\u2769\u276b\u27ef\u2986\ufe5a\uff09"),
    (
        "*",
        "\u204e\u2217\u229b\u2722\u2723\u2724\u2725\u2731\u2732\u2733\u273a\u273b"
        "\u273c\u273d\u2743\u2749\u274a\u274b\u29c6\ufe61\uff0a",
    ),
    ("+", "\u02d6\ufe62\uff0b"),
    (".", "\u3002\ufe52\uff0e\uff61"),
    ("0", "\uff10"),
    ("1", "\uff11"),
    ("2", "\uff12"),
    ("3", "\uff13"),
    ("4", "\uff14"),
    ("5", "\uff15"),
    ("6", "\uff16"),
    ("7", "\uff17"),
    ("8", "\uff18"),
    ("9", "\uff19"),
    (":", "\u02d0\u02f8\u2982\ua789\ufe13\uff1a"),
    (";", "\u204f\ufe14\ufe54\uff1b"),
    ("<", "\ufe64\uff1c"),
    ("=", "\u0347\ua78a\ufe66\uff1d"),
    (">", "\ufe65\uff1e"),
    ("?", "\ufe16\ufe56\uff1f"),
    ("A", "\u1d00\uff21"),
    ("B", "\u0299\uff22"),
    ("C", "\u1d04\uff23"),
    ("D", "\u1d05\uff24"),
    ("E", "\u1d07\uff25"),
    ("F", "\ua730\uff26"),
    ("G", "\u0262\uff27"),
    ("H", "\u029c\uff28"),
    ("I", "\u026a\uff29"),
    ("J", "\u1d0a\uff2a"),
    ("K", "\u1d0b\uff2b"),
    ("L", "\u029f\uff2c"),
    ("M", "\u1d0d\uff2d"),
    ("N", "\u0274\uff2e"),
    ("O", "\u1d0f\uff2f"),
    ("P", "\u1d18\uff30"),
    ("Q", "\uff31"),
    ("R", "\u0280\uff32"),
    ("S", "\ua731\uff33"),
    ("T", "\u1d1b\uff34"),
    ("U", "\u1d1c\uff35"),
    ("V", "\u1d20\uff36"),
    ("W", "\u1d21\uff37"),
    ("X", "\uff38"),
    ("Y", "\u028f\uff39"),
    ("Z", "\u1d22\uff3a"),
    ("^", "\u02c6\u0302\u1dcd\uff3e"),
    ("{", "\u2774\ufe5b\uff5b"),
    ("}", "\u2775\ufe5c\uff5d"),
    ("[", "\uff3b"),
    ("]", "\uff3d"),
    ("~", "\u02dc\u02f7\u0303\u0330\u0334\u223c\uff5e"),
    (
        " ",
        "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
        "\u2028\u2029\u202f\u205f\u3000",
    ),
    ("", "\u200b\u2060\ufeff"),
    ("!!", "\u203c"),
    ("...", "\u2026"),
)
SMART_ENCODING: dict[str, str] = {
    source: target for target, sources in _REPLACEMENTS for source in sources
}
_SMART_TABLE = str.maketrans(SMART_ENCODING)


def smart_encode(text: str) -> SmartEncoded:
    """Replace look-alikes (curly quotes, dashes, ellipsis, Unicode spaces, …) to stay in GSM-7.

    The replacement is kept only when the whole result is GSM-7, costs no more segments than the
    original and stays within 765 characters (an ellipsis becomes three septets, so a text of
    many could otherwise grow); otherwise the original text is sent unchanged, as Twilio does
    when a character without an equivalent (an emoji, a CJK character) remains.
    """
    before = measure(text)
    if before.encoding == "GSM-7":
        return SmartEncoded(text, False, before, before)
    candidate = text.translate(_SMART_TABLE)
    after = measure(candidate)
    if (
        after.encoding == "GSM-7"
        and after.segments <= before.segments
        and after.characters <= max(MAX_SMS_CHARACTERS, before.characters)
    ):
        return SmartEncoded(candidate, True, before, after)
    return SmartEncoded(text, False, before, before)
