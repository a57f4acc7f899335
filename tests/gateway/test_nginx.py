"""nginx in front of a real service, asking a running Keyward about each request.

deploy/nginx/gateway-example.conf (the configuration docs/gateways.md documents) is
rendered for free loopback ports and run by Debian's nginx, in front of a small
service that records what it receives (tests/gateway/harness.py). Keyward is
pytest-django's live server on the test database, so this runs on SQLite and
PostgreSQL alike. Each test checks what the client got and what the service saw:
only allowed requests, with the headers Keyward set, never the token.
"""

from __future__ import annotations

from tests import servers
from tests.gateway.harness import guarded_service


def test_keyward_unreachable_refuses_with_503_and_the_service_sees_nothing(tmp_path):
    nowhere = f"http://127.0.0.1:{servers.free_port()}"
    with guarded_service(tmp_path, nowhere) as service:
        response = service.request("GET", "/orders/1", token="kw_anything")

        assert response.status == 503
        assert service.upstream.requests() == []
