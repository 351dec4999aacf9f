"""The front door of the core: one normalized event in, immediate answers out.

Each event is handled in one unit of work: the platform event id is recorded first
(a redelivery changes nothing), then the use case runs, and the messages it queues
are committed with its changes. Queued messages leave through the Dispatcher.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import NamedTuple

from bot import (
    admin,
    asking,
    copy,
    cups,
    dashboard,
    followups,
    giving,
    interests,
    membership,
    prompts,
    routing,
)
from bot.context import (
    Context,
    Refusal,
    name_community,
    queue_card_edit,
    render_card,
    touch_member,
)
from bot.domain import AskStatus, Community
from bot.events import (
    ButtonPressed,
    CommandInvoked,
    Event,
    FormSubmitted,
    ReactionAdded,
    ReactionRemoved,
)
from bot.faults import Patience, StorageUnavailable
from bot.messages import Answer, Delivered, Delivery, Message, Reply, RetryAfter, ToMember
from bot.observe import Observer, Silent
from bot.ports import Clock, OutboxItem, UnitOfWork, UnitOfWorkFactory
from bot.text import cleaned

log = logging.getLogger(__name__)

COMMANDS = ("ask", "thanks", "give", "payforward")

Handler = Callable[[Context], Awaitable[list[Answer]]]


class Outcome(NamedTuple):
    """How sending one queued message went; `retry_at` matters for a RetryAfter."""

    item: OutboxItem
    delivery: Delivery
    retry_at: datetime


ConfigListener = Callable[[str], Awaitable[None]]
"""Told the community id after an admin changed its settings (the scheduler listens)."""

QueuedListener = Callable[[list[OutboxItem], datetime], None]
"""Handed the messages an event queued, leased to this process until the instant given
(the dispatcher listens)."""

# How long a claimed message is its sender's alone. Short, since the sender's
# heartbeat renews it every few seconds: a crashed sender's messages pass to another
# within this time.
SEND_LEASE = timedelta(seconds=6)


class PayForward:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        on_config: ConfigListener | None = None,
        observer: Observer | None = None,
        dashboard_url: str | None = None,
        patience: Patience | None = None,
        owner: str | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        # How long an event waits for a database that is unreachable or locked.
        self.patience = patience or Patience()
        self.observer: Observer = observer or Silent()
        self.on_config = on_config
        self.dashboard_url = dashboard_url  # where `/payforward dashboard` links point
        # This process as a sender: the owner its outbox leases carry.
        self.owner = owner or uuid.uuid4().hex
        # With a listener, what an event queues for now is leased to this process in
        # its own transaction and handed over at commit: no claim, no wait for a tick.
        self.on_queued: QueuedListener | None = None

    async def handle(self, event: Event) -> list[Answer]:
        """The answers to one event. A database that is unreachable or locked is
        waited for (`patience`: capped backoff, two minutes by default), so nothing is
        lost to a restart or another process's lock; the event's work runs again from
        the start each time, and its id keeps a late success from counting twice."""
        if event.actor.is_bot:
            return []
        event = cleaned(event)
        started = time.perf_counter()
        outcome = "error"
        quiet = isinstance(event, ReactionAdded | ReactionRemoved)
        name = type(event).__name__
        try:
            answers = await self._handle(event)
            outcome = "ok" if answers is not None else "duplicate"
            return answers or []
        except Refusal as refusal:
            outcome = "refused"
            return [Reply(refusal.message)]
        except StorageUnavailable as error:
            outcome = "unavailable"
            log.error("gave up on %s %s: database unavailable (%s)", name, event.event_id, error)
            return [] if quiet else [Reply(copy.storage_unavailable())]
        except Exception:
            log.exception("could not handle %s %s", name, event.event_id)
            return [] if quiet else [Reply(copy.oops())]
        finally:
            elapsed = time.perf_counter() - started
            self.observer.event_handled(type(event).__name__, outcome, elapsed)

    async def perform(self, event: Event, use_case: Handler) -> list[Answer]:
        """Run `use_case` for `event` in the event's unit of work, as `handle` runs a
        command: for an adapter that calls use cases by name (the dashboard's forms). A
        Refusal reaches the caller, which shows it its own way; nothing is saved then."""
        return await self._handle(event, use_case) or []

    async def _handle(self, event: Event, use_case: Handler | None = None) -> list[Answer] | None:
        """The event's unit of work; None when it was handled before (a redelivery).
        Only the unit of work is run again while the database is away: once it is
        committed, telling the config listener is not worth doing the event twice."""
        recorded = await self.patience.retry(
            lambda: self._record(event, use_case), self._waiting(event)
        )
        if recorded is None:
            return None
        answers, config_changed = recorded
        if config_changed and self.on_config is not None:
            await self.on_config(event.community_id)
        return answers

    @staticmethod
    def _waiting(event: Event) -> Callable[[int], None]:
        def waiting(attempt: int) -> None:
            if attempt == 1:
                name = type(event).__name__
                log.warning("database unavailable; %s %s waits for it", name, event.event_id)

        return waiting

    async def _record(
        self, event: Event, use_case: Handler | None
    ) -> tuple[list[Answer], bool] | None:
        now = self._clock.now()
        async with self._uow() as uow:
            if not event.community_from_platform:
                await vouch(uow, event)
            if not await uow.events.first_time(event.community_id, event.event_id, now):
                return None
            on_queued = self._hand_over(uow, now)
            community = await community_of(uow, event.community_id)
            if event.community_from_platform:
                community = await name_community(uow, community, event.community_name)
            member = await touch_member(uow, event.community_id, event.actor, now)
            ctx = Context(uow, now, community, member, event, dashboard_url=self.dashboard_url)
            answers = await (use_case or route)(ctx)
            await self._commit(uow, now, on_queued)
        return answers, ctx.config_changed

    async def delivered(self, outcomes: Sequence[Outcome]) -> None:
        """Record how queued messages went and act on it, in one transaction: a
        card's post records its message ref (and queues an edit if the card changed
        meanwhile); a card that cannot be posted closes its ask."""
        now = self._clock.now()
        async with self._uow() as uow:
            on_queued = self._hand_over(uow, now)
            for item, delivery, retry_at in outcomes:
                if isinstance(delivery, Delivered):
                    await uow.outbox.mark_sent(item.id, now)
                    await self._after_post(uow, item, delivery)
                elif isinstance(delivery, RetryAfter):
                    reason = delivery.reason or "retry"
                    await uow.outbox.retry_at(item.id, retry_at, reason, refund=delivery.throttled)
                else:
                    await uow.outbox.mark_failed(item.id, now, delivery.reason)
                    await self._after_failure(uow, item, now)
            await self._commit(uow, now, on_queued)

    def _hand_over(self, uow: UnitOfWork, now: datetime) -> QueuedListener | None:
        """The listener this unit of work hands its messages to, if any; what it queues
        for now is then leased as it is queued, in the same statement."""
        on_queued = self.on_queued
        if on_queued is not None:
            uow.outbox.hand_over(now, now + SEND_LEASE, owner=self.owner)
        return on_queued

    async def _commit(
        self, uow: UnitOfWork, now: datetime, on_queued: QueuedListener | None
    ) -> None:
        """Commit; with a listener, what was queued for now is claimed in the same
        transaction and handed to it after."""
        lease = now + SEND_LEASE
        claimed = await uow.outbox.claim_queued(now, lease, owner=self.owner) if on_queued else []
        await uow.commit()
        if claimed and on_queued is not None:
            on_queued(claimed, lease)

    async def still_wanted(self, item: OutboxItem) -> bool:
        """Whether a follow-up about an ask still makes sense now: a reminder deferred
        past quiet hours is dropped if the ask was resolved or closed meanwhile."""
        kind, _, ask_id = item.purpose.partition(":")
        if kind == routing.ROUTE:
            async with self._uow() as uow:
                return await routing.still_wanted(uow, item)
        if kind in (cups.INTRO, cups.NUDGE):
            async with self._uow() as uow:
                return await cups.still_wanted(uow, item)
        if kind != followups.REMINDER:
            return True
        async with self._uow() as uow:
            ask = await uow.asks.get(int(ask_id))
        return ask is not None and ask.status is AskStatus.OPEN

    async def _after_post(self, uow: UnitOfWork, item: OutboxItem, delivery: Delivered) -> None:
        kind, _, ask_id = item.purpose.partition(":")
        if kind != "ask_card":
            return
        ask = await uow.asks.get(int(ask_id))
        if ask is None:
            return
        ask = replace(ask, message=delivery.ref)
        await uow.asks.save(ask)
        community = await community_of(uow, ask.community_id)
        card = await render_card(uow, community, ask)
        if card != item.message:  # offers or a resolution arrived before the card was up
            await queue_card_edit(uow, ask, delivery.ref, card, self._clock.now())

    async def _after_failure(self, uow: UnitOfWork, item: OutboxItem, now: datetime) -> None:
        """A card that cannot be posted or edited (no access, or deleted) closes its ask:
        nobody could offer on it. Only a card that never went up is worth a DM."""
        kind, _, ask_id = item.purpose.partition(":")
        if kind not in ("ask_card", "card_edit"):
            return
        ask = await uow.asks.get(int(ask_id))
        if ask is None or ask.status is not AskStatus.OPEN:
            return
        await uow.asks.save(replace(ask, status=AskStatus.CLOSED, last_activity_at=now))
        if kind == "ask_card":
            note = copy.ask_not_posted(ask, ask.channel_id)
            await uow.outbox.add(ask.community_id, ToMember(ask.asker_id), note, now)


async def community_of(uow: UnitOfWork, community_id: str) -> Community:
    """The community, created on its first event. `add` is an upsert (INSERT … ON
    CONFLICT DO NOTHING): two processes meeting a new community at once both go on."""
    community = await uow.communities.get(community_id)
    if community is None:
        await uow.communities.add(Community(community_id))
        community = await uow.communities.get(community_id) or Community(community_id)
    return community


async def vouch(uow: UnitOfWork, event: Event) -> None:
    """An event whose community came from data rather than from the platform acts
    only for a member that community already knows; otherwise a refusal that says
    nothing about the community (not even whether it exists)."""
    known = await uow.members.get(event.community_id, event.actor.member_id)
    if known is None:
        raise Refusal(copy.not_for_you())


async def route(ctx: Context) -> list[Answer]:
    event = ctx.event
    if isinstance(event, CommandInvoked):
        return await command(ctx, event.command.lower().lstrip("/"), event.text)
    if isinstance(event, ReactionAdded | ReactionRemoved):
        added = isinstance(event, ReactionAdded)
        return await asking.on_reaction(ctx, event.message, event.emoji, added)
    if isinstance(event, ButtonPressed):
        return await button(ctx, event)
    if isinstance(event, FormSubmitted):
        return await form(ctx, event)
    return []


async def command(ctx: Context, name: str, text: str) -> list[Answer]:
    if name == "ask":
        return await asking.post_ask(ctx, text)
    if name == "thanks":
        return await giving.thanks(ctx, text)
    if name == "give":
        return await giving.give(ctx, text.strip())
    if name == "payforward":
        return await payforward(ctx, text.split())
    return [Reply(help_for(ctx, unknown=f"/{name}"))]


async def payforward(ctx: Context, words: list[str]) -> list[Answer]:
    sub = words[0].lower() if words else "help"
    rest = words[1:]
    if sub == "me" and not rest:
        return await membership.me(ctx)
    if sub == "leaderboard" and not rest:
        return await membership.leaderboard(ctx)
    if sub == "leaderboard" and [w.lower() for w in rest] == ["post"]:
        return await admin.post_leaderboard(ctx)
    if sub in ("optout", "optin") and [w.lower() for w in rest] == ["connector"]:
        return await interests.set_connector(ctx, opted_in=sub == "optin")
    if sub in ("optout", "optin") and [w.lower() for w in rest] == ["cups"]:
        return await cups.set_opted_in(ctx, opted_in=sub == "optin")
    if sub in ("optout", "optin"):
        return await membership.set_opt_out(ctx, rest, out=sub == "optout")
    if sub == "interests":
        return await interests.interests(ctx, rest)
    if sub == "who":
        return await interests.who(ctx, rest)
    if sub == "timezone":
        return await membership.set_timezone(ctx, rest)
    if sub == "export" and not rest:
        return await membership.export(ctx)
    if sub == "forget" and not rest:
        return await membership.forget_prompt(ctx)
    if sub == "config":
        return await admin.configure(ctx, rest)
    if sub == "dashboard" and not rest:
        return await dashboard.send_link(ctx)
    unknown = None if sub == "help" else " ".join(words)
    return [Reply(help_for(ctx, unknown=unknown))]


def help_for(ctx: Context, unknown: str | None) -> Message:
    return copy.help_message(bool(ctx.event.actor.is_admin), unknown, ctx.community.platform)


async def button(ctx: Context, event: ButtonPressed) -> list[Answer]:
    if event.action == copy.OFFER:
        return await asking.press_offer(ctx, event.value)
    if event.action == copy.RESOLVE:
        return await asking.press_resolve(ctx, event.value)
    if event.action in (copy.CONFIRM_GIVE, copy.DECLINE_GIVE):
        return await giving.answer_give(ctx, event.value, event.action == copy.CONFIRM_GIVE)
    if event.action == copy.FORGET_CONFIRM:
        return await membership.forget(ctx)
    if event.action in followups.ACTIONS:
        return await followups.answer(ctx, event.action, event.value)
    if event.action in routing.ACTIONS:
        return await routing.answer(ctx, event.action, event.value)
    if event.action in cups.ACTIONS:
        return await cups.answer(ctx, event.action, event.value)
    if event.action in prompts.ACTIONS:
        return await prompts.answer(ctx, event.action)
    log.info("ignored unknown button action %r", event.action)
    return []


async def form(ctx: Context, event: FormSubmitted) -> list[Answer]:
    if event.form == copy.RESOLVE_FORM:
        helpers = event.fields.get("helpers") or ()
        note = event.fields.get("note") or ""
        if not isinstance(helpers, tuple) or not isinstance(note, str):
            raise Refusal("That form came back in a shape I don't understand; nothing was saved.")
        return await asking.submit_resolve(ctx, event.value, helpers, note)
    if event.form == copy.SHARE_FORM:
        return await prompts.submit_share(ctx, event.fields)
    log.info("ignored unknown form %r", event.form)
    return []
