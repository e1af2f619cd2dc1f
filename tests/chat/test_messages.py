"""Chat payload builders: the Slack and Teams bodies, and the escaping of user text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gcnotify.chat.messages import (
    SLACK_BLOCKS_MAX,
    SLACK_FIELDS_MAX,
    SLACK_HEADER_MAX,
    SLACK_SECTION_TEXT_MAX,
    TEAMS_PAYLOAD_MAX_BYTES,
    ChatMessage,
    build_payload,
    encode_payload,
    slack_escape,
    slack_payload,
    teams_escape,
    teams_payload,
)

ALERT = ChatMessage(
    title="Report failed: support-daily",
    lines=("Genesys refused the OAuth client (401).", "Check the secret."),
    facts=(("Report", "support-daily"), ("Business date", "2026-11-20")),
    severity="error",
)


def mrkdwn(text: str) -> dict[str, object]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def section_texts(payload: dict[str, object]) -> list[str]:
    blocks = payload["blocks"]
    assert isinstance(blocks, list)
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]


def card_body(payload: dict[str, object]) -> list[dict[str, object]]:
    attachments = payload["attachments"]
    assert isinstance(attachments, list)
    body: list[dict[str, object]] = attachments[0]["content"]["body"]
    return body


# --- the message -------------------------------------------------------------------------------


def test_message_needs_a_title() -> None:
    """A blank title is refused: a chat post without one shows nothing in a notification."""
    with pytest.raises(ValueError, match="non-empty title"):
        ChatMessage(title=" \n ")


def test_message_refuses_an_unknown_severity() -> None:
    """Severity is one of info, warning, error or None."""
    with pytest.raises(ValueError, match="info, warning, error"):
        ChatMessage(title="t", severity="fatal")  # type: ignore[arg-type]


def test_message_refuses_a_fact_that_is_not_a_pair() -> None:
    """Facts are (label, value) pairs of strings."""
    with pytest.raises(ValueError, match=r"\(label, value\)"):
        ChatMessage(title="t", facts=(("only a label",),))  # type: ignore[arg-type]


def test_message_keeps_lines_and_facts_as_tuples() -> None:
    """Lists given are stored as tuples, so a frozen message cannot change after building."""
    message = ChatMessage(title="t", lines=["a"], facts=[("k", "v")])
    assert (("a",), (("k", "v"),)) == (message.lines, message.facts)


# --- Slack -------------------------------------------------------------------------------------


def test_slack_payload_has_header_sections_fields_and_fallback() -> None:
    """The whole Slack body for a typical alert."""
    assert {
        "text": ":rotating_light: Report failed: support-daily\n"
        "Genesys refused the OAuth client (401).\nCheck the secret.",
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": ":rotating_light: Report failed: support-daily",
                    "emoji": True,
                },
            },
            {
                "type": "section",
                "text": mrkdwn("Genesys refused the OAuth client (401).\nCheck the secret."),
            },
            {
                "type": "section",
                "fields": [
                    mrkdwn("*Report*\nsupport-daily"),
                    mrkdwn("*Business date*\n2026-11-20"),
                ],
            },
        ],
        "unfurl_links": False,
        "unfurl_media": False,
    } == slack_payload(ALERT)


def test_slack_payload_without_lines_or_facts_is_header_only() -> None:
    """No empty section is sent (Slack refuses a section without text)."""
    assert [{"type": "header", "text": {"type": "plain_text", "text": "Done", "emoji": True}}] == (
        slack_payload(ChatMessage(title="Done"))["blocks"]
    )


def test_slack_escape_replaces_the_three_control_characters() -> None:
    """&, < and > become entities; nothing else is touched."""
    assert 'a &amp; b &lt;c&gt; *d* _e_ "f"' == slack_escape('a & b <c> *d* _e_ "f"')


def test_slack_channel_mention_in_user_text_cannot_ping() -> None:
    """A queue named <!channel> arrives as text, not as Slack's @channel control sequence."""
    payload = slack_payload(ChatMessage(title="t", lines=("Queue <!channel> failed",)))
    assert ["Queue &lt;!channel&gt; failed"] == section_texts(payload)


def test_slack_link_syntax_in_user_text_is_not_a_link() -> None:
    """<https://evil.example|Pay here> in a title cannot become a link in the header."""
    payload = slack_payload(ChatMessage(title="<https://evil.example|Pay here>"))
    assert "&lt;https://evil.example|Pay here&gt;" == payload["blocks"][0]["text"]["text"]


def test_slack_script_tag_in_a_fact_value_is_escaped() -> None:
    """A queue named <script> shows as that text in the facts."""
    payload = slack_payload(ChatMessage(title="t", facts=(("Queue", "<script>"),)))
    assert [mrkdwn("*Queue*\n&lt;script&gt;")] == payload["blocks"][1]["fields"]


def test_slack_fallback_text_is_escaped_too() -> None:
    """The notification text is parsed like the blocks, so it is escaped the same way."""
    payload = slack_payload(ChatMessage(title="A & B", lines=("<@U123>",)))
    assert "A &amp; B\n&lt;@U123&gt;" == payload["text"]


