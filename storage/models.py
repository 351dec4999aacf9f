"""The schema, as SQLAlchemy declarative models.

The repositories query the tables below with Core statements and build the frozen
domain dataclasses themselves: the classes here describe the schema (for Alembic and
`compare_metadata`) and are not used as ORM entities at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

NOW = text("CURRENT_TIMESTAMP")

# SQLite otherwise hands out a deleted highest id again: an outbox id a sender still
# holds, or an ask id quoted in a queued message, could then name a different row.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class UtcDateTime(TypeDecorator[datetime]):
    """An instant, stored in UTC and always read back as an aware UTC datetime.

    PostgreSQL keeps it as timestamptz. SQLite has no such type: it stores the naive
    UTC value as SQLAlchemy's fixed-width text, so comparisons and indexes on the
    column order instants correctly. A naive datetime is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value if value.tzinfo is UTC else value.astimezone(UTC)

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[Any], datetime | None] | None:
        """On SQLite, one C call per value instead of SQLAlchemy's parse followed by
        `.replace(tzinfo=UTC)`, six times dearer: a week of facts is ~19,000 rows."""
        if dialect.name == "sqlite":
            return _utc_from_sqlite_text
        return super().result_processor(dialect, coltype)


def _utc_from_sqlite_text(value: str | None) -> datetime | None:
    # The stored text is UTC ("2025-03-03 09:00:00.000000", or without the fraction
    # when CURRENT_TIMESTAMP wrote it); naming the offset makes fromisoformat return
    # an aware datetime in datetime.UTC itself.
    return None if value is None else datetime.fromisoformat(value + "+00:00")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), str: String()}  # noqa: RUF012


class CommunityRow(Base):
    __tablename__ = "communities"

    community_id: Mapped[str] = mapped_column(primary_key=True)
    channel_id: Mapped[str | None]
    timezone: Mapped[str]
    leaderboard_weekday: Mapped[int]
    leaderboard_time: Mapped[str] = mapped_column(String(5))  # "HH:MM"
    prompts_weekday: Mapped[int | None]  # NULL: weekly prompts are off
    prompts_time: Mapped[str | None] = mapped_column(String(5))
    offer_emoji: Mapped[str]
    # Minutes an ask waits for an offer before the connector routes it; NULL: off.
    connector_minutes: Mapped[int | None] = mapped_column(server_default=text("30"))
    # Cups rounds (`config cups every 2w mon 10:00`); cups_weeks NULL: off.
    cups_weeks: Mapped[int | None] = mapped_column(SmallInteger)
    cups_weekday: Mapped[int | None] = mapped_column(SmallInteger)
    cups_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM"
    cups_anchor: Mapped[str | None] = mapped_column(String(10))  # the first round's Monday
    name: Mapped[str | None]  # what the platform calls it, from the latest event that said
    ask_seq: Mapped[int] = mapped_column(server_default=text("0"))  # last ask number given
    created_at: Mapped[datetime] = mapped_column(server_default=NOW)


class ChannelNameRow(Base):
    """A channel's name as the platform gave it with the latest `/ask` there."""

    __tablename__ = "channel_names"

    community_id: Mapped[str] = mapped_column(primary_key=True)
    channel_id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]


class MemberRow(Base):
    __tablename__ = "members"
    __table_args__ = (
        # The few who hide from the board, without reading every member: every
        # weekly report asks for them. Partial: only opted-out members are in it.
        Index(
            "ix_members_hidden",
            "community_id",
            "member_id",
            sqlite_where=text("optout_leaderboard = 1"),
            postgresql_where=text("optout_leaderboard = true"),
        ),
        # The dashboard's list of a person's communities (storage/dashboard.py).
        Index("ix_members_member", "member_id"),
    )

    community_id: Mapped[str] = mapped_column(primary_key=True)
    member_id: Mapped[str] = mapped_column(primary_key=True)
    display_name: Mapped[str | None]
    tz: Mapped[str | None]
    optout_leaderboard: Mapped[bool]
    optout_prompts: Mapped[bool]
    optout_reminders: Mapped[bool]
    last_active_at: Mapped[datetime | None]
    forgotten: Mapped[bool]
    # As the platform said at the member's latest event that said (bot/context.py).
    is_admin: Mapped[bool] = mapped_column(server_default=false())


