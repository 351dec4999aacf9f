"""The Slack adapter: a Bolt `AsyncApp` that listens (Socket Mode or HTTP) and a Web API
client that delivers what the core queued.

Every listener but the slash commands' and the reactions' acks first and works after, so
Slack never waits on the database: Bolt's `process_before_response` stays off, which
returns the ack the moment `ack()` is called. A slash command's ack waits up to a second
for the core's answer, to carry it. A reaction is answered only once the core has
recorded it, or after `RECORD_BUDGET` with a 503 (in Socket Mode: no ack), so that Slack
sends it again rather than lose it while the database is away; the work goes on, and
its event id makes the redelivery count once.
Answers meant only for the actor go out as ephemeral messages (through the request's
`response_url`, else `chat.postEphemeral`); forms open as modals on the request's trigger id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render, translate
from adapters.slack.client import delivering, error_code
from adapters.slack.members import Members
from adapters.slack.oauth import OAuth
from adapters.slack.requests import bolt_request
from adapters.slack.workspaces import WorkspaceAuthorize, Workspaces
from bot.domain import MessageRef
from bot.events import CommandInvoked, Event
from bot.messages import (
    Answer,
    Delivered,
    Delivery,
    Message,
    OpenForm,
    Reply,
    Undeliverable,
    group_members,
)

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
STOP_GRACE_SECONDS = 10.0
# How long a slash command's ack waits for the core's answer to carry it; later (a
# busy database), the ack goes out bare and the answer follows via response_url.
# Slack waits 3 s for an ack.
ANSWER_IN_ACK_SECONDS = 1.0
# How long a reaction's ack waits for the core to record it; Slack waits 3 s, and
# retries what it got no 2xx for.
RECORD_BUDGET = 2.0
REACTIONS = ("reaction_added", "reaction_removed")
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
        self._mounted = False
        self._started = False
        self._socket: AsyncSocketModeHandler | None = None
        self._verifier = SignatureVerifier(signing_secret) if signing_secret else None
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

    def mount(self, app: web.Application) -> None:
        """HTTP mode: Slack's routes on payforward's one HTTP application
        (payforward/http.py), before it starts listening."""
        app.router.add_post(EVENTS_PATH, self._on_http)
        flow = self.app.oauth_flow
        if self._oauth is not None and flow is not None:
            app.router.add_get(flow.install_path, self._on_install)
            app.router.add_get(flow.redirect_uri_path, self._on_oauth_redirect)
        self._mounted = True

    @property
    def connected(self) -> bool:
        """HTTP mode: started (requests come to us). Socket Mode: the websocket is open."""
        if not self._started:
            return False
        if self._socket is None:
            return True
        client = self._socket.client
        session = client.current_session
        return not client.closed and session is not None and not session.closed

    async def start(self) -> None:
        """Returns once connected (Socket Mode) or ready for requests (HTTP mode).

        Socket Mode asks Slack for the websocket's URL itself first: slack-sdk's own
        connect retries a refused app token forever, a traceback every few seconds,
        where a refusal here fails this attempt with Slack's one-word reason
        (payforward/connecting.py backs off and tries again)."""
        if self._app_token is None:
            if not self._mounted:
                raise RuntimeError("Slack HTTP mode: mount() the routes on the HTTP server first")
            self._started = True
            log.info("Slack: HTTP mode, events at %s", EVENTS_PATH)
            return
        client = self._workspaces.anonymous
        try:
            opened = await client.apps_connections_open(app_token=self._app_token)
        except SlackApiError as error:
            raise ConnectionError(
                f"Slack refused the app token: {error.response.get('error')}"
            ) from None
        socket = AsyncSocketModeHandler(
            self.app, self._app_token, web_client=client, logger=_socket_logger()
        )
        socket.client.wss_uri = str(opened["url"])
        self._socket = socket
        try:
            await socket.connect_async()  # type: ignore[no-untyped-call]
        except BaseException:
            self._socket = None
            await socket.close_async()  # type: ignore[no-untyped-call]
            raise
        self._started = True
        log.info("Slack: connected in Socket Mode")

    async def stop(self) -> None:
        """Stop taking requests, then let the listeners already at work finish: their
        events were acked, so Slack will not send them again."""
        self._started = False
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._busy:
            await asyncio.wait(set(self._busy), timeout=STOP_GRACE_SECONDS)
        await self._workspaces.close()
        if self._oauth is not None:
            await self._oauth.close()

    async def _on_http(self, request: web.Request) -> web.Response:
        """Checked first (adapters/slack/requests.py: 4xx and one log line for what is
        not a signed JSON object or form), then Bolt dispatches."""
        checked = await bolt_request(request, self._verifier)
        if isinstance(checked, web.Response):
            return checked
        return await to_aiohttp_response(await self.app.async_dispatch(checked))

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
        members = group_members(channel_id)
        if members is not None:
            return await self._post_to_group(community_id, members, message)

        async def send() -> Delivery:
            client = await self._workspaces.sender_for(_team(community_id))
            try:
                sent = await self._post(client, channel_id, message)
            except SlackApiError as error:
                if error_code(error) != "not_in_channel":
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

    async def _post_to_group(
        self, community_id: str, members: tuple[str, ...], message: Message
    ) -> Delivery:
        """A group DM (bot.messages.ToGroup): `conversations.open` with the members
        opens the group's conversation, the same one each time (`mpim:write`), and the
        message is posted there."""

        async def send() -> Delivery:
            client = await self._workspaces.client_for(_team(community_id))
            try:
                opened = await client.conversations_open(users=",".join(members))
            except SlackApiError as error:
                if error_code(error) != "missing_scope":
                    raise
                # Installed from a manifest older than `mpim:write`: each member gets
                # the group's message by DM until the app is reinstalled.
                log.warning("Slack %s: no mpim:write, a group DM goes to each member", community_id)
                refs = [await self._post(client, member, message) for member in members]
                return Delivered(refs[0])
            return Delivered(await self._post(client, str(opened["channel"]["id"]), message))

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
        named = await self._workspaces.team_name(event.community_id.partition(":")[2])
        if named is not None:
            event = dataclasses.replace(event, community_name=named)
        task = asyncio.current_task()
        if task is not None and task not in self._busy:
            self._busy.add(task)
            task.add_done_callback(self._busy.discard)
        async with self._in_flight:
            return await self._core_handle(event)

    # Translate-in: the listeners.

    def _listen(self, app: AsyncApp) -> None:
        app.middleware(self._reactions_first)
        app.command(re.compile(r"^/.+"))(self._on_command)
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
        except translate.Malformed as error:
            log.info("refused a slash command: %s", error)
            if not acked:
                await ack(response_type="ephemeral", text=translate.UNREADABLE)
                acked = True
            return
        finally:
            if not acked:
                await ack()
        await self._answer(answers, event, body, response_url=body.get("response_url"))

    async def _command(self, body: Body) -> tuple[Event, list[Answer]]:
        event = await translate.command(body, self._members.info)
        return event, await self._handle(event)

    async def _reactions_first(
        self, body: Body, next: Callable[[], Awaitable[BoltResponse | None]]
    ) -> BoltResponse | None:
        """Reactions, as Bolt middleware (a listener's ack is sent before it runs):
        the ack waits until the core has recorded the reaction, at most
        RECORD_BUDGET; later, a 503 (in Socket Mode, no ack) asks Slack to send it
        again, while this attempt goes on."""
        kind = body.get("event", {}).get("type") if isinstance(body.get("event"), dict) else None
        if body.get("type") != "event_callback" or kind not in REACTIONS:
            return await next()
        try:
            event = await translate.reaction(body, self._members.info)
        except translate.Malformed as error:
            log.info("refused a %s event: %s", kind, error)
            return BoltResponse(status=400, body="")
        if event is None:
            return BoltResponse(status=200, body="")
        recorded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        work = asyncio.ensure_future(self._on_reaction(event, body, recorded))
        self._busy.add(work)  # stop() lets it finish; its Slack retry would be refused
        work.add_done_callback(self._busy.discard)
        done, _ = await asyncio.wait({recorded}, timeout=RECORD_BUDGET)
        if recorded in done:
            return BoltResponse(status=200, body="")
        log.info("%s %s is not recorded yet; Slack will send it again", kind, event.event_id)
        return BoltResponse(status=503, body="")

    async def _on_reaction(self, event: Event, body: Body, recorded: asyncio.Future[None]) -> None:
        answers = await self._handle(event)
        recorded.set_result(None)
        await self._answer(answers, event, body)

    async def _on_action(self, ack: Callable[..., Awaitable[None]], body: Body) -> None:
        await ack()
        actions = body.get("actions") or []
        if not actions or not isinstance(actions[0], dict) or actions[0].get("type") != "button":
            return
        try:
            event = await translate.button(body, self._members.info)
        except translate.Malformed as error:
            log.info("refused a button press: %s", error)
            return
        answers = await self._handle(event)
        container = body.get("container") or {}
        replace = bool(container.get("is_ephemeral")) and bool(body.get("response_url"))
        url = body["response_url"] if replace else None
        await self._answer(answers, event, body, response_url=url, replace_original=replace)

    async def _on_form(self, ack: Callable[..., Awaitable[None]], body: Body) -> None:
        await ack()
        try:
            event = await translate.form(body, self._members.info)
        except translate.Malformed as error:
            log.info("refused a form: %s", error)
            return
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
        if event.get("tab") != "home" or not event.get("user"):
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
            log.warning("views.publish failed: %s", error_code(error))

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
                log.warning("answering %s failed: %s", event.event_id, error_code(error))
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
                log.info("ephemeral refused (%s); sending a DM", error_code(error))
        outcome = await self.send_dm(event.community_id, member, message)
        if isinstance(outcome, Undeliverable):
            log.warning("could not answer %s: %s", member, outcome.reason)


class _TokenFromEnvironment(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that the client we give it wins;
    that is by design here (tokens come from `Workspaces`), so the warning is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


class _OneLine(logging.Filter):
    """slack-sdk's Socket Mode client logs each failed reconnect with a traceback; the
    cause is the network or Slack, not a bug, so one line (at WARNING) says it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info is not None:
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _socket_logger() -> logging.Logger:
    logger = logging.getLogger("adapters.slack.socket")
    if not any(isinstance(f, _OneLine) for f in logger.filters):
        logger.addFilter(_OneLine())
    return logger


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


__all__ = ["EVENTS_PATH", "SlackAdapter"]
