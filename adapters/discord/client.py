"""The Discord `ChatAdapter`: one discord.py client (sharded on request), its command
tree, persistent buttons, and the reaction handlers, wired to the core through a Bridge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import discord
from discord import app_commands

from adapters.discord import render, translate
from adapters.discord.commands import add_commands
from adapters.discord.delivery import delivery_of, post, rate_limited, send_dm, update
from adapters.discord.gateway import point_at
from adapters.discord.interactions import Bridge, Handle
from adapters.discord.views import ActionButton
from bot.domain import MessageRef
from bot.messages import Delivered, Delivery, Message

log = logging.getLogger(__name__)

MAX_RATELIMIT_WAIT = 10.0  # longer 429s go back to the outbox as RetryAfter
# discord.py retries 5xx answers itself for up to ~25 s; the dispatcher sends one item at
# a time, so a send that takes longer than this is given up and backed off instead.
DELIVERY_TIMEOUT = 20.0
READY_TIMEOUT = 60.0
GUILD_READY_TIMEOUT = 2.0  # discord.py's default wait for GUILD_CREATEs after READY
CLOSE_TIMEOUT = 10.0


def intents() -> discord.Intents:
    """The fewest intents that work: guilds (the guild cache, roles and channels that
    interactions refer to) and guild reactions (offers by 🙋). No privileged intents:
    commands and buttons arrive as interactions, DMs are sent over REST."""
    return discord.Intents(guilds=True, guild_reactions=True)


def quiet_voice_warnings() -> None:
    """payforward uses no voice; discord.py's warnings that its voice libraries are
    missing would only alarm an operator (its documented switches turn them off)."""
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False


def make_client(
    *,
    shard_count: int | None,
    guild_ready_timeout: float,
    shard_ids: Sequence[int] | None = None,
) -> discord.Client:
    options: dict[str, Any] = {
        "intents": intents(),
        "allowed_mentions": render.NO_MENTIONS,
        "max_ratelimit_timeout": MAX_RATELIMIT_WAIT,
        "chunk_guilds_at_startup": False,
        "member_cache_flags": discord.MemberCacheFlags.none(),
        "guild_ready_timeout": guild_ready_timeout,
        "enable_debug_events": False,
    }
    quiet_voice_warnings()
    if shard_count is not None:
        # With shard_ids, this process runs only those of the shard_count shards; the
        # others run in other processes on the same database (README: scaling).
        ids = list(shard_ids) if shard_ids else None
        return discord.AutoShardedClient(shard_count=shard_count, shard_ids=ids, **options)
    return discord.Client(**options)


class _ReconnectInOneLine(logging.Filter):
    """discord.py logs each reconnect attempt with the traceback of the network error
    that caused it; the error's one line says all an operator can act on."""

    PREFIXES = ("Attempting a reconnect", "Failed to connect for shard_id")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).startswith(self.PREFIXES):
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({error!r})"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_reconnects() -> None:
    for name in ("discord.client", "discord.shard"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _ReconnectInOneLine) for f in logger.filters):
            logger.addFilter(_ReconnectInOneLine())


