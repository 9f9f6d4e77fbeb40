"""Reading a /metrics answer (Prometheus text format) with prometheus_client's own parser."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


def samples(text: str) -> Iterator[Sample]:
    for family in text_string_to_metric_families(text):
        yield from family.samples


def total(text: str, name: str, **labels: str) -> float:
    """The sum of sample ``name`` over the label sets that carry ``labels`` (0 when absent)."""
    return sum(
        s.value for s in samples(text) if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def by_label(text: str, name: str, label: str) -> dict[str, float]:
    """Sample ``name`` per value of ``label``."""
    return {s.labels.get(label, ""): s.value for s in samples(text) if s.name == name and s.labels}
