"""``make bench``: the five measurements, each beside a baseline measured in the same run.

Runs against the compose stack under its own project name (``votingapp-bench``) with a
benchmark-only override (``compose.bench.yml``) and writes ``docs/benchmarks.md`` and
``docs/benchmarks.json`` (quick mode: ``artifacts/bench-quick/``). It reports; it never fails on a
missed goal, only when a measurement could not be made or its votes did not add up.
"""

import sys
from pathlib import Path

_COMMON = str(Path(__file__).resolve().parents[1] / "common")
if _COMMON not in sys.path:  # voting_common (schema reads), as the services see it
    sys.path.append(_COMMON)
