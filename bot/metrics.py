"""Prometheus metrics for ``GET /metrics``.

Almost everything is counted in the database at scrape time
(``handlers.insights.telemetry``), so any
``web`` process answers for the whole service and nothing resets on a restart. Only what the
database never sees is kept in this process: HTTP requests the web app turned away.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from handlers.common.utc import utcnow
from handlers.insights.telemetry import Telemetry, snapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
log = logging.getLogger("puente.metrics")


class DatabaseCollector(Collector):
    """Reads :func:`handlers.insights.telemetry.snapshot` on every scrape."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        try:
            with Session(self.engine) as session:
                counts = snapshot(session, self.clock())
        except SQLAlchemyError as exc:
            log.warning("metrics: database unreachable (%s)", type(exc).__name__)
            yield GaugeMetricFamily(
                "puente_database_up", "1 when the database answered this scrape", value=0
            )
            return
        yield GaugeMetricFamily(
            "puente_database_up", "1 when the database answered this scrape", value=1
        )
        yield from _messages(counts)
        yield from _cases(counts)
        yield from _outboxes(counts)
        yield from _timers(counts)

    def describe(self) -> Iterator[Metric]:
        return iter(())  # no collection at registration time (the database may be down)


def _per(
    family: CounterMetricFamily | GaugeMetricFamily, values: dict[str, int]
) -> CounterMetricFamily | GaugeMetricFamily:
    for label, value in sorted(values.items()):
        family.add_metric([label], value)
    return family


def _messages(counts: Telemetry) -> Iterator[Metric]:
    yield _per(
        CounterMetricFamily(
            "puente_messages_received", "Creators' messages stored", labels=["platform"]
        ),
        counts.received,
    )
    yield _per(
        CounterMetricFamily(
            "puente_messages_sent", "Replies delivered to creators", labels=["platform"]
        ),
        counts.sent,
    )
    yield _per(
        CounterMetricFamily(
            "puente_deflections",
            "Questions the bot answered from the KB, without a person",
            labels=["platform"],
        ),
        counts.deflections,
    )
    yield _per(
        GaugeMetricFamily(
            "puente_inbox_pending", "Raw updates stored but not handled yet", labels=["platform"]
        ),
        counts.inbox_pending,
    )


def _cases(counts: Telemetry) -> Iterator[Metric]:
    yield _per(
        CounterMetricFamily("puente_escalations", "Cases opened", labels=["priority"]),
        counts.escalations,
    )
    yield _per(
        GaugeMetricFamily("puente_cases_open", "Cases not resolved yet", labels=["status"]),
        counts.open_cases,
    )


def _outboxes(counts: Telemetry) -> Iterator[Metric]:
    labels = ["outbox", "platform"]
    depth = GaugeMetricFamily(
        "puente_outbox_depth", "Outbound rows waiting to be delivered", labels=labels
    )
    failures = CounterMetricFamily(
        "puente_send_failures", "Delivery attempts that failed (retried or not)", labels=labels
    )
    undeliverable = CounterMetricFamily(
        "puente_undeliverable", "Outbound rows given up for good", labels=labels
    )
    for box in counts.outboxes:
        key = [box.outbox, box.platform]
        depth.add_metric(key, box.pending)
        failures.add_metric(key, box.failed_attempts)
        undeliverable.add_metric(key, box.undeliverable)
    yield from (depth, failures, undeliverable)


def _timers(counts: Telemetry) -> Iterator[Metric]:
    yield _per(
        GaugeMetricFamily(
            "puente_timers_due",
            "Timers due and not fired yet (growing: no worker is running)",
            labels=["kind"],
        ),
        counts.timers_due,
    )
    yield _per(
        CounterMetricFamily("puente_timers_fired", "Timers fired by workers", labels=["kind"]),
        counts.timers_fired,
    )
    overdue = GaugeMetricFamily(
        "puente_timers_overdue_seconds",
        "How long the oldest due timer has waited (above a few worker intervals: no worker runs)",
    )
    overdue.add_metric([], counts.timers_overdue_s)
    yield overdue


class Metrics:
    """One registry per web app (tests build several apps in one process)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(DatabaseCollector(engine, clock))
        self.rejected = Counter(
            "puente_http_rejected",
            "Webhook requests answered with a 4xx or 5xx, by this process",
            ["route", "status"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
