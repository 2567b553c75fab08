"""Static files (Plotly from the installed package), the page shells, and the import rules."""

from __future__ import annotations

import ast
import gzip
from importlib import resources
from pathlib import Path

import pytest

import overcast.dashboard
from overcast.dashboard import DashboardSource
from overcast.dashboard.assets import (
    injected_style_ids,
    injected_styles,
    plotly_bundle,
    plotly_css,
)

from .fake_source import FakeSource
from .helpers import Visitor

PACKAGE = Path(overcast.dashboard.__file__).parent


def test_plotly_is_served_from_the_installed_package(visitor: Visitor) -> None:
    answer = visitor.get("/dashboard/static/plotly.min.js")
    assert answer.status == 200
    assert answer.header("content-type") == "text/javascript; charset=utf-8"
    bundled = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    assert answer.body == bundled == plotly_bundle()
    assert b"plotly.js" in answer.body[:2000]


def test_static_files_are_gzipped_for_browsers_that_accept_it(visitor: Visitor) -> None:
    answer = visitor.get("/dashboard/static/plotly.min.js", headers={"accept-encoding": "gzip, br"})
    assert answer.header("content-encoding") == "gzip"
    assert gzip.decompress(answer.body) == plotly_bundle()
    assert len(answer.body) < len(plotly_bundle()) / 2


def test_static_files_revalidate_by_etag(visitor: Visitor) -> None:
    first = visitor.get("/dashboard/static/dashboard.css")
    etag = first.header("etag")
    assert etag
    again = visitor.get("/dashboard/static/dashboard.css", headers={"if-none-match": etag})
    assert again.status == 304
    assert again.body == b""


def test_head_of_a_static_file_has_its_length_and_no_body(visitor: Visitor) -> None:
    answer = visitor.request("HEAD", "/dashboard/static/dashboard.js")
    assert answer.status == 200
    assert answer.body == b""
    assert int(answer.header("content-length") or 0) > 1000


@pytest.mark.parametrize("name", ["secret.txt", "..%2fapp.py", "app.py", "__init__.py"])
def test_only_known_static_files_are_served(visitor: Visitor, name: str) -> None:
    assert visitor.get("/dashboard/static/" + name).status == 404


def test_pages_load_scripts_only_from_the_dashboard_and_inline_nothing(
    signed_in: Visitor,
) -> None:
    for path in ("/dashboard/", "/dashboard/functions/dev/Echo", "/dashboard/alarms",
                 "/dashboard/deployments", "/dashboard/login"):  # fmt: skip
        html = signed_in.get(path).text
        assert "<script>" not in html
        assert " style=" not in html
        assert " onclick=" not in html
        assert "http://" not in html
        assert "https://" not in html
    function_page = signed_in.get("/dashboard/functions/dev/Echo").text
    assert '<script src="/dashboard/static/plotly.min.js" defer></script>' in function_page
    assert 'data-stage="dev" data-function="Echo"' in function_page
    for chart in ("chart-invocations", "chart-duration", "chart-concurrency"):
        assert f'id="{chart}"' in function_page


def test_page_script_uses_no_markup_injection_or_eval() -> None:
    script = (PACKAGE / "static" / "dashboard.js").read_text()
    for risky in ("innerHTML", "outerHTML", "eval(", "new Function", "document.write"):
        assert risky not in script


def test_the_package_imports_only_what_its_docstring_allows() -> None:
    allowed_overcast = {"overcast.asgi", "overcast.errors"}
    for module in PACKAGE.glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                if name.startswith("overcast.") and not name.startswith("overcast.dashboard"):
                    assert name in allowed_overcast, f"{module.name} imports {name}"
                assert not name.startswith(("overcast.runtime", "overcast.gateway",
                                            "overcast.control")), module.name  # fmt: skip


def test_public_surface_is_exported() -> None:
    for name in overcast.dashboard.__all__:
        assert getattr(overcast.dashboard, name) is not None
    assert overcast.dashboard.__doc__ is not None
    assert "May import" in overcast.dashboard.__doc__


def test_fake_source_satisfies_the_protocol() -> None:
    assert isinstance(FakeSource(), DashboardSource)


def test_plotly_styles_come_from_a_file_not_an_injected_style_element(
    signed_in: Visitor,
) -> None:
    bundle = plotly_bundle().decode()
    # The hook the page relies on: if a Plotly upgrade drops it, Plotly would inject a
    # <style> again and the Content-Security-Policy would block it; fail here first.
    assert 'n.matches(".no-inline-styles")' in bundle or ".no-inline-styles" in bundle
    css = signed_in.get("/dashboard/static/plotly.css")
    assert css.header("content-type") == "text/css; charset=utf-8"
    assert ".js-plotly-plot .plotly .main-svg{position:absolute;" in css.text
    assert "X" not in css.text.split("{")[0]  # placeholders expanded
    page = signed_in.get("/dashboard/functions/dev/Echo").text
    assert 'id="plotly.js-style-global" class="no-inline-styles"' in page
    for identifier in injected_style_ids():
        assert f'id="{identifier}"' in page


def test_plotly_css_falls_back_to_the_essential_rules() -> None:
    assert "main-svg" in plotly_css("no rules table in this bundle")


def test_injected_styles_are_found_by_their_guarding_id() -> None:
    bundle = (
        'x;if(!document.getElementById("abc123")){var e=document.createElement("style");'
        "e.id=\"abc123\",e.textContent='.m{font:12px}',document.head.appendChild(e)}"
    )
    assert injected_styles(bundle) == [("abc123", ".m{font:12px}")]
