"""Cold-start import cost of the Lambda handler, measured on the real build artifact.

Builds the artifact exactly as `sam build` does (`make -f build.mk build-ReportFunction`, for this
machine's architecture so that native extensions load), then times imports in fresh Python 3.12
interpreters of a bare venv (no site-packages of its own, like Lambda's runtime: only the artifact
on sys.path), median of --runs (default 9), in two variants:

- the artifact as shipped: hash-based .pyc (`--invalidation-mode checked-hash`), with every file
  time reset to 1980-01-01 as a zip does, so timestamp-based .pyc would be stale;
- the same with every __pycache__ removed: what Lambda does when the zip holds no valid .pyc
  (/var/task is read-only, so every cold start compiles every module it imports).

Bytecode writing is off in both (PYTHONDONTWRITEBYTECODE=1), as on read-only /var/task, so a
broken shipped .pyc shows up as slow instead of being repaired by the first run.

Each interpreter times, in one run: `import boto3`, then `import gcnotify.handlers.report` (the
handler's own cost on top of boto3, which a cold start loads anyway; it is held to at most 40 % of
`import boto3`'s time), then the modules a first report imports lazily (for information: what the
first invocation still pays, and what a report with holidays costs with the artifact's
precomputed table and with the `holidays` package). Separate interpreters time
`import gcnotify.handlers.report` alone. Modules must load from the artifact, which is checked.

Usage: python bench/cold_start.py [--runs 9] [--artifact DIR (skip the build)]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip entry can carry
TARGET = 0.40  # the handler's own import may add at most 40 % over `import boto3`

# What the first report (handler.handle -> runner) imports on top of the handler module: the
# runner, the HTTP clients (requests), the Jinja2 renderer, the ledger and the secret reader; and,
# when a report names a holidays country, `holidays` with that country's calendar (US-NY here).
LAZY = (
    "gcnotify.reports.runner",
    "gcnotify.genesys.client",
    "gcnotify.sendgrid.client",
    "gcnotify.reports.render",
    "gcnotify.aws.secrets",
    "gcnotify.aws.ledger",
    "gcnotify.core.calendar",
)

# One fresh interpreter: import boto3, then the handler, then the lazy set; times in seconds.
STEPS = f"""
import sys, time
t0 = time.perf_counter()
import boto3
t1 = time.perf_counter()
import gcnotify.handlers.report
t2 = time.perf_counter()
import {", ".join(LAZY)}
t3 = time.perf_counter()
from datetime import date
from gcnotify.core.calendar import check_holiday_settings, closed_days
from gcnotify.runtime.resources import precomputed_holidays
from gcnotify.core.model import HolidaySettings
assert check_holiday_settings("US", "NY", precomputed_holidays()) is None
table = precomputed_holidays()
assert closed_days(HolidaySettings(country="US", subdivision="NY"), table)(date(2026, 11, 26))
t4 = time.perf_counter()
if "holidays" in sys.modules:
    raise SystemExit("the shipped holidays table was not used: holidays got imported")
