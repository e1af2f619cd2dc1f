"""The US state table, the area-code table generated from phonenumbers, and the state lookup."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from datetime import datetime, time
from pathlib import Path
from types import ModuleType

import pytest

from gcnotify.messaging import state_rules
from gcnotify.messaging.area_codes import AREA_CODE_STATES
from gcnotify.messaging.state_rules import (
    DEFAULT_STATE_WINDOWS,
    US_STATES,
    Hours,
    StateWindow,
    state_of_number,
    state_window,
    state_windows,
)

ROOT = Path(__file__).resolve().parents[2]
EVERY_DAY = Hours(time(8), time(20))


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_area_codes", ROOT / "scripts/gen_area_codes.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rule(state: str, hours: Hours | None = EVERY_DAY) -> StateWindow:
    return state_window(state, weekdays=hours, saturday=hours, sunday=hours, source="test, 2026")


def test_the_shipped_module_is_the_script_output_byte_for_byte() -> None:
    """area_codes.py is exactly what scripts/gen_area_codes.py derives from the installed
    phonenumbers: no hand edits, and current after an upgrade (rerun the script if not).

    In a child process without coverage: under a coverage tracer, importing phonenumbers'
    geocoder data (290,000 entries) takes minutes instead of a third of a second.
    """
    if importlib.util.find_spec("phonenumbers.geodata") is None:
        pytest.skip("phonenumbers' geodata is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_", "COVERAGE_"))}
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts/gen_area_codes.py"), "--check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (0, "") == (done.returncode, done.stderr)


def test_the_script_gives_no_state_to_shared_foreign_or_unlisted_area_codes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One exchange across a state line, a province and Washington's spellings, on fake data
    (a stand-in module: the real geodata is slow to import under coverage)."""
    fake = {
        "1201": {"en": "New Jersey"},
        "1201200": {"en": "Jersey City, NJ"},
        "1201631": {"en": "New York, NY"},
        "1202": {"en": "Washington D.C."},
        "1206": {"en": "Washington State"},
        "1206200": {"en": "Seattle, WA"},
        "1305": {"en": "Florida"},
        "1305200": {"en": "Miami, FL"},
        "1416": {"en": "Ontario"},
        "1416200": {"en": "Toronto, ON"},
        "44": {"en": "United Kingdom"},
    }
    geodata = ModuleType("phonenumbers.geodata")
    geodata.GEOCODE_DATA = fake  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "phonenumbers.geodata", geodata)
    assert {"202": "DC", "206": "WA", "305": "FL"} == generator().derive()


def test_every_state_in_the_table_has_area_codes() -> None:
    """A state rule no number could reach would be a typo in the table or the generator."""
    assert set(DEFAULT_STATE_WINDOWS) <= set(AREA_CODE_STATES.values())


def test_every_entry_cites_a_source_with_a_year() -> None:
    """Each state names its statute or rule and a year."""
    assert [] == [
        s.state
        for s in DEFAULT_STATE_WINDOWS.values()
        if not re.search(r"\b(19|20)\d\d\b", s.source)
    ]


def test_every_entry_is_keyed_by_its_own_state() -> None:
    """The table's key is the entry's state, and its name is that state's."""
    assert [] == [
        k for k, s in DEFAULT_STATE_WINDOWS.items() if (k, US_STATES[k]) != (s.state, s.name)
    ]


def test_the_states_that_bar_holidays_are_marked() -> None:
    """Alabama, Louisiana and Rhode Island also bar holidays (recorded, not enforced)."""
    assert {"AL", "LA", "RI"} == {
        s.state for s in DEFAULT_STATE_WINDOWS.values() if s.holidays_barred
    }


@pytest.mark.parametrize(
    ("number", "state"),
    [
        ("+13055550123", "FL"),  # Miami
        ("+12145550123", "TX"),  # Dallas
        ("+12065550123", "WA"),  # Seattle
        ("+12025550123", "DC"),
        ("+18005550123", None),  # toll free
        ("+15005550123", None),  # 5XX: non-geographic
        ("+16005550123", None),  # 6XX: non-geographic
        ("+14165550123", None),  # Toronto: NANP but Canada
        ("+18765550123", None),  # Jamaica
        ("+442071234567", None),  # not NANP
        ("13055550123", None),  # not E.164
    ],
)
def test_state_of_number(number: str, state: str | None) -> None:
    """Area codes of one US state give it; toll free, 5XX/6XX, Canada, the rest give none."""
    assert state == state_of_number(number)


