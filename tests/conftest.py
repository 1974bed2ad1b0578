"""Settings for every test: under CI the property tests draw the same examples each run."""

from __future__ import annotations

import os

from hypothesis import settings

# CI runs one fixed, reproducible search (derandomized); on a developer's machine each
# run explores new examples, and the failures it finds are replayed from .hypothesis/.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
