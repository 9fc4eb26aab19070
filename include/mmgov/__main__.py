"""``python -m mmgov <command> ...``: the same as the ``mmgov`` command (:mod:`mmgov.cli`)."""

import sys

from mmgov.cli import main

sys.exit(main())