class DiscordAdapter:
    """The `ChatAdapter` for Discord: started and stopped by `run_platforms`."""

    platform = translate.PLATFORM

    def __init__(
        self,
        *,
        token: str,
        handle: Handle,
        api_url: str | None = None,
        gateway_url: str | None = None,
        guild_ids: Sequence[int] = (),
        shard_count: int | None = None,
        shard_ids: Sequence[int] = (),
        guild_ready_timeout: float = GUILD_READY_TIMEOUT,
    ) -> None:
        self._token = token
        self._api_url = api_url
        self._gateway_url = gateway_url
        self.guild_ids = tuple(guild_ids)
        self.client = make_client(
            shard_count=shard_count, guild_ready_timeout=guild_ready_timeout, shard_ids=shard_ids
        )
        self.tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(self.client)
        add_commands(self.tree)
        self.bridge = Bridge(self.client, handle)
        self._task: asyncio.Task[None] | None = None
        self._opened = False  # login begun: from then on there is a session to close
        self._listening = True  # False: logged in over REST to send only (no commands)
        self._wire()
        quiet_reconnects()

    def _wire(self) -> None:
        client = self.client
        client.bridge = self.bridge  # type: ignore[attr-defined]  # for buttons and commands
        client.setup_hook = self._setup_hook  # type: ignore[method-assign]
        client.event(self.bridge.on_interaction)

        async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
            await self.bridge.on_reaction(payload)

        async def on_raw_reaction_remove(payload: discord.RawReactionActionEvent) -> None:
            await self.bridge.on_reaction(payload)

        client.event(on_raw_reaction_add)
        client.event(on_raw_reaction_remove)
        track_dispatch_ids(client)

    async def _setup_hook(self) -> None:
        """After login, before the gateway: persistent buttons, then the commands."""
        if not self._listening:
            return
        self.client.add_dynamic_items(ActionButton)
        if self.guild_ids:
            for guild_id in self.guild_ids:
                guild = discord.Object(guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
            self.tree.clear_commands(guild=None)
            await self.tree.sync()  # no global duplicates of the per-guild commands
        else:
            await self.tree.sync()

    @property
    def connected(self) -> bool:
        """Ready, and every shard's websocket (this process's shards) is open."""
        client = self.client
        if self._task is None or self._task.done() or client.is_closed():
            return False
        if not client.is_ready():
            return False
        if isinstance(client, discord.AutoShardedClient):
            shards = client.shards.values()
            return bool(shards) and not any(shard.is_closed() for shard in shards)
        ws = client.ws
        return ws is not None and ws.open

    async def start(self) -> None:
        """Log in and sync commands, connect, and return once Discord says READY.

        A failed start closes what it opened, and a later start begins afresh
        (payforward/connecting.py tries again after a pause)."""
        point_at(self._api_url, self._gateway_url)
        if self._opened:
            self.client.clear()  # a closed client "re-opened", as discord.py documents
        self._opened = True
        try:
            await self.client.login(self._token)  # a bad token fails here, plainly
            self._task = asyncio.create_task(self.client.connect(), name="discord-gateway")
            ready = asyncio.create_task(self.client.wait_until_ready())
            done, _ = await asyncio.wait(
                {self._task, ready}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
            if ready not in done:
                ready.cancel()
                if self._task in done:
                    self._task.result()  # raises the connection error
                    raise RuntimeError("the Discord client stopped before it was ready")
                raise TimeoutError("Discord did not become ready in time")
        except BaseException:
            await self.stop()  # run_platforms only stops adapters that started
            raise
        log.info(
            "connected to Discord as %s in %d server(s)", self.client.user, len(self.client.guilds)
        )

    async def start_sending(self) -> None:
        """Log in over REST only, to deliver queued messages (`payforward jobs run`):
        no gateway connection, no command sync, nothing received."""
        point_at(self._api_url, self._gateway_url)
        self._opened = True
        self._listening = False
        await self.client.login(self._token)

    async def stop(self) -> None:
        if not self._opened:
            return  # never started: nothing to close (a sharded client can't close then)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.client.close()
        if self._task is not None:
            if not self._task.done():
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def post(self, community_id: str, channel_id: str, message: Message) -> Delivery:
        return await self._deliver(
            post(self.client, translate.guild_of(community_id), channel_id, message)
        )

    async def update(self, community_id: str, ref: MessageRef, message: Message) -> Delivery:
        return await self._deliver(
            update(self.client, translate.guild_of(community_id), ref, message)
        )

    async def send_dm(self, community_id: str, member_id: str, message: Message) -> Delivery:
        return await self._deliver(
            send_dm(self.client, translate.guild_of(community_id), member_id, message)
        )

    async def _deliver(self, sending: Awaitable[MessageRef]) -> Delivery:
        try:
            async with asyncio.timeout(DELIVERY_TIMEOUT):
                return Delivered(await sending)
        except discord.RateLimited as limited:  # longer than discord.py would wait
            return rate_limited(limited)
        except discord.HTTPException as error:
            return delivery_of(error)


def track_dispatch_ids(client: discord.Client) -> None:
    """Tell reaction handlers which gateway dispatch they serve (see `reaction_event_id`).

    discord.py sets the websocket's sequence number, then calls the event's parser,
    which schedules the handler task; a context variable set around the parser is
    copied into that task. Only the two reaction parsers are wrapped.
    """
    parsers: dict[str, Callable[[Any], None]] = client._connection.parsers

    for name in ("MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE"):
        original = parsers[name]

        def parse(data: Any, _original: Callable[[Any], None] = original) -> None:
            dispatch = None
            guild_id = data.get("guild_id")
            with contextlib.suppress(Exception):  # no websocket yet, or an unknown shard
                ws = client._get_websocket(int(guild_id) if guild_id else None)
                if ws is not None and ws.session_id and ws.sequence is not None:
                    dispatch = (ws.session_id, ws.sequence)
            token = translate.current_dispatch.set(dispatch)
            try:
                _original(data)
            finally:
                translate.current_dispatch.reset(token)

        parsers[name] = parse