import holidays
holidays.country_holidays("US", subdiv="NY", years=2026)
t5 = time.perf_counter()
root = sys.argv[1]
outside = sorted(
    name for name, m in list(sys.modules.items())
    if name.split(".")[0] in {{"boto3", "botocore", "gcnotify", "holidays", "jinja2", "yaml"}}
    and getattr(m, "__file__", None) and not m.__file__.startswith(root)
)
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, ",".join(outside))
"""
ALONE = """
import time
t0 = time.perf_counter()
import gcnotify.handlers.report
print(time.perf_counter() - t0, "boto3" in __import__("sys").modules)
"""


def find_python312() -> str:
    """A Python 3.12 (the Lambda runtime's version: .pyc of other versions are ignored)."""
    candidates = [
        shutil.which("python3.12"),
        *sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.12*/bin/python3.12")),
        "/usr/local/bin/python3.12",
        "/usr/bin/python3.12",
        sys.executable,
    ]
    check = "import sys; sys.exit(sys.version_info[:2] != (3, 12))"
    for path in candidates:
        if path and Path(path).exists():
            ok = subprocess.run([path, "-c", check], capture_output=True, check=False)
            if ok.returncode == 0:
                return path
    raise SystemExit("cold_start.py: no Python 3.12 found (the Lambda runtime's version)")


def lambda_arch() -> str:
    machine = platform.machine().lower()
    return "arm64" if machine in {"aarch64", "arm64"} else "x86_64"


def build(artifact: Path, python: str) -> None:
    subprocess.run(
        [
            "make",
            "-s",
            "-f",
            "build.mk",
            "build-ReportFunction",
            f"ARTIFACTS_DIR={artifact}",
            f"LAMBDA_PYTHON={python}",
            f"LAMBDA_ARCH={lambda_arch()}",
        ],
        cwd=REPO,
        check=True,
    )


def bare_venv(base: str, where: Path) -> str:
    """An interpreter with nothing but the standard library (no .pth, no site-packages)."""
    subprocess.run([base, "-m", "venv", "--without-pip", str(where)], check=True)
    return str(where / "bin" / "python")


def stale_pyc_count(python: str, root: Path) -> tuple[int, int]:
    """(.py files, of which without a valid checked-hash .pyc) under ``root``."""
    code = """
import importlib.util, pathlib, sys
total = bad = 0
for py in pathlib.Path(sys.argv[1]).rglob("*.py"):
    total += 1
    pyc = pathlib.Path(importlib.util.cache_from_source(str(py)))
    head = pyc.read_bytes()[:16] if pyc.exists() else b""
    ok = len(head) == 16 and head[:4] == importlib.util.MAGIC_NUMBER
    ok = ok and int.from_bytes(head[4:8], "little") == 3  # hash-based, checked
    ok = ok and head[8:16] == importlib.util.source_hash(py.read_bytes())
    bad += not ok
print(total, bad)
"""
    out = subprocess.run(
        [python, "-c", code, str(root)], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), int(out[1])


# The notification functions share the artifact; each handler module after boto3, alone.
NOTIFY_HANDLERS = (
    "intake",
    "data_action",
    "sender",
    "dnc_sync",
    "campaign",
    "receipts_poll",
    "sendgrid_webhook",
)
NOTIFY_STEP = """
import sys, time
import boto3
t0 = time.perf_counter()
import importlib
importlib.import_module("gcnotify.handlers." + sys.argv[2])
print(time.perf_counter() - t0)
"""


def notify_handlers_ms(python: str, root: Path, runs: int) -> dict[str, float]:
    """Median ms each notification handler module adds after ``import boto3``."""
    samples: dict[str, list[float]] = {name: [] for name in NOTIFY_HANDLERS}
    for _ in range(runs):
        for name in NOTIFY_HANDLERS:
            out = subprocess.run(
                [python, "-c", NOTIFY_STEP, str(root), name],
                env=_env(root),
                cwd=root,
                capture_output=True,
                text=True,
                check=True,
            )
            samples[name].append(float(out.stdout.split()[0]))
    return {name: statistics.median(v) * 1000 for name, v in samples.items()}


# The first two boto3 clients a cold start creates (Secrets Manager, then the ledger's DynamoDB).
CLIENTS = """
import time
import boto3
t0 = time.perf_counter()
session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="y")
session.client("secretsmanager")
session.client("dynamodb")
print(time.perf_counter() - t0)
"""


def clients_ms(python: str, roots: list[Path], runs: int) -> list[float]:
    """Median ms of CLIENTS per artifact variant, interleaved so drift hits each alike."""
    samples: list[list[float]] = [[] for _ in roots]
    for _ in range(runs):
        for i, root in enumerate(roots):
            samples[i].append(float(run(python, root, CLIENTS)[0]))
    return [statistics.median(s) * 1000 for s in samples]


def with_all_botocore_models(shipped: Path, where: Path) -> Path | None:
    """A copy of the artifact whose botocore/data holds every service model (as pip installs it),
    taken from this interpreter's botocore when it is the same version; else None."""
    import botocore

    version = (shipped / "botocore" / "__init__.py").read_text()
    if f"__version__ = '{botocore.__version__}'" not in version:
        return None
    shutil.copytree(shipped, where)
    shutil.rmtree(where / "botocore" / "data")
    shutil.copytree(Path(botocore.__file__).parent / "data", where / "botocore" / "data")
    return where


def _env(root: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(root),
        "LAMBDA_TASK_ROOT": str(root),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def run(python: str, root: Path, code: str) -> list[str]:
    out = subprocess.run(
        [python, "-c", code, str(root)],
        env=_env(root),
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def importtime(python: str, root: Path, runs: int, top: int) -> list[str]:
    """`-X importtime` of `import gcnotify.handlers.report` after `import boto3`: the handler's
    subtree, median per module over ``runs`` interpreters, heaviest (cumulative) first."""
    cumulative: dict[str, list[int]] = {}
    own: dict[str, list[int]] = {}
    depth: dict[str, int] = {}
    for _ in range(runs):
        err = subprocess.run(
            [python, "-X", "importtime", "-c", "import boto3; import gcnotify.handlers.report"],
            env=_env(root),
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stderr.splitlines()
        # Lines come in completion order: the handler's subtree is everything after boto3's line.
        first = max(i for i, line in enumerate(err) if line.rstrip().endswith("| boto3")) + 1
        for line in err[first:]:
            parts = line.removeprefix("import time:").split("|")
            if len(parts) != 3 or not parts[0].strip().isdigit():
                continue
            name = parts[2].rstrip()
            module = name.strip()
            depth[module] = (len(name) - len(name.lstrip()) - 1) // 2
            own.setdefault(module, []).append(int(parts[0]))
            cumulative.setdefault(module, []).append(int(parts[1]))
    rows = sorted(
        ((statistics.median(v), statistics.median(own[k]), k) for k, v in cumulative.items()),
        reverse=True,
    )
    return [
        f"{c / 1000:8.1f} ms {s / 1000:8.1f} ms   {'  ' * depth[k]}{k}" for c, s, k in rows[:top]
    ]


def measure(python: str, root: Path, runs: int) -> dict[str, float]:
    """Medians in ms; interleaves the two kinds of interpreter so drift hits both alike."""
    keys = ("boto3", "own", "lazy", "holidays", "package")
    samples: dict[str, list[float]] = {k: [] for k in (*keys, "alone")}
    for _ in range(runs):
        fields = run(python, root, STEPS)
        if len(fields) > len(keys):
            raise SystemExit(f"modules loaded from outside the artifact {root}: {fields[-1]}")
        for key, value in zip(keys, fields, strict=True):
            samples[key].append(float(value))
        handler_alone, imported_boto3 = run(python, root, ALONE)
        if imported_boto3 != "False":
            raise SystemExit(
                "import gcnotify.handlers.report imported boto3: the table below is wrong"
            )
        samples["alone"].append(float(handler_alone))
    return {key: statistics.median(values) * 1000 for key, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--artifact", type=Path)
    parser.add_argument("--json", action="store_true", help="also print the medians as JSON")
    parser.add_argument(
        "--importtime",
        type=int,
        default=15,
        metavar="N",
        help="print the N heaviest modules the handler import adds after boto3 (0: none)",
    )
    args = parser.parse_args()
    if args.runs < 7:
        parser.error("--runs must be at least 7")
    base = find_python312()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        built = args.artifact or tmp / "artifact"
        if args.artifact is None:
            build(built, base)
        python = bare_venv(base, tmp / "venv")
        shipped = tmp / "shipped"
        shutil.copytree(built, shipped)
        for path in [shipped, *shipped.rglob("*")]:
            os.utime(path, (ZIP_EPOCH, ZIP_EPOCH), follow_symlinks=False)
        bare = tmp / "no-pyc"
        shutil.copytree(built, bare)
        for cache in list(bare.rglob("__pycache__")):
            shutil.rmtree(cache)
        sources, stale = stale_pyc_count(python, shipped)
        version = subprocess.run([python, "-V"], capture_output=True, text=True, check=True)
        print(
            f"{version.stdout.strip()} ({platform.machine()}, artifact built for "
            f"LAMBDA_ARCH={lambda_arch()}); median of {args.runs} fresh interpreters per cell"
        )
        print(f"shipped artifact: {sources} .py files, {stale} without a valid checked-hash .pyc")
        print()
        header = (
            f"{'variant':<27} | {'import boto3':>12} | {'handler alone':>13} | "
            f"{'handler after boto3':>19} | {'added over boto3':>16} | {'at most 40 %?':>14} || "
            f"{'then report modules':>19} | {'then holidays US-NY':>19} | "
            f"{'holidays package':>16}"
        )
        print(header)
        print("-" * len(header))
        results = {}
        for label, root in (
            ("hash-based .pyc shipped", shipped),
            ("no .pyc (compiled each run)", bare),
        ):
            m = measure(python, root, args.runs)
            results[label] = m
            added = m["own"] / m["boto3"]
            verdict = "yes" if added <= TARGET else "NO"
            print(
                f"{label:<27} | {m['boto3']:9.1f} ms | {m['alone']:10.1f} ms | "
                f"{m['own']:16.1f} ms | {added * 100:14.0f} % | {verdict:>14} || "
                f"{m['lazy']:16.1f} ms | {m['holidays']:16.1f} ms | {m['package']:13.1f} ms",
                flush=True,
            )
        print()
        print(
            "Left of ||: what the handler import costs; 'at most 40 %?' says whether 'added over "
            "boto3'\n(handler after boto3, as a share of `import boto3`) stays within 40 %. Each "
            "cell is the median of its own samples.\n"
            "handler alone: `import gcnotify.handlers.report` in a fresh interpreter (it does not "
            "import boto3).\nhandler after boto3: `import gcnotify.handlers.report` right after "
            "`import boto3` in the same interpreter,\n  i.e. what the handler adds to a cold start "
            "that loads boto3 anyway (the secret read).\n"
            "Right of ||, for information (paid by the first invocation, not at module import):\n"
            "  then report modules: " + ", ".join(LAZY) + " (with jinja2, requests);\n"
            "  then holidays US-NY: check_holiday_settings('US', 'NY') and closed_days for a day "
            "of 2026,\n  as config validation and the runner do for a report with holidays: "
            "{country: US, subdivision: NY};\n  answered from the artifact's precomputed table "
            "(holidays_precomputed.json, checked: `holidays` is not imported);\n"
            "  holidays package: `import holidays` + country_holidays('US', subdiv='NY', "
            "years=2026), what the same costs without the table."
        )
        full = with_all_botocore_models(shipped, tmp / "all-models")
        if full is not None:
            trimmed_ms, full_ms = clients_ms(python, [shipped, full], args.runs)
            kept = len([p for p in (shipped / "botocore" / "data").iterdir() if p.is_dir()])
            every = len([p for p in (full / "botocore" / "data").iterdir() if p.is_dir()])
            print()
            print(
                "first boto3 clients (Session + secretsmanager + dynamodb), median of "
                f"{args.runs}: shipped artifact ({kept} service models kept by build.mk) "
                f"{trimmed_ms:.1f} ms; same artifact with all {every} models {full_ms:.1f} ms"
            )
        notify = notify_handlers_ms(python, shipped, args.runs)
        print()
        print(
            "notification handlers, each module after `import boto3` on the shipped artifact "
            f"(median of {args.runs}; they import the messaging core, Jinja2 and phonenumbers "
            "included, at module load): "
            + ", ".join(f"{name} {ms:.1f} ms" for name, ms in notify.items())
        )
        if args.importtime:
            print()
            print(
                "`python -X importtime -c 'import boto3; import gcnotify.handlers.report'` on the "
                f"shipped artifact, handler's part, median of {args.runs}:"
            )
            print(f"{'cumulative':>11} {'self':>11}   module")
            for line in importtime(python, shipped, args.runs, args.importtime):
                print(line)
        if args.json:
            print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
