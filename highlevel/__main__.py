"""``python -m highlevel`` runs the ``highlevel`` command."""

import sys

from highlevel.cli import main

sys.exit(main())