class AskRow(Base):
    __tablename__ = "asks"
    __table_args__ = (
        UniqueConstraint("community_id", "number", name="uq_asks_number"),
        UniqueConstraint(
            "community_id", "message_channel_id", "message_id", name="uq_asks_message"
        ),
        Index("ix_asks_status", "community_id", "status", "created_at"),
        # by_asker, open_asks(asker_id=…) and erase_texts look asks up by asker.
        Index("ix_asks_asker", "community_id", "asker_id", "created_at"),
        # Follow-ups, across every community, so led by status: stale_asks, a range of
        # last_activity_at; asks_to_bump, of created_at; offers_due and the marks
        # start from the open asks on either.
        Index("ix_asks_activity", "status", "last_activity_at"),
        Index("ix_asks_bump", "status", "bumped_at", "created_at"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    community_id: Mapped[str]
    number: Mapped[int]
    asker_id: Mapped[str]
    channel_id: Mapped[str]
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_activity_at: Mapped[datetime]
    message_channel_id: Mapped[str | None]
    message_id: Mapped[str | None]
    resolved_at: Mapped[datetime | None]
    bumped_at: Mapped[datetime | None]


class OfferRow(Base):
    __tablename__ = "offers"
    __table_args__ = (
        Index("ix_offers_status", "ask_id", "status"),
        # offers_by (a member's offers, for `forget` and their own list).
        Index("ix_offers_member", "member_id"),
    )

    ask_id: Mapped[int] = mapped_column(ForeignKey("asks.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[str] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    reminders_sent: Mapped[int] = mapped_column(server_default=text("0"))


class GiveRow(Base):
    __tablename__ = "gives"
    __table_args__ = (
        # Until someone runs ANALYZE, SQLite takes `community_id = ?` for selective
        # and favours any index that covers a query, even one it can enter by
        # community_id alone: an index covering a one-pair question could turn it into
        # a scan of the community. So each query has an index that both covers it and
        # matches the most of its terms (tests/storage/test_query_plans.py pins them).
        # pair_weeks, count_confirmed (twelve times a report) and the ids of
        # chain_ends from the index alone.
        Index(
            "ix_gives_confirmed",
            "community_id",
            "status",
            "confirmed_at",
            "giver_id",
            "receiver_id",
            "forward",
            "depth",
            "follows",
        ),
        # has_given, on every confirmation, from the index alone (with status, so
        # that ix_gives_confirmed does not cover it better); involving and
        # erase_notes (as giver).
        Index("ix_gives_pair", "community_id", "giver_id", "receiver_id", "confirmed_at", "status"),
        # latest_received, involving and erase_notes (as receiver).
        Index("ix_gives_receiver", "community_id", "receiver_id", "confirmed_at"),
        # shared: a range of created_at, filtered from the index alone.
        Index("ix_gives_created", "community_id", "created_at", "share_ok", "status"),
        # for_ask.
        Index("ix_gives_ask", "ask_id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    community_id: Mapped[str]
    giver_id: Mapped[str]
    receiver_id: Mapped[str | None]  # NULL: shared with the whole community
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    ask_id: Mapped[int | None] = mapped_column(ForeignKey("asks.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    share_ok: Mapped[bool]
    # Decided when the give is confirmed (bot/ledger.py).
    forward: Mapped[bool] = mapped_column(server_default=false())
    follows: Mapped[int | None] = mapped_column(ForeignKey("gives.id", ondelete="SET NULL"))
    depth: Mapped[int] = mapped_column(server_default=text("0"))


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        # The claim order (class, due time, id) of what is waiting to be sent; the
        # community rides along so claims can pass over communities a sender holds
        # enough of without reading their rows (revision 0014).
        Index(
            "ix_outbox_queue",
            "priority",
            "due_at",
            "id",
            "community_id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # A sender's heartbeat: what it holds (owner is cleared once an item is done).
        Index(
            "ix_outbox_owner",
            "owner",
            sqlite_where=text("owner IS NOT NULL"),
            postgresql_where=text("owner IS NOT NULL"),
        ),
        # add(replace_key=…): find the queued card a newer one replaces. Partial, as
        # the next one: no query asks for messages without a key, or not sent yet,
        # so queueing and sending them write no entry here (revision 0009).
        Index(
            "ix_outbox_replace",
            "community_id",
            "replace_key",
            sqlite_where=text("replace_key IS NOT NULL"),
            postgresql_where=text("replace_key IS NOT NULL"),
        ),
        # prune: what left the queue before an instant.
        Index(
            "ix_outbox_sent",
            "status",
            "sent_at",
            sqlite_where=text("sent_at IS NOT NULL"),
            postgresql_where=text("sent_at IS NOT NULL"),
        ),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    community_id: Mapped[str]
    target: Mapped[str] = mapped_column(Text)  # JSON, codec.target_to_data
    member_id: Mapped[str | None]  # codec.target_member: the addressee of a DM
    message: Mapped[str] = mapped_column(Text)  # JSON, codec.message_to_data
    purpose: Mapped[str]
    priority: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))  # Priority
    replace_key: Mapped[str | None]
    status: Mapped[str] = mapped_column(String(16))  # pending, sent, failed
    due_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]  # set while a sender holds the item
    owner: Mapped[str | None]  # the sender holding it (its heartbeat renews the lease)
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=NOW)
    sent_at: Mapped[datetime | None]  # when it left the queue: sent, or given up on


class ProcessedEventRow(Base):
    __tablename__ = "processed_events"
    __table_args__ = (Index("ix_processed_events_seen", "seen_at"),)  # prune

    community_id: Mapped[str] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(primary_key=True)
    seen_at: Mapped[datetime]


class JobRunRow(Base):
    """One run of a scheduled job (storage/jobs.py): the key makes it happen once."""

    __tablename__ = "job_runs"

    community_id: Mapped[str] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(primary_key=True)  # e.g. the week it is for
    owner: Mapped[str]  # the process holding the run
    status: Mapped[str] = mapped_column(String(16))  # running, done
    cursor: Mapped[str | None] = mapped_column(Text)  # how far a run in steps got
    lease_until: Mapped[datetime]  # a crashed holder's run is taken over after this
    claimed_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class SenderRow(Base):
    """A process sending from the outbox, alive while its heartbeat renews `alive_until`:
    the live ones share each platform budget equally (storage/outbox.py, renew)."""

    __tablename__ = "senders"

    owner: Mapped[str] = mapped_column(primary_key=True)
    alive_until: Mapped[datetime]


class WeekCountRow(Base):
    """A finished week's count of confirmed gives, for the report's trend: a week that
    has ended cannot change (gives are confirmed when confirmed, never removed), so it
    is counted once (storage/gives.py, weekly_counts)."""

    __tablename__ = "week_counts"

    community_id: Mapped[str] = mapped_column(primary_key=True)
    week_start: Mapped[datetime] = mapped_column(primary_key=True)
    week_end: Mapped[datetime] = mapped_column(primary_key=True)
    gives: Mapped[int]


class SignInLinkRow(Base):
    """A one-time dashboard sign-in link (storage/sign_ins.py): only its token's hash."""

    __tablename__ = "sign_in_links"
    __table_args__ = (
        # links_since: how many links a member asked for lately.
        Index("ix_sign_in_links_member", "community_id", "member_id", "created_at"),
        Index("ix_sign_in_links_expires", "expires_at"),  # prune
    )

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[str]
    member_id: Mapped[str]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class WebSessionRow(Base):
    """A dashboard session, shared by every process on the database: only its id's hash."""

    __tablename__ = "web_sessions"
    __table_args__ = (
        Index("ix_web_sessions_member", "platform", "member_id"),  # end_sessions_of
        Index("ix_web_sessions_expires", "expires_at"),  # prune
    )

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str]
    member_id: Mapped[str]
    csrf_token: Mapped[str]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class WeekPeopleRow(Base):
    """A finished week's count of people helped, for the dashboard's charts: counted
    once, like week_counts (storage/dashboard.py, people_helped)."""

    __tablename__ = "week_people"

    community_id: Mapped[str] = mapped_column(primary_key=True)
    week_start: Mapped[datetime] = mapped_column(primary_key=True)
    week_end: Mapped[datetime] = mapped_column(primary_key=True)
    helped: Mapped[int]


class WeekTallyRow(Base):
    """A finished week's count of something the dashboard charts beyond gives and
    people helped, by name: `connections` (asks resolved by a member the connector
    reached). Counted once when the week has ended and kept as counted
    (storage/dashboard.py, _tallied)."""

    __tablename__ = "week_tallies"

    community_id: Mapped[str] = mapped_column(primary_key=True)
    tally: Mapped[str] = mapped_column(String(40), primary_key=True)
    week_start: Mapped[datetime] = mapped_column(primary_key=True)
    week_end: Mapped[datetime] = mapped_column(primary_key=True)
    value: Mapped[int]


class MemberInterestRow(Base):
    """A topic a member likes to help with (`/payforward interests`), in their order."""

    __tablename__ = "member_interests"

    community_id: Mapped[str] = mapped_column(primary_key=True)
    member_id: Mapped[str] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    topic: Mapped[str] = mapped_column(String(40))


class InterestTermRow(Base):
    """One stem of a member's topic, keyed to find the members whose topics share a
    word with an ask (bot/terms.py makes the stems)."""

    __tablename__ = "interest_terms"
    __table_args__ = (Index("ix_interest_terms_member", "community_id", "member_id"),)

    community_id: Mapped[str] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(primary_key=True)
    member_id: Mapped[str] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)


class ConnectorMemberRow(Base):
    """A member's choice about the connector (opt-in), and when they were last routed
    to: ties go to whoever waited longest."""

    __tablename__ = "connector_members"

    community_id: Mapped[str] = mapped_column(primary_key=True)
    member_id: Mapped[str] = mapped_column(primary_key=True)
    opted_in: Mapped[bool]
    last_routed_at: Mapped[datetime | None]


class ConnectorAskRow(Base):
    """An ask waiting to be routed at `due_at`; `routed_at` marks it taken, once."""

    __tablename__ = "connector_asks"
    __table_args__ = (
        # due: only the asks still waiting, by when (partial, like the outbox's).
        Index(
            "ix_connector_asks_due",
            "due_at",
            sqlite_where=text("routed_at IS NULL"),
            postgresql_where=text("routed_at IS NULL"),
        ),
    )

    ask_id: Mapped[int] = mapped_column(ForeignKey("asks.id", ondelete="CASCADE"), primary_key=True)
    community_id: Mapped[str]
    due_at: Mapped[datetime]
    routed_at: Mapped[datetime | None]


class ConnectorRouteRow(Base):
    """An ask sent by DM to a member, and what they did about it."""

    __tablename__ = "connector_routes"
    __table_args__ = (
        # The weekly cap and routes_of: a member's routed DMs, by time.
        Index("ix_connector_routes_member", "community_id", "member_id", "routed_at"),
    )

    ask_id: Mapped[int] = mapped_column(ForeignKey("asks.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[str] = mapped_column(primary_key=True)
    community_id: Mapped[str]
    routed_at: Mapped[datetime]
    round: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str] = mapped_column(Text)
    offered_at: Mapped[datetime | None]
    declined_at: Mapped[datetime | None]


class CupsOptInRow(Base):
    """A member who opted in to cups (`/payforward optin cups`); no row: not in."""

    __tablename__ = "cups_optins"

    community_id: Mapped[str] = mapped_column(primary_key=True)
    member_id: Mapped[str] = mapped_column(primary_key=True)
    since: Mapped[datetime]


class CupRow(Base):
    """Two or three members paired in a round, named by the round (its week's local
    Monday) and a number within it."""

    __tablename__ = "cups"
    __table_args__ = (
        # follow_ups_due, across communities: only the cups not followed up yet.
        Index(
            "ix_cups_follow_up",
            "created_at",
            sqlite_where=text("followed_up_at IS NULL"),
            postgresql_where=text("followed_up_at IS NULL"),
        ),
        # Conversations per week: a range of met_at within a community.
        Index("ix_cups_met", "community_id", "met_at"),
    )

    community_id: Mapped[str] = mapped_column(primary_key=True)
    round: Mapped[str] = mapped_column(String(10), primary_key=True)
    number: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text)  # JSON, codec.message_to_data
    upside_down: Mapped[bool]
    met_at: Mapped[datetime | None]  # the earliest *We met* still standing
    followed_up_at: Mapped[datetime | None]


class CupSeatRow(Base):
    """A member's seat in a cup and their own answer (`met`, `cant`)."""

    __tablename__ = "cup_seats"
    __table_args__ = (
        ForeignKeyConstraint(
            ["community_id", "round", "number"],
            ["cups.community_id", "cups.round", "cups.number"],
            ondelete="CASCADE",
        ),
        # of_member, forget: a member's cups.
        Index("ix_cup_seats_member", "community_id", "member_id"),
    )

    community_id: Mapped[str] = mapped_column(primary_key=True)
    round: Mapped[str] = mapped_column(String(10), primary_key=True)
    number: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[str] = mapped_column(primary_key=True)
    answer: Mapped[str | None] = mapped_column(String(8))
    answered_at: Mapped[datetime | None]


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


communities = _table(CommunityRow)
channel_names = _table(ChannelNameRow)
members = _table(MemberRow)
asks = _table(AskRow)
offers = _table(OfferRow)
gives = _table(GiveRow)
outbox = _table(OutboxRow)
processed_events = _table(ProcessedEventRow)
job_runs = _table(JobRunRow)
week_counts = _table(WeekCountRow)
sign_in_links = _table(SignInLinkRow)
web_sessions = _table(WebSessionRow)
week_people = _table(WeekPeopleRow)
week_tallies = _table(WeekTallyRow)
member_interests = _table(MemberInterestRow)
interest_terms = _table(InterestTermRow)
connector_members = _table(ConnectorMemberRow)
connector_asks = _table(ConnectorAskRow)
connector_routes = _table(ConnectorRouteRow)
senders = _table(SenderRow)
cups_optins = _table(CupsOptInRow)
cups = _table(CupRow)
cup_seats = _table(CupSeatRow)
