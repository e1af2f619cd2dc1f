"""Precompile the email templates into the Lambda artifact (build.mk runs this).

Parsing and compiling six Jinja2 templates costs ~20 ms of every cold start; precompiled (and
byte-compiled by the build's compileall) they load in ~2 ms. A manifest records the Jinja2
version and each source's SHA-256, so ``Renderer`` never uses templates compiled from other
sources or by another Jinja2 (it compiles from source then, and logs why).

Usage: python -m gcnotify.precompile TEMPLATES_DIR TARGET_DIR
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import jinja2

from .render import MANIFEST, TEMPLATE_NAMES, compiled_manifest, environment

__all__ = ["precompile"]


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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m gcnotify.precompile TEMPLATES_DIR TARGET_DIR", file=sys.stderr)
        return 2
    written = precompile(Path(args[0]), Path(args[1]))
    print(f"precompiled {len(written) - 1} templates into {args[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
