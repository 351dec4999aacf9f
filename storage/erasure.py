"""`forget` in the outbox: rows to the member go, rows quoting them are redacted.

Sent rows stay in the outbox for a while (pruned after 30 days) and pending ones
wait for quiet hours, so both may hold the member's words. Every row of the
community is read once and rewritten if the core's redaction changes it; a
forget is rare, and one pass over a community's outbox is cheap next to it.
"""

from __future__ import annotations

import json

from sqlalchemy import delete, select, update

from bot import codec
from bot.erasure import Redact
from storage import rows
from storage.models import outbox
from storage.sql import Conn

PAGE = 500


async def forget_in_outbox(conn: Conn, community_id: str, member_id: str, redact: Redact) -> int:
    """Delete every message to the member (sent or not: their DMs, their export) and
    redact the others; how many rows were rewritten."""
    o = outbox.c
    await conn.execute(
        delete(outbox).where(o.community_id == community_id, o.member_id == member_id)
    )
    rewritten = 0
    after = 0
    while True:
        page = (
            await conn.execute(
                select(o.id, o.message)
                .where(o.community_id == community_id, o.id > after)
                .order_by(o.id)
                .limit(PAGE)
            )
        ).all()
        for row in page:
            message = codec.message_from_data(json.loads(row.message))
            redacted = redact(message)
            if redacted is not None:
                data = rows.to_json(codec.message_to_data(redacted))
                await conn.execute(update(outbox).where(o.id == row.id).values(message=data))
                rewritten += 1
        if len(page) < PAGE:
            return rewritten
        after = page[-1].id
