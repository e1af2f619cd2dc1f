"""``python -m gcnotify`` runs the command line."""

from __future__ import annotations

import sys

from gcnotify.cli.main import main

sys.exit(main())
