"""``python -m tensorlib.coursework {student,instructor,grade} ...``: see :mod:`tensorlib.coursework.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
