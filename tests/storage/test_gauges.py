"""The outbox as the metrics see it: depth and oldest due age by platform and class,
one query on each backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bot.messages import Priority, ToChannel, ToMember
from storage.db import make_engine
from storage.gauges import OutboxGauge, database_reachable, outbox_gauges
from tests.storage.builders import HELLO
from tests.storage.conftest import Backend

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


async def test_depth_and_oldest_due_age_by_platform_and_class(storage: Backend) -> None:
    assert storage.url is not None
    async with storage.uow_factory() as uow:
        for community, due, priority in [
            ("slack:T1", NOW - timedelta(seconds=30), Priority.NOW),
            ("slack:T2", NOW - timedelta(seconds=90), Priority.NOW),  # same platform, older
            ("slack:T1", NOW + timedelta(hours=9), Priority.SOON),  # deferred: not due yet
            ("discord:1", NOW - timedelta(seconds=5), Priority.BULK),
        ]:
            await uow.outbox.add(community, ToMember("U1"), HELLO, due, priority=priority)
        sent = await uow.outbox.add("slack:T1", ToChannel("C1"), HELLO, NOW - timedelta(hours=1))
        await uow.commit()
    engine = make_engine(storage.url)
    try:
        async with engine.begin() as conn:  # sent: no longer waiting
            await conn.execute(
                text("UPDATE outbox SET status = 'sent' WHERE id = :id"), {"id": sent}
            )
        await database_reachable(engine)
        gauges = await outbox_gauges(engine, NOW)
    finally:
        await engine.dispose()

    assert gauges == [
        OutboxGauge("discord", Priority.BULK, 1, 5.0),
        OutboxGauge("slack", Priority.NOW, 2, 90.0),
        OutboxGauge("slack", Priority.SOON, 1, 0.0),
    ]
