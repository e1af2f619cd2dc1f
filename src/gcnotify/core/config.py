"""Load and validate ``gcnotify.yaml`` once, reporting every problem at once.

A typo in a config key must fail the deploy check, not silently fall back to a default at 6 a.m.
So unknown keys are errors, each problem names its key path, the bad value and the fix, and close
matches are suggested for time zones, metric names, weekday names and keys. Nothing here touches
the network: a bad config fails before anything is fetched or sent.

Bad input of any shape ends as a ``ConfigError``, never a traceback or a silent default: the file
must be UTF-8 and at most ``MAX_CONFIG_BYTES``; YAML's duplicate keys (which it resolves by keeping
the last) are problems; aliases may add at most ``MAX_ALIAS_VALUES`` values, so a few hundred bytes
cannot expand to gigabytes; values quoted in messages are abbreviated, never fully expanded.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import os
import re
import reprlib
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from string import Formatter
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import pytz
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gcnotify.core.errors import ConfigError, ConfigProblem
from gcnotify.core.model import (
    MAX_EMAIL_BYTES,
    METRIC_NAMES,
    PIPELINE_BLOCKS,
    STANDUP_ATTACHMENTS,
    STANDUP_BASES,
    WEEKDAYS,
    WINDOW_KINDS,
    Address,
    AlertSettings,
    ChatChannel,
    Config,
    GenesysExportSettings,
    GenesysSettings,
    HolidaySettings,
    Recipients,
    ReportConfig,
    SendGridSettings,
    StandupSettings,
)
from gcnotify.core.regions import GENESYS_ENVIRONMENTS
from gcnotify.core.text import header_problem

if TYPE_CHECKING:
    from gcnotify.core.calendar import PrecomputedHolidays

__all__ = ["MAX_ALIAS_VALUES", "MAX_CONFIG_BYTES", "BlockParser", "load_config", "parse_config"]

# A pipeline block's parser: the raw value and a ``problem(path, message)`` callback in, the
# block's settings out (None when it reported a problem).
BlockParser = Callable[[object, Callable[[str, str], None]], object | None]

# A real config is a few kilobytes (20,000 queue names fit in half of this); the bound keeps a
# wrong file (a log, a data dump) from being parsed at all.
MAX_CONFIG_BYTES = 1_000_000
# Values that aliases may add beyond those written out: ample for sharing recipient lists or
# `<<:` defaults between reports, far too few for an exponential "billion laughs" file.
MAX_ALIAS_VALUES = 10_000

_REPORT_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Deliberately loose: SendGrid validates the address itself; this catches typos like a missing @.
_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

GRANULARITIES = ("P1D", "PT1H", "PT30M")
ON_EMPTY = ("no_activity_email", "skip")
DATA_RESIDENCY = ("global", "eu")
# Aggregates `mediaType` values for queue reports (SDK model AnalyticsSession.mediaType).
MEDIA_TYPES = (
    "voice",
    "chat",
    "email",
    "callback",
    "message",
    "cobrowse",
    "video",
    "screenshare",
)
# Names users bring from the Genesys UI, the API or other guides, mapped to our metric names.
_METRIC_ALIASES = {
    "noffered": "offered",
    "tanswered": "answered",
    "tabandon": "abandoned",
    "thandle": "aht",
    "averagehandletime": "aht",
    "handle_time": "aht",
    "abandon_pct": "abandon_rate",
    "abandon_percent": "abandon_rate",
    "oservicelevel": "service_level",
    "sl": "service_level",
    "speed_of_answer": "asa",
    "sessions": "offered",
}

_TOP_KEYS = ("genesys", "sendgrid", "secret_id", "reports", "alerts", *PIPELINE_BLOCKS)
_REPORT_KEYS = (
    "id",
    "title",
    "timezone",
    "window",
    "business_days",
    "holidays",
    "queues",
    "media_types",
    "metrics",
    "interval",
    "on_empty",
    "subject",
    "recipients",
    "send_on_non_business_days",
    "send_at",
    "kind",
    "standup",
)
REPORT_KINDS = ("queue_report", "standup", "delivery_summary")
# Keys a delivery summary has no use for: it counts messages, not queue traffic.
_QUEUE_ONLY_KEYS = ("queues", "media_types", "metrics", "interval", "standup")
_STANDUP_KEYS = (
    "compare",
    "intervals",
    "agents",
    "attachments",
    "genesys_export",
    "max_email_bytes",
    "on_holiday",
    "chat",
)
STANDUP_SUBJECT = "Daily Standup Report - {business_date:%Y-%m-%d}"


def _closest(value: str, choices: Sequence[str], *, n: int = 1) -> list[str]:
    """The choices closest to ``value``, case-insensitively; empty when none is close."""
    lowered = {c.lower(): c for c in choices}
    matches = difflib.get_close_matches(value.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[m] for m in matches]


def _suggest(value: str, choices: Sequence[str], *, n: int = 1) -> str:
    """' (did you mean 'x'?)' for the closest choices, case-insensitively; '' when none is close."""
    matches = _closest(value, choices, n=n)
    if not matches:
        return ""
    names = " or ".join(repr(m) for m in matches)
    return f" (did you mean {names}?)"


class _Checker:
    """Collects problems while walking the raw YAML, so one run reports all of them."""

    def __init__(
        self,
        holidays: PrecomputedHolidays | None = None,
        problems: Sequence[ConfigProblem] = (),
    ) -> None:
        self.problems: list[ConfigProblem] = list(problems)
        self.holidays = holidays
        # Paths of missing keys already reported as a misspelt key ("recipents"), not again.
        self._misspelt: set[str] = set()

    def add(self, path: str, message: str) -> None:
        self.problems.append(ConfigProblem(path, message))

    def required(self, path: str, message: str) -> None:
        """Report a missing key, unless an unknown key already said it was misspelt."""
        if path not in self._misspelt:
            self.add(path, message)

    def mapping(self, path: str, value: object, allowed: Sequence[str]) -> dict[str, Any] | None:
        if not isinstance(value, Mapping):
            self.add(path or "(file)", f"must be a mapping of keys, got {_show(value)}")
            return None
        for key in value:
            if key not in allowed:
                close = _closest(str(key), allowed)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                if close and close[0] not in value:
                    self._misspelt.add(f"{path}.{close[0]}" if path else close[0])
                self.add(
                    f"{path}.{key}" if path else str(key),
                    f"unknown key{hint}; allowed keys here: {', '.join(allowed)}",
                )
        return {str(k): v for k, v in value.items()}

    def string(self, path: str, value: object, *, required: bool = True) -> str | None:
        if value is None:
            if required:
                self.required(path, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(path, f"must be a non-empty string, got {_show(value)}")
            return None
        return value

    def header(self, path: str, value: object, *, required: bool = True) -> str | None:
        """A string that becomes (part of) an email header: one line, no control characters."""
        text = self.string(path, value, required=required)
        if text is None:
            return None
        problem = header_problem(text)
        if problem is not None:
            self.add(path, f"{_show(text)} {problem}")
            return None
        return text

    def choice(self, path: str, value: object, choices: Sequence[str], default: str) -> str:
        if value is None:
            return default
        if not isinstance(value, str) or value not in choices:
            hint = _suggest(value, choices) if isinstance(value, str) else ""
            self.add(path, f"{_show(value)} is not one of {', '.join(choices)}{hint}")
            return default
        return value

    def string_list(
        self, path: str, value: object, *, required: bool, item: Callable[[str, str], bool]
    ) -> tuple[str, ...]:
        if value is None:
            if required:
                self.required(path, "is required and must list at least one entry")
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.add(path, f"must be a list, got {_show(value)}")
            return ()
        if required and not value:
            self.add(path, "must list at least one entry")
        out: list[str] = []
        seen: set[str] = set()  # a set, not `in out`: 20,000 queues must not take minutes
        for i, entry in enumerate(value):
            entry_path = f"{path}[{i}]"
            if not isinstance(entry, str) or not entry.strip():
                self.add(entry_path, f"must be a non-empty string, got {_show(entry)}")
                continue
            if entry in seen:
                self.add(entry_path, f"{entry!r} is listed twice; remove the duplicate")
                continue
            seen.add(entry)
            if item(entry_path, entry):
                out.append(entry)
        return tuple(out)

    def email(self, path: str, value: str) -> bool:
        problem = header_problem(value)
        if problem is not None:
            self.add(path, f"{_show(value)} {problem}")
            return False
        if not _EMAIL.match(value):
            self.add(path, f"{value!r} is not an email address (expected name@example.com)")
            return False
        return True

    def address(self, path: str, value: object, *, required: bool) -> Address | None:
        if value is None:
            if required:
                self.required(path, "is required, e.g. {email: reports@example.com, name: Reports}")
            return None
        if isinstance(value, str):
            value = {"email": value}
        raw = self.mapping(path, value, ("email", "name"))
        if raw is None:
            return None
        email = self.string(f"{path}.email", raw.get("email"))
        name = self.header(f"{path}.name", raw.get("name"), required=False)
        if name is not None and re.search(r"[;,]", name):
            self.add(f"{path}.name", f"{name!r} must not contain ';' or ',' (SendGrid rejects it)")
        if email is None or not self.email(f"{path}.email", email):
            return None
        return Address(email=email, name=name)


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxdict = 5
_REPR.maxstring = _REPR.maxother = 80


def _show(value: object) -> str:
    """A short repr: bounded in depth and length, so a deeply shared value is never expanded."""
    text = _REPR.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def load_config(
    path: str | Path,
    *,
    holidays: PrecomputedHolidays | None = None,
    blocks: Mapping[str, BlockParser] | None = None,
) -> Config:
    """Read and validate a config file; raise ``ConfigError`` listing every problem.

    ``holidays``: the artifact's precomputed table, so validation need not import ``holidays``.
    ``blocks``: the parsers of the pipeline blocks (``messaging`` …) this caller uses.
    """
    source = str(path)
    try:
        with Path(path).open("rb") as file:
            raw = _read_bounded(file)
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem("(file)", f"cannot read {source}: {exc.strerror or exc}")], source
        ) from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            [
                ConfigProblem(
                    "(file)",
                    f"{source} is larger than {MAX_CONFIG_BYTES:,} bytes, so it was not parsed; "
                    "a gcnotify config is a few kilobytes: check that this is the right file",
                )
            ],
            source,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            [
                ConfigProblem(
                    f"line {line}",
                    f"{source} is not UTF-8 text: at byte {exc.start} (0x{raw[exc.start]:02X}), "
                    f"{exc.reason}; save it as UTF-8 (in most editors: Save As, encoding UTF-8)",
                )
            ],
            source,
        ) from exc
    data, problems = _read_yaml(text, source)
    return _validate(data, source, holidays, problems, blocks or {})


def parse_config(
    data: object,
    *,
    source: str = "config",
    holidays: PrecomputedHolidays | None = None,
    blocks: Mapping[str, BlockParser] | None = None,
) -> Config:
    """Validate already-parsed YAML; raise ``ConfigError`` listing every problem."""
    return _validate(data, source, holidays, (), blocks or {})


def _read_bounded(file: BinaryIO) -> bytes:
    """At most ``MAX_CONFIG_BYTES + 1`` bytes, without a megabyte buffer for a 2 KB file.

    The size on disk sizes the read; a pipe (size 0) or a file that grew is read on to the bound.
    """
    expected = os.fstat(file.fileno()).st_size
    raw = file.read(min(expected, MAX_CONFIG_BYTES) + 1)
    if len(raw) > expected:
        raw += file.read(MAX_CONFIG_BYTES + 1 - len(raw))
    return raw


try:
    from yaml import CSafeLoader as _BaseLoader  # libyaml parses; construction is Python either way
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_MERGE_TAG = "tag:yaml.org,2002:merge"
# An anchor is `&` then its name; without one there is no alias, so the nodes form a tree.
_ANCHOR = r"&\S"  # compiled on first use (re caches it): most configs have no `&` at all


class _Loader(_BaseLoader):
    """The safe loader, noting whether any mapping lost a key to a later one with the same name."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.collided = False

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        mapping = super().construct_mapping(node, deep)
        if len(mapping) != len(node.value):  # a duplicate, or a key overriding a `<<:` merge
            self.collided = True
        return mapping


