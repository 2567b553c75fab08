"""The dashboard's HTML: small shells that ``static/dashboard.js`` fills from the JSON API.

No inline script or style anywhere (the Content-Security-Policy forbids both); what a
page needs to know (which stage, which function) travels in ``data-`` attributes of
``<body>``, the CSRF token in a ``<meta>`` tag. Every interpolated value is escaped.
"""

from __future__ import annotations

from html import escape

from overcast.dashboard.assets import injected_style_ids
from overcast.dashboard.sessions import Session

STATIC = "/dashboard/static"
_ACTIVE = ' class="active" aria-current="page"'


def _head(title: str, *, csrf: str | None, charts: bool) -> str:
    # The id and class tell Plotly its styles are here: it would otherwise inject a
    # <style> element, which the Content-Security-Policy refuses (assets.py).
    # Libraries inside the bundle (maplibre) inject a stylesheet unless an element with
    # its id exists: placeholders (the dashboard draws no maps, so no CSS needed).
    placeholders = "".join(
        f'<meta name="plotly-bundled-style" content="" id="{escape(identifier)}">'
        for identifier in injected_style_ids()
    )
    scripts = (
        f'<link rel="stylesheet" id="plotly.js-style-global" class="no-inline-styles" '
        f'href="{STATIC}/plotly.css">{placeholders}'
        f'<script src="{STATIC}/plotly.min.js" defer></script>'
        if charts
        else ""
    )
    meta = f'<meta name="csrf-token" content="{escape(csrf)}">' if csrf else ""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} · overcast</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{meta}"
        f'<link rel="stylesheet" href="{STATIC}/dashboard.css">'
        f'<link rel="icon" href="{STATIC}/favicon.svg">'
        f"{scripts}"
        f'<script src="{STATIC}/dashboard.js" defer></script>'
        "</head>"
    )


def _nav(session: Session, current: str) -> str:
    links = [
        ("overview", "/dashboard/", "Overview"),
        ("alarms", "/dashboard/alarms", "Alarms"),
        ("deployments", "/dashboard/deployments", "Deployments"),
    ]
    items = "".join(
        f'<a href="{href}"{_ACTIVE if name == current else ""}>{label}</a>'
        for name, href, label in links
    )
    return (
        '<header class="bar"><a class="brand" href="/dashboard/">overcast</a>'
        f"<nav>{items}</nav>"
        f'<span class="who" title="signed in with this access key">'
        f"{escape(session.identity.access_key_id)}</span>"
        '<form method="post" action="/dashboard/logout" class="logout">'
        f'<input type="hidden" name="csrf" value="{escape(session.csrf_token)}">'
        '<button type="submit">Sign out</button></form>'
        '<span id="live" class="live" title="last refresh">●</span>'
        "</header>"
    )


def _page(
    session: Session,
    *,
    title: str,
    page: str,
    body: str,
    nav: str,
    charts: bool = False,
    data: dict[str, str] | None = None,
    notice: str | None = None,
) -> str:
    attributes = "".join(
        f' data-{name}="{escape(value)}"' for name, value in {"page": page, **(data or {})}.items()
    )
    return (
        _head(title, csrf=session.csrf_token, charts=charts)
        + f"<body{attributes}>"
        + _nav(session, nav)
        + '<main><noscript><p class="error">This dashboard needs JavaScript.</p></noscript>'
        + (f'<p class="error" role="alert" id="notice">{escape(notice)}</p>' if notice else "")
        + f'<p id="flash" class="flash" hidden></p>{body}</main></body></html>'
    )


def login_page(*, error: str | None = None, next_path: str = "/dashboard/") -> str:
    """The sign-in form: an admin access key id and its secret."""
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return (
        _head("Sign in", csrf=None, charts=False)
        + '<body data-page="login"><main class="login">'
        + "<h1>overcast</h1><p>Sign in with an admin access key "
        + "(<code>STATE_DIR/access/admin-credentials</code> holds the first one).</p>"
        + message
        + '<form method="post" action="/dashboard/login" autocomplete="off">'
        + f'<input type="hidden" name="next" value="{escape(next_path)}">'
        + '<label>Access key id <input name="access_key_id" required autofocus '
        + 'spellcheck="false" autocapitalize="off"></label>'
        + '<label>Secret access key <input name="secret_access_key" type="password" '
        + "required></label>"
        + '<button type="submit">Sign in</button></form></main></body></html>'
    )


def overview_page(session: Session, notice: str | None = None) -> str:
    """Stages with their functions' numbers, cost and forecast, and a line per alarm."""
    body = (
        '<section class="window">Last <select id="window" aria-label="window">'
        '<option value="900">15 minutes</option><option value="3600" selected>hour</option>'
        '<option value="21600">6 hours</option><option value="86400">24 hours</option>'
        "</select></section>"
        '<section id="stages" aria-live="polite"><p class="muted">Loading…</p></section>'
        '<section><h2>Alarms</h2><div id="alarms"><p class="muted">Loading…</p></div></section>'
    )
    return _page(
        session, title="Overview", page="overview", nav="overview", body=body, notice=notice
    )


def function_page(session: Session, stage: str, function: str, notice: str | None = None) -> str:
    """Charts of one function on one stage, and its live log tail."""
    body = (
        f'<h1><a href="/dashboard/">{escape(stage)}</a> / {escape(function)}</h1>'
        '<section class="window">Last <select id="window" aria-label="window">'
        '<option value="300">5 minutes</option><option value="900" selected>15 minutes</option>'
        '<option value="3600">hour</option><option value="21600">6 hours</option>'
        '<option value="86400">24 hours</option></select>'
        '<span id="totals" class="totals"></span></section>'
        '<section class="charts">'
        '<div id="chart-invocations" class="chart" data-title="Invocations and errors"></div>'
        '<div id="chart-duration" class="chart" data-title="Duration (ms)"></div>'
        '<div id="chart-concurrency" class="chart" data-title="Concurrency and cold starts">'
        "</div></section>"
        '<section><h2>Logs <span id="log-state" class="muted">connecting…</span></h2>'
        '<pre id="log-tail" class="logs" aria-live="polite"></pre></section>'
    )
    return _page(
        session,
        title=f"{function} on {stage}",
        page="function",
        nav="overview",
        body=body,
        charts=True,
        data={"stage": stage, "function": function},
        notice=notice,
    )


def alarms_page(session: Session, notice: str | None = None) -> str:
    """Every alarm with its state, refreshed in place."""
    body = '<h1>Alarms</h1><div id="alarms"><p class="muted">Loading…</p></div>'
    return _page(session, title="Alarms", page="alarms", nav="alarms", body=body, notice=notice)


def deployments_page(session: Session, notice: str | None = None) -> str:
    """Each stage's deployment history with a rollback button."""
    body = '<h1>Deployments</h1><div id="deployments"><p class="muted">Loading…</p></div>'
    return _page(
        session,
        title="Deployments",
        page="deployments",
        nav="deployments",
        body=body,
        notice=notice,
    )


def message_page(title: str, message: str) -> str:
    """A plain error page (404, 401, ...)."""
    return (
        _head(title, csrf=None, charts=False)
        + f'<body data-page="message"><main class="login"><h1>{escape(title)}</h1>'
        + f'<p>{escape(message)}</p><p><a href="/dashboard/">Dashboard</a></p></main></body></html>'
    )
