"""assistant: a local-first personal assistant for the terminal that remembers.

This package is the headless core. It never imports ``textual`` or ``tui``;
``tests/unit/test_import_hygiene.py`` guards that.
"""

import logging

# The single source of the version: pyproject.toml reads it from here.
__version__ = "0.1.0"

# Library convention: silent unless the entry point configures logging.
logging.getLogger(__name__).addHandler(logging.NullHandler())
