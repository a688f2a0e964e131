"""`python -m desk …` — the same as the `desk` command (used by `desk up` to start its children)."""

import sys

from desk.cli import main

sys.exit(main())