def _guard(tag: str, words: str) -> None:
    """Make the constructor for ``tag`` raise a YAML error at the value's line.

    PyYAML raises bare ValueError, KeyError, IndexError or AttributeError for ``2026-13-45``,
    ``!!int abc``, ``!!int ""``, ``!!bool maybe`` or 5,000 digits: a traceback, not a problem.
    """
    build = _Loader.yaml_constructors[tag]

    def construct(loader: _Loader, node: Node) -> Any:
        try:
            return build(loader, node)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"{_show(node.value)} cannot be read as {words} ({_show(str(exc))})",
                node.start_mark,
            ) from exc

    _Loader.add_constructor(tag, construct)


_guard("tag:yaml.org,2002:int", "a whole number")
_guard("tag:yaml.org,2002:float", "a number")
_guard("tag:yaml.org,2002:bool", "true or false")
_guard("tag:yaml.org,2002:timestamp", "a date")


def _read_yaml(text: str, source: str) -> tuple[object, list[ConfigProblem]]:
    """The parsed document and its duplicate-key problems; raise ``ConfigError`` if unreadable."""
    try:
        return _parse_yaml(text, source)
    except yaml.reader.ReaderError as exc:
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        where = _line_column(text, exc.position)
        message = f"U+{char:04X} is not allowed in YAML ({exc.reason}); remove it"
        raise ConfigError([ConfigProblem(where, message)], source) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(where, f"YAML syntax error: {problem}")], source) from exc
    except RecursionError as exc:  # pragma: no cover - only the pure-Python parser recurses
        problem = ConfigProblem("(file)", "is nested too deeply to be a gcnotify config")
        raise ConfigError([problem], source) from exc


