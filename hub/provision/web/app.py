"""The set-up page and its JSON API (aiohttp, imported only when set-up mode starts).

Everything but the page itself, its two static files and `/api/hello` needs the session of a right set-up
code; every POST also needs the session's CSRF token in `X-CSRF-Token` and, when the browser names one, an
Origin equal to the page's own. Bodies over 300 kB are refused before they are read. Nothing secret is ever
sent back: not the code, not the hotspot password, not a bundle's passwords or keys.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web

from hub.provision.web.actions import ActionError, Actions
from hub.provision.web.guard import Guard

log = logging.getLogger(__name__)

COOKIE = "ehub_setup"
MAX_BODY = 300 * 1024
STATIC = {"/": ("index.html", "text/html"), "/app.js": ("app.js", "text/javascript"),
          "/style.css": ("style.css", "text/css")}
HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
           "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Cache-Control": "no-store"}
OPEN = {"/api/hello", "/api/login"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _page(name: str) -> bytes:
    return (resources.files("hub.provision.web") / "page" / name).read_bytes()


def make_app(guard: Guard, actions: Actions, hello: Callable[[], dict[str, Any]]) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_security(guard)])
    pages = {path: (_page(name), kind) for path, (name, kind) in STATIC.items()}

    async def static(request: web.Request) -> web.Response:
        body, kind = pages[request.path]
        return web.Response(body=body, content_type=kind, charset="utf-8")

    async def hello_route(request: web.Request) -> web.Response:
        return web.json_response(hello())

    async def login(request: web.Request) -> web.Response:
        address = request.remote or "?"
        wait = guard.wait_s(address)
        if wait > 0:
            return web.json_response({"error": f"尝试次数过多，请 {wait:.0f} 秒后再试 / too many tries: wait "
                                                f"{wait:.0f} s"}, status=429, headers={"Retry-After": f"{wait:.0f}"})
        body = await _json(request)
        code = body.get("code")
        opened = guard.login(address, code) if isinstance(code, str) and len(code) <= 32 else None
        if opened is None:
            log.warning("set-up page: a wrong set-up code from %s", address)
            return web.json_response({"error": "设置码不对，请看机身标签 / wrong set-up code: see the label"},
                                     status=403)
        session, csrf = opened
        response = web.json_response({"csrf": csrf})
        response.set_cookie(COOKIE, session, httponly=True, samesite="Strict", path="/")
        return response

    async def field(request: web.Request) -> web.Response:
        body = await _json(request)
        return web.json_response({"problem": actions.check_field(body.get("path"), body.get("value"))})

    async def provision(request: web.Request) -> web.Response:
        result = actions.provision(await _json(request))
        return web.json_response(result, status=200 if result["ok"] else 422)

    async def status(request: web.Request) -> web.Response:
        return web.json_response({**hello(), **await actions.status()})

    async def wifi_scan(request: web.Request) -> web.Response:
        return web.json_response({"networks": await actions.wifi_scan()})

    async def wifi_connect(request: web.Request) -> web.Response:
        body = await _json(request)
        return web.json_response(await actions.wifi_connect(body.get("ssid"), body.get("password", "")))

    async def devices(request: web.Request) -> web.Response:
        return web.json_response({"devices": await actions.devices_scan()})

    async def pair(request: web.Request) -> web.Response:
        return web.json_response(await actions.pair((await _json(request)).get("address")))

    async def reading(request: web.Request) -> web.Response:
        return web.json_response({"reading": actions.last_reading})

    async def call_arm(request: web.Request) -> web.Response:
        return web.json_response(await actions.control({"cmd": "selftest.call_arm"}))

    async def call_wait(request: web.Request) -> web.Response:
        token = str((await _json(request)).get("token", ""))[:64]
        return web.json_response(await actions.control({"cmd": "selftest.call_wait", "token": token,
                                                        "timeout": 90}, 200))

    async def selftest(request: web.Request) -> web.Response:
        return web.json_response(await actions.control({"cmd": "selftest.auto"}, 120))

    async def steps(request: web.Request) -> web.Response:
        return web.json_response(await actions.control({"cmd": "selftest.steps"}))

    async def step(request: web.Request) -> web.Response:
        index = (await _json(request)).get("index")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 64:
            raise web.HTTPBadRequest(text="index: a step number")
        return web.json_response(await actions.control({"cmd": "selftest.guided", "index": index, "timeout": 30}, 60))

    async def done(request: web.Request) -> web.Response:
        return web.json_response(await actions.done())

    for path in STATIC:
        app.router.add_get(path, static)
    app.router.add_get("/api/devices", devices)
    app.router.add_post("/api/devices", pair)
    app.router.add_get("/api/devices/reading", reading)
    app.router.add_post("/api/testcall", call_arm)
    app.router.add_post("/api/testcall/wait", call_wait)
    app.router.add_get("/api/selftest", selftest)
    app.router.add_get("/api/selftest/steps", steps)
    app.router.add_post("/api/selftest/step", step)
    app.router.add_post("/api/done", done)
    app.router.add_get("/api/hello", hello_route)
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/provision/field", field)
    app.router.add_post("/api/provision", provision)
    app.router.add_get("/api/status", status)
    app.router.add_get("/api/wifi", wifi_scan)
    app.router.add_post("/api/wifi", wifi_connect)
    return app


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return body


def _security(guard: Guard) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if request.content_length is not None and request.content_length > MAX_BODY:
                raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
            if request.path.startswith("/api/") and request.path not in OPEN:
                session = request.cookies.get(COOKIE)
                if not guard.session_ok(session):
                    raise web.HTTPUnauthorized(text="先输入设置码 / enter the set-up code first")
                if request.method != "GET" and not guard.csrf_ok(session, request.headers.get("X-CSRF-Token")):
                    raise web.HTTPForbidden(text="CSRF token missing or wrong")
            if request.method != "GET":
                origin = request.headers.get("Origin")
                if origin is not None and origin != f"{request.scheme}://{request.host}":
                    raise web.HTTPForbidden(text="cross-origin request refused")
            response = await handler(request)
        except ActionError as exc:
            response = web.json_response({"error": str(exc)}, status=409)
        except web.HTTPException as exc:
            response = web.json_response({"error": exc.text}, status=exc.status)
        response.headers.update(HEADERS)
        return response

    return middleware
