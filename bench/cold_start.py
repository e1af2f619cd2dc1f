"""Cold-start import cost of the Lambda handler, measured on the real build artifact.

Builds the artifact exactly as `sam build` does (`make -f build.mk build-ReportFunction`), then
times, in fresh interpreters (median of --runs, default 9):

- `import boto3` alone, and `import gcnotify.handler`, from the artifact as built (hash-based
  .pyc shipped, `--invalidation-mode checked-hash`);
- the same from a copy with every __pycache__ removed and bytecode writing disabled: what Lambda
  does when the zip holds no valid .pyc (its /var/task is read-only, so every cold start compiles).

Usage: python bench/cold_start.py [--runs 9] [--artifact DIR (skip the build)]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SNIPPET = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def find_python312() -> str:
    for candidate in [
        "python3.12",
        *sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12")),
    ]:
        path = shutil.which(str(candidate)) or (
            str(candidate) if Path(candidate).exists() else None
        )
        if path and subprocess.run([path, "-c", "import sys"], check=False).returncode == 0:
            return path
    return sys.executable


def build(artifact: Path) -> None:
    subprocess.run(
        ["make", "-s", "-f", "build.mk", "build-ReportFunction", f"ARTIFACTS_DIR={artifact}"],
        cwd=REPO,
        check=True,
    )


def time_import(python: str, root: Path, module: str, runs: int, *, bytecode: bool) -> float:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(root),
        "LAMBDA_TASK_ROOT": str(root),
    }
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [python, "-s", "-c", SNIPPET.format(module=module)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(float(out.stdout.strip()))
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--artifact", type=Path)
    args = parser.parse_args()
    python = find_python312()
    with tempfile.TemporaryDirectory() as tmp:
        artifact = args.artifact or Path(tmp) / "artifact"
        if args.artifact is None:
            build(artifact)
        bare = Path(tmp) / "no-pyc"
        shutil.copytree(artifact, bare)
        for cache in list(bare.rglob("__pycache__")):
            shutil.rmtree(cache)
        version = subprocess.run([python, "-V"], capture_output=True, text=True, check=True)
        print(f"{version.stdout.strip()}; median of {args.runs} fresh interpreters each")
        print(
            "variant                     | import boto3 | import gcnotify.handler | handler/boto3"
        )
        for label, root, bytecode in (
            ("hash-based .pyc shipped", artifact, True),
            ("no .pyc (read-only, none)", bare, False),
        ):
            boto = time_import(python, root, "boto3", args.runs, bytecode=bytecode)
            handler = time_import(python, root, "gcnotify.handler", args.runs, bytecode=bytecode)
            print(
                f"{label:<27} | {boto:9.1f} ms | {handler:20.1f} ms | "
                f"{handler / boto:.2f} (+{(handler / boto - 1) * 100:.0f} %)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