def _parse_yaml(text: str, source: str) -> tuple[object, list[ConfigProblem]]:
    """Parse once; walk the nodes only when aliases are possible or a key collided.

    A file without anchors is a tree, so only duplicates need finding, and construction notices
    them for free; the walk then names their paths. Cold starts load the shipped file this way.
    """
    anchored = "&" in text and re.search(_ANCHOR, text) is not None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        duplicates: list[ConfigProblem] = []
        if anchored:
            refused, duplicates = _check_nodes(loader, node)
            if refused:
                raise ConfigError(refused, source)
        data = loader.construct_document(node)
        if anchored or not loader.collided:
            return data, duplicates
    finally:
        loader.dispose()
    # Construction flattens `<<:` merges into the nodes, so a fresh parse locates the duplicates.
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return data, [] if node is None else _check_nodes(loader, node)[1]
    finally:
        loader.dispose()


def _line_column(text: str, position: int) -> str:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return f"line {line}, column {column}"


class _Path:
    """Where a node sits (``reports[0].queues``), spelled out only when a problem needs it."""

    __slots__ = ("key", "parent")

    def __init__(self, parent: _Path | None, key: str | int) -> None:
        self.parent = parent
        self.key = key

    def __str__(self) -> str:
        parts: list[str] = []
        at: _Path | None = self
        while at is not None:
            key = at.key
            if isinstance(key, int):
                parts.append(f"[{key}]")
            else:
                parts.append(f".{key}" if at.parent is not None else key)
            at = at.parent
        return "".join(reversed(parts)) or "(file)"


