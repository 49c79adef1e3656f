"""Fetching a page as a browser would: redirects followed (and each one kept), gzip accepted,
an error status a page too, with what the user asks to send (headers, cookies, the
representation) and the certificates to trust. Standard library only."""

from __future__ import annotations

import gzip
import http.client
import ssl
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from functools import cached_property
from typing import IO, Any
from urllib.parse import urlsplit

from .read import Handover, read_handover

MAX_BODY_BYTES = 5 * 1024 * 1024  # the tags are in <head>; a page's start is plenty
USER_AGENT = "metatrace-check"  # names the checker in the site's access logs
# What a browser asks for when it loads a page.
BROWSER_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"


@dataclass(frozen=True)
class Options:
    """What the user asks the checker to send, and whom to trust."""

    headers: tuple[tuple[str, str], ...] = ()  # --header NAME: VALUE, in order
    cookies: tuple[str, ...] = ()  # --cookie "name=value; other=value"
    accept: str | None = None  # --accept: another representation than the browser's page
    cafile: str | None = None  # --cafile: the CA (or certificate) to trust, PEM
    insecure: bool = False  # --insecure: no certificate check at all
    timeout: float = 10.0

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never appear in a report: the values of the headers and the cookies
        given (a session cookie, a token), and each cookie's value alone."""
        found = [value for _, value in self.headers]
        for cookie in self.cookies:
            found.append(cookie)
            found += [part.partition("=")[2].strip() for part in cookie.split(";")]
        return tuple(sorted({value for value in found if len(value) >= 4}, key=len, reverse=True))

    def ssl_context(self) -> ssl.SSLContext:
        if self.insecure:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        return ssl.create_default_context(cafile=self.cafile)


DEFAULTS = Options()


class FetchError(Exception):
    """The page could not be fetched: no connection, a timeout, a certificate not trusted,
    not HTTP. `url` is the one that failed (a redirect's target, perhaps), `fix` what to do."""

    def __init__(self, url: str, reason: str, fix: str = "") -> None:
        super().__init__(reason)
        self.url = url
        self.reason = reason
        self.fix = fix


@dataclass(frozen=True)
class Hop:
    """A redirect on the way to the page: the URL fetched and the status that moved on."""

    url: str
    status: int


@dataclass(frozen=True)
class FetchedPage:
    url: str  # after redirects: the page judged
    status: int
    headers: list[tuple[str, str]]
    html: str
    fetched_at: float  # when it arrived (epoch seconds): Datadog's tags expire
    redirects: tuple[Hop, ...] = field(default=())  # each URL fetched before `url`
    dropped: tuple[str, ...] = field(default=())  # what a redirect to another host did not get

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name]

    @cached_property
    def handover(self) -> Handover:
        return read_handover(self.html, self.header("server-timing"))


def fetch(
    url: str, headers: Mapping[str, str], timeout: float | None = None, options: Options = DEFAULTS
) -> FetchedPage:
    """GET `url` as a browser would (redirects followed, gzip accepted), sending `headers`
    (the checker's trace) and what `options` asks for; an HTTP error status is a page too.
    FetchError if there is no HTTP answer."""
    sent = {
        "User-Agent": USER_AGENT,
        "Accept": options.accept or BROWSER_ACCEPT,
        "Accept-Encoding": "gzip",
        **dict(options.headers),
        **headers,
    }
    if options.cookies:
        sent["Cookie"] = "; ".join(options.cookies)
    redirects = _Redirects(url, personal={name for name, _ in options.headers} | {"Cookie"})
    opener = urllib.request.build_opener(
        redirects, urllib.request.HTTPSHandler(context=options.ssl_context())
    )
    try:
        request = urllib.request.Request(url, headers=sent)
        try:
            response: Any = opener.open(request, timeout=timeout or options.timeout)
        except urllib.error.HTTPError as error:
            response = error  # 4xx and 5xx pages have headers and a body too
        with response:
            status, final_url, message = response.status, response.url, response.headers
            body = response.read(MAX_BODY_BYTES)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        raise _failed(redirects.fetching, error, options) from None
    return FetchedPage(
        final_url,
        status,
        list(message.items()),
        _text(body, message),
        time.time(),
        tuple(redirects.hops),
        tuple(sorted(redirects.dropped)),
    )


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects as urllib does, keeping each hop, and sends what the user gave
    (headers, cookies: a session, a token) to the origin asked for only, as curl does."""

    def __init__(self, url: str, personal: set[str]) -> None:
        self.fetching = url  # the URL being fetched now: the one that failed, if one does
        self.origin = _origin(url)
        self.personal = {name.capitalize() for name in personal}  # urllib's spelling
        self.hops: list[Hop] = []
        self.dropped: set[str] = set()

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is None:  # pragma: no cover (urllib refuses only other methods than GET)
            return None
        self.hops.append(Hop(req.full_url, code))
        self.fetching = new.full_url
        if _origin(new.full_url) != self.origin:
            for name in self.personal & set(new.headers):
                self.dropped.add(name)
                del new.headers[name]
        return new


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def _failed(url: str, error: Exception, options: Options) -> FetchError:
    cause: BaseException | str = error
    if isinstance(error, urllib.error.URLError):
        cause = error.reason  # the socket error inside, e.g. "Connection refused"
    if isinstance(cause, ssl.SSLCertVerificationError):
        if options.cafile:
            fix = f"--cafile {options.cafile} does not hold the CA that signed it"
        else:
            fix = "give the CA that signed it with --cafile PATH, or skip the check: --insecure"
        return FetchError(url, f"its certificate is not trusted: {cause.verify_message}", fix)
    if isinstance(cause, ssl.SSLError):
        return FetchError(url, f"TLS failed: {cause.reason or cause}", "is it an HTTPS server?")
    if isinstance(cause, TimeoutError):
        return FetchError(url, "no answer in time", "a longer --timeout, or is the server up?")
    if isinstance(cause, OSError) and cause.strerror:
        return FetchError(url, cause.strerror, "is the server up, at that address?")
    return FetchError(url, str(cause) or type(cause).__name__)


def _text(body: bytes, message: Message) -> str:
    encoding = (message.get("Content-Encoding") or "").strip().lower()
    if encoding == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error):
            body = b""  # a truncated or broken body: report it as holding no tags
    charset = message.get_content_charset() or "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")
