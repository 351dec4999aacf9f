"""The dashboard's routes: HTTP in, core calls (bot/dashboard.py), HTML or JSON out.

Each handler reads the session and the member's access in one unit of work and asks
the core for the page; a form is checked for its CSRF token first and then runs its
use case through `PayForward.perform`, so it is handled exactly as the same command
typed in Slack or Discord (the same checks, messages, outbox and scheduler updates).
Nothing here decides who may see what: `dashboard.access` does, on every request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from multidict import MultiDictProxy

from adapters.web import views
from adapters.web.charts import chain_graph
from adapters.web.links import community_label, message_link
from adapters.web.security import AttemptLimit, header_hook, same_token
from bot import copy, dashboard
from bot.context import Refusal
from bot.dashboard import Access, LinkProblem, Viewer
from bot.domain import OptOut
from bot.messages import Message, Reply, render_spans
from bot.parsing import WEEKDAY_NAMES, WEEKDAYS
from bot.ports import Clock, UnitOfWork, UnitOfWorkFactory
from bot.service import PayForward

ROUTE = "/dashboard"  # where the routes live on the listener
SESSION_COOKIE = "pf_session"
SIGN_IN_COOKIE = "pf_signin"  # the sign-in form's own CSRF token, before any session
NOTICE_COOKIE = "pf_notice"  # one line for the next page, after a form's redirect
STATIC = Path(__file__).parent / "static"
CHANNEL_ID = re.compile(r"[^<>\s|#@]{1,80}")
CODE = re.compile(r"`([^`]*)`")
TYPED = ("timezone", "emoji", "connector")  # settings typed as the command takes them

Segments = list[tuple[bool, str]]  # (is code, text)


@dataclass(frozen=True)
class WebDeps:
    """What the dashboard needs from the running bot."""

    uow: UnitOfWorkFactory
    clock: Clock
    bot: PayForward  # forms run through `perform`; setting changes reach its `on_config`
    public_url: str  # PAYFORWARD_PUBLIC_URL: links, the cookies' path, Secure under https
    kick: Callable[[], None] | None = None  # wake the dispatcher for what a form queued
    slack_domains: Mapping[str, str] = field(default_factory=dict)  # team id → domain
    sign_ins_per_minute: int = 10  # per client address


def install(app: web.Application, deps: WebDeps) -> None:
    """Add the dashboard's routes (all under /dashboard) and its response headers to
    `app`, before it starts."""
    site = Site(deps)
    app.on_response_prepare.append(header_hook(ROUTE))
    r = app.router
    r.add_get(ROUTE, site.home)
    r.add_get(f"{ROUTE}/", site.home)
    r.add_static(f"{ROUTE}/static", STATIC, append_version=False)
    r.add_get(f"{dashboard.SIGN_IN_PATH}{{token}}", site.sign_in_page)
    r.add_post(f"{dashboard.SIGN_IN_PATH}{{token}}", site.sign_in)
    r.add_post(f"{ROUTE}/signout", site.sign_out)
    c = f"{ROUTE}/c/{{cid}}"
    r.add_get(f"{c}/", site.community)
    r.add_get(f"{c}/index.json", site.community_json)
    r.add_get(f"{c}/weeks/{{day}}", site.week)
    r.add_get(f"{c}/me", site.me)
    r.add_get(f"{c}/me.json", site.me_json)
    r.add_post(f"{c}/me/optouts", site.opt_outs)
    r.add_post(f"{c}/me/interests", site.interests)
    r.add_get(f"{c}/me/export", site.export)
    r.add_get(f"{c}/me/forget", site.forget_page)
    r.add_post(f"{c}/me/forget", site.forget)
    r.add_get(f"{c}/admin", site.settings)
    r.add_post(f"{c}/admin", site.change_setting)


def segments(message: Message | str) -> Segments:
    """The core's one-line messages with their `code` parts apart, for the template."""
    text = message if isinstance(message, str) else message.plain()
    parts: Segments = []
    for i, part in enumerate(CODE.split(text)):
        if part:
            parts.append((i % 2 == 1, part))
    return parts


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("adapters.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["day"] = views.short_day
    env.filters["segments"] = segments
    env.globals["community_label"] = community_label
    env.globals["week_label"] = views.week_label
    return env


ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    410: web.HTTPGone,
    429: web.HTTPTooManyRequests,
}

