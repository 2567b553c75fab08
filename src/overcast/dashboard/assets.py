"""Static files under ``/dashboard/static/``: the page script and style, and Plotly.

Plotly's browser bundle comes from the ``plotly`` package installed from PyPI
(``plotly/package_data/plotly.min.js``), so nothing is fetched from the internet when
the dashboard runs. Files are read once, on first use, and served with an ETag and,
to browsers that accept it, gzip-compressed (Plotly is ~4.8 MB, ~1.4 MB gzipped).

Plotly injects its own stylesheet into a ``<style>`` element, which the dashboard's
Content-Security-Policy (``style-src 'self'``) blocks. Plotly skips that when the
page already has an element ``#plotly.js-style-global.no-inline-styles``; the pages
link ``plotly.css`` under that id, and this module writes it from the rules table
inside the very bundle it serves (so the two always match), falling back to the few
rules the charts cannot do without if a future bundle hides the table. Libraries
bundled inside Plotly (maplibre) inject their own ``<style>`` unless an element with
its id exists: the pages hold placeholders with those ids (:func:`injected_style_ids`).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
import threading
from dataclasses import dataclass
from importlib import resources

from overcast.dashboard.errors import DashboardError

_OWN = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
PLOTLY = "plotly.min.js"
PLOTLY_CSS = "plotly.css"

# The rules table in plotly.js' source (src/css/_base.scss compiled to build/plotcss.js):
# {"X,X div":"direction:ltr;...", Y:"...", ...} where X and Y stand for the selectors below.
_JS_STRING = r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'"""
_RULE = re.compile(rf"\s*({_JS_STRING}|[A-Za-z_$][\w$]*)\s*:\s*({_JS_STRING})\s*([,}}])")
_TABLE_START = '{"X,X div":'
_INJECTED = re.compile(
    r'if\(!document\.getElementById\("([\w-]+)"\)\)\{var \w+=document\.createElement\("style"\);'
    rf'\w+\.id="([\w-]+)",\w+\.textContent=({_JS_STRING})'
)
_ESSENTIAL_CSS = (
    ".js-plotly-plot .plotly .main-svg{position:absolute;top:0;left:0;pointer-events:none;}\n"
    ".js-plotly-plot .plotly .main-svg .draglayer{pointer-events:all;}\n"
    ".js-plotly-plot .plotly .user-select-none{user-select:none;}\n"
    ".js-plotly-plot .plotly svg{overflow:hidden;}\n"
)


class MissingAsset(DashboardError):
    """A static file the dashboard needs is not installed."""


@dataclass(frozen=True, slots=True)
class Asset:
    """One static file, ready to send."""

    body: bytes
    gzipped: bytes
    content_type: str
    etag: str


class Assets:
    """Loads and caches the static files by name."""

    def __init__(self) -> None:
        self._cache: dict[str, Asset] = {}
        self._lock = threading.Lock()

    @staticmethod
    def names() -> tuple[str, ...]:
        return (*_OWN, PLOTLY, PLOTLY_CSS)

    def get(self, name: str) -> Asset | None:
        """The named asset, or None for a name that is not one of ours."""
        if name not in self.names():
            return None
        with self._lock:
            found = self._cache.get(name)
            if found is None:
                found = self._cache[name] = _load(name)
            return found


def plotly_bundle() -> bytes:
    """plotly.min.js as the installed ``plotly`` package ships it."""
    try:
        return (resources.files("plotly") / "package_data" / PLOTLY).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise MissingAsset(
            "plotly's browser bundle is not installed", hint="pip install 'plotly>=7.0'"
        ) from exc


def plotly_css(bundle: str) -> str:
    """Plotly's own stylesheet, read out of its bundle (see the module docstring)."""
    return _rules_table(bundle) or _ESSENTIAL_CSS


def _rules_table(bundle: str) -> str | None:
    start = bundle.find(_TABLE_START)
    rules: list[str] = []
    position = start + 1
    while start >= 0:
        match = _RULE.match(bundle, position)
        if match is None:
            break
        key, value, end = match.groups()
        selector = key[1:-1] if key[0] in "\"'" else key
        # As plotly.js expands them when it injects the rules itself.
        selector = re.sub(r"^,", " ,", selector)
        selector = selector.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        rules.append(f"{selector}{{{value[1:-1]}}}")
        position = match.end()
        if end == "}":
            return "\n".join(rules) + "\n"
    return None


def injected_styles(bundle: str) -> list[tuple[str, str]]:
    """(id, css) of the stylesheets bundled libraries inject when loaded (maplibre's).

    Each is injected only when no element has its id yet, so the page puts a
    placeholder with that id. Their CSS is left out: the dashboard draws no maps.
    """
    return [
        (match.group(1), match.group(3)[1:-1])
        for match in _INJECTED.finditer(bundle)
        if match.group(1) == match.group(2)
    ]


@functools.cache
def injected_style_ids() -> tuple[str, ...]:
    """The ids of :func:`injected_styles` in the installed bundle (read once)."""
    try:
        bundle = plotly_bundle().decode("utf-8", "replace")
    except MissingAsset:
        return ()
    return tuple(identifier for identifier, _ in injected_styles(bundle))


def _load(name: str) -> Asset:
    if name == PLOTLY:
        body, content_type = plotly_bundle(), "text/javascript; charset=utf-8"
    elif name == PLOTLY_CSS:
        css = plotly_css(plotly_bundle().decode("utf-8", "replace"))
        body, content_type = css.encode(), "text/css; charset=utf-8"
    else:
        body = (resources.files("overcast.dashboard") / "static" / name).read_bytes()
        content_type = _OWN[name]
    digest = hashlib.sha256(body).hexdigest()[:32]
    return Asset(body, gzip.compress(body, 6, mtime=0), content_type, f'"{digest}"')
