"""The one rule for text that becomes an email header: a single line of printable characters.

Config validation refuses what breaks the rule (``header_problem``) and rendering neutralises it
(``one_line``), both from the same character class, so a value the config check let through is
sent exactly as a dry run shows it. A line break in a header would end it and start another
(header injection); other control characters are invisible or rejected by mail servers.
"""

from __future__ import annotations

__all__ = ["header_problem", "one_line"]

# What str.splitlines() breaks on: each ends a header line in some mail client or library.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def _unfit(char: str) -> bool:
    """A line break, any other C0 or C1 control, DEL, or a lone surrogate (not UTF-8 encodable)."""
    code = ord(char)
    return (
        code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029) or 0xD800 <= code <= 0xDFFF
    )


_NAMES = {
    "\t": "TAB",
    "\n": "LINE FEED",
    "\r": "CARRIAGE RETURN",
    "\x0b": "LINE TABULATION",
    "\x0c": "FORM FEED",
    "\x1c": "FILE SEPARATOR",
    "\x1d": "GROUP SEPARATOR",
    "\x1e": "RECORD SEPARATOR",
    "\x85": "NEXT LINE",
    "\u2028": "LINE SEPARATOR",
    "\u2029": "PARAGRAPH SEPARATOR",
    "\x00": "NUL",
    "\x7f": "DELETE",
}


def header_problem(text: str) -> str | None:
    """None when ``text`` can be one email header line, else which character breaks it and where."""
    if text.isprintable():  # the common case, checked in C: whatever _unfit refuses is unprintable
        return None
    at, char = next(((i, c) for i, c in enumerate(text) if _unfit(c)), (-1, ""))
    if not char:
        return None  # only other non-printables, such as a no-break space or a zero-width joiner
    code = f"U+{ord(char):04X}"
    name = f" ({_NAMES[char]})" if char in _NAMES else ""
    if char in LINE_BREAKS:
        kind = "a line break"
    elif "\ud800" <= char <= "\udfff":
        kind = "a lone surrogate, not a character"
    else:
        kind = "a control character"
    return (
        f"contains {code}{name} at character {at + 1}, {kind}; it becomes an email "
        "header, which must be one line of printable text, so remove it"
    )


def one_line(text: str) -> str:
    """``text`` with each run of what ``header_problem`` refuses turned into one space, stripped."""
    if text.isprintable():
        return text.strip()
    out: list[str] = []
    in_run = False
    for char in text:
        if not _unfit(char):
            out.append(char)
            in_run = False
        elif not in_run:
            out.append(" ")
            in_run = True
    return "".join(out).strip()
