"""`python -m xmcam`: the same as the `xmcam` command."""

import sys

from xmcam.cli import main

sys.exit(main())
