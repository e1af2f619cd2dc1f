"""Message templates: sandboxed, strict about variables, escaped only for HTML email."""

from __future__ import annotations

import pytest

from gcnotify.core.errors import GcnotifyError, MessageTemplateError
from gcnotify.messaging.templates import compile_template

SHIPPED = "Your order {{ order_id }} has shipped: {{ link }}. Reply STOP to opt out."


def test_sms_renders_its_variables() -> None:
    """The variables given fill the text in."""
    sms = compile_template("order-shipped", "sms", text=SHIPPED)
    assert "Your order A1 has shipped: https://t.example/1. Reply STOP to opt out." == (
        sms.render({"order_id": "A1", "link": "https://t.example/1"}).text
    )


def test_compiled_template_lists_the_variables_it_uses() -> None:
    """The variables a template uses are known at compile time, before any request."""
    assert frozenset({"order_id", "link"}) == compile_template("t", "sms", text=SHIPPED).variables


def test_one_compiled_template_renders_many_requests() -> None:
    """Compile once, render many: each render sees only its own variables."""
    sms = compile_template("t", "sms", text="Hi {{ name }}")
    assert ["Hi Ana", "Hi Bo"] == [sms.render({"name": n}).text for n in ("Ana", "Bo")]


def test_missing_variable_is_refused_naming_it() -> None:
    """A missing variable fails the request with its name, never sends the placeholder."""
    sms = compile_template("order-shipped", "sms", text=SHIPPED)
    with pytest.raises(MessageTemplateError, match=r"'order-shipped'.*missing variable\(s\) link"):
        sms.render({"order_id": "A1"})


def test_extra_variable_is_refused_naming_it() -> None:
    """A variable the template does not use is refused too: it is likely a typo."""
    sms = compile_template("t", "sms", text="Hi {{ name }}")
    with pytest.raises(MessageTemplateError, match=r"unexpected variable\(s\) nmae"):
        sms.render({"name": "Ana", "nmae": "Ana"})


def test_missing_attribute_is_refused_by_strict_undefined() -> None:
    """A missing attribute of a given variable fails too, rather than rendering empty."""
    sms = compile_template("t", "sms", text="Order {{ order.id }}")
    with pytest.raises(MessageTemplateError, match="has no attribute 'id'"):
        sms.render({"order": {"number": 1}})


def test_sandbox_refuses_class_walk() -> None:
    """Reaching for __class__ to climb to Python internals is refused by the sandbox."""
    sms = compile_template("t", "sms", text="{{ name.__class__.__mro__ }}")
    with pytest.raises(MessageTemplateError, match="refused by the sandbox"):
        sms.render({"name": "x"})


def test_sandbox_refuses_globals_of_a_function() -> None:
    """A function's __globals__ (the road to os and builtins) is out of reach."""
    sms = compile_template("t", "sms", text="{{ cycler.__init__.__globals__ }}")
    with pytest.raises(MessageTemplateError, match="refused by the sandbox"):
        sms.render({})


def test_immutable_sandbox_refuses_mutating_a_variable() -> None:
    """A template cannot change a list it was given."""
    sms = compile_template("t", "sms", text="{{ items.append(1) }}")
    with pytest.raises(MessageTemplateError, match="refused by the sandbox"):
        sms.render({"items": []})


def test_syntax_error_names_template_and_line() -> None:
    """A broken template fails at compile time with its id, part and line."""
    with pytest.raises(MessageTemplateError, match=r"'bad' \(text\), line 2"):
        compile_template("bad", "sms", text="ok\n{{ name ")


def test_error_is_a_gcnotify_error() -> None:
    """Template errors belong to the one exception tree."""
    assert issubclass(MessageTemplateError, GcnotifyError)


def test_html_email_part_is_autoescaped() -> None:
    """A variable cannot inject markup into an HTML email."""
    mail = compile_template("m", "email", subject="Hi", html="<p>{{ name }}</p>")
    assert "<p>&lt;b&gt;Ana&lt;/b&gt;</p>" == mail.render({"name": "<b>Ana</b>"}).html


def test_email_text_part_is_not_escaped() -> None:
    """The plain-text part shows characters as they are."""
    mail = compile_template("m", "email", subject="Hi", text="{{ brand }}")
    assert "Tom & Jerry" == mail.render({"brand": "Tom & Jerry"}).text


def test_sms_text_is_not_escaped() -> None:
    """SMS text is not HTML: an ampersand stays an ampersand."""
    assert "A & B" == compile_template("t", "sms", text="{{ x }}").render({"x": "A & B"}).text


def test_whatsapp_text_is_not_escaped() -> None:
    """WhatsApp text is not HTML either."""
    wa = compile_template("t", "whatsapp", text="{{ x }}")
    assert "<3" == wa.render({"x": "<3"}).text


def test_email_subject_is_one_line() -> None:
    """A line break in a variable cannot start a new mail header."""
    mail = compile_template("m", "email", subject="Re: {{ topic }}", text="x")
    assert "\n" not in (mail.render({"topic": "a\nBcc: x@example.com"}).subject or "\n")


def test_email_needs_a_subject() -> None:
    """An email template without a subject is refused when compiled."""
    with pytest.raises(MessageTemplateError, match="needs a subject"):
        compile_template("m", "email", html="<p>x</p>")


def test_sms_template_takes_text_only() -> None:
    """An SMS template with an HTML part is refused."""
    with pytest.raises(MessageTemplateError, match="text part and nothing else"):
        compile_template("t", "sms", text="x", html="<p>x</p>")


def test_sms_is_smart_encoded_with_segments_recorded() -> None:
    """A curly apostrophe from a variable is replaced, and the segments before and after kept."""
    sms = compile_template("t", "sms", text="{{ a }}{{ b }}")
    rendered = sms.render({"a": "x" * 150, "b": "’"})
    assert ("x" * 150 + "'", 3, 1) == (
        rendered.text,
        rendered.sms.before.segments if rendered.sms else None,
        rendered.sms.after.segments if rendered.sms else None,
    )


def test_sms_smart_encoding_can_be_turned_off() -> None:
    """With smart encoding off the text is sent as rendered."""
    sms = compile_template("t", "sms", text="It’s {{ x }}")
    assert "It’s ok" == sms.render({"x": "ok"}, smart_encoding=False).text


def test_sms_over_765_characters_is_refused() -> None:
    """A rendered SMS over the limit is refused, naming the template."""
    sms = compile_template("long", "sms", text="{{ body }}")
    with pytest.raises(MessageTemplateError, match=r"'long'.*766 characters, over the 765"):
        sms.render({"body": "a" * 766})


def test_other_text_channel_over_2000_characters_is_refused() -> None:
    """Web messaging text is capped at 2000 characters."""
    web = compile_template("web", "webmessaging", text="{{ body }}")
    with pytest.raises(MessageTemplateError, match="2001 characters, over the 2000"):
        web.render({"body": "a" * 2001})


def test_wrong_variable_type_is_a_template_error() -> None:
    """An operation a variable's type does not support fails as a template error."""
    sms = compile_template("t", "sms", text="{{ n + 1 }}")
    with pytest.raises(MessageTemplateError, match="check the types"):
        sms.render({"n": "one"})
