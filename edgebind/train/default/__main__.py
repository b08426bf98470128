"""``python -m edgebind.train.default``: retrain the default tiny model."""
import sys

from edgebind.train.default.cli import main

if __name__ == "__main__":
    sys.exit(main())
