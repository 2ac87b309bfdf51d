"""The dashboard's web application (starlette): four server-rendered pages, their live fragments,
a Server-Sent Events stream and the controls (issue 10).

Safety: every control is a POST that needs the control token in the ``X-Foreman-Token`` header
(a form or link on another site cannot set a header, so it cannot trigger one); a page opened with
``?token=`` (the URL printed at start) keeps the token in a ``SameSite=Strict`` cookie and puts it
in the page's ``hx-headers``. Read-only pages need nothing when the server binds a loopback address,
and the token otherwise. Templates autoescape every value (titles and transcripts are untrusted).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from foreman.dashboard import views
from foreman.dashboard.live import POLL_INTERVAL, LiveFeed
from foreman.dashboard.read_model import ReadModel, issue_topic
from foreman.issues import EventKind, open_store
from foreman.issues.errors import IssueError, IssueNotFound
from foreman.runtime.plans import PLANS_DIR, FleetSection, PlanError, load_plans
from workers.review import BASE_COMMIT, branch_diff

__all__ = ["ACTOR", "TOKEN_HEADER", "DashboardSettings", "create_app"]

TOKEN_HEADER = "X-Foreman-Token"
TOKEN_COOKIE = "foreman_token"
ACTOR = "dashboard"  #: the actor of every event a control writes
DEFAULT_TTL = FleetSection.model_fields["lease_ttl"].default  # seconds, for workers of types no plan names


@dataclass(frozen=True)
class DashboardSettings:
    """How the dashboard runs.

    Attributes:
        db: the issue database (path or ``sqlite:///`` URL), the same one the fleet uses.
        token: the control token (see :mod:`foreman.dashboard.token`).
        workspace: the fleet's workspace (for the diff of an issue's branch).
        plans_dir: mount plans, for each worker type's lease TTL (a worker silent longer is dead).
        open_reads: read-only pages need no token (True when bound to loopback).
        poll_interval: seconds between looks at the database.
    """

    db: str
    token: str
    workspace: Path
    plans_dir: Path = PLANS_DIR
    open_reads: bool = True
    poll_interval: float = POLL_INTERVAL


def create_app(settings: DashboardSettings) -> Starlette:
    """The ASGI application; the store is opened at startup (lifespan) and closed at shutdown."""
    env = Environment(loader=PackageLoader("foreman.dashboard", "templates"), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters |= {"duration": _duration, "urlencode_params": urlencode}
    templates = Jinja2Templates(env=env)
    ttls = _lease_ttls(settings.plans_dir)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = open_store(settings.db)
        model = ReadModel(store)
        feed = LiveFeed(model, settings.poll_interval)
        await feed.refresh()
        app.state.store = store
        app.state.model = model
        app.state.feed = feed
        poller = asyncio.create_task(feed.run())
        try:
            yield
        finally:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
            store.disconnect()

    def render(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
        _check_read(request, settings)
        token = settings.token if _token_given(request, settings) else None
        context |= {"token": token, "snapshot": request.app.state.model.snapshot, "path": request.url.path}
        response = templates.TemplateResponse(request, name, context, status_code=status_code)
        if request.query_params.get("token") and token:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return response

    async def overview(request: Request) -> HTMLResponse:
        page = "_overview.html" if request.url.path.startswith("/fragments") else "overview.html"
        snapshot = request.app.state.model.snapshot
        return render(request, page, overview=views.overview(snapshot),
                      rows=views.worker_rows(snapshot, ttls, DEFAULT_TTL))

    async def issues(request: Request) -> HTMLResponse:
        query = views.IssueQuery.from_params(request.query_params)
        page = views.issue_page(request.app.state.model.snapshot.issues.values(), query)
        if request.url.path == "/issues/table":
            response = render(request, "_issues_table.html", page=page)
            response.headers["HX-Push-Url"] = "/issues?" + urlencode(page.query.params())
            return response
        return render(request, "issues.html", page=page)

    async def issue(request: Request) -> HTMLResponse:
        store = request.app.state.store
        issue_id = request.path_params["issue_id"]
        try:
            detail = await asyncio.to_thread(store.show, issue_id)
            events = await asyncio.to_thread(store.events, issue_id)
        except IssueNotFound:
            raise HTTPException(404, f"no issue {issue_id!r}") from None
        base = await asyncio.to_thread(store.get_state, BASE_COMMIT)
        checks = {e.data.get("command"): e for e in detail.evidence if e.kind == EventKind.CHECKED}
        page = "_issue_live.html" if request.url.path.endswith("/live") else "issue.html"
        return render(request, page, detail=detail, steps=views.transcript(events), latest_checks=checks,
                      diff=await branch_diff(settings.workspace, issue_id, base), topic=issue_topic(issue_id))

    async def workers(request: Request) -> HTMLResponse:
        page = "_workers.html" if request.url.path.startswith("/fragments") else "workers.html"
        return render(request, page, rows=views.worker_rows(request.app.state.model.snapshot, ttls, DEFAULT_TTL))

    async def events(request: Request) -> StreamingResponse:
        _check_read(request, settings)
        return StreamingResponse(request.app.state.feed.stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def control(request: Request) -> HTMLResponse:
        if not hmac.compare_digest(request.headers.get(TOKEN_HEADER, ""), settings.token):
            return HTMLResponse(f"<p class=flash-error>this control needs the control token in the {TOKEN_HEADER} "
                                "header: open the dashboard URL printed at start</p>", status_code=403)
        form = await request.form()
        store = request.app.state.store
        try:
            message = await asyncio.to_thread(_act, store, request.path_params.get("action", "stop"),
                                              request.path_params.get("issue_id"), dict(form))
        except IssueError as exc:
            status = 404 if isinstance(exc, IssueNotFound) else 409
            return render(request, "_flash.html", status_code=status, message=exc.message, error=True)
        await request.app.state.feed.refresh()
        return render(request, "_flash.html", message=message, error=False)

    async def not_found(request: Request, exc: HTTPException) -> Response:
        if exc.status_code != 404:
            return HTMLResponse(exc.detail, status_code=exc.status_code)
        return render(request, "not_found.html", status_code=404, message=exc.detail)

    static = Path(__file__).parent / "static"
    routes = [
        Route("/", overview), Route("/fragments/overview", overview),
        Route("/issues", issues), Route("/issues/table", issues),
        Route("/issues/{issue_id}", issue), Route("/issues/{issue_id}/live", issue),
        Route("/workers", workers), Route("/fragments/workers", workers),
        Route("/events", events),
        Route("/issues/{issue_id}/{action:str}", control, methods=["POST"]),
        Route("/stop", control, methods=["POST"]),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: not_found})


def _act(store, action: str, issue_id: str | None, form: dict[str, str]) -> str:
    """Do one control as the actor ``dashboard``; returns what was done, in words.

    Raises:
        IssueError: the store refused it (unknown issue, wrong status, bad stop mode).
        HTTPException: 404 for an unknown action.
    """
    note = (form.get("note") or "").strip()
    if issue_id is None:
        mode = form.get("mode", "")
        store.request_stop(mode, actor=ACTOR)
        return f"{mode} stop requested: every process of the run stops " + (
            "at once" if mode == "emergency" else "after its current step, releasing its claims")
    if action == "retry":
        store.reopen(issue_id, reason=note or "retried from the dashboard", actor=ACTOR)
        return f"{issue_id} reopened: it is back in the queue with a fresh allowance of attempts"
    if action == "kill":
        store.revoke(issue_id, reason=note or "killed from the dashboard", actor=ACTOR)
        return f"{issue_id}: claim revoked; its worker's next lease renewal is refused and its session cancelled"
    if action == "unblock":
        store.unblock(issue_id, note or None, actor=ACTOR)
        return f"{issue_id} unblocked" + (" with your note for the next worker" if note else "")
    raise HTTPException(404, f"no control {action!r}")


def _token_given(request: Request, settings: DashboardSettings) -> bool:
    """True when the request carries the control token (query, cookie or header)."""
    given = (request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)
             or request.headers.get(TOKEN_HEADER) or "")
    return hmac.compare_digest(given, settings.token)


def _check_read(request: Request, settings: DashboardSettings) -> None:
    """Reads need the token unless the server binds a loopback address."""
    if not settings.open_reads and not _token_given(request, settings):
        raise HTTPException(401, "this dashboard is not on loopback: "
                                 "open the URL printed at start (it carries ?token=)")


def _lease_ttls(plans_dir: Path) -> dict[str, float]:
    """Worker type -> lease TTL (seconds) from the plans folder; empty when it cannot be read."""
    try:
        return {plan.fleet.worker_type: plan.fleet.lease_ttl for plan in load_plans(plans_dir)}
    except (PlanError, OSError):
        return {}


def _duration(seconds: float | None) -> str:
    """``1 h 02 min``, ``3 min 05 s``, ``42 s``; ``-`` for None."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole >= 3600:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    if whole >= 60:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole} s"

