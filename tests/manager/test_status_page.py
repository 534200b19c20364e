"""The status page's files over HTTP: what `/` and `/ui/` serve, with which headers, and what they refuse.

What the page does in a browser is tested in Chromium (test_status_page_browser.py); here, the
files themselves: a strict Content-Security-Policy on every answer, no inline script or style and
no HTML built from strings in the code, every module the page imports present, nothing outside
the page's folder reachable, and the files open also where an access token guards the data.
"""

from __future__ import annotations

import re

import pytest

from app.manager.web.status_page import CSP, load_page, page_files

ACCESS = "s3cret-access"


def _page_text() -> dict[str, str]:
    return {name: f.body.decode() for name, f in load_page().items()}


async def test_the_managers_address_is_the_status_page_and_the_explorer_moved(manager):
    async with manager.session.get("/", allow_redirects=False) as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        body = await resp.text()
        assert resp.headers["Content-Security-Policy"] == CSP
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert '<script type="module" src="/ui/main.js"></script>' in body
    status, explorer = await manager.request("GET", "/api/v3/swagger-ui/")
    assert status == 200 and "swagger" in explorer.lower()


def test_the_policy_allows_only_the_manager_itself():
    rules = dict(rule.strip().split(" ", 1) for rule in CSP.split(";"))
    assert rules["default-src"] == "'none'"
    assert rules["script-src"] == "'self'" and rules["style-src"] == "'self'"
    assert rules["connect-src"] == "'self'"  # its API and its event stream, nothing else
    assert rules["img-src"] == "'self' blob:" and rules["frame-ancestors"] == "'none'"
    assert "unsafe" not in CSP and "http" not in CSP and "*" not in CSP


def test_the_page_has_no_inline_script_style_or_handlers():
    html = _page_text()["index.html"]
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'src="/ui/' in tag, tag
    assert all(not body.strip() for body in re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S)), "inline script"
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html), "an inline event handler"
    assert "http://" not in html and "https://" not in html  # nothing from other hosts


def test_the_code_never_builds_html_from_strings_nor_evaluates_code():
    for name, text in _page_text().items():
        if not name.endswith(".js"):
            continue
        for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                       "new Function", "setAttribute(\"style\"", "http://", "https://"):
            assert banned not in text, f"{name} uses {banned}"


async def test_every_file_the_page_loads_is_served_with_its_type(manager):
    texts = _page_text()
    wanted = set(re.findall(r'(?:src|href)="/ui/([^"]+)"', texts["index.html"]))
    for name, text in texts.items():
        if name.endswith(".js"):
            wanted |= set(re.findall(r'from "\./([^"]+)"', text))
    assert {"main.js", "status.css", "live.js", "table.js", "eta.js"} <= wanted
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for name in sorted(wanted):
        async with manager.session.get(f"/ui/{name}") as resp:
            assert resp.status == 200, name
            assert resp.content_type == types[name[name.rfind("."):]], name
            assert resp.headers["Content-Security-Policy"] == CSP
    unused = {n for n in texts if n != "index.html"} - wanted
    assert not unused, f"files the page never loads: {unused}"


@pytest.mark.parametrize("path", [
    "/ui/status_page.py", "/ui/..%2Fstatus_page.py", "/ui/%2e%2e/access.py", "/ui/.hidden.js",
    "/ui/index.html", "/ui/MAIN.JS", "/ui/main.js.map", "/ui/" + "a" * 300 + ".js", "/ui/nope.js",
    "/ui/page", "/ui/", "/index.html",
])
async def test_nothing_outside_the_pages_files_is_served(manager, path):
    async with manager.session.get(path, allow_redirects=False) as resp:
        assert resp.status in (404, 405), (path, resp.status)
        body = await resp.text()
        assert "import " not in body and "def " not in body


async def test_an_unchanged_file_is_a_304(manager):
    async with manager.session.get("/ui/main.js") as resp:
        etag = resp.headers["ETag"]
        assert resp.headers["Cache-Control"] == "no-cache"  # re-checked, so upgrades reach browsers
    async with manager.session.get("/ui/main.js", headers={"If-None-Match": etag}) as resp:
        assert resp.status == 304 and not await resp.read()
    async with manager.session.head("/") as resp:
        assert resp.status == 200


async def test_with_an_access_token_the_page_opens_and_the_data_stays_closed(manager_factory):
    manager = await manager_factory(access_token=ACCESS)
    for path in ("/", "/ui/main.js", "/ui/status.css"):
        status, _ = await manager.request("GET", path)
        assert status == 200, path
    status, body = await manager.request("GET", "/api/v3/tablao/jobs")
    assert status == 403 and "access token" in body["message"]


def test_the_pages_files_are_package_data():
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert "page/*" in pyproject["tool"]["setuptools"]["package-data"]["app.manager.web"]
    assert page_files().joinpath("index.html").is_file()
