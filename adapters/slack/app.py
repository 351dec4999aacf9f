"""The Slack adapter: a Bolt `AsyncApp` that listens (Socket Mode or HTTP) and a Web API
client that delivers what the core queued.

Every listener but the slash commands' acks first and works after, so Slack never waits
on the database: Bolt's `process_before_response` stays off, which returns the ack the
moment `ack()` is called. A slash command's ack waits up to a second for the core's
answer, to carry it.
Answers meant only for the actor go out as ephemeral messages (through the request's
`response_url`, else `chat.postEphemeral`); forms open as modals on the request's trigger id.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render, translate
from adapters.slack.client import delivering
from adapters.slack.members import Members
from adapters.slack.oauth import OAuth
from adapters.slack.workspaces import WorkspaceAuthorize, Workspaces
from bot.domain import MessageRef
from bot.events import CommandInvoked, Event
from bot.messages import Answer, Delivered, Delivery, Message, OpenForm, Reply, Undeliverable

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
STOP_GRACE_SECONDS = 10.0
# How long a slash command's ack waits for the core's answer to carry it; later (a
# busy database), the ack goes out bare and the answer follows via response_url.
# Slack waits 3 s for an ack.
ANSWER_IN_ACK_SECONDS = 1.0
Handle = Callable[[Event], Awaitable[list[Answer]]]
Body = Mapping[str, Any]


class SlackAdapter:
    """The `ChatAdapter` for Slack workspaces (community ids `slack:<team_id>`)."""

    platform = translate.PLATFORM

    def __init__(
        self,
        handle: Handle,
        *,
        bot_token: str | None,
        api_url: str | None = None,
        app_token: str | None = None,
        signing_secret: str | None = None,
        http_host: str = "127.0.0.1",
        http_port: int = 3000,
        oauth: OAuth | None = None,
        max_in_flight: int = 16,
    ) -> None:
        if app_token is None and not signing_secret:
            raise ValueError("Slack HTTP mode needs SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN)")
        if app_token is not None and oauth is not None:
            log.warning("Slack: OAuth installs need HTTP mode; Socket Mode uses SLACK_BOT_TOKEN")
            oauth = None
        if bot_token is None and oauth is None:
            raise ValueError("Slack needs SLACK_BOT_TOKEN (or OAuth installs in HTTP mode)")
        self._core_handle = handle
        self._busy: set[asyncio.Task[Any]] = set()  # listeners still at work
        # Backpressure: at most this many events inside the core at once; the rest wait
        # here, in arrival order, instead of piling up on the database's write lock.
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._oauth = oauth
        self._workspaces = Workspaces(api_url, bot_token, oauth.store if oauth else None)
        self._members = Members(self._workspaces.client_for)
        self._app_token = app_token
        self._host = http_host
        self._port = http_port
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self.app = AsyncApp(
            client=self._workspaces.anonymous,
            signing_secret=signing_secret,
            # Bolt takes an AsyncAuthorize instance as is; its annotation only names callables.
            authorize=cast(Any, WorkspaceAuthorize(self._workspaces)),
            oauth_settings=oauth.settings if oauth else None,
            process_before_response=False,
            request_verification_enabled=app_token is None,
            logger=_bolt_logger(),
        )
        self._listen(self.app)

    # Lifecycle.

    @property
    def socket_mode(self) -> bool:
        return self._app_token is not None

    @property
    def port(self) -> int:
        """The HTTP port actually bound (PAYFORWARD_HTTP_PORT=0 picks a free one)."""
        if self._runner is None or not self._runner.addresses:
            return self._port
        return int(self._runner.addresses[0][1])

    async def start(self) -> None:
        """Returns once connected (Socket Mode) or listening (HTTP mode)."""
        if self._app_token is not None:
            self._socket = AsyncSocketModeHandler(
                self.app, self._app_token, web_client=self._workspaces.anonymous
            )
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            log.info("Slack: connected in Socket Mode")
            return
        server = web.Application()
        server.router.add_post(EVENTS_PATH, self._on_http)
        server.router.add_get("/healthz", _healthy)
        flow = self.app.oauth_flow
        if self._oauth is not None and flow is not None:
            server.router.add_get(flow.install_path, self._on_install)
            server.router.add_get(flow.redirect_uri_path, self._on_oauth_redirect)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("Slack: listening on http://%s:%s%s", self._host, self.port, EVENTS_PATH)

    async def stop(self) -> None:
        """Stop taking requests, then let the listeners already at work finish: their
        events were acked, so Slack will not send them again."""
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._busy:
            await asyncio.wait(set(self._busy), timeout=STOP_GRACE_SECONDS)
        await self._workspaces.close()
        if self._oauth is not None:
            await self._oauth.close()

    async def _on_http(self, request: web.Request) -> web.Response:
        """Bolt verifies the signature and its age (401 otherwise), then dispatches."""
        response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def _on_install(self, request: web.Request) -> web.Response:
        assert self.app.oauth_flow is not None
        flow = self.app.oauth_flow
        return await to_aiohttp_response(
            await flow.handle_installation(await to_bolt_request(request))
        )

    async def _on_oauth_redirect(self, request: web.Request) -> web.Response:
        assert self.app.oauth_flow is not None
        flow = self.app.oauth_flow
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

    # Delivery (the ChatAdapter port).

    async def post(self, community_id: str, channel_id: str, message: Message) -> Delivery:
        async def send() -> Delivery:
            client = await self._workspaces.sender_for(_team(community_id))
            try:
                sent = await self._post(client, channel_id, message)
            except SlackApiError as error:
                if error.response.get("error") != "not_in_channel":
                    raise
                await self._join(client, channel_id, error)
                sent = await self._post(client, channel_id, message)
            return Delivered(sent)

        return await delivering(send)

    async def update(self, community_id: str, ref: MessageRef, message: Message) -> Delivery:
        async def send() -> Delivery:
            client = await self._workspaces.sender_for(_team(community_id))
            await client.chat_update(
                channel=ref.channel_id, ts=ref.message_id, **render.message_payload(message)
            )
            return Delivered(ref)

        return await delivering(send)

    async def send_dm(self, community_id: str, member_id: str, message: Message) -> Delivery:
        async def send() -> Delivery:
            client = await self._workspaces.sender_for(_team(community_id))
            # A member's id as the channel posts to the app's DM with them, which
            # Slack opens if need be: no conversations.open round trip first.
            return Delivered(await self._post(client, member_id, message))

        return await delivering(send)

    async def _post(self, client: AsyncWebClient, channel: str, message: Message) -> MessageRef:
        sent = await client.chat_postMessage(
            channel=channel,
            unfurl_links=False,
            unfurl_media=False,
            **render.message_payload(message),
        )
        if message.attachment is not None:
            await client.files_upload_v2(
                channel=sent["channel"],
                filename=message.attachment.filename,
                title=message.attachment.filename,
                content=message.attachment.content,
            )
        return MessageRef(str(sent["channel"]), str(sent["ts"]))

    async def _join(self, client: AsyncWebClient, channel: str, cause: SlackApiError) -> None:
        """Join a public channel the bot is not in yet (so its reactions reach us too);
        a private channel needs an invitation, which the original error reports."""
        try:
            await client.conversations_join(channel=channel)
        except SlackApiError:
            raise cause from None

    async def _handle(self, event: Event) -> list[Answer]:
        task = asyncio.current_task()
        if task is not None and task not in self._busy:
            self._busy.add(task)
            task.add_done_callback(self._busy.discard)
        async with self._in_flight:
            return await self._core_handle(event)

    # Translate-in: the listeners.

    def _listen(self, app: AsyncApp) -> None:
        app.command(re.compile(r"^/.+"))(self._on_command)
        app.event("reaction_added")(self._on_reaction)
        app.event("reaction_removed")(self._on_reaction)
        app.event("app_home_opened")(self._on_home)
        app.event("app_uninstalled")(self._on_uninstalled)
        app.event("tokens_revoked")(self._on_uninstalled)
        app.action(re.compile(r".+"))(self._on_action)
        app.view(re.compile("^" + re.escape(translate.FORM_PREFIX)))(self._on_form)

    async def _on_command(self, ack: Callable[..., Awaitable[None]], body: Body) -> None:
        """The first answer rides on the ack when the core has it within
        ANSWER_IN_ACK_SECONDS (Slack shows it like a response_url answer, one HTTP
        call fewer); otherwise the ack goes out bare and every answer follows."""
        work = asyncio.ensure_future(self._command(body))
        acked = False
        try:
            try:
                event, answers = await asyncio.wait_for(asyncio.shield(work), ANSWER_IN_ACK_SECONDS)
            except TimeoutError:
                await ack()
                acked = True
                event, answers = await work
            else:
                if answers and isinstance(answers[0], Reply):
                    payload = render.message_payload(answers[0].message)
                    await ack(response_type="ephemeral", **payload)
                    acked = True
                    answers = answers[1:]
        finally:
            if not acked:
                await ack()
        await self._answer(answers, event, body, response_url=body.get("response_url"))

    async def _command(self, body: Body) -> tuple[Event, list[Answer]]:
        event = await translate.command(body, self._members.info)
        return event, await self._handle(event)

    async def _on_reaction(self, body: Body) -> None:
        event = await translate.reaction(body, self._members.info)
        if event is not None:
            await self._answer(await self._handle(event), event, body)

    async def _on_action(self, ack: Callable[..., Awaitable[None]], body: Body) -> None:
        await ack()
        actions = body.get("actions") or []
        if not actions or actions[0].get("type") != "button":
            return
        event = await translate.button(body, self._members.info)
        answers = await self._handle(event)
        container = body.get("container") or {}
        replace = bool(container.get("is_ephemeral")) and bool(body.get("response_url"))
        url = body["response_url"] if replace else None
        await self._answer(answers, event, body, response_url=url, replace_original=replace)

    async def _on_form(self, ack: Callable[..., Awaitable[None]], body: Body) -> None:
        await ack()
        event = await translate.form(body, self._members.info)
        await self._answer(await self._handle(event), event, body)

    async def _on_uninstalled(self, body: Body, event: Body) -> None:
        """A workspace removed the app (or revoked its bot token): forget its stored
        installation, so nothing is sent with a dead token. Its community's data stays
        for a reinstall; members can still `/payforward forget` themselves."""
        if event.get("type") == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
            return  # only user tokens were revoked; the bot's still works
        team = translate.team_of(body)
        await self._workspaces.drop(team)
        log.info("Slack workspace %s removed the app; its installation is forgotten", team)

    async def _on_home(self, body: Body, event: Body) -> None:
        """App Home: the member's stats and this week's board (with the asks that need
        help), as the core answers `/payforward me` and `/payforward leaderboard`."""
        if event.get("tab") != "home":
            return
        team = translate.team_of(body)
        actor = await self._members.info(team, str(event["user"]))
        sections: list[Message] = []
        for words in ("me", "leaderboard"):
            answers = await self._handle(
                CommandInvoked(
                    event_id=f"{body.get('event_id')}:home:{words}",
                    community_id=translate.community_id(team),
                    actor=actor,
                    command="payforward",
                    text=words,
                )
            )
            sections += [a.message for a in answers if isinstance(a, Reply)]
        if not sections:
            return  # a redelivery, or a bot: nothing new to show
        client = await self._workspaces.client_for(team)
        try:
            await client.views_publish(user_id=actor.member_id, view=render.home_view(sections))
        except SlackApiError as error:
            log.warning("views.publish failed: %s", error.response.get("error"))

    # Immediate answers.

    async def _answer(
        self,
        answers: list[Answer],
        event: Event,
        body: Body,
        *,
        response_url: str | None = None,
        replace_original: bool = False,
    ) -> None:
        """Through the request's `response_url` when it has one (on the shared HTTP
        session, where Bolt's `respond` opens a session per answer)."""
        team = translate.team_of(body)
        for answer in answers:
            try:
                if isinstance(answer, OpenForm):
                    await self._open_form(team, body, answer, event.channel_id)
                elif response_url:
                    sent = await self._workspaces.webhook(response_url).send(
                        response_type="ephemeral",
                        replace_original=replace_original,
                        **render.message_payload(answer.message),
                    )
                    if sent.status_code != 200:
                        status = sent.status_code
                        log.warning("answering %s failed: HTTP %s", event.event_id, status)
                else:
                    await self._ephemeral(team, event, answer.message)
            except SlackApiError as error:
                log.warning("answering %s failed: %s", event.event_id, error.response.get("error"))
            except Exception:
                log.exception("answering %s failed", event.event_id)

    async def _open_form(
        self, team: str, body: Body, answer: OpenForm, channel: str | None
    ) -> None:
        client = await self._workspaces.client_for(team)
        await client.views_open(
            trigger_id=body["trigger_id"], view=render.form_view(answer.form, channel)
        )

    async def _ephemeral(self, team: str, event: Event, message: Message) -> None:
        """Seen only by the actor: in the channel of the event when there is one, else
        (a modal's answer with nowhere to go) as a DM."""
        client = await self._workspaces.client_for(team)
        member = event.actor.member_id
        if event.channel_id:
            try:
                await client.chat_postEphemeral(
                    channel=event.channel_id, user=member, **render.message_payload(message)
                )
                return
            except SlackApiError as error:
                log.info("ephemeral refused (%s); sending a DM", error.response.get("error"))
        outcome = await self.send_dm(event.community_id, member, message)
        if isinstance(outcome, Undeliverable):
            log.warning("could not answer %s: %s", member, outcome.reason)


class _TokenFromEnvironment(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that the client we give it wins;
    that is by design here (tokens come from `Workspaces`), so the warning is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("adapters.slack.bolt")
    if not any(isinstance(f, _TokenFromEnvironment) for f in logger.filters):
        logger.addFilter(_TokenFromEnvironment())
    return logger


def _team(community_id: str) -> str:
    platform, _, team = community_id.partition(":")
    if platform != translate.PLATFORM or not team:
        raise ValueError(f"{community_id!r} is not a Slack community")
    return team


async def _healthy(request: web.Request) -> web.Response:
    return web.Response(text="ok")


__all__ = ["EVENTS_PATH", "SlackAdapter"]
