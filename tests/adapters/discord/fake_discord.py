"""A small Discord on 127.0.0.1: the REST routes payforward uses and a gateway websocket.

It speaks just enough of Discord's protocol for the real discord.py to log in, sync
commands, connect (HELLO, heartbeats, IDENTIFY → READY + GUILD_CREATE, RESUME →
replay + RESUMED), receive INTERACTION_CREATE and MESSAGE_REACTION_ADD/REMOVE, and
send, edit, DM and answer interactions. Every REST call is recorded so tests assert
what "Discord" received. JSON bodies go out with a content type of exactly
`application/json`: discord.py parses a body as JSON only then.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

BOT_ID = 900_000_000_000_000_001
APP_ID = 900_000_000_000_000_002
TOKEN = "fake-bot-token"
ADMIN_PERMISSIONS = str(0x20 | 0x400 | 0x800)  # manage guild, view channel, send messages
MEMBER_PERMISSIONS = str(0x400 | 0x800)
TIMESTAMP = "2026-01-05T09:00:00.000000+00:00"

Json = dict[str, Any]


@dataclass
class Call:
    method: str
    path: str
    body: Any  # parsed JSON (multipart: the payload_json part), or None
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = field(default_factory=time.perf_counter)


@dataclass
class Session:
    """One gateway session: its sequence numbers and what it was sent, for RESUME."""

    session_id: str
    shard: tuple[int, int]
    seq: int = 0
    sent: list[Json] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None


def user(user_id: int, name: str, *, bot: bool = False) -> Json:
    return {
        "id": str(user_id),
        "username": name,
        "global_name": name.title(),
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
    }


class FakeDiscord:
    def __init__(self) -> None:
        self.guilds: dict[int, Json] = {}
        self.users: dict[int, Json] = {BOT_ID: user(BOT_ID, "payforward", bot=True)}
        self.calls: list[Call] = []
        self.messages: dict[int, Json] = {}  # message id → last payload
        self.deleted: set[int] = set()
        self.undmable: set[int] = set()
        self.sessions: dict[str, Session] = {}
        self.identifies = 0
        self.resumes = 0
        self.dispatched_at: dict[str, float] = {}  # interaction id → when it was sent
        self.answered_at: dict[str, float] = {}  # interaction id → when its callback came
        self.replied_at: dict[str, float] = {}  # … when its content came (callback or edit)
        self.envelopes: dict[str, Json] = {}  # interaction id → the dispatch that carried it
        self.route_to: str | None = None  # a session id: dispatch only there (benchmarks)
        self.app_flags = 0  # the application's flags (privileged intents), for doctor
        # Discord's rate limits (benchmarks): for a REST call, a 429's JSON body (None
        # to let it through) and the X-RateLimit-* headers to answer with.
        self.limits: Callable[[str, str], tuple[Json | None, dict[str, str]]] | None = None
        self._ids = itertools.count(1_100_000_000_000_000_000)
        self._rate_limits: list[tuple[Callable[[str, str], bool], float]] = []
        self._failures: list[tuple[Callable[[str, str], bool], int, int]] = []
        self._dm_channels: dict[int, int] = {}
        self._answered: set[str] = set()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # Life cycle.

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        for session in self.sessions.values():
            if session.ws is not None and not session.ws.closed:
                await session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def next_id(self) -> int:
        return next(self._ids)

    # World.

    def add_user(self, user_id: int, name: str, *, bot: bool = False) -> Json:
        self.users[user_id] = user(user_id, name, bot=bot)
        return self.users[user_id]

    def add_guild(self, guild_id: int, name: str, channels: Mapping[int, str]) -> None:
        self.guilds[guild_id] = {
            "id": str(guild_id),
            "name": name,
            "icon": None,
            "owner_id": str(BOT_ID),
            "unavailable": False,
            "large": False,
            "member_count": 3,
            "features": [],
            "emojis": [],
            "stickers": [],
            "members": [],
            "voice_states": [],
            "presences": [],
            "threads": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "premium_tier": 0,
            "roles": [
                {
                    "id": str(guild_id),
                    "name": "@everyone",
                    "permissions": MEMBER_PERMISSIONS,
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "channels": [
                {
                    "id": str(channel_id),
                    "type": 0,
                    "name": channel_name,
                    "position": i,
                    "guild_id": str(guild_id),
                    "permission_overwrites": [],
                }
                for i, (channel_id, channel_name) in enumerate(channels.items())
            ],
        }

    def member(self, guild_id: int, user_id: int) -> Json:
        return {
            "user": self.users[user_id],
            "roles": [],
            "joined_at": TIMESTAMP,
            "nick": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
        }

    # Waiting for what the bot did.

    async def wait_for(
        self, predicate: Callable[[Call], bool], *, count: int = 1, within: float = 10.0
    ) -> list[Call]:
        """The first `count` recorded calls that match, waiting for them if needed."""
        async with asyncio.timeout(within), self._changed:
            while True:
                found = [call for call in self.calls if predicate(call)]
                if len(found) >= count:
                    return found[:count]
                await self._changed.wait()

    async def answer(self, interaction: Json, within: float = 10.0) -> Json:
        """The bot's first answer to an interaction, as `{"type", "data"}`.

        A deferred answer (type 5, "thinking…") is followed by an edit of the original
        response; that edit is the answer, with the flags the deferral set."""
        [callback] = await self.wait_for(is_callback(interaction), within=within)
        if callback.body["type"] != 5:
            answer: Json = callback.body
            return answer
        original = f"/webhooks/{APP_ID}/{interaction['token']}/messages/@original"
        [edit] = await self.wait_for(
            lambda c: c.method == "PATCH" and c.path == original, within=within
        )
        flags = (callback.body.get("data") or {}).get("flags", 0)
        return {"type": 4, "deferred": True, "data": {**edit.body, "flags": flags}}

    def dm_to(self, user_id: int) -> Callable[[Call], bool]:
        """Messages posted in the DM channel with that user (opened by then or later)."""
        return lambda c: (
            c.method == "POST" and c.path == f"/channels/{self._dm_channels.get(user_id)}/messages"
        )

    def matching(self, predicate: Callable[[Call], bool]) -> list[Call]:
        return [call for call in self.calls if predicate(call)]

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def wait_until(self, check: Callable[[], bool], within: float = 10.0) -> None:
        async with asyncio.timeout(within), self._changed:
            while not check():
                await self._changed.wait()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # Fault injection.

    def rate_limit_once(self, method: str, path_contains: str, retry_after: float) -> None:
        self._rate_limits.append((lambda m, p: m == method and path_contains in p, retry_after))

    def fail(self, method: str, path_contains: str, status: int, code: int) -> None:
        """Answer matching requests with this error from now on."""
        self._failures.append((lambda m, p: m == method and path_contains in p, status, code))

    # Gateway.

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        session: Session | None = None
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            op, data = payload["op"], payload.get("d")
            if op == 1:
                await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
            elif op == 2:
                session = await self._identify(ws, data)
            elif op == 6:
                session = await self._resume(ws, data)
                if session is None:
                    break
        if session is not None and session.ws is ws:
            session.ws = None
        await self._notify()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: Json) -> Session:
        self.identifies += 1
        shard = tuple(data.get("shard") or (0, 1))
        session = Session(f"session-{self.identifies}", (int(shard[0]), int(shard[1])), ws=ws)
        self.sessions[session.session_id] = session
        guilds = [
            g
            for gid, g in self.guilds.items()
            if (gid >> 22) % session.shard[1] == session.shard[0]
        ]
        await self._send(
            session,
            "READY",
            {
                "v": 10,
                "user": self.users[BOT_ID],
                "guilds": [{"id": g["id"], "unavailable": True} for g in guilds],
                "session_id": session.session_id,
                "resume_gateway_url": self.gateway_url,
                "application": {"id": str(APP_ID), "flags": 0},
                "shard": list(session.shard),
                "private_channels": [],
                "relationships": [],
            },
        )
        for guild in guilds:
            await self._send(session, "GUILD_CREATE", guild)
        await self._notify()
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: Json) -> Session | None:
        session = self.sessions.get(data.get("session_id", ""))
        if session is None:
            await ws.send_json({"op": 9, "d": False, "s": None, "t": None})
            return None
        self.resumes += 1
        session.ws = ws
        for event in session.sent:
            if event["s"] > int(data.get("seq") or 0):
                await ws.send_json(event)
        await self._send(session, "RESUMED", {})
        await self._notify()
        return session

    async def _send(self, session: Session, name: str, data: Json) -> Json:
        session.seq += 1
        event = {"op": 0, "t": name, "s": session.seq, "d": data}
        session.sent.append(event)
        if session.ws is not None and not session.ws.closed:
            await session.ws.send_json(event)
        return event

    def _session_for(self, guild_id: int | None) -> Session:
        """The newest session for the guild's shard; a disconnected one buffers the event
        until the bot resumes."""
        if self.route_to is not None:
            return self.sessions[self.route_to]
        live = [s for s in self.sessions.values() if s.ws is not None]
        for session in [*reversed(live), *reversed(self.sessions.values())]:
            count = session.shard[1]
            if guild_id is None or (guild_id >> 22) % count == session.shard[0]:
                return session
        raise LookupError("no gateway session is connected")

    async def wait_connected(self, sessions: int = 1, within: float = 10.0) -> None:
        await self.wait_until(
            lambda: sum(s.ws is not None for s in self.sessions.values()) >= sessions, within
        )

    async def dispatch(self, name: str, data: Json, guild_id: int | None = None) -> Json:
        return await self._send(self._session_for(guild_id), name, data)

    async def replay(self, event: Json, guild_id: int | None = None) -> None:
        """Send a dispatch again exactly as before: same session, same sequence number."""
        session = self._session_for(guild_id)
        assert session.ws is not None
        await session.ws.send_json(event)

    async def drop(self) -> None:
        """Close every gateway connection as a network fault would (resumable)."""
        for session in self.sessions.values():
            if session.ws is not None and not session.ws.closed:
                await session.ws.close(code=4000, message=b"dropped")
                session.ws = None

    # Interactions and reactions.

    def _interaction(
        self,
        kind: int,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        data: Json,
        *,
        admin: bool,
    ) -> Json:
        interaction_id = str(self.next_id())
        payload: Json = {
            "id": interaction_id,
            "application_id": str(APP_ID),
            "type": kind,
            "data": data,
            "channel_id": str(channel_id),
            "channel": {"id": str(channel_id), "type": 0 if guild_id else 1},
            "token": f"token-{interaction_id}",
            "version": 1,
            "locale": "en-US",
            "app_permissions": ADMIN_PERMISSIONS,
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "authorizing_integration_owners": {"0": str(guild_id or 0)},
            "context": 0 if guild_id else 1,
        }
        if guild_id is not None:
            payload["guild_id"] = str(guild_id)
            payload["guild_locale"] = "en-US"
            payload["channel"]["guild_id"] = str(guild_id)
            member = self.member(guild_id, user_id)
            member["permissions"] = ADMIN_PERMISSIONS if admin else MEMBER_PERMISSIONS
            payload["member"] = member
        else:
            payload["user"] = self.users[user_id]
        return payload

    async def command(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        name: str,
        options: list[Json] | None = None,
        *,
        admin: bool = False,
        resolved_users: tuple[int, ...] = (),
        resolved_channels: tuple[int, ...] = (),
    ) -> Json:
        data: Json = {"id": str(self.next_id()), "name": name, "type": 1, "options": options or []}
        data["guild_id"] = str(guild_id)
        if resolved_users:
            data["resolved"] = {
                "users": {str(u): self.users[u] for u in resolved_users},
                "members": {
                    str(u): {k: v for k, v in self.member(guild_id, u).items() if k != "user"}
                    for u in resolved_users
                },
            }
        if resolved_channels:
            channels = {
                str(c): {
                    "id": str(c),
                    "type": 0,
                    "name": "general",
                    "permissions": MEMBER_PERMISSIONS,
                    "guild_id": str(guild_id),
                }
                for c in resolved_channels
            }
            data.setdefault("resolved", {})["channels"] = channels
        payload = self._interaction(2, guild_id, channel_id, user_id, data, admin=admin)
        return await self._interact(payload, guild_id)

    async def press(
        self, guild_id: int | None, message: Json, user_id: int, custom_id: str
    ) -> Json:
        data = {"custom_id": custom_id, "component_type": 2}
        payload = self._interaction(
            3, guild_id, int(message["channel_id"]), user_id, data, admin=False
        )
        payload["message"] = message
        return await self._interact(payload, guild_id)

    async def submit(
        self,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        custom_id: str,
        components: list[Json],
    ) -> Json:
        data = {"custom_id": custom_id, "components": components}
        payload = self._interaction(5, guild_id, channel_id, user_id, data, admin=False)
        return await self._interact(payload, guild_id)

    async def _interact(self, payload: Json, guild_id: int | None) -> Json:
        self.dispatched_at[payload["id"]] = time.perf_counter()
        self.envelopes[payload["id"]] = await self.dispatch("INTERACTION_CREATE", payload, guild_id)
        return payload

    async def react(
        self,
        guild_id: int,
        channel_id: int,
        message_id: int,
        user_id: int,
        emoji: str = "🙋",
        *,
        add: bool = True,
    ) -> Json:
        data: Json = {
            "user_id": str(user_id),
            "channel_id": str(channel_id),
            "message_id": str(message_id),
            "guild_id": str(guild_id),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }
        if add:
            data["member"] = self.member(guild_id, user_id)
            data["message_author_id"] = str(BOT_ID)
        return await self.dispatch(
            "MESSAGE_REACTION_ADD" if add else "MESSAGE_REACTION_REMOVE", data, guild_id
        )

    # REST.

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        method = request.method
        body, files = await self._body(request)
        call = Call(method, path, body, files)
        bearer_free = path.startswith(("/webhooks/", "/interactions/"))  # the token is in the URL
        if not bearer_free and request.headers.get("Authorization") != f"Bot {TOKEN}":
            await self._record(call)
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        for i, (matches, retry_after) in enumerate(self._rate_limits):
            if matches(method, path):
                del self._rate_limits[i]
                call.path = path + " [429]"
                await self._record(call)
                return _json(
                    {
                        "message": "You are being rate limited.",
                        "retry_after": retry_after,
                        "global": False,
                    },
                    status=429,
                    headers={"Via": "1.1 google", "Retry-After": str(retry_after)},
                )
        for matches, status, code in self._failures:
            if matches(method, path):
                await self._record(call)
                return _json({"message": "error", "code": code}, status=status)
        limited, headers = self.limits(method, path) if self.limits else (None, {})
        if limited is not None:
            call.path = path + " [429]"
            await self._record(call)
            return _json(limited, status=429, headers=headers)
        try:
            status, answer = self._route(method, path, body, request)
        except _Error as error:
            await self._record(call)
            return _json({"message": error.message, "code": error.code}, status=error.status)
        await self._record(call)
        if answer is None:
            return web.Response(status=204, headers=headers)
        return _json(answer, status=status, headers=headers)

    async def _body(self, request: web.Request) -> tuple[Any, dict[str, bytes]]:
        if not request.can_read_body:
            return None, {}
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            body: Any = None
            files: dict[str, bytes] = {}
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "payload_json":
                    body = json.loads(await part.text())
                else:
                    files[part.filename or part.name or "file"] = bytes(await part.read())
            return body, files
        raw = await request.read()
        return (json.loads(raw) if raw else None), {}

    def _route(self, method: str, path: str, body: Any, request: web.Request) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if method == "GET" and path == "/users/@me":
            return 200, self.users[BOT_ID]
        if method == "GET" and path == "/oauth2/applications/@me":
            return 200, _application(self.app_flags)
        if method == "GET" and path == "/users/@me/guilds":  # the servers the bot is in
            return 200, [
                {"id": g["id"], "name": g["name"], "icon": None, "owner": False, "permissions": "0"}
                for g in self.guilds.values()
            ]
        if method == "GET" and path == "/gateway/bot":
            limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
            return 200, {"url": self.gateway_url, "shards": 1, "session_start_limit": limit}
        if method == "GET" and parts[0] == "users" and len(parts) == 2:
            found = self.users.get(int(parts[1]))
            if found is None:
                raise _Error(404, 10013, "Unknown User")
            return 200, found
        if method == "PUT" and parts[0] == "applications":
            return 200, [
                {
                    **command,
                    "id": str(self.next_id()),
                    "application_id": str(APP_ID),
                    "version": "1",
                }
                for command in body
            ]
        if method == "POST" and path == "/users/@me/channels":
            recipient = int(body["recipient_id"])
            channel_id = self._dm_channels.setdefault(recipient, self.next_id())
            return 200, {
                "id": str(channel_id),
                "type": 1,
                "recipients": [self.users.get(recipient, user(recipient, "someone"))],
                "last_message_id": None,
            }
        if parts[0] == "channels" and len(parts) >= 3 and parts[2] == "messages":
            channel_id = int(parts[1])
            if channel_id in self._dm_channels.values():
                recipient = next(u for u, c in self._dm_channels.items() if c == channel_id)
                if recipient in self.undmable:
                    raise _Error(403, 50007, "Cannot send messages to this user")
            if method == "POST" and len(parts) == 3:
                return 200, self._message(channel_id, self.next_id(), body)
            if method == "PATCH" and len(parts) == 4:
                message_id = int(parts[3])
                if message_id in self.deleted or message_id not in self.messages:
                    raise _Error(404, 10008, "Unknown Message")
                return 200, self._message(channel_id, message_id, body)
        if method == "POST" and parts[0] == "interactions" and parts[-1] == "callback":
            interaction_id = parts[1]
            if interaction_id in self._answered:
                raise _Error(400, 40060, "Interaction has already been acknowledged.")
            self._answered.add(interaction_id)
            self.answered_at[interaction_id] = time.perf_counter()
            if body["type"] in (4, 9):
                self.replied_at[interaction_id] = self.answered_at[interaction_id]
            kind = body["type"]
            answer: Json = {
                "interaction": {
                    "id": interaction_id,
                    "type": 2,
                    "response_message_id": None,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(
                        (body.get("data") or {}).get("flags", 0) & 64
                    ),
                }
            }
            if kind == 4:
                message = self._message(0, self.next_id(), body.get("data") or {})
                answer["interaction"]["response_message_id"] = message["id"]
                answer["resource"] = {"type": 4, "message": message}
            return 200, answer
        if parts[0] == "webhooks" and len(parts) >= 3:
            if method == "POST" and len(parts) == 3:
                return 200, self._message(0, self.next_id(), body)
            if method == "PATCH":
                if path.endswith("/messages/@original"):
                    self.replied_at.setdefault(parts[2].removeprefix("token-"), time.perf_counter())
                return 200, self._message(0, self.next_id(), body)
            if method == "DELETE" and path.endswith("/messages/@original"):
                return 204, None  # a "thinking…" placeholder with nothing to say after all
        raise _Error(404, 0, f"the fake has no route for {method} {path}")

    def _message(self, channel_id: int, message_id: int, body: Json | None) -> Json:
        body = body or {}
        message = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "author": self.users[BOT_ID],
            "content": body.get("content") or "",
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": body.get("flags", 0),
        }
        if channel_id:
            self.messages[message_id] = message
        return message


class _Error(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _json(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _application(flags: int = 0) -> Json:
    return {
        "id": str(APP_ID),
        "name": "payforward",
        "description": "",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user(1, "owner"),
        "verify_key": "00",
        "flags": flags,
        "interactions_endpoint_url": None,
    }


# Reading what the bot sent.


def is_callback(interaction: Json) -> Callable[[Call], bool]:
    return lambda c: (
        c.method == "POST"
        and c.path == f"/interactions/{interaction['id']}/{interaction['token']}/callback"
    )


def posted_to(channel_id: int) -> Callable[[Call], bool]:
    return lambda c: c.method == "POST" and c.path == f"/channels/{channel_id}/messages"


def text_of(body: Json | None) -> str:
    """Content and every embed's title and description, as one string."""
    if not body:
        return ""
    data = body.get("data", body) if "type" in body and "data" in body else body
    parts = [data.get("content") or ""]
    for embed in data.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
    return "\n".join(part for part in parts if part)
