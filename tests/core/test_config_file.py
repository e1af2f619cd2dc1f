"""Reading the config file: encoding, size, duplicate keys, aliases and YAML value errors."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gcnotify.core.config import MAX_CONFIG_BYTES, load_config
from gcnotify.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

VALID = """\
genesys:
  environment: mypurecloud.com
sendgrid:
  from: {email: reports@example.com, name: Reports}
reports:
  - id: support-daily
    title: Support queues
    timezone: America/New_York
    queues: [Support]
    recipients: {to: [sup@example.com]}
"""


def problems_in(tmp_path: Path, content: str | bytes) -> list[str]:
    path = tmp_path / "gcnotify.yaml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) == info.value.source
    return [str(p) for p in info.value.problems]


def test_file_that_is_not_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    """A Latin-1 é gives the file, the byte offset and the fix, not a UnicodeDecodeError."""
    content = VALID.replace("Support queues", "Caf\xe9").encode("latin-1")
    found = problems_in(tmp_path, content)
    offset = content.index(b"\xe9")
    assert 1 == len(found), found
    assert f"byte {offset}" in found[0], found
    assert found[0].startswith("line 7:"), found
    assert "save it as UTF-8" in found[0], found


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    """Windows editors' UTF-8 with BOM is still UTF-8."""
    path = tmp_path / "gcnotify.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    assert "support-daily" == load_config(path).reports[0].id


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    """A config larger than the bound is refused without being parsed."""
    found = problems_in(tmp_path, VALID + "#" * MAX_CONFIG_BYTES)
    assert 1 == len(found), found
    assert "larger than" in found[0], found


def test_duplicate_top_level_key_is_reported_with_its_line(tmp_path: Path) -> None:
    """A second `reports:` no longer silently replaces the first."""
    content = VALID + "reports:\n  - id: other\n"
    found = problems_in(tmp_path, content)
    assert 1 == sum(p.startswith("reports: duplicate key") for p in found), found
    duplicate = next(p for p in found if p.startswith("reports: duplicate key"))
    assert "line 11" in duplicate, duplicate
    assert "line 5" in duplicate, duplicate


def test_each_nested_duplicate_is_its_own_problem(tmp_path: Path) -> None:
    """Duplicates deep in the file each name their key path."""
    content = VALID.replace(
        "    title: Support queues\n",
        "    title: Support queues\n    title: Again\n    queues: [Billing]\n",
    )
    found = problems_in(tmp_path, content)
    assert [
        "reports[0].title: duplicate key on line 8 (first on line 7); YAML keeps only the last "
        "value, so delete or rename one",
        "reports[0].queues: duplicate key on line 11 (first on line 9); YAML keeps only the last "
        "value, so delete or rename one",
    ] == found


def test_duplicate_in_flow_mapping_is_reported(tmp_path: Path) -> None:
    """`{email: a, email: b}` counts too."""
    content = VALID.replace("{to: [sup@example.com]}", "{to: [a@example.com], to: [b@example.com]}")
    found = problems_in(tmp_path, content)
    assert 1 == len(found), found
    assert found[0].startswith("reports[0].recipients.to: duplicate key on line 10"), found


def test_equal_keys_written_differently_are_duplicates(tmp_path: Path) -> None:
    """Keys are compared as YAML reads them, so 1 and 0x1 collide."""
    content = VALID + "alerts: {to: [ops@example.com]}\n" + "x:\n  1: a\n  0x1: b\n"
    found = problems_in(tmp_path, content)
    assert any(p.startswith("x.1: duplicate key on line 14") for p in found), found


@pytest.mark.parametrize(
    "merged", ["&base {id: base, window: yesterday}", "{id: base, window: yesterday}"]
)
def test_merge_key_override_is_not_a_duplicate(tmp_path: Path, merged: str) -> None:
    """A key overriding one brought in by `<<:` is ordinary YAML, not a duplicate."""
    content = VALID.replace(
        "reports:\n  - id: support-daily\n",
        f"reports:\n  - <<: {merged}\n    id: support-daily\n",
    )
    report = load_config(_write(tmp_path, content)).reports[0]
    assert ("support-daily", "yesterday") == (report.id, report.window)


