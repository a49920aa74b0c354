"""Reading a `/metrics` answer the way Prometheus does, with prometheus-client's own parser."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

# Counters the session flows move; the HTTP series and the gauge are checked on their own.
DOMAIN_COUNTERS = (
    "authsvc_logins_total",
    "authsvc_refreshes_total",
    "authsvc_refresh_grace_replays_total",
    "authsvc_refresh_reuse_detected_total",
    "authsvc_throttled_requests_total",
    "authsvc_sessions_revoked_total",
)

SampleKey = tuple[str, frozenset[tuple[str, str]]]


@dataclass(frozen=True)
class Scrape:
    """One parsed exposition: family types and every sample's value."""

    types: dict[str, str]
    values: dict[SampleKey, float]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        types: dict[str, str] = {}
        values: dict[SampleKey, float] = {}
        for family in text_string_to_metric_families(text):
            types[family.name] = family.type
            for sample in family.samples:
                values[_key(sample)] = sample.value
        return cls(types=types, values=values)

    def value(self, name: str, **labels: str) -> float:
        """The sample with exactly these labels; 0 when it is not there (yet)."""
        return self.values.get((name, frozenset(labels.items())), 0.0)

    def label_values(self) -> Iterator[str]:
        for _, labels in self.values:
            for _, value in labels:
                yield value

    def label_names(self, name: str) -> set[str]:
        return {label for sample, labels in self.values if sample == name for label, _ in labels}

    def domain_deltas(self, since: Scrape) -> dict[SampleKey, float]:
        """How every domain counter moved since an earlier scrape; unmoved ones left out."""
        moved = {}
        for key in self.values.keys() | since.values.keys():
            if key[0] in DOMAIN_COUNTERS:
                delta = self.values.get(key, 0.0) - since.values.get(key, 0.0)
                if delta:
                    moved[key] = delta
        return moved


def counter(name: str, **labels: str) -> SampleKey:
    """The key of one sample, for comparing against `Scrape.domain_deltas`."""
    return (name, frozenset(labels.items()))


def _key(sample: Sample) -> SampleKey:
    return (sample.name, frozenset(sample.labels.items()))
