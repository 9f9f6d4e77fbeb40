"""Tools shared by the tests and the benchmarks: the compose stack, a TCP forwarder, waiting."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