LINK_PROBLEMS = {
    LinkProblem.EXPIRED: (
        410,
        "This sign-in link has expired",
        "Sign-in links work for 15 minutes. Type `/payforward dashboard` in Slack or "
        "Discord for a new one.",
    ),
    LinkProblem.USED: (
        410,
        "This sign-in link was already used",
        "Each link works once. Type `/payforward dashboard` in Slack or Discord for a new one.",
    ),
    LinkProblem.UNKNOWN: (
        404,
        "This sign-in link doesn't work",
        "Check that you opened the whole link from your direct message, or type "
        "`/payforward dashboard` for a new one.",
    ),
}
OPT_LABELS = {
    "leaderboard": "the weekly table and the chains (your help still counts for others)",
    "prompts": "the weekly “what have you shared lately?” prompt",
    "reminders": "follow-up reminders about asks and offers",
    dashboard.CONNECTOR: "the connector: asks nobody has offered on, sent to me by DM, "
    "and `/payforward who`",
}
DID = {
    "offered": "You offered to help",
    "not_this_time": "You said “Not this time”",
    "no_answer": "No answer",
}
SIGN_IN_FIRST = "Type `/payforward dashboard` in Slack or Discord: I'll send you a sign-in link."
NOT_FOUND = "There is nothing here, or it isn't yours to see."
STALE_FORM = (
    "This form has expired or didn't come from this dashboard. Go back, reload the page "
    "and try again."
)