def _check_nodes(loader: _Loader, root: Node) -> tuple[list[ConfigProblem], list[ConfigProblem]]:
    """Refused aliases (self-reference, too many values) and duplicate keys, before construction.

    One pass over the node graph, each node once: an alias is the same node met again, so the
    expanded size of every collection is summed from its children's without expanding anything.
    """
    refused: list[ConfigProblem] = []
    duplicates: list[ConfigProblem] = []
    size: dict[int, int] = {}  # expanded value count of each finished node
    open_nodes: set[int] = set()  # collections being walked: the ancestors of the current one
    # (node, path, children) entries; children is None until the node has been opened.
    stack: list[tuple[Node, _Path | None, list[Node] | None]] = [(root, None, None)]
    while stack:
        node, path, children = stack.pop()
        key = id(node)
        if children is not None:  # all children done: the node's expanded size is known
            size[key] = 1 + sum(size.get(id(c), 0) for c in children)
            open_nodes.discard(key)
            continue
        if key in size:
            continue
        if key in open_nodes:
            refused.append(
                ConfigProblem(
                    str(path),
                    "this alias refers to itself (it sits inside the value it names); "
                    "a config value cannot contain itself, so write it out",
                )
            )
            continue
        if isinstance(node, ScalarNode):
            size[key] = 1
            continue
        pushed: list[tuple[Node, _Path]] = []
        if isinstance(node, SequenceNode):
            items: list[Node] = node.value
            pushed = [(item, _Path(path, i)) for i, item in enumerate(items)]
            kids = items
        elif isinstance(node, MappingNode):
            kids = []
            first: dict[object, Node] = {}
            for key_node, value_node in node.value:
                kids.append(key_node)
                kids.append(value_node)
                name = _key_of(loader, key_node)
                if name is _UNHASHABLE:
                    pushed.append((value_node, _Path(path, "?")))
                    continue
                child = _Path(path, str(name))
                if name in first:
                    duplicates.append(
                        ConfigProblem(
                            str(child),
                            f"duplicate key on line {key_node.start_mark.line + 1} (first on "
                            f"line {first[name].start_mark.line + 1}); YAML keeps only the last "
                            "value, so delete or rename one",
                        )
                    )
                else:
                    first[name] = key_node
                pushed.append((value_node, child))
        else:  # pragma: no cover - the composer builds only these three kinds
            size[key] = 1
            continue
        for kid in kids:
            if isinstance(kid, ScalarNode):
                size[id(kid)] = 1
        open_nodes.add(key)
        stack.append((node, path, kids))
        stack.extend((n, p, None) for n, p in reversed(pushed) if id(n) not in size)
    added = size.get(id(root), 0) - len(size)
    if added > MAX_ALIAS_VALUES:
        refused.append(
            ConfigProblem(
                "(file)",
                f"aliases expand this file by {added:,} values, more than the "
                f"{MAX_ALIAS_VALUES:,} allowed (aliases may share a list or a mapping, not "
                "multiply it); write the values out, or alias fewer nested collections",
            )
        )
    return refused, duplicates


_UNHASHABLE = object()


def _key_of(loader: _Loader, key_node: Node) -> object:
    """A mapping key as YAML reads it (so ``1`` and ``0x1`` are equal), or a marker."""
    if key_node.tag == _MERGE_TAG:
        return "<<"
    if not isinstance(key_node, ScalarNode):
        return _UNHASHABLE  # a collection key: the constructor refuses it later
    key = loader.construct_object(key_node)  # cached: construction reuses it
    try:
        hash(key)
    except TypeError:  # pragma: no cover - scalars construct to hashable values
        return _UNHASHABLE
    return key


def _validate(
    data: object,
    source: str,
    holidays: PrecomputedHolidays | None,
    problems: Sequence[ConfigProblem],
    parsers: Mapping[str, BlockParser],
) -> Config:
    check = _Checker(holidays, problems)
    top = check.mapping("", data if data is not None else {}, _TOP_KEYS) or {}
    unknown = sorted(set(parsers) - set(PIPELINE_BLOCKS))
    if unknown:
        raise ValueError(f"no pipeline block is called {', '.join(unknown)}")
    blocks = _blocks(check, top, parsers)

    genesys = _genesys(check, top.get("genesys"))
    sendgrid = _sendgrid(check, top.get("sendgrid"))
    secret_id = check.string("secret_id", top.get("secret_id"), required=False)
    alerts = _alerts(check, top.get("alerts"))

    reports: list[ReportConfig] = []
    raw_reports = top.get("reports")
    if raw_reports is None and any(top.get(name) is not None for name in PIPELINE_BLOCKS):
        pass  # a deployment for notifications, campaigns or receipts alone needs no report
    elif raw_reports is None:
        check.required("reports", "must list at least one report")
    elif isinstance(raw_reports, list) and not raw_reports:
        check.add("reports", "must list at least one report")
    elif not isinstance(raw_reports, list):
        check.add("reports", f"must be a list of reports, got {_show(raw_reports)}")
    else:
        seen: dict[str, int] = {}
        for i, raw in enumerate(raw_reports):
            report = _report(check, f"reports[{i}]", raw)
            if report is None:
                continue
            if report.id in seen:
                check.add(
                    f"reports[{i}].id",
                    f"{report.id!r} is already used by reports[{seen[report.id]}]; "
                    "ids must be unique (they key the send ledger)",
                )
                continue
            seen[report.id] = i
            reports.append(report)

    if check.problems or genesys is None or sendgrid is None:
        raise ConfigError(check.problems, source)
    return Config(
        genesys=genesys,
        sendgrid=sendgrid,
        reports=tuple(reports),
        secret_id=secret_id,
        alerts=alerts,
        blocks=blocks,
    )


