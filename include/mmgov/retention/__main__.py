"""``python -m mmgov.retention ...``: the retention CLI (see :mod:`mmgov.retention.cli`)."""

from mmgov.retention.cli import main

raise SystemExit(main())