def test_twenty_thousand_queue_file_loads(tmp_path: Path) -> None:
    """A file listing 20,000 queues is within the size bound and loads."""
    queues = "".join(f"      - Queue {i:05d}\n" for i in range(20_000))
    content = VALID.replace("    queues: [Support]\n", "    queues:\n" + queues)
    assert 20_000 == len(load_config(_write(tmp_path, content)).reports[0].queues)


def test_shared_values_through_aliases_load(tmp_path: Path) -> None:
    """Anchors and aliases within the bound let reports share a recipients list."""
    second = (
        "  - id: billing-daily\n    title: Billing\n    timezone: UTC\n"
        "    queues: [Billing]\n    recipients: *team\n"
    )
    content = VALID.replace("{to: [sup@example.com]}", "&team {to: [sup@example.com]}") + second
    config = load_config(_write(tmp_path, content))
    assert config.reports[0].recipients == config.reports[1].recipients


def _write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "gcnotify.yaml"
    path.write_text(content, encoding="utf-8")
    return path


BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    """A small file whose aliases expand to a billion values is refused, not expanded."""
    content = BILLION_LAUGHS + "\n" + VALID.replace("[Support]", "*i")
    found = problems_in(tmp_path, content)
    assert 1 == len(found), found
    assert found[0].startswith("(file): aliases expand"), found


def test_self_referencing_alias_is_refused(tmp_path: Path) -> None:
    """A value that contains itself cannot be a config value."""
    found = problems_in(tmp_path, VALID.replace("[Support]", "&q [Support, *q]"))
    assert 1 == len(found), found
    assert found[0].startswith("reports[0].queues[1]:"), found
    assert "refers to itself" in found[0], found


@pytest.mark.parametrize(
    ("value", "line_text"),
    [
        ("[2026-13-45]", "line 9"),
        ("[!!int abc]", "line 9"),
        ("[!!bool maybe]", "line 9"),
        ("[!!timestamp soon]", "line 9"),
        ("[" + "1" * 5000 + "]", "line 9"),
    ],
    ids=["impossible-date", "int-tag", "bool-tag", "timestamp-tag", "huge-int"],
)
def test_value_yaml_cannot_build_names_its_line(tmp_path: Path, value: str, line_text: str) -> None:
    """Values YAML recognises but cannot construct are problems with a line, not tracebacks."""
    found = problems_in(tmp_path, VALID.replace("[Support]", value))
    assert 1 == len(found), found
    assert found[0].startswith(line_text), found


def test_control_character_in_file_names_its_line(tmp_path: Path) -> None:
    """A raw control character YAML refuses is located by line and column."""
    found = problems_in(tmp_path, VALID.replace("Support queues", "Support\x01queues"))
    assert 1 == len(found), found
    assert found[0].startswith("line 7, column 19:"), found


def test_top_level_list_is_a_problem(tmp_path: Path) -> None:
    """A file holding a list instead of a mapping says so, under a readable path."""
    found = problems_in(tmp_path, "- genesys\n")
    assert found[0].startswith("(file): must be a mapping of keys"), found


YAML_PIECES = [
    *"ab:-[]{}&*!<>,'\"\n #?|0123.\t%@",
    "!!int ",
    "!!bool ",
    "!!timestamp ",
    "!!set ",
    "!!binary ",
    "&a ",
    "*a",
    "<<: ",
    "? ",
    "2026-13-45",
    "\u2028",
    "\ufeff",
]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(YAML_PIECES), max_size=40).map("".join))
def test_any_text_gives_a_config_or_a_config_error(tmp_path: Path, text: str) -> None:
    """Whatever the file holds, loading ends in a Config or a ConfigError, never a traceback."""
    path = _write(tmp_path, VALID + text)
    with contextlib.suppress(ConfigError):
        load_config(path)