class Site:
    def __init__(self, deps: WebDeps) -> None:
        self.deps = deps
        self.env = environment()
        parts = urlsplit(deps.public_url)
        self.base = parts.path.rstrip("/") + ROUTE  # the routes' path as browsers see it
        self.secure = parts.scheme == "https"
        self.limit = AttemptLimit(deps.clock, deps.sign_ins_per_minute)

    # Rendering.

    def page(self, template: str, *, status: int = 200, **context: Any) -> web.Response:
        context.setdefault("who", None)
        context.setdefault("seen", None)
        context.setdefault("notice", None)
        html = self.env.get_template(template).render(
            base=self.base, url=self.community_url, **context
        )
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    def stop(
        self, status: int, title: str, text: str, who: Viewer | None = None
    ) -> web.HTTPException:
        """A plain page that says what happened and what to do, as an exception."""
        html = self.env.get_template("message.html").render(
            base=self.base,
            url=self.community_url,
            who=who,
            seen=None,
            notice=None,
            title=title,
            text=text,
        )
        return ERRORS[status](text=html, content_type="text/html")

    def not_found(self, who: Viewer | None = None) -> web.HTTPException:
        return self.stop(404, "Not found", NOT_FOUND, who)

    def community_url(self, community_id: str, rest: str = "") -> str:
        return f"{self.base}/c/{quote(community_id, safe=':')}/{rest}"

    def cookie(self, response: web.StreamResponse, name: str, value: str, **extra: Any) -> None:
        response.set_cookie(
            name,
            value,
            path=self.base,
            httponly=True,
            samesite="Lax",
            secure=self.secure,
            **extra,
        )

    def forget_cookie(self, response: web.StreamResponse, name: str) -> None:
        response.del_cookie(name, path=self.base, secure=self.secure, samesite="Lax")

    def redirect(self, location: str, notice: Message | str | None = None) -> web.HTTPException:
        found = web.HTTPSeeOther(location)
        if notice is not None:
            text = notice if isinstance(notice, str) else notice.plain()
            self.cookie(found, NOTICE_COOKIE, quote(text), max_age=60)
        return found

    def take_notice(self, request: web.Request, response: web.StreamResponse) -> None:
        if NOTICE_COOKIE in request.cookies:
            self.forget_cookie(response, NOTICE_COOKIE)

    def notice(self, request: web.Request) -> str | None:
        value = request.cookies.get(NOTICE_COOKIE)
        return unquote(value)[:500] if value else None

    def json(self, data: Any) -> web.Response:
        return web.Response(
            text=json.dumps(data, ensure_ascii=False, indent=1),
            content_type="application/json",
            charset="utf-8",
        )

    # Who is asking.

    async def viewer(self, request: web.Request, uow: UnitOfWork) -> Viewer | None:
        token = request.cookies.get(SESSION_COOKIE)
        return await dashboard.viewer(uow, token, self.deps.clock.now())

    async def member(
        self, request: web.Request, uow: UnitOfWork, *, admin: bool = False
    ) -> tuple[Viewer, Access]:
        who = await self.viewer(request, uow)
        if who is None:
            raise self.stop(401, "Please sign in", SIGN_IN_FIRST)
        seen = await dashboard.access(uow, who, request.match_info["cid"])
        if seen is None:
            raise self.not_found(who)
        if admin and not seen.admin:
            raise self.stop(
                403,
                "For this community's admins",
                "Only the community's admins can change its settings. If you became one "
                "lately, type any payforward command in the community, then reload.",
                who,
            )
        return who, seen

    async def form(
        self, request: web.Request, *, admin: bool = False
    ) -> tuple[Viewer, Access, MultiDictProxy[Any]]:
        """A form's fields, once its sender and its CSRF token have been checked."""
        fields = await request.post()
        async with self.deps.uow() as uow:
            who, seen = await self.member(request, uow, admin=admin)
        if not same_token(_text(fields, "csrf"), who.csrf_token):
            raise self.stop(403, "Please reload the page", STALE_FORM, who)
        return who, seen, fields

    def wrote(self) -> None:
        """Messages a form queued (card edits, say) go now, not at the next tick."""
        if self.deps.kick is not None:
            self.deps.kick()

    def span(self, request: web.Request) -> int:
        raw = request.query.get("weeks", str(dashboard.SPANS[0]))
        if raw not in {str(s) for s in dashboard.SPANS}:
            raise self.stop(400, "Not a period I show", "Choose 12 or 52 weeks.")
        return int(raw)

    # Home, signing in and out.

    async def home(self, request: web.Request) -> web.StreamResponse:
        async with self.deps.uow() as uow:
            who = await self.viewer(request, uow)
            mine = await dashboard.communities(uow, who) if who else []
        response = self.page("home.html", who=who, communities=mine, notice=self.notice(request))
        self.take_notice(request, response)
        return response

    def _limited(self, request: web.Request) -> None:
        if not self.limit.allow(request.remote or "unknown"):
            raise self.stop(
                429, "Too many tries", "Too many sign-in attempts from here. Wait a minute."
            )

    async def sign_in_page(self, request: web.Request) -> web.StreamResponse:
        """Opening the link asks to confirm: link previews and scanners that fetch it
        never use it up."""
        self._limited(request)
        token = request.match_info["token"]
        async with self.deps.uow() as uow:
            checked = await dashboard.check_link(uow, token, self.deps.clock.now())
            if isinstance(checked, LinkProblem):
                raise self.stop(*LINK_PROBLEMS[checked])
            names = await uow.dashboard.names(checked.community_id, [checked.member_id])
            community = await uow.communities.get(checked.community_id)
        form_token = dashboard.new_secret()
        response = self.page(
            "sign_in.html",
            community=community_label(
                checked.community_id, None if community is None else community.name
            ),
            name=names.get(checked.member_id, checked.member_id),
            form_token=form_token,
        )
        self.cookie(response, SIGN_IN_COOKIE, form_token, max_age=15 * 60)
        return response

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        self._limited(request)
        fields = await request.post()
        if not same_token(_text(fields, "csrf"), request.cookies.get(SIGN_IN_COOKIE)):
            raise self.stop(403, "Please open your link again", STALE_FORM)
        signed = await dashboard.sign_in(
            self.deps.uow,
            request.match_info["token"],
            self.deps.clock.now(),
            replacing=request.cookies.get(SESSION_COOKIE),
        )
        if isinstance(signed, LinkProblem):
            raise self.stop(*LINK_PROBLEMS[signed])
        found = self.redirect(self.community_url(signed.community_id))
        max_age = int(dashboard.SESSION_TTL.total_seconds())
        self.cookie(found, SESSION_COOKIE, signed.token, max_age=max_age)
        self.forget_cookie(found, SIGN_IN_COOKIE)
        raise found

    async def sign_out(self, request: web.Request) -> web.StreamResponse:
        fields = await request.post()
        async with self.deps.uow() as uow:
            who = await self.viewer(request, uow)
        if who is not None:
            if not same_token(_text(fields, "csrf"), who.csrf_token):
                raise self.stop(403, "Please reload the page", STALE_FORM, who)
            await dashboard.sign_out(self.deps.uow, request.cookies[SESSION_COOKIE])
        found = self.redirect(f"{self.base}/", "You're signed out.")
        self.forget_cookie(found, SESSION_COOKIE)
        raise found

    # The community.

    async def _community_page(
        self, request: web.Request
    ) -> tuple[Viewer, Access, dashboard.CommunityPage]:
        span = self.span(request)
        async with self.deps.uow() as uow:
            who, seen = await self.member(request, uow)
            page = await dashboard.community_page(uow, seen, self.deps.clock.now(), span)
            await uow.commit()  # finished weeks' counts, stored for next time
        return who, seen, page

    async def community(self, request: web.Request) -> web.StreamResponse:
        who, seen, page = await self._community_page(request)
        names = views.name_of(page.names)
        community = page.community
        response = self.page(
            "community.html",
            who=who,
            seen=_nav(who, seen),
            page=page,
            names=names,
            charts=views.activity_charts(page),
            graph=chain_graph("Help paid forward this week", page.week.chains, names),
            asks=[
                (ask, message_link(community.community_id, ask.message, self.deps.slack_domains))
                for ask in page.needs_help
            ],
            span=len(page.activity.weeks),
            spans=dashboard.SPANS,
            week_day=lambda start: dashboard.week_day(start, community),
            notice=self.notice(request),
        )
        self.take_notice(request, response)
        return response

    async def community_json(self, request: web.Request) -> web.StreamResponse:
        _, _, page = await self._community_page(request)
        return self.json(views.community_json(page, self.deps.slack_domains))

    async def week(self, request: web.Request) -> web.StreamResponse:
        raw = request.match_info["day"]
        as_json = raw.endswith(".json")
        try:
            day = date.fromisoformat(raw.removesuffix(".json"))
        except ValueError:
            day = None
        async with self.deps.uow() as uow:
            who, seen = await self.member(request, uow)
            page = None
            if day is not None:
                page = await dashboard.week_page(uow, seen, day, self.deps.clock.now())
            await uow.commit()
        if page is None:
            raise self.not_found(who)
        if as_json:
            return self.json(views.week_page_json(page))
        names = views.name_of(page.names)
        return self.page(
            "week.html",
            who=who,
            seen=_nav(who, seen),
            page=page,
            names=names,
            graph=chain_graph("Help paid forward that week", page.week.chains, names),
        )

    # The member's own page.

    async def _member_page(
        self, request: web.Request
    ) -> tuple[Viewer, Access, dashboard.MemberPage]:
        span = self.span(request)
        async with self.deps.uow() as uow:
            who, seen = await self.member(request, uow)
            page = await dashboard.member_page(uow, seen, self.deps.clock.now(), span)
        return who, seen, page

    async def me(self, request: web.Request) -> web.StreamResponse:
        who, seen, page = await self._member_page(request)
        response = self._me(who, seen, page, notice=self.notice(request))
        self.take_notice(request, response)
        return response

    def _me(
        self,
        who: Viewer,
        seen: Access,
        page: dashboard.MemberPage,
        *,
        status: int = 200,
        notice: str | None = None,
        problem: Message | None = None,
        entered: str | None = None,
    ) -> web.Response:
        names = views.name_of(page.names)
        community = page.community
        opt_outs = [(o.value, o in page.member.opt_outs) for o in OptOut]
        opt_outs.append((dashboard.CONNECTOR, not page.connector_on))
        routed = [
            (
                r,
                views.did(r),
                views.because(r.route.reason, page.names),
                message_link(community.community_id, r.ask.message, self.deps.slack_domains),
            )
            for r in page.routed
        ]
        return self.page(
            "member.html",
            status=status,
            who=who,
            seen=_nav(who, seen),
            page=page,
            names=names,
            chart=views.member_chart(page),
            graph=chain_graph("Chains you are part of", page.chains, names),
            opt_outs=opt_outs,
            opt_labels=OPT_LABELS,
            interests=", ".join(page.interests) if entered is None else entered,
            problem=problem,
            routed=routed,
            did_words=DID,
            span=len(page.weeks),
            spans=dashboard.SPANS,
            notice=notice,
        )

    async def me_json(self, request: web.Request) -> web.StreamResponse:
        _, _, page = await self._member_page(request)
        return self.json(views.member_json(page))

    async def opt_outs(self, request: web.Request) -> web.StreamResponse:
        who, seen, fields = await self.form(request)
        chosen = set(fields.getall("optout", []))
        known = {o.value for o in OptOut}
        if not chosen <= known | {dashboard.CONNECTOR}:
            raise self.stop(400, "Not a choice I know", "Choose from the boxes on the page.", who)
        use = dashboard.choose_opt_outs(
            frozenset(OptOut(o) for o in chosen & known),
            connector=dashboard.CONNECTOR not in chosen,
        )
        answers = await self.deps.bot.perform(dashboard.web_event(seen, "optouts"), use)
        self.wrote()
        raise self.redirect(self.community_url(seen.community.community_id, "me"), _said(answers))

    async def interests(self, request: web.Request) -> web.StreamResponse:
        """The interests field, or its *Clear* button: `/payforward interests …`."""
        who, seen, fields = await self.form(request)
        value = "clear" if _text(fields, "clear") is not None else _text(fields, "interests")
        if value is None:
            raise self.stop(400, "Not a form I know", "Use the forms on the page.", who)
        event = dashboard.web_event(seen, "interests")
        try:
            answers = await self.deps.bot.perform(event, dashboard.change_interests(value))
        except Refusal as refusal:
            async with self.deps.uow() as uow:
                who, seen = await self.member(request, uow)
                page = await dashboard.member_page(
                    uow, seen, self.deps.clock.now(), dashboard.SPANS[0]
                )
            return self._me(who, seen, page, status=400, problem=refusal.message, entered=value)
        self.wrote()
        raise self.redirect(self.community_url(seen.community.community_id, "me"), _said(answers))

    async def export(self, request: web.Request) -> web.StreamResponse:
        async with self.deps.uow() as uow:
            _, seen = await self.member(request, uow)
            content = await dashboard.export(uow, seen, self.deps.clock.now())
        response = web.Response(text=content, content_type="application/json", charset="utf-8")
        response.headers["Content-Disposition"] = 'attachment; filename="payforward-export.json"'
        return response

    async def forget_page(self, request: web.Request) -> web.StreamResponse:
        async with self.deps.uow() as uow:
            who, seen = await self.member(request, uow)
        return self.page(
            "forget.html",
            who=who,
            seen=_nav(who, seen),
            prompt=copy.forget_prompt(),
        )

    async def forget(self, request: web.Request) -> web.StreamResponse:
        _, seen, _ = await self.form(request)
        answers = await self.deps.bot.perform(dashboard.web_event(seen, "forget"), dashboard.forget)
        self.wrote()
        response = self.page("message.html", title="Forgotten", text=_said(answers) or "")
        self.forget_cookie(response, SESSION_COOKIE)
        return response

    # Admin settings.

    async def settings(self, request: web.Request) -> web.StreamResponse:
        async with self.deps.uow() as uow:
            who, seen = await self.member(request, uow, admin=True)
            page = await dashboard.admin_page(uow, seen)
        response = self._settings(request, who, seen, page, notice=self.notice(request))
        self.take_notice(request, response)
        return response

    def _settings(
        self,
        request: web.Request,
        who: Viewer,
        seen: Access,
        page: dashboard.AdminPage,
        *,
        status: int = 200,
        notice: str | None = None,
        problem: tuple[str, Message] | None = None,
        entered: dict[str, str] | None = None,
    ) -> web.Response:
        community = page.community
        return self.page(
            "admin.html",
            status=status,
            who=who,
            seen=_nav(who, seen),
            community=community,
            channels=[(c, page.channel_names.get(c, c)) for c in page.channels],
            weekdays=list(zip(WEEKDAYS, WEEKDAY_NAMES, strict=True)),
            problem=problem,
            entered=entered or {},
            notice=notice,
            summary=[render_spans(b.spans) for b in copy.config_summary(community).blocks[1:]],
            connector_delay=views.typed_delay(community.connector_after),
        )

    async def change_setting(self, request: web.Request) -> web.StreamResponse:
        who, seen, fields = await self.form(request, admin=True)
        key = _text(fields, "setting") or ""
        value = _setting_value(key, fields)
        if key not in dashboard.SETTINGS or value is None:
            raise self.stop(400, "Not a setting I know", "Use the forms on the page.", who)
        event = dashboard.web_event(seen, f"config_{key}")
        try:
            answers = await self.deps.bot.perform(event, dashboard.change_setting(key, value))
        except Refusal as refusal:
            async with self.deps.uow() as uow:
                who, seen = await self.member(request, uow, admin=True)
                page = await dashboard.admin_page(uow, seen)
            kept = {key: _text(fields, key) or ""} if key in TYPED else {}
            return self._settings(
                request, who, seen, page, status=400, problem=(key, refusal.message), entered=kept
            )
        self.wrote()
        raise self.redirect(
            self.community_url(seen.community.community_id, "admin"), _said(answers)
        )


