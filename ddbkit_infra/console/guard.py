"""The console's safety layer as one ASGI middleware, outside every route.

* **Token** (when the console listens on a non-loopback host): a request carrying ``?token=<token>`` gets
  a cookie and a redirect to the same page without it, as Jupyter does; every other request needs that
  cookie, else 403. The token is compared in constant time.
* **Host header** (loopback binding): only ``localhost``/loopback names are served, so a web page cannot
  reach the console through DNS rebinding.
* **Session**: a random per-browser id in an HttpOnly, SameSite=Strict cookie; the CSRF token every form
  carries is an HMAC of it (:func:`csrf_token`), checked on every POST by the routes.
* **Logs**: one line per request with the method, the path and the status, never the query string or
  a body (an item's key is in the query string, its values in the body); an exception is logged by its
  type only and answered with one line.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ddbkit_infra.console.state import ConsoleState, is_loopback_host

__all__ = ["SESSION_COOKIE", "TOKEN_COOKIE", "Guard", "csrf_token", "log"]

log = logging.getLogger("ddbkit.console")

SESSION_COOKIE = "ddbkit_console_session"
TOKEN_COOKIE = "ddbkit_console_token"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def csrf_token(secret: bytes, session: str) -> str:
    """The form token of ``session``: an HMAC only this console process can make."""
    return hmac.new(secret, f"csrf:{session}".encode(), hashlib.sha256).hexdigest()


def _cookies(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie header is no cookie
                continue
    return {k: m.value for k, m in jar.items()}


def _header(scope: Scope, wanted: bytes) -> str:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return str(value.decode("latin-1"))
    return ""


class Guard:
    """Token, host, session cookie, request log and last-resort error page around ``app``."""

    def __init__(self, app: ASGIApp, state: ConsoleState) -> None:
        self.app = app
        self.state = state

    async def _plain(self, send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None
                     ) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"), *(headers or [])]})
        await send({"type": "http.response.body", "body": text.encode()})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope.get("method", "GET"), scope.get("path", "/")
        status: list[int] = [0]
        settings = self.state.settings
        cookies = _cookies(scope)
        host = _header(scope, b"host").rsplit(":", 1)[0] if _header(scope, b"host") else ""
        if is_loopback_host(settings.host) and host and not is_loopback_host(host):
            log.info("%s %s 403 (host not allowed)", method, path)
            await self._plain(send, 403, "error: host: the console answers only to localhost names")
            return
        if settings.token is not None:
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
            given = query.pop("token", None)
            if given is not None and hmac.compare_digest(given, settings.token):
                location = path + (f"?{urlencode(query)}" if query else "")
                cookie = f"{TOKEN_COOKIE}={settings.token}; Path=/; HttpOnly; SameSite=Strict"
                log.info("%s %s 303 (token accepted)", method, path)
                await send({"type": "http.response.start", "status": 303,
                            "headers": [(b"location", location.encode()), (b"set-cookie", cookie.encode())]})
                await send({"type": "http.response.body", "body": b""})
                return
            if not hmac.compare_digest(cookies.get(TOKEN_COOKIE, ""), settings.token):
                log.info("%s %s 403 (no token)", method, path)
                await self._plain(send, 403, "error: token: open the URL with ?token= that `ddbkit console` "
                                             "printed at start")
                return
        session = cookies.get(SESSION_COOKIE, "")
        new_session = not (len(session) == 43 and session.replace("-", "").replace("_", "").isalnum())
        if new_session:
            session = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["session"] = session

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
                if new_session:
                    cookie = f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict"
                    message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as err:  # noqa: BLE001 - its message may hold an item value: log the type only
            log.error("%s %s failed: %s", method, path, type(err).__name__)
            if not status[0]:
                await self._plain(send, 500, f"error: {path}: the console failed ({type(err).__name__})")
            return
        log.info("%s %s %s", method, path, status[0])
