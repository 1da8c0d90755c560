"""``python -m pysampler``: the command line."""

import sys

from pysampler.cli import main

sys.exit(main())
