"""A service guarded by nginx and Keyward, for tests: deploy/nginx/gateway-example.conf for real.

A small HTTP service on loopback records every request it receives (method, path
as sent, headers) and answers 200; Debian's nginx runs the example configuration
rendered for free loopback ports in front of it, asking a running Keyward. Both
stop when the context ends, also when a test fails half-way.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests import servers
from tests.deploy.client import Response

EXAMPLE = servers.PROJECT / "deploy" / "nginx" / "gateway-example.conf"
GUIDE = servers.PROJECT / "docs" / "gateways.md"
SERVER_NAME = "orders.test"


@dataclass(frozen=True)
class Seen:
    """One request as the guarded service received it."""

    method: str
    path: str
    headers: Message
    body: bytes


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # nginx keeps connections to its upstream alive
    upstream: RecordingUpstream

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.upstream.record(Seen(self.command, self.path, self.headers, body))
        answer = b"served by the guarded service\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)

    do_GET = do_HEAD = do_OPTIONS = do_POST = do_PUT = do_PATCH = do_DELETE = _record

    def log_message(self, format: str, *args) -> None:
        """Keep the test output quiet: the recorded requests say what came."""


@dataclass
class RecordingUpstream:
    """An HTTP service on a free loopback port that records each request it receives."""

    seen: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def record(self, request: Seen) -> None:
        with self._lock:
            self.seen.append(request)

    def requests(self) -> list[tuple[str, str]]:
        """Return the method and path of each request received so far, in order."""
        with self._lock:
            return [(request.method, request.path) for request in self.seen]

    def forget(self) -> None:
        """Forget the requests received so far."""
        with self._lock:
            self.seen.clear()

    @contextlib.contextmanager
    def serving(self) -> Iterator[RecordingUpstream]:
        """Serve in a thread until the context ends."""
        handler = type("Recorder", (_Recorder,), {"upstream": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join()


@dataclass
class GuardedService:
    """nginx on `port` in front of `upstream`, asking Keyward about each request."""

    port: int
    upstream: RecordingUpstream
    error_log: Path

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        """Send one request to nginx as a client of the service would (Host: SERVER_NAME).

        The path goes on the request line exactly as given, dot-segments and all.
        """
        sent = {"Host": SERVER_NAME, **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            return Response(answer.status, answer.headers, answer.read())
        finally:
            connection.close()


def render_example(*, listen_port: int, service_port: int, keyward_url: str) -> str:
    """Return the example configuration with its placeholders filled for loopback."""
    return servers.render(
        EXAMPLE,
        {
            "SERVICE": f"127.0.0.1:{service_port}",
            "KEYWARD": keyward_url,
            "LISTEN": f"127.0.0.1:{listen_port}",
            "SERVER_NAME": SERVER_NAME,
        },
    )


@contextlib.contextmanager
def guarded_service(workdir: Path, keyward_url: str) -> Iterator[GuardedService]:
    """Start a recording upstream and nginx with the example configuration in front of it."""
    if servers.nginx_binary() is None:
        raise RuntimeError("nginx is not installed (scripts/ensure-services.sh installs it)")
    with RecordingUpstream().serving() as upstream:
        port = servers.free_port()
        site = render_example(listen_port=port, service_port=upstream.port, keyward_url=keyward_url)
        error_log = workdir / "nginx" / "logs" / "error.log"
        with servers.running(servers.start_nginx(workdir, site)) as nginx:
            servers.wait_until(
                lambda: servers.accepts_connections(port),
                what="nginx",
                process=nginx.process,
                log=error_log,
            )
            yield GuardedService(port=port, upstream=upstream, error_log=error_log)


def caddy_binary() -> str | None:
    """Return the path of Debian's caddy, or None when it is not installed."""
    return shutil.which("caddy")


def guide_caddyfile(*, listen_port: int, service_port: int, keyward_port: int) -> str:
    """Return docs/gateways.md's Caddyfile for loopback: plain HTTP on `listen_port` for any
    host, Keyward and the service at their ports; the rest exactly as documented."""
    [shown] = re.findall(r"```caddyfile\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    site = shown.replace("orders.example.com {", f"http://:{listen_port} {{", 1)
    site = site.replace("forward_auth 127.0.0.1:8000", f"forward_auth 127.0.0.1:{keyward_port}")
    site = site.replace("reverse_proxy 127.0.0.1:9000", f"reverse_proxy 127.0.0.1:{service_port}")
    return "{\n    admin off\n    auto_https off\n}\n\n" + site


@contextlib.contextmanager
def guarded_by_caddy(workdir: Path, keyward_port: int) -> Iterator[GuardedService]:
    """Start a recording upstream and Caddy with the guide's Caddyfile in front of it."""
    binary = caddy_binary()
    if binary is None:
        raise RuntimeError("caddy is not installed (scripts/ensure-services.sh installs it)")
    with RecordingUpstream().serving() as upstream:
        port = servers.free_port()
        config = workdir / "Caddyfile"
        config.write_text(
            guide_caddyfile(listen_port=port, service_port=upstream.port, keyward_port=keyward_port)
        )
        home = workdir / "caddy-home"  # where Caddy keeps its data: not the user's home
        home.mkdir()
        command = [binary, "run", "--config", str(config), "--adapter", "caddyfile"]
        env = {"HOME": str(home), "XDG_DATA_HOME": str(home), "XDG_CONFIG_HOME": str(home)}
        caddy = servers.start("caddy", command, workdir=workdir, port=port, env=env)
        with servers.running(caddy):
            yield GuardedService(port=port, upstream=upstream, error_log=caddy.log)
