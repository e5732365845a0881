"""Pytest plugin, loaded before pytest-django reads the settings: the tests run with DEBUG on.

The settings default to production (DEBUG off, SECRET_KEY required), so the suite turns the
development settings on here, in the environment, where every server and worker process a test
starts inherits them too. A DEBUG already set for a run (DEBUG=0 to try the strict settings)
is kept.
"""

import os

os.environ.setdefault("DEBUG", "1")
