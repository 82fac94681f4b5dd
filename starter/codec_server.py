"""The codec server: Temporal's remote codec protocol over carbuy's key ring, for ops in the Web UI and the CLI.

`POST /encode` and `POST /decode` take and return a Payloads message in protobuf JSON (the last path segment
decides, so the server can be mounted under a prefix; `X-Namespace` is read and logged). Decoding reveals a
customer's personal data, so it needs ops credentials, and each decode is logged with the operator and the
workflows whose payloads it decoded (their ids ride in each encrypted payload's metadata):

- the `temporal` CLI sends `--codec-auth` as the Authorization header: `Bearer <ops token>`;
- the Web UI calls from the person's browser. It can pass the UI's own OIDC access token (only with UI login,
  which `temporal server start-dev` lacks) or send the browser's cookies ("include cross-origin credentials").
  carbuy uses the cookie: the person signs in once at `GET /login` on this server with their ops token, which
  sets an HttpOnly, SameSite=Strict session cookie, signed and time-limited (codec.session_hours). The UI's
  origin is the only one CORS admits, with credentials; any other page's request carries no cookie it can use
  (SameSite) and gets no readable answer (CORS).

Without credentials: 401; with another role's token (backend, finance): 403; nothing is decoded either way.
"""

import base64
import hashlib
import hmac
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

import jinja2
from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response, status
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, RedirectResponse
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payloads

from carbuy.runtime.codec import CodecError, EncryptionCodec, workflow_ids
from carbuy.runtime.settings import Settings

log = logging.getLogger("carbuy.codec_server")

