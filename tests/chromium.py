"""A real headless Chromium (Debian's `chromium`), driven over the DevTools protocol with aiohttp.

No browser download and no driver package: Chromium is started with `--remote-debugging-port=0`
and a fresh profile, the port is read from the profile's `DevToolsActivePort`, and one page is
driven through a websocket (evaluate, click, type, screenshot, viewport). The page's uncaught
exceptions, console errors, Content-Security-Policy reports and dialogs (alert, confirm) are kept,
so a test can say that no script ran that should not have.

    async with Chromium() as browser:
        page = await browser.new_page()
        await page.goto(url)
        await page.wait_for("document.querySelectorAll('.row').length > 3")
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
         "--remote-debugging-port=0", "--remote-allow-origins=*"]


def have_chromium() -> bool:
    return shutil.which("chromium") is not None or shutil.which("chromium-browser") is not None


class CdpError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium process with its own throwaway profile."""

    def __init__(self, *extra_flags: str, width: int = 1400, height: int = 900):
        self.extra_flags = list(extra_flags)
        self.size = (width, height)
        self.profile = tempfile.TemporaryDirectory(prefix="tablao-chromium-")
        self.proc: subprocess.Popen | None = None
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}
        self._pages: dict[str, Page] = {}
        self._reader: asyncio.Task | None = None

    async def __aenter__(self) -> Chromium:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def start(self) -> None:
        profile = Path(self.profile.name)
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={self.size[0]},{self.size[1]}",
             *self.extra_flags, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and len(port_file.read_text().splitlines()) >= 2:
                break
            if self.proc.poll() is not None:
                raise CdpError(f"chromium exited with {self.proc.returncode} before it listened")
            await asyncio.sleep(0.05)
        else:
            raise CdpError("chromium did not open its DevTools port within 15 s")
        port, path = port_file.read_text().splitlines()[:2]
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0)
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.send("Browser.close"), 5)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self.ws is not None:
            await self.ws.close()
        if self.session is not None:
            await self.session.close()
        if self.proc is not None:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.profile.cleanup()

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if "id" in data:
                future = self._waiting.pop(data["id"], None)
                if future is not None and not future.done():
                    if "error" in data:
                        future.set_exception(CdpError(f"{data['error'].get('message')}: {data['error']}"))
                    else:
                        future.set_result(data.get("result", {}))
            elif data.get("sessionId") in self._pages:
                self._pages[data["sessionId"]]._event(data["method"], data.get("params", {}))
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(CdpError("chromium closed the DevTools connection"))

    async def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
                   timeout: float = 30) -> dict[str, Any]:
        assert self.ws is not None
        msg_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._waiting[msg_id] = future
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        await self.ws.send_str(json.dumps(message))
        return await asyncio.wait_for(future, timeout)

    async def new_page(self, width: int | None = None, height: int | None = None, mobile: bool = False) -> Page:
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        page = Page(self, attached["sessionId"])
        self._pages[page.session] = page
        for domain in ("Page", "Runtime", "Log", "Network"):
            await page.send(f"{domain}.enable")
        await page.viewport(width or self.size[0], height or self.size[1], mobile=mobile)
        return page


class Page:
    """One tab: what it can be told to do, and what it reported (errors, dialogs, CSP violations)."""

    def __init__(self, browser: Chromium, session: str):
        self.browser, self.session = browser, session
        self.exceptions: list[str] = []
        self.console_errors: list[str] = []
        self.dialogs: list[str] = []
        self.log_entries: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self._loaded = asyncio.Event()

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30):
        return self.browser.send(method, params, self.session, timeout)

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.exceptions.append(str(details.get("exception", {}).get("description") or details.get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.console_errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                                for a in params.get("args", [])))
        elif method == "Log.entryAdded":
            self.log_entries.append(params.get("entry", {}))
        elif method == "Page.javascriptDialogOpening":
            self.dialogs.append(params.get("message", ""))
            asyncio.ensure_future(self.send("Page.handleJavaScriptDialog", {"accept": False}))
        elif method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Network.responseReceived":
            resp = params.get("response", {})
            self.responses.append({"url": resp.get("url"), "status": resp.get("status"),
                                   "headers": resp.get("headers", {}), "type": params.get("type")})

    @property
    def csp_violations(self) -> list[str]:
        return [e.get("text", "") for e in self.log_entries
                if "Content Security Policy" in e.get("text", "") or "Content-Security-Policy" in e.get("text", "")]

    async def viewport(self, width: int, height: int, mobile: bool = False, scale: float = 1) -> None:
        await self.send("Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile})

    async def goto(self, url: str, timeout: float = 30) -> None:
        self._loaded.clear()
        result = await self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CdpError(f"navigating to {url}: {result['errorText']}")
        if result.get("loaderId"):  # none for a change of the #fragment only: no load follows
            await asyncio.wait_for(self._loaded.wait(), timeout)

    async def evaluate(self, expression: str, timeout: float = 30) -> Any:
        """The value of a JavaScript expression (awaited when it is a promise), as JSON."""
        result = await self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                      "awaitPromise": True, "userGesture": True}, timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CdpError(f"{expression[:200]!r} threw: "
                           f"{details.get('exception', {}).get('description') or details.get('text')}")
        return result.get("result", {}).get("value")

    async def wait_for(self, expression: str, timeout: float = 15, interval: float = 0.05) -> Any:
        """Evaluate until the expression is truthy; its value. Fails with the last value seen."""
        deadline = asyncio.get_running_loop().time() + timeout
        value = None
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {expression!r} (last: {value!r}); "
                                     f"page exceptions: {self.exceptions}")
            await asyncio.sleep(interval)

    async def text(self, selector: str) -> str:
        return await self.evaluate(f"(document.querySelector({json.dumps(selector)}) || {{}}).textContent || ''")

    async def click(self, selector: str, timeout: float = 10) -> None:
        """A real mouse click at the middle of the element (scrolled into view first).

        Like a person, it waits for the element to be drawn: parts of a page (a job's task table, say)
        arrive from a second request after the part a test last waited for."""
        where = f"""(() => {{
            const el = document.querySelector({json.dumps(selector)});
            if (!el) return null;
            el.scrollIntoView({{block: "center", inline: "center"}});
            const r = el.getBoundingClientRect();
            return {{x: r.left + r.width / 2, y: r.top + r.height / 2}};
        }})()"""
        deadline = asyncio.get_running_loop().time() + timeout
        while (box := await self.evaluate(where)) is None:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"nothing to click: no {selector!r} on the page after {timeout} s")
            await asyncio.sleep(0.05)
        for kind in ("mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", {"type": kind, "x": box["x"], "y": box["y"],
                                                         "button": "left", "clickCount": 1})

    async def type(self, selector: str, text: str) -> None:
        await self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        await self.send("Input.insertText", {"text": text})

    async def press_enter(self) -> None:
        for kind in ("keyDown", "keyUp"):
            await self.send("Input.dispatchKeyEvent", {"type": kind, "key": "Enter", "code": "Enter",
                                                       "windowsVirtualKeyCode": 13, "text": "\r"})

    async def screenshot(self, path: Path, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        shot = await self.send("Page.captureScreenshot", params, timeout=60)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path