def _blocks(
    check: _Checker, top: Mapping[str, Any], parsers: Mapping[str, BlockParser]
) -> dict[str, object]:
    """Each pipeline block present: parsed when this caller knows its parser, else kept as is.

    The core cannot import the pipelines, so they hand their parsers in; a caller that does not
    use a block (the report function and ``messaging``) neither pays for nor fails on it.
    """
    found: dict[str, object] = {}
    for name in PIPELINE_BLOCKS:
        value = top.get(name)
        if value is None:
            continue
        parser = parsers.get(name)
        if parser is None:
            found[name] = value
            continue
        before = len(check.problems)
        parsed = parser(value, check.add)
        if parsed is None and len(check.problems) == before:
            check.add(name, "is not valid (its parser reported no detail)")
        elif parsed is not None:
            found[name] = parsed
    return found


def _genesys(check: _Checker, value: object) -> GenesysSettings | None:
    if value is None:
        check.required("genesys", "is required, e.g. {environment: mypurecloud.com}")
        return None
    raw = check.mapping("genesys", value, ("environment",))
    if raw is None:
        return None
    env = check.string("genesys.environment", raw.get("environment"))
    if env is None:
        return None
    domains = tuple(GENESYS_ENVIRONMENTS.values())
    if env in domains:
        return GenesysSettings(environment=env)
    stripped = re.sub(r"^(https?://)?(api\.|login\.)?", "", env).rstrip("/")
    if stripped in domains:
        fix = f" (write just the domain: {stripped!r})"
    elif env in GENESYS_ENVIRONMENTS:
        fix = f" (that is the region key; its domain is {GENESYS_ENVIRONMENTS[env]!r})"
    else:
        fix = _suggest(env, domains) or f"; known domains: {', '.join(domains)}"
    check.add("genesys.environment", f"{env!r} is not a Genesys Cloud region domain{fix}")
    return None


def _sendgrid(check: _Checker, value: object) -> SendGridSettings | None:
    if value is None:
        check.required("sendgrid", "is required, e.g. {from: {email: reports@example.com}}")
        return None
    raw = check.mapping(
        "sendgrid", value, ("from", "reply_to", "data_residency", "webhook_public_key")
    )
    if raw is None:
        return None
    sender = check.address("sendgrid.from", raw.get("from"), required=True)
    reply_to = check.address("sendgrid.reply_to", raw.get("reply_to"), required=False)
    residency = check.choice(
        "sendgrid.data_residency", raw.get("data_residency"), DATA_RESIDENCY, "global"
    )
    webhook_key = _webhook_key(check, raw.get("webhook_public_key"))
    if sender is None:
        return None
    return SendGridSettings(
        from_=sender,
        reply_to=reply_to,
        data_residency=cast("Any", residency),
        webhook_public_key=webhook_key,
    )


# A P-256 public key as DER SubjectPublicKeyInfo is one of these fixed headers (id-ecPublicKey,
# prime256v1, the bit string) and then the point: uncompressed 04||X||Y, what SendGrid shows and
# `cryptography` writes, or compressed 02|03||X.
_P256_SPKI = {
    bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200"): (65, b"\x04"),
    bytes.fromhex("3039301306072a8648ce3d020106082a8648ce3d030107032200"): (33, b"\x02\x03"),
}
_WEBHOOK_KEY_FIX = (
    "paste the Verification Key shown in SendGrid (Settings > Mail Settings > Signed Event "
    "Webhook): the Base64 text only, e.g. MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE…"
)


def _webhook_key(check: _Checker, value: object) -> str | None:
    """The Signed Event Webhook's public key, checked for its form here (Base64 of a P-256
    SubjectPublicKeyInfo). The webhook function loads it with ``cryptography`` at its cold start,
    which also checks the point; every function reads this config, and only that one should pay
    for importing ``cryptography``."""
    path = "sendgrid.webhook_public_key"
    text = check.string(path, value, required=False)
    if text is None:
        return None
    text = "".join(text.split())  # YAML folded or wrapped lines
    if text.startswith("-----BEGIN"):
        check.add(path, f"is a PEM block; {_WEBHOOK_KEY_FIX}, without the BEGIN/END lines")
        return None
    try:
        der = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        check.add(path, f"{_show(text)} is not Base64; {_WEBHOOK_KEY_FIX}")
        return None
    shape = _P256_SPKI.get(der[:26])
    if shape is None or len(der) != 26 + shape[0] or der[26:27] not in shape[1]:
        check.add(
            path,
            f"{_show(text)} is not a P-256 (ECDSA secp256r1) public key; {_WEBHOOK_KEY_FIX}",
        )
        return None
    return text


def _alerts(check: _Checker, value: object) -> AlertSettings:
    if value is None:
        return AlertSettings()
    raw = check.mapping("alerts", value, ("to", "chat"))
    if raw is None:
        return AlertSettings()
    to = check.string_list("alerts.to", raw.get("to"), required=False, item=check.email)
    return AlertSettings(to=to, chat=_chat_channels(check, "alerts.chat", raw.get("chat")))


_SECRET_KEY = re.compile(r"[A-Za-z0-9_]{1,64}")


def _chat_channels(check: _Checker, path: str, value: object) -> tuple[ChatChannel, ...]:
    """``[{kind: slack|teams, secret_key: NAME}]``: the webhook URL itself stays in the secret."""
    if value is None:
        return ()
    if not isinstance(value, list):
        check.add(
            path,
            f"must be a list like [{{kind: slack, secret_key: slack_ops_webhook}}], "
            f"got {_show(value)}",
        )
        return ()
    channels: list[ChatChannel] = []
    for i, entry in enumerate(value):
        raw = check.mapping(f"{path}[{i}]", entry, ("kind", "secret_key"))
        if raw is None:
            continue
        kind = raw.get("kind")
        if kind not in ("slack", "teams"):
            check.add(f"{path}[{i}].kind", f"{_show(kind)} is not a chat kind; use slack or teams")
            continue
        key = raw.get("secret_key")
        if not isinstance(key, str) or not _SECRET_KEY.fullmatch(key):
            check.add(
                f"{path}[{i}].secret_key",
                f"{_show(key)} is not a secret key name; name the key of the credentials secret "
                "that holds the webhook URL, e.g. slack_ops_webhook (letters, digits, _)",
            )
            continue
        channels.append(ChatChannel(kind=kind, secret_key=key))
    return tuple(channels)