def test_florida_allows_until_eight() -> None:
    """19:59 local is inside Florida's hours, 20:00 is not."""
    florida = DEFAULT_STATE_WINDOWS["FL"]
    assert (True, False) == (
        florida.allows(datetime(2026, 6, 10, 19, 59)),
        florida.allows(datetime(2026, 6, 10, 20)),
    )


def test_texas_sunday_starts_at_noon() -> None:
    """11:59 on Sunday 14 June is outside Texas's hours, noon is inside; Saturday 09:00 inside."""
    texas = DEFAULT_STATE_WINDOWS["TX"]
    assert (False, True, True) == (
        texas.allows(datetime(2026, 6, 14, 11, 59)),
        texas.allows(datetime(2026, 6, 14, 12)),
        texas.allows(datetime(2026, 6, 13, 9)),
    )


def test_a_week_is_described_in_runs() -> None:
    """Rhode Island's week reads as three runs."""
    assert (
        "09:00–18:00 Monday to Friday, 10:00–17:00 Saturday, none on Sunday"
        == DEFAULT_STATE_WINDOWS["RI"].describe_days()
    )


def test_overrides_add_replace_and_remove_entries() -> None:
    """A config's mapping adds Idaho, replaces Texas and drops Florida."""
    table = state_windows({"ID": rule("ID"), "TX": rule("TX"), "FL": None})
    assert (True, EVERY_DAY, False, True) == (
        "ID" in table,
        table["TX"].hours_on(6),
        "FL" in table,
        set(DEFAULT_STATE_WINDOWS) - {"FL"} <= set(table),
    )


def test_an_override_under_the_wrong_key_is_refused() -> None:
    """An entry for Texas keyed as Florida is a mistake, not a rule."""
    with pytest.raises(ValueError, match="key it by its state"):
        state_windows({"FL": rule("TX")})


def test_the_defaults_are_read_only() -> None:
    """The shipped table cannot be changed in place; overrides make a new one."""
    with pytest.raises(TypeError):
        DEFAULT_STATE_WINDOWS["FL"] = rule("FL")  # type: ignore[index]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Hours(time(20), time(8)), "start before they end"),
        (lambda: rule("XX"), "not a US state code"),
        (lambda: StateWindow("FL", "Florida", (EVERY_DAY,) * 6, "src 2026"), "7 weekdays"),
        (lambda: StateWindow("FL", "Florida", (EVERY_DAY,) * 7, " "), "name the statute"),
        (
            lambda: StateWindow("MS", "Mississippi", (EVERY_DAY,) * 7, "s 2026", also_in="CST"),
            "not an IANA time zone",
        ),
    ],
)
def test_bad_entries_are_refused(make: object, message: str) -> None:
    """Backwards hours, an unknown state, a short week, no source, a bad zone are refused."""
    assert callable(make)
    with pytest.raises(ValueError, match=message):
        make()


def test_the_module_and_docs_say_this_is_not_legal_advice() -> None:
    """The label is on the table's module and on its user-facing page."""
    doc = (ROOT / "docs" / "US_STATE_RULES.md").read_text(encoding="utf-8")
    label = "not legal advice: check with counsel"
    assert (True, True) == (label in (state_rules.__doc__ or "").lower(), label in doc.lower())


def test_the_docs_list_every_state_with_its_source() -> None:
    """docs/US_STATE_RULES.md names each state of the table and cites its source verbatim."""
    doc = (ROOT / "docs" / "US_STATE_RULES.md").read_text(encoding="utf-8")
    assert [] == [
        s.state
        for s in DEFAULT_STATE_WINDOWS.values()
        if s.name not in doc or s.source not in doc or s.describe_days() not in doc
    ]