def test_slack_entity_in_user_text_is_shown_literally() -> None:
    """Text that already looks like an entity is escaped again, so it reads as typed."""
    assert ["&amp;lt;b&amp;gt;"] == section_texts(
        slack_payload(ChatMessage(title="t", lines=("&lt;b&gt;",)))
    )


def test_slack_header_is_cut_to_150_characters_outside_an_entity() -> None:
    """A long title is shortened with an ellipsis, never in the middle of &amp;."""
    text = slack_payload(ChatMessage(title="x" * 147 + "&&&&"))["blocks"][0]["text"]["text"]
    assert ("x" * 147 + "…", True) == (text, len(text) <= SLACK_HEADER_MAX)


def test_slack_long_lines_split_into_sections_between_lines() -> None:
    """Sections stay within 3000 characters and a line is never split across two."""
    lines = tuple(str(i) * 1000 for i in range(4))
    texts = section_texts(slack_payload(ChatMessage(title="t", lines=lines)))
    assert [f"{lines[0]}\n{lines[1]}", f"{lines[2]}\n{lines[3]}"] == texts


def test_slack_line_over_a_section_is_cut() -> None:
    """One line longer than a section is cut to 3000 characters with an ellipsis."""
    texts = section_texts(slack_payload(ChatMessage(title="t", lines=("y" * 5000,))))
    assert [SLACK_SECTION_TEXT_MAX] == [len(t) for t in texts]


def test_slack_more_than_ten_facts_spill_into_another_section() -> None:
    """A section holds at most ten fields; the eleventh starts a new section."""
    facts = tuple((f"k{i}", "v") for i in range(SLACK_FIELDS_MAX + 1))
    blocks = slack_payload(ChatMessage(title="t", facts=facts))["blocks"]
    assert [SLACK_FIELDS_MAX, 1] == [len(b["fields"]) for b in blocks[1:]]


def test_slack_refuses_more_than_fifty_blocks() -> None:
    """A message Slack would reject fails when built, naming the limit."""
    facts = tuple((f"k{i}", "v") for i in range(SLACK_FIELDS_MAX * SLACK_BLOCKS_MAX))
    with pytest.raises(ValueError, match="at most 50"):
        slack_payload(ChatMessage(title="t", facts=facts))


def test_slack_label_holding_an_asterisk_is_not_bolded() -> None:
    """mrkdwn cannot escape *, so such a label is left plain rather than broken."""
    payload = slack_payload(ChatMessage(title="t", facts=(("*VIP* queue", "3"),)))
    assert [mrkdwn("*VIP* queue\n3")] == payload["blocks"][1]["fields"]


def test_slack_blank_fact_value_shows_a_dash() -> None:
    """Slack refuses empty text; a blank value reads as a dash."""
    payload = slack_payload(ChatMessage(title="t", facts=(("Queue", " "),)))
    assert [mrkdwn("*Queue*\n—")] == payload["blocks"][1]["fields"]


def test_slack_title_line_breaks_become_spaces() -> None:
    """A header is one line: breaks and control characters in a title are removed."""
    payload = slack_payload(ChatMessage(title="Line one\nline\x07 two"))
    assert "Line one line two" == payload["blocks"][0]["text"]["text"]


_SLACK_TEXT = st.text(alphabet=st.sampled_from("ab &<>!@#*_;:|\n"), max_size=40)


@given(title=_SLACK_TEXT, line=_SLACK_TEXT, value=_SLACK_TEXT)
def test_slack_payload_never_holds_a_raw_control_character(
    title: str, line: str, value: str
) -> None:
    """Whatever the user text, no < or > and no & outside an entity reaches Slack."""
    if not title.strip():
        title = "t"
    payload = slack_payload(ChatMessage(title=title, lines=(line,), facts=(("k", value),)))
    stray = re.sub(r"&(amp|lt|gt);", "", encode_payload(payload).decode())
    assert (False, False, False) == ("<" in stray, ">" in stray, "&" in stray)


# --- Teams -------------------------------------------------------------------------------------


def test_teams_payload_is_a_message_with_one_adaptive_card() -> None:
    """The whole Teams body for a typical alert."""
    assert {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": "Report failed: support-daily",
                            "size": "Large",
                            "weight": "Bolder",
                            "wrap": True,
                            "color": "Attention",
                        },
                        {
                            "type": "TextBlock",
                            "text": "Genesys refused the OAuth client (401).",
                            "wrap": True,
                        },
                        {"type": "TextBlock", "text": "Check the secret.", "wrap": True},
                        {
                            "type": "FactSet",
                            "facts": [
                                {"title": "Report", "value": "support-daily"},
                                {"title": "Business date", "value": "2026-11-20"},
                            ],
                        },
                    ],
                },
            }
        ],
    } == teams_payload(ALERT)


def test_teams_title_has_no_color_without_severity() -> None:
    """Only a severity colours the title."""
    assert "color" not in card_body(teams_payload(ChatMessage(title="t")))[0]


