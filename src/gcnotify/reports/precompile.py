"""Precompute what a cold start would otherwise compute, into the Lambda artifact (build.mk).

- Templates: parsing and compiling six Jinja2 templates costs ~20 ms of every cold start;
  precompiled (and byte-compiled by the build's compileall) they load in ~2 ms. A manifest
  records the Jinja2 version and each source's SHA-256, so ``Renderer`` never uses templates
  compiled from other sources or by another Jinja2 (it compiles from source then, and says so).
- Holidays: ``holidays`` costs ~220 ms on a cold start (import, then a country's first year).
  The public holidays of every country/subdivision in the shipped ``gcnotify.yaml`` are written
  for last year to five years ahead (``calendar.PRECOMPUTED_NAME``); other years and countries
  still come from the package. Loading the config here also means ``sam build`` fails on a config
  that would fail at cold start.

Run with the artifact first on ``sys.path``, so its own Jinja2 and holidays do the work.

Usage: python -m gcnotify.reports.precompile ARTIFACT_DIR
"""

from __future__ import annotations

import json
import shutil
import sys
from datetime import date
from pathlib import Path

import jinja2

from gcnotify.core.calendar import PRECOMPUTED_NAME, precompute
from gcnotify.core.config import load_config
from gcnotify.core.errors import ConfigError
from gcnotify.reports.render import MANIFEST, TEMPLATE_NAMES, compiled_manifest, environment

__all__ = ["HOLIDAY_YEARS", "precompile", "precompile_artifact", "precompute_holidays"]

# Years precomputed around the build's year: last year (a January run reports December) to five
# years ahead (a deployment left alone that long still starts fast; later years still work).
HOLIDAY_YEARS = (-1, 5)


def precompile(templates_dir: Path, target: Path) -> list[Path]:
    """Write the compiled templates and their manifest into ``target`` (replaced); list them."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    env = environment(jinja2.FileSystemLoader(str(templates_dir)))
    env.compile_templates(
        str(target), zip=None, filter_func=lambda name: name in TEMPLATE_NAMES, ignore_errors=False
    )
    manifest = target / MANIFEST
    manifest.write_text(json.dumps(compiled_manifest(templates_dir), indent=2), encoding="utf-8")
    return sorted(target.iterdir())


def precompute_holidays(config_path: Path, target: Path, today: date) -> list[str]:
    """Write the holidays of the config's countries around ``today``'s year; list the keys."""
    config = load_config(config_path)
    pairs = {
        (r.holidays.country, r.holidays.subdivision)
        for r in config.reports
        if r.holidays is not None and r.holidays.country is not None
    }
    before, after = HOLIDAY_YEARS
    document = precompute(pairs, today.year + before, today.year + after)
    target.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return list(document["calendars"])


def precompile_artifact(root: Path, today: date | None = None) -> list[str]:
    """Everything above for the artifact at ``root``; one line per thing written."""
    (root / PRECOMPUTED_NAME).unlink(missing_ok=True)  # never validate against a stale table
    written = precompile(root / "templates", root / "templates_compiled")
    keys = precompute_holidays(
        root / "gcnotify.yaml", root / PRECOMPUTED_NAME, today or date.today()
    )
    return [
        f"precompiled {len(written) - 1} templates into {root / 'templates_compiled'}",
        f"precomputed holidays of {', '.join(keys) or 'no country'} into {root / PRECOMPUTED_NAME}",
    ]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m gcnotify.reports.precompile ARTIFACT_DIR", file=sys.stderr)
        return 2
    try:
        lines = precompile_artifact(Path(args[0]))
    except ConfigError as exc:
        print(
            f"gcnotify.yaml in the artifact is invalid, fix it and build again:\n{exc}",
            file=sys.stderr,
        )
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
