"""The Prometheus side of the Observer port, and the README's table of metrics."""

from __future__ import annotations

import re
from pathlib import Path

from bot.messages import Priority
from payforward.metrics import METRICS, Metrics
from storage.gauges import OutboxGauge

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_observer_counts_in_prometheus_text_format() -> None:
    metrics = Metrics("1.2.3")
    metrics.event_handled("CommandInvoked", "ok", 0.004)
    metrics.event_handled("CommandInvoked", "ok", 0.2)
    metrics.event_handled("ReactionAdded", "duplicate", 0.001)
    metrics.delivery("slack", Priority.BULK, "retry")
    metrics.throttled("slack", "T1")
    metrics.job_ran("leaderboard", "done")
    metrics.set_outbox([OutboxGauge("discord", Priority.SOON, 3, 42.5)])
    metrics.set_connected({"slack": True, "discord": False})

    text = metrics.render().decode()

    for line in (
        'payforward_events_handled_total{kind="CommandInvoked",outcome="ok"} 2.0',
        'payforward_events_handled_total{kind="ReactionAdded",outcome="duplicate"} 1.0',
        'payforward_event_handling_seconds_bucket{kind="CommandInvoked",le="0.005"} 1.0',
        'payforward_event_handling_seconds_count{kind="CommandInvoked"} 2.0',
        'payforward_deliveries_total{outcome="retry",platform="slack",priority="bulk"} 1.0',
        'payforward_rate_limited_total{key="T1",platform="slack"} 1.0',
        'payforward_job_runs_total{job="leaderboard",result="done"} 1.0',
        'payforward_outbox_depth{platform="discord",priority="soon"} 3.0',
        'payforward_outbox_oldest_due_seconds{platform="discord",priority="soon"} 42.5',
        'payforward_adapter_connected{platform="discord"} 0.0',
        'payforward_build_info{version="1.2.3"} 1.0',
    ):
        assert line in text.splitlines(), line


def test_an_emptied_class_reads_nothing_rather_than_its_old_depth() -> None:
    metrics = Metrics()
    metrics.set_outbox([OutboxGauge("slack", Priority.NOW, 5, 1.0)])
    metrics.set_outbox([])

    assert "payforward_outbox_depth{" not in metrics.render().decode()


def test_the_readme_lists_every_metric() -> None:
    section = README.read_text(encoding="utf-8").split("## Operations", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `(payforward_\w+)`", section, re.MULTILINE))

    assert listed == set(METRICS)