def _timezone(check: _Checker, path: str, value: object) -> str | None:
    tz = check.string(path, value)
    if tz is None:
        return None
    if tz in pytz.all_timezones_set:
        return tz
    hint = _suggest(tz, pytz.common_timezones)
    if not hint:
        hint = " (use an IANA name such as 'America/New_York' or 'Europe/London')"
    check.add(path, f"{tz!r} is not an IANA time zone{hint}")
    return None


def _weekday(check: _Checker, path: str, value: str) -> bool:
    if value.upper() in WEEKDAYS:
        return True
    hint = _suggest(value[:3] if len(value) > 3 else value, WEEKDAYS) or _suggest(value, WEEKDAYS)
    check.add(path, f"{value!r} is not a weekday name{hint}; use {', '.join(WEEKDAYS)}")
    return False


def _metric(check: _Checker, path: str, value: str) -> bool:
    if value in METRIC_NAMES:
        return True
    alias = _METRIC_ALIASES.get(value.lower().replace(" ", "_"))
    hint = f" (did you mean {alias!r}?)" if alias else _suggest(value, METRIC_NAMES)
    check.add(
        path,
        f"{value!r} is not a report metric{hint}; available: {', '.join(METRIC_NAMES)}",
    )
    return False


def _holidays(check: _Checker, path: str, value: object) -> HolidaySettings | None:
    if value is None:
        return None
    raw = check.mapping(path, value, ("country", "subdivision", "dates", "genesys_schedule_group"))
    if raw is None:
        return None
    group = check.string(
        f"{path}.genesys_schedule_group", raw.get("genesys_schedule_group"), required=False
    )
    country = check.string(f"{path}.country", raw.get("country"), required=False)
    subdivision = check.string(f"{path}.subdivision", raw.get("subdivision"), required=False)
    if subdivision is not None and country is None:
        check.add(f"{path}.subdivision", "needs holidays.country as well")
    if country is not None:
        from gcnotify.core.calendar import check_holiday_settings

        problem = check_holiday_settings(country, subdivision, check.holidays)
        if problem is not None:
            key = (
                "subdivision" if subdivision is not None and "subdivision" in problem else "country"
            )
            check.add(f"{path}.{key}", problem)
    dates: set[date] = set()
    raw_dates = raw.get("dates") or []
    if not isinstance(raw_dates, list):
        check.add(f"{path}.dates", f"must be a list of dates, got {_show(raw_dates)}")
        raw_dates = []
    for i, entry in enumerate(raw_dates):
        if isinstance(entry, datetime):  # a date never equals a datetime: it would never match
            check.add(f"{path}.dates[{i}]", f"{_show(entry)} has a time; write just YYYY-MM-DD")
            continue
        if isinstance(entry, date):
            dates.add(entry)
            continue
        try:
            dates.add(date.fromisoformat(entry if isinstance(entry, str) else ""))
        except ValueError:
            check.add(f"{path}.dates[{i}]", f"{_show(entry)} is not a date; write YYYY-MM-DD")
    return HolidaySettings(
        country=country,
        subdivision=subdivision,
        dates=frozenset(dates),
        genesys_schedule_group=group,
    )


def _recipients(check: _Checker, path: str, value: object) -> Recipients | None:
    if value is None:
        check.required(path, "is required, e.g. {to: [supervisor@example.com]}")
        return None
    raw = check.mapping(path, value, ("to", "cc", "bcc"))
    if raw is None:
        return None
    to = check.string_list(f"{path}.to", raw.get("to"), required=True, item=check.email)
    cc = check.string_list(f"{path}.cc", raw.get("cc"), required=False, item=check.email)
    bcc = check.string_list(f"{path}.bcc", raw.get("bcc"), required=False, item=check.email)
    total = len({a.lower() for a in (*to, *cc, *bcc)})
    if total > 1000:
        check.add(path, f"has {total} unique addresses; SendGrid allows at most 1000 per email")
    if not to:
        return None
    return Recipients(to=to, cc=cc, bcc=bcc)


_SUBJECT_FIELDS = ("title", "business_date")
_SUBJECT_HELP = "use the placeholders {title} and {business_date:%a %d %b %Y}"
_SAMPLE_DATE = date(2026, 1, 2)
# Padding {title} to a billion characters would build that string at every send.
_MAX_SUBJECT_WIDTH = 200
# The width in a str format spec ([[fill]align][sign][z][#][0][width]...); compiled on first use.
_STR_SPEC_WIDTH = r"(?s:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d*)"


