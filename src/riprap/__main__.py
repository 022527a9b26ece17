"""`python -m riprap` is the `riprap` command."""

import sys

from riprap.cli import main

sys.exit(main())
