import sys

from aft_tui.cli import main

sys.exit(main())
