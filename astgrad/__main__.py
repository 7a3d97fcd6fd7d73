"""``python -m astgrad``: the command line (see `astgrad.cli`)."""

import sys

from .cli import main

sys.exit(main())