def _text(fields: MultiDictProxy[Any], name: str) -> str | None:
    value = fields.get(name)
    return value.strip() if isinstance(value, str) else None


def _setting_value(key: str, fields: MultiDictProxy[Any]) -> str | None:
    """What an admin would type after `config KEY`, from the setting's form; None when
    the form was not one of the page's."""
    if key == "channel":
        channel = _text(fields, "channel") or ""
        if channel and not CHANNEL_ID.fullmatch(channel):
            return None
        return f"<#{channel}>" if channel else ""
    if key in TYPED:
        return _text(fields, key)
    if key in ("leaderboard", "prompts"):
        day, at = _text(fields, "day") or "", _text(fields, "time") or ""
        if key == "prompts" and day == "off":
            return "off"
        return f"{day} {at}".strip()
    if key == "cups":
        every, day, at = (_text(fields, name) or "" for name in ("every", "day", "time"))
        return "off" if every == "off" else f"every {every} {day} {at}".strip()
    return None


def _said(answers: list[Any]) -> str | None:
    replies = [a.message.plain() for a in answers if isinstance(a, Reply)]
    return " ".join(replies) or None


@dataclass(frozen=True)
class Nav:
    """The links at the top of a community's pages."""

    community_id: str
    admin: bool
    csrf_token: str


def _nav(who: Viewer, seen: Access) -> Nav:
    return Nav(seen.community.community_id, seen.admin, who.csrf_token)
