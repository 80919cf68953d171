"""``python -m glmmfast``: the command line (see :mod:`glmmfast.cli`)."""

import sys

from .cli import main

sys.exit(main())
