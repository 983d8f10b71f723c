"""``python -m funnelsim`` is the ``funnelsim`` command."""

import sys

from .cli import main

sys.exit(main())
