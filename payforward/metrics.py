"""Prometheus metrics: the core's `bot.observe.Observer` port, implemented with the
official prometheus_client, plus what is read at scrape time (the outbox by class and
platform, each adapter's connection).

Each `Metrics` has a registry of its own rather than the library's global one, so two
bots in one process (tests) never count into each other. The README's *Operations*
section lists every metric; `METRICS` here is that list, and a test keeps them equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.messages import Priority
from storage.gauges import OutboxGauge

__all__ = ["CONTENT_TYPE", "METRICS", "Metrics"]

# Handling an event is milliseconds; a slow database makes it seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

METRICS = (
    "payforward_events_handled_total",
    "payforward_event_handling_seconds",
    "payforward_deliveries_total",
    "payforward_rate_limited_total",
    "payforward_job_runs_total",
    "payforward_outbox_depth",
    "payforward_outbox_oldest_due_seconds",
    "payforward_adapter_connected",
    "payforward_build_info",
)


class Metrics:
    """The Observer the core calls, and the registry `/metrics` renders."""

    def __init__(self, version: str = "") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._events = Counter(
            "payforward_events_handled",
            "Inbound events handled, by event type and outcome.",
            ["kind", "outcome"],
            registry=r,
        )
        self._latency = Histogram(
            "payforward_event_handling_seconds",
            "Time the core took to handle an inbound event, by event type.",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._deliveries = Counter(
            "payforward_deliveries",
            "Sends of queued messages, by platform, class and outcome.",
            ["platform", "priority", "outcome"],
            registry=r,
        )
        self._throttled = Counter(
            "payforward_rate_limited",
            "429 answers from a platform, by platform and rate-limit key.",
            ["platform", "key"],
            registry=r,
        )
        self._jobs = Counter(
            "payforward_job_runs",
            "Scheduled job runs for one community, by job and result.",
            ["job", "result"],
            registry=r,
        )
        self._depth = Gauge(
            "payforward_outbox_depth",
            "Messages waiting in the outbox (due or deferred), by platform and class.",
            ["platform", "priority"],
            registry=r,
        )
        self._oldest = Gauge(
            "payforward_outbox_oldest_due_seconds",
            "How long the oldest message due by now has waited, by platform and class.",
            ["platform", "priority"],
            registry=r,
        )
        self._connected = Gauge(
            "payforward_adapter_connected",
            "1 while the platform adapter is connected, else 0.",
            ["platform"],
            registry=r,
        )
        build = Gauge("payforward_build_info", "The running version.", ["version"], registry=r)
        build.labels(version=version or "unknown").set(1)

    # The Observer port (bot/observe.py).

    def event_handled(self, kind: str, outcome: str, seconds: float) -> None:
        self._events.labels(kind=kind, outcome=outcome).inc()
        self._latency.labels(kind=kind).observe(seconds)

    def delivery(self, platform: str, priority: Priority, outcome: str) -> None:
        self._deliveries.labels(
            platform=platform, priority=_class_name(priority), outcome=outcome
        ).inc()

    def throttled(self, platform: str, key: str) -> None:
        self._throttled.labels(platform=platform, key=key).inc()

    def job_ran(self, job: str, result: str) -> None:
        self._jobs.labels(job=job, result=result).inc()

    # Read at scrape time.

    def set_outbox(self, gauges: Iterable[OutboxGauge]) -> None:
        """Replace the outbox gauges with a fresh reading (a class that emptied since
        the last scrape reads 0, not its old value)."""
        self._depth.clear()
        self._oldest.clear()
        for gauge in gauges:
            labels = {"platform": gauge.platform, "priority": _class_name(gauge.priority)}
            self._depth.labels(**labels).set(gauge.depth)
            self._oldest.labels(**labels).set(gauge.oldest_due_seconds)

    def set_connected(self, connected: Mapping[str, bool]) -> None:
        for platform, up in connected.items():
            self._connected.labels(platform=platform).set(1 if up else 0)

    def render(self) -> bytes:
        """The Prometheus text format."""
        return generate_latest(self.registry)


def _class_name(priority: Priority | int) -> str:
    return Priority(priority).name.lower()