def _subject_problem(subject: str, title: str) -> str | None:
    """Why ``subject`` is not a safe template (plain {title} and {business_date} only), or None.

    ``str.format`` would also follow ``{business_date.__class__}`` or ``{title[0]}``; only a
    bare name with a literal format spec is let through, then a test format proves the spec.
    """
    try:
        fields = list(Formatter().parse(subject))
    except ValueError as exc:
        return f"has unbalanced braces ({exc}); write {{{{ or }}}} for a literal brace"
    for _, name, raw_spec, conversion in fields:
        if name is None:
            continue
        spec = raw_spec or ""
        field = name if len(name) <= 40 else name[:37] + "..."
        base = re.split(r"[.\[]", name, maxsplit=1)[0]
        if not base or base.isdigit():
            return f"has a positional placeholder {{{field}}}; name it"
        if base not in _SUBJECT_FIELDS:
            return f"has an unknown placeholder {{{field}}}{_suggest(base, _SUBJECT_FIELDS)}"
        if name != base:
            kind = "attribute access" if name[len(base)] == "." else "indexing"
            return f"uses {kind} in {{{field}}}; only the plain placeholder is allowed"
        if conversion is not None:
            return f"uses the conversion !{conversion} in {{{name}!{conversion}}}; drop it"
        if "{" in spec or "}" in spec:
            return f"has a nested placeholder in the format spec of {{{name}}}; write it literally"
        match = re.match(_STR_SPEC_WIDTH, spec) if spec and name == "title" else None
        width = match["width"] if match else ""
        if width and (len(width) > 3 or int(width) > _MAX_SUBJECT_WIDTH):
            return f"asks for a width of {width[:12]} in {{{name}}}; at most {_MAX_SUBJECT_WIDTH}"
    try:
        formatted = subject.format(title=title, business_date=_SAMPLE_DATE)
    except (ValueError, TypeError, OverflowError) as exc:
        return f"has a format spec invalid for its placeholder ({exc})"
    problem = header_problem(formatted)
    return None if problem is None else f"formats to text that {problem}"


def _subject(check: _Checker, path: str, value: object, default: str, title: str | None) -> str:
    if value is None:
        return default
    subject = check.header(path, value)
    if subject is None:
        return default
    problem = _subject_problem(subject, title or "Support queues")
    if problem is not None:
        check.add(path, f"{_show(subject)} {problem}; {_SUBJECT_HELP}")
        return default
    return subject


def _report(check: _Checker, path: str, value: object) -> ReportConfig | None:
    raw = check.mapping(path, value, _REPORT_KEYS)
    if raw is None:
        return None
    defaults = ReportConfig(id="x", title="x", timezone="UTC", recipients=Recipients(()), queues=())

    report_id = check.string(f"{path}.id", raw.get("id"))
    if report_id is not None and not _REPORT_ID.match(report_id):
        check.add(
            f"{path}.id",
            f"{report_id!r} must be lowercase letters, digits and single hyphens "
            "(e.g. 'support-daily')",
        )
        report_id = None
    title = check.header(f"{path}.title", raw.get("title"))
    timezone = _timezone(check, f"{path}.timezone", raw.get("timezone"))
    window = check.choice(f"{path}.window", raw.get("window"), WINDOW_KINDS, defaults.window)

    days = check.string_list(
        f"{path}.business_days",
        raw.get("business_days", list(WEEKDAYS[:5])),
        required=True,
        item=lambda p, v: _weekday(check, p, v),
    )
    business_days = frozenset(WEEKDAYS.index(d.upper()) for d in days)

    holidays = _holidays(check, f"{path}.holidays", raw.get("holidays"))

    def queue_ref(p: str, v: str) -> bool:
        if v != v.strip():
            check.add(p, f"{v!r} has leading or trailing spaces; queue names are matched exactly")
            return False
        return True

    kind = check.choice(f"{path}.kind", raw.get("kind"), REPORT_KINDS, "queue_report")
    summary = kind == "delivery_summary"
    if summary:
        for name in _QUEUE_ONLY_KEYS:
            if raw.get(name) is not None:
                check.add(
                    f"{path}.{name}",
                    "is not used by kind: delivery_summary (it counts the messages gcnotify "
                    "sent, not queue traffic); remove it",
                )
        raw = {k: v for k, v in raw.items() if k not in _QUEUE_ONLY_KEYS}
    queues = (
        ()
        if summary
        else check.string_list(f"{path}.queues", raw.get("queues"), required=True, item=queue_ref)
    )

    def media(p: str, v: str) -> bool:
        if v in MEDIA_TYPES:
            return True
        check.add(p, f"{v!r} is not a media type{_suggest(v, MEDIA_TYPES)}; use {MEDIA_TYPES}")
        return False

    media_types = check.string_list(
        f"{path}.media_types", raw.get("media_types"), required=False, item=media
    )
    metrics = check.string_list(
        f"{path}.metrics",
        raw.get("metrics", list(defaults.metrics)),
        required=True,
        item=lambda p, v: _metric(check, p, v),
    )
    interval = check.choice(f"{path}.interval", raw.get("interval"), GRANULARITIES, "P1D")
    on_empty = check.choice(f"{path}.on_empty", raw.get("on_empty"), ON_EMPTY, defaults.on_empty)
    subject = _subject(check, f"{path}.subject", raw.get("subject"), defaults.subject, title)
    recipients = _recipients(check, f"{path}.recipients", raw.get("recipients"))
    send_non_business = raw.get("send_on_non_business_days", False)
    if not isinstance(send_non_business, bool):
        check.add(
            f"{path}.send_on_non_business_days",
            f"must be true or false, got {_show(send_non_business)}",
        )
        send_non_business = False
    send_at = _send_at(check, f"{path}.send_at", raw.get("send_at"))
    standup: StandupSettings | None = None
    if kind == "standup":
        standup = _standup(check, f"{path}.standup", raw.get("standup"))
        if raw.get("subject") is None:
            subject = STANDUP_SUBJECT
    elif raw.get("standup") is not None:
        check.add(
            f"{path}.standup",
            "is only for reports of kind: standup; add kind: standup or remove the standup keys",
        )

    if None in (report_id, title, timezone, recipients) or not (queues or summary):
        return None
    return ReportConfig(
        id=cast("str", report_id),
        title=cast("str", title),
        timezone=cast("str", timezone),
        recipients=cast("Recipients", recipients),
        queues=queues,
        window=cast("Any", window),
        business_days=business_days,
        holidays=holidays,
        media_types=media_types,
        metrics=metrics,
        interval=cast("Any", interval),
        on_empty=cast("Any", on_empty),
        subject=subject,
        send_on_non_business_days=send_non_business,
        send_at=send_at,
        kind=cast("Any", kind),
        standup=standup,
    )


