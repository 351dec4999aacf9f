"""A fake Slack on 127.0.0.1: the Web API methods payforward calls, `response_url`s,
file uploads, and a Socket Mode websocket. It records every call so tests can assert
what Slack would have received, and answers in Slack's shapes.

Tests wait for calls with `wait_for` (polling with a deadline), never with fixed sleeps.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

BOT_USER = "UBOT"
Json = dict[str, Any]


@dataclass
class Call:
    method: str
    args: Json
    token: str | None = None
    result: Json = field(default_factory=dict)  # what the fake answered
    at: float = field(default_factory=time.perf_counter)  # when it arrived (benchmarks)
    peer: object = None  # the client's address: one per connection

    def blocks_text(self) -> str:
        """Every text in the call's blocks (and its fallback), joined: for assertions."""
        return json.dumps(
            {"blocks": self.args.get("blocks"), "text": self.args.get("text")}, ensure_ascii=False
        )


@dataclass
class Failure:
    status: int
    error: str
    retry_after: int | None = None
    body: str | None = None  # a raw, non-JSON body (a proxy's error page)


@dataclass
class FakeSlack:
    admins: set[str] = field(default_factory=set)
    bots: set[str] = field(default_factory=set)
    timezones: dict[str, str] = field(default_factory=dict)  # users.info tz; else Berlin
    calls: list[Call] = field(default_factory=list)
    acks: list[Json] = field(default_factory=list)
    acked_answers: list[Json] = field(default_factory=list)  # answers that rode on acks
    _failures: dict[str, list[Failure]] = field(default_factory=dict)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    port: int = 0
    fixed_ts: str | None = None  # every post gets this ts (two workspaces, same ids)
    on_call: Callable[[Call], None] | None = None  # told of each Web API call (benchmarks)
    # auth.test's x-oauth-scopes header: the scopes the bot token was granted.
    granted_scopes: tuple[str, ...] = (
        "commands",
        "chat:write",
        "channels:join",
        "reactions:read",
        "users:read",
        "im:write",
        "mpim:write",
        "files:write",
    )
    app_token: str | None = None  # set: apps.connections.open refuses any other token
    # Slack's rate limits (benchmarks): seconds to wait for a call over them, else None.
    admit: Callable[[Call], float | None] | None = None

    # Running.

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{id}", self._respond)
        app.router.add_post("/upload/{id}", self._upload)
        app.router.add_get("/ws", self._ws)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self) -> str:
        return f"{self.url}/respond/{uuid.uuid4().hex}"

    # Scripting.

    def fail_next(
        self,
        method: str,
        error: str,
        *,
        status: int = 200,
        retry_after: int | None = None,
        body: str | None = None,
    ) -> None:
        """The next call of `method` fails this way (429s carry Retry-After; with `body`,
        the answer is that text instead of Slack's JSON)."""
        self._failures.setdefault(method, []).append(Failure(status, error, retry_after, body))

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self,
        method: str,
        where: Callable[[Call], bool] = lambda c: True,
        *,
        count: int = 1,
        within: float = 10.0,
    ) -> list[Call]:
        """The calls of `method` matching `where`, once there are at least `count`."""
        deadline = time.monotonic() + within
        while True:
            found = [c for c in self.of(method) if where(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = [(c.method, c.args) for c in self.calls]
                raise AssertionError(f"no {count}× {method} within {within}s; calls: {seen}")
            await asyncio.sleep(0.01)

    async def wait_for_ack(self, envelope_id: str, within: float = 10.0) -> Json:
        deadline = time.monotonic() + within
        while True:
            for ack in self.acks:
                if ack.get("envelope_id") == envelope_id:
                    return ack
            if time.monotonic() > deadline:
                raise AssertionError(f"envelope {envelope_id} was never acked")
            await asyncio.sleep(0.01)

    async def wait_for_socket(self, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while not self._sockets:
            if time.monotonic() > deadline:
                raise AssertionError("no Socket Mode connection")
            await asyncio.sleep(0.01)

    async def push(self, kind: str, payload: Json, *, retry_attempt: int = 0) -> str:
        """Send one Socket Mode envelope (`events_api`, `slash_commands`, `interactive`)."""
        envelope_id = uuid.uuid4().hex
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        await self._sockets[-1].send_str(json.dumps(envelope))
        return envelope_id

    # The Web API.

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: Json = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        auth = request.headers.get("Authorization", "")
        peer = request.transport.get_extra_info("peername") if request.transport else None
        call = Call(method, args, auth.removeprefix("Bearer ") or None, peer=peer)
        wait = self.admit(call) if self.admit is not None else None
        if wait is not None:
            call.result = {"ok": False, "error": "ratelimited"}
            self._record(call)
            retry_after = str(max(1, math.ceil(wait)))
            return web.json_response(call.result, status=429, headers={"Retry-After": retry_after})
        failures = self._failures.get(method)
        if method == "apps.connections.open" and self.app_token not in (None, call.token):
            failures = [Failure(200, "invalid_auth")]
        if failures:
            self._record(call)
            failure = failures.pop(0)
            headers = (
                {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            )
            if failure.body is not None:
                return web.Response(text=failure.body, status=failure.status, headers=headers)
            return web.json_response(
                {"ok": False, "error": failure.error}, status=failure.status, headers=headers
            )
        call.result = {"ok": True, **self._answer(method, args)}
        self._record(call)
        headers = {"x-oauth-scopes": ",".join(self.granted_scopes)} if method == "auth.test" else {}
        return web.json_response(call.result, headers=headers)

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)

    def _answer(self, method: str, args: Json) -> Json:
        if method == "auth.test":
            return {
                "url": self.url,
                "team": "Fake",
                "user": "payforward",
                "team_id": "T1",
                "user_id": BOT_USER,
                "bot_id": "BBOT",
            }
        if method == "oauth.v2.access":  # the code names the workspace: "code-T2"
            team = str(args["code"]).removeprefix("code-")
            return {
                "access_token": f"xoxb-{team}",
                "token_type": "bot",
                "scope": "commands,chat:write",
                "bot_user_id": f"UBOT{team}",
                "app_id": "A1",
                "team": {"id": team, "name": f"Team {team}"},
                "enterprise": None,
                "authed_user": {"id": "UINSTALLER"},
                "is_enterprise_install": False,
            }
        if method == "apps.connections.open":
            return {"url": f"ws://127.0.0.1:{self.port}/ws"}
        if method == "users.info":
            user = str(args["user"])
            return {
                "user": {
                    "id": user,
                    "name": user.lower(),
                    "real_name": f"Real {user}",
                    "is_bot": user in self.bots or user == BOT_USER,
                    "is_admin": user in self.admins,
                    "is_owner": False,
                    "tz": self.timezones.get(user, "Europe/Berlin"),
                    "profile": {"display_name": user.lower()},
                }
            }
        if method == "conversations.open":  # several users: their group DM, "G…"
            users = str(args["users"])
            return {"channel": {"id": ("G" if "," in users else "D") + users.replace(",", "")}}
        if method == "conversations.join":
            return {"channel": {"id": args["channel"]}}
        if method in ("chat.postMessage", "chat.update"):
            channel = str(args["channel"])
            if method == "chat.postMessage" and channel[:1] in ("U", "W"):
                channel = "D" + channel  # to a member's id: the app's DM with them
            ts = args.get("ts") or self.fixed_ts or f"{1700000000 + next(self._ts)}.000100"
            return {"channel": channel, "ts": ts, "message": {"text": args.get("text")}}
        if method == "chat.postEphemeral":
            return {"message_ts": f"{1700000000 + next(self._ts)}.000200"}
        if method in ("views.open", "views.publish"):
            return {
                "view": {
                    "id": "V" + uuid.uuid4().hex[:8].upper(),
                    **json.loads(json.dumps(args.get("view") or {})),
                }
            }
        if method == "files.getUploadURLExternal":
            file_id = "F" + uuid.uuid4().hex[:8].upper()
            return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = args.get("files")
            parsed = json.loads(files) if isinstance(files, str) else files or []
            return {"files": [{"id": f["id"], "title": f.get("title")} for f in parsed]}
        return {}

    def answered_in_ack(self, ack: Json) -> None:
        """A slash command's ack with a body: Slack shows it to the member just as it
        shows an answer sent to the response_url, so it is recorded as one."""
        if ack:
            self.acked_answers.append(ack)
            self.calls.append(Call("respond", ack))

    async def _respond(self, request: web.Request) -> web.Response:
        self.calls.append(Call("respond", await request.json()))
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.calls.append(
            Call("upload", {"file_id": request.match_info["id"], "content": body.decode()})
        )
        return web.Response(text="OK")

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {}}))
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self.acks.append(json.loads(message.data))
        finally:
            self._sockets.remove(ws)
        return ws
