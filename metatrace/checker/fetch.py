"""Fetching a page as a browser would: redirects followed (and each one kept), gzip accepted,
an error status a page too, with what the user asks to send (headers, cookies, the
representation) and the certificates to trust; only HTTP and HTTPS."""

from __future__ import annotations

import base64
import http.client
import re
import ssl
import string
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from functools import cached_property
from typing import IO, Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from .read import Handover, read_handover
from .report import REDACTED, hidden

MAX_BODY_BYTES = 5 * 1024 * 1024  # the tags are in <head>; a page's start is plenty
USER_AGENT = "metatrace-check"  # names the checker in the site's access logs
# What a browser asks for when it loads a page.
BROWSER_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
# A shorter value is no secret worth the name, and too likely a word of the page ("true").
SECRET_MIN_LENGTH = 8
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a header name (RFC 9110)
_PASSWORD_RE = re.compile(r"^([^:/?#]*://[^/?#@:]*:)[^/?#]*@")  # scheme://user:PASSWORD@
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # what no header value may hold


@dataclass(frozen=True)
class Options:
    """What the user asks the checker to send, and whom to trust."""

    headers: tuple[tuple[str, str], ...] = ()  # --header NAME: VALUE, in order
    cookies: tuple[str, ...] = ()  # --cookie "name=value; other=value"
    accept: str | None = None  # --accept: another representation than the browser's page
    cafile: str | None = None  # --cafile: the CA (or certificate) to trust, PEM
    insecure: bool = False  # --insecure: no certificate check at all
    timeout: float = 10.0

    def __post_init__(self) -> None:
        # What http.client would refuse deep inside a fetch, with the value in its message.
        for name, value in self.headers:
            if not _TOKEN_RE.fullmatch(name):
                raise ValueError(f"{name!r} is not a header name")
            if _CONTROL_RE.search(value):
                raise ValueError(f"the value of header {name} holds a line break or control")
        if any(_CONTROL_RE.search(cookie) for cookie in self.cookies):
            raise ValueError("a cookie holds a line break or control character")

    @property
    def cookie(self) -> str | None:
        """The Cookie header to send: the cookies of a Cookie header and of `cookies`."""
        given = [v for n, v in self.headers if n.lower() == "cookie"] + list(self.cookies)
        return "; ".join(given) if given else None

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never appear in a report: the values of the headers and the cookies
        given (a session cookie, a token), and each cookie's value alone; longest first."""
        found = [value for _, value in self.headers]
        for cookie in (self.cookie or "").split(";"):
            found.append(cookie.partition("=")[2].strip())
        found += [cookie.strip() for cookie in self.cookies]
        kept = {value for value in found if len(value) >= SECRET_MIN_LENGTH}
        return tuple(sorted(kept, key=len, reverse=True))

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif self.cafile:  # besides the system's: a redirect may lead to a public host
            context.load_verify_locations(cafile=self.cafile)
            # Python 3.13's strict checks refuse a private CA without a key usage extension,
            # which curl, OpenSSL and browsers accept: trust is what --cafile says.
            context.verify_flags &= ~ssl.VERIFY_X509_STRICT
        return context


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
    (the checker's trace) and what `options` asks for; an HTTP error status is a page too. A
    user and password in the URL are sent as HTTP basic authentication, as curl does.
    FetchError if no page arrives within the timeout; what the user gave to send is redacted
    from the page's text and headers."""
    try:
        url, sent = _as_sent(url, options)
    except ValueError as error:  # a port out of range, a host name IDNA cannot encode
        raise FetchError(shown(url), f"not a URL a browser can load: {error}") from None
    sent.update(headers)
    personal = {name.lower() for name, _ in options.headers} | {"cookie", "authorization"}
    redirects = _Redirects(url, personal)
    opener = _opener(redirects, options.ssl_context())
    limit = timeout or options.timeout
    deadline = time.monotonic() + limit
    try:
        try:
            response: Any = opener.open(urllib.request.Request(url, headers=sent), timeout=limit)
        except urllib.error.HTTPError as error:
            if 300 <= error.code < 400 and error.headers.get("Location"):  # not followed
                raise _unfollowed(redirects.fetching, error) from None
            response = error  # 4xx and 5xx pages have headers and a body too
        with response:
            status, final_url, message = response.status, response.url, response.headers
            body = _body(response, deadline, redirects.fetching, limit)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        raise _failed(redirects.fetching, error, options) from None
    secrets = options.secrets
    return FetchedPage(
        final_url,
        status,
        [(name, hidden(value, secrets)) for name, value in message.items()],
        hidden(_text(body, message), secrets),
        time.time(),
        tuple(redirects.hops),
        tuple(sorted(redirects.dropped)),
    )


def _as_sent(url: str, options: Options) -> tuple[str, dict[str, str]]:
    """`url` as a browser sends it (non-ASCII and spaces percent-encoded, the host in IDNA,
    no user or password), and the headers to send with it."""
    parts = urlsplit(url)
    sent = {
        "User-Agent": USER_AGENT,
        "Accept": options.accept or BROWSER_ACCEPT,
        "Accept-Encoding": "gzip",
    }
    sent.update((name, value) for name, value in options.headers if name.lower() != "cookie")
    if options.cookie:
        sent["Cookie"] = options.cookie
    netloc, port = parts.netloc.rpartition("@")[2], parts.port  # ValueError: out of range
    if parts.hostname and not parts.hostname.isascii():
        host = parts.hostname.encode("idna").decode("ascii")
        netloc = host + (f":{port}" if port else "")
    if parts.username is not None and not any(k.lower() == "authorization" for k in sent):
        user_password = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        sent["Authorization"] = "Basic " + base64.b64encode(user_password.encode()).decode()
    path, query = (quote(part, safe=string.punctuation) for part in (parts.path, parts.query))
    return urlunsplit((parts.scheme, netloc, path, query, "")), sent


def shown(url: str) -> str:
    """`url` as a report shows it: with its password, if any, redacted (a URL that does not
    parse included)."""
    return _PASSWORD_RE.sub(rf"\1{REDACTED}@", url, count=1)


def _opener(redirects: urllib.request.BaseHandler, context: ssl.SSLContext) -> Any:
    """urllib's opener for HTTP and HTTPS only: a redirect to ftp:// or file:// fails, as
    a browser's page load would, instead of reading what it names."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),  # the environment's proxies, as urlopen() uses them
        urllib.request.UnknownHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(context=context),
        urllib.request.HTTPDefaultErrorHandler(),
        redirects,
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def _body(response: Any, deadline: float, url: str, limit: float) -> bytes:
    """The body's first MAX_BODY_BYTES, read by the time `deadline` (a page trickling in
    byte by byte must not hold a pipeline for each byte's timeout)."""
    read = getattr(response, "read1", response.read)
    chunks: list[bytes] = []
    size = 0
    while size < MAX_BODY_BYTES:
        if time.monotonic() > deadline:
            raise FetchError(url, f"the page took longer than {limit:g} s", _LONGER)
        chunk = read(min(65536, MAX_BODY_BYTES - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _unfollowed(url: str, error: urllib.error.HTTPError) -> FetchError:
    if str(error.msg).startswith(urllib.request.HTTPRedirectHandler.inf_msg):
        return FetchError(
            url,
            "redirects in a loop (the same URL 5 times, or 10 redirects)",
            "does the page need a cookie or a header that the redirects expect?",
        )
    return FetchError(url, f"a redirect to {error.headers['Location']!r}, not an HTTP URL")


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects as urllib does, keeping each hop, and sends what the user gave
    (headers, cookies: a session, a token) only where it was given for, as curl does: the
    same host, by the same scheme or upgraded from http to https."""

    def __init__(self, url: str, personal: set[str]) -> None:
        self.fetching = url  # the URL being fetched now: the one that failed, if one does
        self.given_for = url
        self.personal = personal  # lowercase names
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
        if not _may_carry(self.given_for, new.full_url):
            for name in [name for name in new.headers if name.lower() in self.personal]:
                self.dropped.add(name)
                del new.headers[name]
        return new


def _may_carry(given_for: str, url: str) -> bool:
    """Whether what was given for `given_for` may go to `url`: the same host, by the same
    scheme and port, or upgraded from http to https (never over plain HTTP what was given for
    HTTPS)."""
    a, b = urlsplit(given_for), urlsplit(url)
    if a.hostname != b.hostname:
        return False
    if a.scheme == b.scheme:
        return a.port == b.port
    upgraded = (a.scheme, b.scheme) == ("http", "https")
    return upgraded and a.port in (None, 80) and b.port in (None, 443)


def _failed(url: str, error: Exception, options: Options) -> FetchError:
    cause: BaseException | str = error
    if isinstance(error, urllib.error.URLError):
        cause = error.reason  # the socket error inside, e.g. "Connection refused"
    if isinstance(cause, ssl.SSLCertVerificationError):
        if cause.verify_code not in _UNKNOWN_ISSUER:  # expired, another host's, ...
            fix = "renew or fix the certificate, or skip the check: --insecure"
        elif options.cafile:
            fix = f"--cafile {options.cafile} does not hold the CA that signed it"
        else:
            fix = "give the CA that signed it with --cafile PATH, or skip the check: --insecure"
        return FetchError(url, f"its certificate is not trusted: {cause.verify_message}", fix)
    if isinstance(cause, ssl.SSLError):
        return FetchError(url, f"TLS failed: {cause.reason or cause}", "is it an HTTPS server?")
    if isinstance(cause, TimeoutError):
        return FetchError(url, "no answer in time", _LONGER)
    if isinstance(cause, OSError) and cause.strerror:
        return FetchError(url, cause.strerror, "is the server up, at that address?")
    return FetchError(url, str(cause) or type(cause).__name__)


_LONGER = "a longer --timeout, or is the server up?"
# OpenSSL's verify codes of a certificate whose issuer is not trusted (X509_V_ERR_*).
_UNKNOWN_ISSUER = {2, 18, 19, 20, 21}


def _text(body: bytes, message: Message) -> str:
    encoding = (message.get("Content-Encoding") or "").strip().lower()
    if encoding == "gzip":
        try:  # at most MAX_BODY_BYTES, from what arrived: a gzip bomb stops there too
            body = zlib.decompressobj(wbits=31).decompress(body, MAX_BODY_BYTES)
        except zlib.error:
            body = b""  # a broken body: report it as holding no tags
    charset = message.get_content_charset() or "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except (LookupError, ValueError):  # no such codec, or one that is no text's (idna)
        return body.decode("utf-8", errors="replace")
