"""The gcnotify command line: validate, run (dry run, backfill) and demo."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gcnotify.cli.demo import DemoStack, start_stack
from gcnotify.cli.main import main
from gcnotify.handlers import report as handler

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoStack]:
    with start_stack(tmp_path / "stack", queue_count=4) as running:
        for key, value in running.environ.items():
            monkeypatch.setenv(key, value)
        handler.reset_cold_start()
        yield running
        handler.reset_cold_start()


def test_validate_shipped_config(capsys: pytest.CaptureFixture[str]) -> None:
    """validate says OK for the shipped config and exits 0."""
    assert 0 == main(["validate", "--config", str(REPO / "gcnotify.yaml")])
    assert "OK" in capsys.readouterr().out


def test_validate_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """validate exits 2 and prints each problem with its key path."""
    config = yaml.safe_load((REPO / "gcnotify.yaml").read_text())
    config["reports"][0]["timezone"] = "Europe/Londn"
    config["reports"][0]["metrics"].append("averageHandleTime")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    assert 2 == main(["validate", "--config", str(path)])
    err = capsys.readouterr().err
    assert "reports[0].timezone: 'Europe/Londn' is not an IANA time zone" in err
    assert "did you mean 'aht'?" in err


def test_run_dry_run_writes_files(
    stack: DemoStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """run --dry-run --out renders to files and sends nothing."""
    out = tmp_path / "out"
    code = main(
        ["run", "--report", "support-daily", "--date", "2026-11-20", "--dry-run", "--out", str(out)]
    )
    assert 0 == code
    summary = json.loads(capsys.readouterr().out)
    assert "dry_run" == summary["reports"][0]["status"]
    assert (out / "support-daily-2026-11-20.html").exists()
    assert (out / "support-daily-2026-11-20.eml").exists()
    assert 0 == stack.sendgrid.count("/")


def test_backfill_range_skips_already_sent(
    stack: DemoStack, capsys: pytest.CaptureFixture[str]
) -> None:
    """--from/--to runs each day once; a second backfill reports them already sent."""
    args = ["run", "--report", "support-daily", "--from", "2026-11-18", "--to", "2026-11-20"]
    assert 0 == main(args)
    assert 3 == len(stack.sendgrid.messages)
    capsys.readouterr()
    assert 0 == main(args)
    out = capsys.readouterr().out
    assert 3 == out.count('"already_sent"')
    assert 3 == len(stack.sendgrid.messages)


def test_backfill_range_errors(capsys: pytest.CaptureFixture[str]) -> None:
    """A reversed or half-given range is a clear error, exit 2 (bad arguments)."""
    assert 2 == main(
        [
            "run",
            "--from",
            "2026-11-20",
            "--to",
            "2026-11-18",
            "--config",
            str(REPO / "gcnotify.yaml"),
        ]
    )
    assert "--to 2026-11-18 is before --from 2026-11-20" in capsys.readouterr().err
    assert 2 == main(["run", "--from", "2026-11-20", "--config", str(REPO / "gcnotify.yaml")])
    assert "--from and --to go together" in capsys.readouterr().err


def test_run_failure_exits_1(stack: DemoStack, capsys: pytest.CaptureFixture[str]) -> None:
    """A failed report makes run exit 1 with the summary on stderr."""
    stack.genesys.forbid("/api/v2/analytics")
    assert 1 == main(["run", "--report", "support-daily", "--date", "2026-11-20"])
    assert "GenesysPermissionError" in capsys.readouterr().err


def test_demo_writes_the_sent_email(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """gcnotify demo runs the scheduled job and writes what SendGrid received."""
    handler.reset_cold_start()
    assert 0 == main(["demo", "--out", str(tmp_path / "out"), "--queues", "5"])
    printed = capsys.readouterr().out
    written = sorted(p.name for p in (tmp_path / "out").iterdir() if p.suffix != ".yaml")
    assert any(name.startswith("support-daily-") and name.endswith(".html") for name in written)
    assert {".html", ".txt", ".eml"} <= {Path(n).suffix for n in written}
    for name in written:
        assert name in printed


def test_python_dash_m_version() -> None:
    """python -m gcnotify works as the console script does."""
    result = subprocess.run(
        [sys.executable, "-m", "gcnotify", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("gcnotify ")


def test_verbose_logs_json(stack: DemoStack, capsys: pytest.CaptureFixture[str]) -> None:
    """-v logs one JSON object per line on stderr, with the report fields."""
    assert 0 == main(
        ["-v", "run", "--report", "support-daily", "--date", "2026-11-20", "--dry-run"]
    )
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    report_lines = [line for line in lines if line.get("report") == "support-daily"]
    assert report_lines
    assert "dry_run" == report_lines[-1]["status"]


def test_serve_ports_match_env_json() -> None:
    """env.json (for sam local invoke) points at the ports demo --serve listens on."""
    from gcnotify.cli.demo import SERVE_PORTS

    env = json.loads((REPO / "env.json").read_text())["ReportFunction"]
    ports = {int(v.rsplit(":", 1)[1]) for v in env.values() if v.startswith("http")}
    assert set(SERVE_PORTS) == ports


def test_demo_serve_prints_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--serve keeps the stand-ins up until Ctrl-C and prints every variable env.json sets."""
    import gcnotify.cli.demo

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(gcnotify.cli.demo.time, "sleep", interrupt)
    monkeypatch.setattr(gcnotify.cli.demo, "SERVE_PORTS", (0, 0, 0))  # free ports in CI
    assert 0 == main(["demo", "--serve", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    for key in json.loads((REPO / "env.json").read_text())["ReportFunction"]:
        assert f"  {key}=" in printed