def test_teams_warning_title_is_warning_colored() -> None:
    """warning maps to the Adaptive Card Warning color."""
    assert (
        "Warning"
        == card_body(teams_payload(ChatMessage(title="t", severity="warning")))[0]["color"]
    )


def test_teams_escape_emphasis() -> None:
    """**bold** and _italic_ in user text show their asterisks and underscores."""
    assert "\\*\\*bold\\*\\* \\_italic\\_" == teams_escape("**bold** _italic_")


def test_teams_escape_link_syntax() -> None:
    """[Pay here](https://evil.example) cannot become a link."""
    assert "\\[Pay here\\](https://evil.example)" == teams_escape(
        "[Pay here](https://evil.example)"
    )


def test_teams_escape_keeps_underscores_inside_words() -> None:
    """Sales_EU_Voice never emphasises in CommonMark, so it keeps no backslash."""
    assert "Sales_EU_Voice" == teams_escape("Sales_EU_Voice")


def test_teams_escape_angle_brackets_and_ampersand() -> None:
    """<script>, <at>mentions and &amp; entities show as typed."""
    assert "\\<script\\> \\<at\\>all\\</at\\> \\&amp;" == teams_escape(
        "<script> <at>all</at> &amp;"
    )


def test_teams_escape_backslash_and_code() -> None:
    """A backslash or backtick in user text is itself escaped."""
    assert "C:\\\\temp \\`x\\`" == teams_escape("C:\\temp `x`")


def test_teams_escape_date_function_braces() -> None:
    """{{DATE(…)}} in user text is not expanded by the card renderer."""
    assert "\\{\\{DATE(2026-11-20T06:00:00Z)\\}\\}" == teams_escape(
        "{{DATE(2026-11-20T06:00:00Z)}}"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# Heading", "\\# Heading"),
        ("- item", "\\- item"),
        ("+ item", "\\+ item"),
        ("1. first", "1\\. first"),
        ("2) second", "2\\) second"),
        ("---", "\\---"),
        ("> quoted", "\\> quoted"),
    ],
)
def test_teams_escape_block_markers_at_line_start(text: str, expected: str) -> None:
    """A line that would start a heading, list, rule or quote is shown as typed."""
    assert expected == teams_escape(text)


@pytest.mark.parametrize("text", ["#1 queue", "-5% calls", "3.5 min", "2026-11-20"])
def test_teams_escape_leaves_lookalikes_alone(text: str) -> None:
    """Text that only resembles a block marker keeps no backslash."""
    assert text == teams_escape(text)


def test_teams_escape_line_breaks_become_paragraphs() -> None:
    """A single \\n does not break a TextBlock line; \\n\\n does, and indentation is dropped."""
    assert "one\n\n\\- two" == teams_escape("one\n    - two")


def test_teams_fact_title_and_value_are_escaped() -> None:
    """Fact.Title and Fact.Value render Markdown too."""
    body = card_body(teams_payload(ChatMessage(title="t", facts=(("*Queue*", "[x](y)"),))))
    assert [{"title": "\\*Queue\\*", "value": "\\[x\\](y)"}] == body[1]["facts"]


def test_teams_title_is_escaped() -> None:
    """The title is user text like any other."""
    assert (
        "\\_Alert\\_ \\<b\\>"
        == card_body(teams_payload(ChatMessage(title="_Alert_ <b>")))[0]["text"]
    )


def test_teams_blank_lines_are_dropped() -> None:
    """An empty line would be an empty TextBlock; it is left out."""
    assert 1 == len(card_body(teams_payload(ChatMessage(title="t", lines=("", "  ")))))


def test_teams_refuses_a_card_over_28_kb() -> None:
    """Teams refuses messages above 28 KB; the builder fails first, naming the size."""
    lines = tuple("z" * 1000 for _ in range(TEAMS_PAYLOAD_MAX_BYTES // 1000))
    with pytest.raises(ValueError, match="28 KB"):
        teams_payload(ChatMessage(title="t", lines=lines))


_TEAMS_TEXT = st.text(alphabet=st.sampled_from("ab1 .#-+=*_~`[]()<>{}&\\!"), max_size=30)


@given(text=_TEAMS_TEXT)
def test_teams_escape_removes_to_the_original(text: str) -> None:
    """Dropping each escaping backslash gives back the (stripped) text: nothing else changes."""
    escaped = teams_escape(text)
    assert text.strip() == re.sub(r"\\(.)", r"\1", escaped)


# --- both --------------------------------------------------------------------------------------


def test_lone_surrogate_becomes_a_replacement_character() -> None:
    """Text that is not valid Unicode still encodes as UTF-8 instead of failing the post."""
    payload = build_payload("slack", ChatMessage(title="bad \udc80 byte"))
    assert "bad \ufffd byte" in encode_payload(payload).decode("utf-8")


def test_build_payload_refuses_an_unknown_kind() -> None:
    """Only slack and teams have a payload."""
    with pytest.raises(ValueError, match="slack, teams"):
        build_payload("discord", ALERT)  # type: ignore[arg-type]
