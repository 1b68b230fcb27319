"""Test-wide settings.

Hypothesis: no per-example deadline (the machines that run the suite are
shared, and a slow example is not a failure). Under CI the examples are
derandomized, so a run is reproducible from the commit alone; locally every
run explores new examples.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("default", deadline=None, print_blob=True)
settings.register_profile("ci", deadline=None, print_blob=True, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")