def _standup(check: _Checker, path: str, value: object) -> StandupSettings:
    """The ``standup:`` block; every key optional, each checked with its fix."""
    defaults = StandupSettings()
    if value is None:
        return defaults
    raw = check.mapping(path, value, _STANDUP_KEYS)
    if raw is None:
        return defaults

    def among(choices: Sequence[str]) -> Callable[[str, str], bool]:
        def ok(p: str, v: str) -> bool:
            if v in choices:
                return True
            check.add(p, f"{v!r} is not one of {', '.join(choices)}{_suggest(v, choices)}")
            return False

        return ok

    compare = check.string_list(
        f"{path}.compare",
        raw.get("compare", list(defaults.compare)),
        required=False,
        item=among(STANDUP_BASES),
    )
    intervals = check.choice(
        f"{path}.intervals", raw.get("intervals"), ("PT30M", "PT1H"), defaults.intervals
    )
    occupancy = adherence = False
    management_unit: str | None = None
    agents = raw.get("agents")
    if agents is not None:
        raw_agents = check.mapping(
            f"{path}.agents", agents, ("occupancy", "adherence", "management_unit")
        )
        for key in ("occupancy", "adherence"):
            flag = (raw_agents or {}).get(key, False)
            if not isinstance(flag, bool):
                check.add(f"{path}.agents.{key}", f"must be true or false, got {_show(flag)}")
        occupancy = (raw_agents or {}).get("occupancy") is True
        adherence = (raw_agents or {}).get("adherence") is True
        management_unit = check.string(
            f"{path}.agents.management_unit",
            (raw_agents or {}).get("management_unit"),
            required=False,
        )
        if adherence and management_unit is None:
            check.add(
                f"{path}.agents.management_unit",
                "is required with adherence: true; give the id of the WFM management unit the "
                "queues' agents are scheduled in (Genesys Cloud: Admin > Workforce Management)",
            )
    attachments = check.string_list(
        f"{path}.attachments",
        raw.get("attachments", list(defaults.attachments)),
        required=False,
        item=among(STANDUP_ATTACHMENTS),
    )
    export: GenesysExportSettings | None = None
    raw_export = raw.get("genesys_export")
    if raw_export is not None:
        export_keys = check.mapping(f"{path}.genesys_export", raw_export, ("view", "format"))
        if export_keys is not None:
            view = check.string(f"{path}.genesys_export.view", export_keys.get("view"))
            fmt = check.choice(
                f"{path}.genesys_export.format",
                export_keys.get("format"),
                ("PDF", "CSV"),
                "PDF",
            )
            if view is not None:
                export = GenesysExportSettings(view=view, format=cast("Any", fmt))
    budget = raw.get("max_email_bytes", defaults.max_email_bytes)
    if (
        isinstance(budget, bool)
        or not isinstance(budget, int)
        or not 50_000 <= budget <= MAX_EMAIL_BYTES
    ):
        check.add(
            f"{path}.max_email_bytes",
            f"{_show(budget)} must be a whole number of bytes from 50000 to {MAX_EMAIL_BYTES} "
            "(SendGrid refuses larger messages)",
        )
        budget = defaults.max_email_bytes
    on_holiday = check.choice(
        f"{path}.on_holiday", raw.get("on_holiday"), ("notice", "skip"), defaults.on_holiday
    )
    return StandupSettings(
        compare=compare,
        intervals=cast("Any", intervals),
        occupancy=occupancy,
        adherence=adherence,
        management_unit=management_unit,
        attachments=cast("Any", attachments),
        genesys_export=export,
        max_email_bytes=budget,
        on_holiday=cast("Any", on_holiday),
        chat=_chat_channels(check, f"{path}.chat", raw.get("chat")),
    )


_SEND_AT = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def _send_at(check: _Checker, path: str, value: object) -> time | None:
    """``"HH:MM"``, 24-hour local time of the report's zone. YAML reads an unquoted 06:00 as a
    number of minutes (sexagesimal), so only a quoted string is accepted."""
    if value is None:
        return None
    if isinstance(value, str) and (match := _SEND_AT.fullmatch(value)):
        return time(int(match.group(1)), int(match.group(2)))
    hint = ' (quote it: send_at: "06:00")' if isinstance(value, int) else ""
    check.add(path, f'{_show(value)} is not a local time like "06:00" (24-hour HH:MM){hint}')
    return None


def is_queue_id(ref: str) -> bool:
    """Queue refs that look like Genesys ids are looked up by id, others by exact name."""
    return bool(_UUID.match(ref))