SESSION_COOKIE = "carbuy_codec_session"
MAX_BODY_BYTES = 4 * 1024 * 1024
TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "codec"


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Sessions:
    """Signed, expiring browser sessions: `<operator>.<expiry>.<mac>`, base64url; the key never leaves here."""

    def __init__(self, key: bytes, hours: float) -> None:
        self.key = hmac.new(key, b"carbuy codec-server sessions v1", hashlib.sha256).digest()
        self.seconds = int(hours * 3600)

    def _mac(self, body: str) -> str:
        return hmac.new(self.key, body.encode(), hashlib.sha256).hexdigest()

    def issue(self, operator: str, now: float) -> tuple[str, int]:
        expiry = int(now) + self.seconds
        body = f"{operator}.{expiry}"
        return base64.urlsafe_b64encode(f"{body}.{self._mac(body)}".encode()).decode(), expiry

    def operator(self, cookie: str | None, now: float) -> str | None:
        if not cookie:
            return None
        try:
            operator, expiry, mac = base64.urlsafe_b64decode(cookie.encode()).decode().rsplit(".", 2)
            expires = int(expiry)
        except (ValueError, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(mac, self._mac(f"{operator}.{expiry}")) or expires < now:
            return None
        return operator


def create_codec_app(settings: Settings) -> FastAPI:
    """The codec server for these settings (its key ring, the ops tokens, the Web UI's origin)."""
    ring = settings.codec.ring()
    codec = EncryptionCodec(ring)
    sessions = Sessions(ring.keys[ring.current], settings.codec.session_hours)
    ui_origin = settings.codec.ui_origin or origin_of(settings.temporal.ui_url)
    operators = {settings.api.ops_token: "ops"}
    """ops token → operator identity (one shared ops token today)."""
    other_roles = {settings.api.backend_token: "the backend", settings.api.finance_token: "finance"}
    pages = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)

    app = FastAPI(
        title="carbuy codec server",
        description="Temporal's remote codec protocol over carbuy's key ring; decoding needs ops credentials.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[ui_origin],
        allow_credentials=True,
        allow_methods=["POST"],
        allow_headers=["content-type", "x-namespace", "authorization"],
        max_age=600,
    )

    def known_operator(token: str) -> str | None:
        return next(
            (name for known, name in operators.items() if hmac.compare_digest(token.encode(), known.encode())), None
        )

    def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
        """The operator calling: a bearer ops token (CLI) or a signed session cookie (browser)."""
        if authorization:
            scheme, _, token = authorization.partition(" ")
            token = token.strip() if scheme.lower() == "bearer" else authorization.strip()
            by_token = known_operator(token)
            if by_token is not None:
                return f"{by_token} (bearer)"
            if any(hmac.compare_digest(token.encode(), known.encode()) for known in other_roles):
                raise HTTPException(status.HTTP_403_FORBIDDEN, "only ops may decode payloads")
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "wrong credentials", headers={"WWW-Authenticate": "Bearer"}
            )
        operator = sessions.operator(request.cookies.get(SESSION_COOKIE), time.time())
        if operator is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "decoding needs ops credentials: a bearer ops token, or sign in at /login",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return f"{operator} (browser session)"

    Caller = Annotated[str, Depends(caller)]

    async def payloads_of(request: Request) -> Payloads:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"at most {MAX_BODY_BYTES} bytes")
        try:
            return json_format.Parse(body, Payloads())
        except (json_format.ParseError, DecodeError, UnicodeDecodeError, ValueError) as error:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"not a Payloads message in JSON: {error}") from None

    def answer(payloads: Payloads) -> Response:
        return Response(json_format.MessageToJson(payloads), media_type="application/json")

    async def encode(request: Request, who: Caller, x_namespace: Annotated[str | None, Header()] = None) -> Response:
        """Encrypt payloads with the current key (ops only, as decode)."""
        given = await payloads_of(request)
        log.info("encode by %s namespace=%s payloads=%d", who, x_namespace, len(given.payloads))
        return answer(Payloads(payloads=await codec.encode(given.payloads)))

    async def decode(request: Request, who: Caller, x_namespace: Annotated[str | None, Header()] = None) -> Response:
        """Decrypt payloads (ops only); clear payloads come back as they are."""
        given = await payloads_of(request)
        try:
            decoded = await codec.decode(given.payloads)
        except CodecError as error:
            log.warning("decode by %s namespace=%s failed: %s", who, x_namespace, error)
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
        log.info(
            "decode by %s namespace=%s workflows=%s payloads=%d",
            who,
            x_namespace,
            ",".join(workflow_ids(given.payloads)) or "-",
            len(given.payloads),
        )
        return answer(Payloads(payloads=decoded))

    for path in ("/encode", "/{prefix:path}/encode"):
        app.add_api_route(path, encode, methods=["POST"], response_class=Response)
    for path in ("/decode", "/{prefix:path}/decode"):
        app.add_api_route(path, decode, methods=["POST"], response_class=Response)

    def page(operator: str | None = None, until: str = "", error: str = "", code: int = 200) -> HTMLResponse:
        html = pages.get_template("login.html.j2").render(
            operator=operator, until=until, error=error, ui_origin=ui_origin
        )
        return HTMLResponse(html, status_code=code)

    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request) -> HTMLResponse:
        """Sign in to decode in this browser."""
        operator = sessions.operator(request.cookies.get(SESSION_COOKIE), time.time())
        return page(operator)

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> HTMLResponse:
        """Exchange an ops token for a session cookie."""
        body = await request.body()
        token = parse_qs(body[:4096].decode(errors="replace")).get("token", [""])[0]
        operator = next(
            (name for known, name in operators.items() if hmac.compare_digest(token.encode(), known.encode())), None
        )
        if operator is None:
            log.warning("codec login refused from %s", request.client.host if request.client else "?")
            return page(error="That is not an ops token.", code=status.HTTP_401_UNAUTHORIZED)
        cookie, expiry = sessions.issue(operator, time.time())
        until = datetime.fromtimestamp(expiry, UTC).strftime("%Y-%m-%d %H:%M")
        response = page(operator, until)
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            max_age=sessions.seconds,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        log.info("codec login: %s, until %s UTC", operator, until)
        return response

    @app.post("/logout")
    async def logout() -> RedirectResponse:
        """Forget the session cookie."""
        response = RedirectResponse("login", status_code=status.HTTP_303_SEE_OTHER)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    return app
