"""``make bench``: the five measurements, each beside a baseline measured in the same run.

It reports; it never fails on a missed goal, only when a measurement could not be made or its
votes did not add up.
"""

import sys
from pathlib import Path

_COMMON = str(Path(__file__).resolve().parents[1] / "common")
if _COMMON not in sys.path:  # voting_common (schema reads), as the services see it
    sys.path.append(_COMMON)
