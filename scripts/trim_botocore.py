"""Trim botocore's data in the Lambda artifact to the AWS services the function calls (build.mk).

botocore ships models for ~440 services (28 MB) and one endpoints.json (1.2 MB) naming them all.
The function creates clients for a few only, and a cold start pays for the rest: botocore lists
every service folder when it creates the first client (~25 ms) and decodes all of endpoints.json
(~10 ms). Kept: the named services' folders, and endpoints.json with only their entries (every
partition, its defaults and regions unchanged, so endpoint resolution for them is untouched).

Usage: python scripts/trim_botocore.py BOTOCORE_DATA_DIR SERVICE [SERVICE ...]
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path


def trim(data: Path, keep: set[str]) -> tuple[int, int]:
    """Remove other services' folders and endpoints entries; (folders, entries) removed."""
    missing = sorted(s for s in keep if not (data / s).is_dir())
    if missing:
        raise SystemExit(f"trim_botocore: botocore has no model for {', '.join(missing)}")
    folders = 0
    for child in sorted(data.iterdir()):
        if child.is_dir() and child.name not in keep:
            shutil.rmtree(child)
            folders += 1
    endpoints_file = data / "endpoints.json"
    endpoints = json.loads(endpoints_file.read_text(encoding="utf-8"))
    entries = 0
    for partition in endpoints["partitions"]:
        services = partition["services"]
        entries += sum(1 for name in services if name not in keep)
        partition["services"] = {name: v for name, v in services.items() if name in keep}
    endpoints_file.write_text(json.dumps(endpoints, separators=(",", ":")), encoding="utf-8")
    return folders, entries


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    folders, entries = trim(Path(sys.argv[1]), set(sys.argv[2:]))
    print(f"trim_botocore: removed {folders} service models and {entries} endpoints entries")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
