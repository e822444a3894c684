"""assistant: a local-first personal assistant for the terminal that remembers.

This package is the headless core. It never imports ``textual`` or ``tui``;
``tests/unit/test_import_hygiene.py`` guards that.
"""

import logging
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("assistant")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

# Library convention: silent unless the entry point configures logging.
logging.getLogger(__name__).addHandler(logging.NullHandler())
