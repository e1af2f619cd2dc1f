"""Size of the Lambda artifact as Lambda counts it: the deployment zip, and what it unzips to.

Lambda limits a function to a 50 MB zip for a direct upload (larger zips go through S3) and to
250 MB unzipped. This builds the artifact exactly as `sam build` does (`make -f build.mk
build-ReportFunction`, for this machine's architecture), zips it the way SAM packages it
(deflate, every file), and prints both sizes next to those limits, then the heaviest top-level
entries of the unzipped tree.

Usage: python bench/artifact_size.py [--artifact DIR (skip the build)] [--top 12]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cold_start import build, find_python312

ZIP_LIMIT = 50 * 1024 * 1024  # a direct upload (CreateFunction/UpdateFunctionCode ZipFile)
UNZIPPED_LIMIT = 250 * 1024 * 1024  # the function's code and layers, unzipped
MB = 1024 * 1024


def tree_bytes(root: Path) -> dict[str, int]:
    """Bytes per top-level entry of ``root`` (files and folders)."""
    sizes: dict[str, int] = {}
    for path in root.rglob("*"):
        if path.is_file():
            top = path.relative_to(root).parts[0]
            sizes[top] = sizes.get(top, 0) + path.stat().st_size
    return sizes


def zipped_bytes(root: Path, where: Path) -> int:
    """The size of ``root`` zipped with deflate, as SAM's packaging writes it."""
    target = where / "artifact.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return target.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--artifact", type=Path, help="an already built artifact directory")
    parser.add_argument("--top", type=int, default=12, help="heaviest entries to list")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        artifact = args.artifact
        if artifact is None:
            artifact = work / "artifact"
            build(artifact, find_python312())
        sizes = tree_bytes(artifact)
        unzipped = sum(sizes.values())
        zipped = zipped_bytes(artifact, work)
        files = sum(1 for p in artifact.rglob("*") if p.is_file())
    print(f"artifact: {files} files")
    print(f"{'':>10} | {'bytes':>12} | {'MiB':>7} | Lambda's limit | share of it")
    print(
        f"{'zipped':>10} | {zipped:>12,} | {zipped / MB:>7.1f} | {ZIP_LIMIT // MB:>10} MiB | "
        f"{zipped / ZIP_LIMIT:>10.0%}"
    )
    print(
        f"{'unzipped':>10} | {unzipped:>12,} | {unzipped / MB:>7.1f} | "
        f"{UNZIPPED_LIMIT // MB:>10} MiB | {unzipped / UNZIPPED_LIMIT:>10.0%}"
    )
    print(f"\nheaviest top-level entries (unzipped, MiB), of {len(sizes)}:")
    for name, size in sorted(sizes.items(), key=lambda item: -item[1])[: args.top]:
        print(f"  {size / MB:>6.2f}  {name}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    raise SystemExit(main())
