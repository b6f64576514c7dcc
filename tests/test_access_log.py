"""The access log keeps no booking digits, chat sessions or questions (issue 15, item 2)."""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.request

import uvicorn
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from zhiyin.web.access_log import RedactQuery, redact_query, uvicorn_log_config


def test_redact_query_hides_the_values_of_secret_keys_only():
    assert redact_query("/api/bookings/AB12CD34?last4=5678") == "/api/bookings/AB12CD34?last4=***"
    assert (
        redact_query("/p/X?q=%E7%A4%BE%E4%BF%9D&ask=ID220102&session=9f-1")
        == "/p/X?q=%E7%A4%BE%E4%BF%9D&ask=***&session=***"
    )
    assert redact_query("/b/X?last%34=5678&last4") == "/b/X?last%34=***&last4"  # decoded keys, bare keys
    assert redact_query("/kiosk?place=yc-center") == "/kiosk?place=yc-center"
    assert redact_query("/api/places") == "/api/places"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_a_server_with_zhiyins_log_config_writes_no_secret_query_values():
    app = Starlette(routes=[Route("/{path:path}", lambda request: PlainTextResponse("ok"))])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="info", log_config=uvicorn_log_config()
    )
    server = uvicorn.Server(config)  # the config has installed the logging configuration
    lines = Lines()
    access = logging.getLogger("uvicorn.access")
    access.addHandler(lines)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.time() + 20
        while not server.started and time.time() < deadline:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        for target in (
            "/api/bookings/AB12CD34?last4=5678",
            "/kiosk/continue.svg?place=yc&session=c0ffee-42",
            "/p/X?ask=%E7%94%B5%E8%AF%9D13812345678&q=1",
        ):
            urllib.request.urlopen(base + target, timeout=10).read()
        deadline = time.time() + 5
        while len(lines.lines) < 3 and time.time() < deadline:
            time.sleep(0.05)
    finally:
        server.should_exit = True
        thread.join(10)
        access.removeHandler(lines)
    logged = "\n".join(lines.lines)
    assert "last4=***" in logged and "session=***" in logged and "ask=***&q=1" in logged, logged
    for secret in ("5678", "c0ffee", "13812345678"):
        assert secret not in logged


def test_zhiyin_serve_installs_the_filter(monkeypatch):
    import zhiyin.app
    import zhiyin.services
    from zhiyin.cli import main

    ran: dict = {}
    monkeypatch.setattr(zhiyin.services, "Services", lambda settings: None)
    monkeypatch.setattr(zhiyin.app, "create_app", lambda services: "app")
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: ran.update(options))
    assert CliRunner().invoke(main, ["serve", "--port", "8123"]).exit_code == 0
    config = ran["log_config"]
    assert config["loggers"]["uvicorn.access"]["filters"] == ["redact_query"]
    assert config["filters"]["redact_query"]["()"] is RedactQuery
