"""The environment a deployment sets: what config/settings.py makes of it; the README table."""

from __future__ import annotations

import ast
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.template import Engine
from django.template.loaders.cached import Loader as CachedLoader

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "config" / "settings.py"
SMTP = "django.core.mail.backends.smtp.EmailBackend"
FILES = "django.core.mail.backends.filebased.EmailBackend"
CONSOLE = "django.core.mail.backends.console.EmailBackend"
READERS = {"env_bool", "env_int", "env_list", "env_days"}


def variables_read(path: Path) -> set[str]:
    """Return the environment variables a module reads (os.environ.get/[...] and env_* helpers)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = node.func
            if (isinstance(called, ast.Name) and called.id in READERS) or (
                isinstance(called, ast.Attribute)
                and called.attr == "get"
                and ast.unparse(called.value) == "os.environ"
            ):
                names.add(node.args[0].value)
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            names.add(node.slice.value)
    return names


def production_modules() -> list[Path]:
    return [
        path
        for folder in ("config", "accounts", "tokens", "ops")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "settings_test.py"
    ]


def documented_variables() -> set[str]:
    """Return the variables named in the first column of the README's configuration table."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("| variable | default | meaning |", 1)[1].split("\n\n", 1)[0]
    first_cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    return {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}


def test_the_readme_table_names_every_variable_the_code_reads_and_no_other():
    read = set().union(*(variables_read(path) for path in production_modules()))
    assert {"SECRET_KEY", "EMAIL_TIMEOUT", "SECURE_HSTS_SECONDS", "DEMO_PASSWORD"} <= read
    assert documented_variables() == read


def test_the_deployment_environment_file_names_every_variable_the_code_reads():
    """deploy/keyward.env is the template of a deployment's settings: none may be missing."""
    template = (ROOT / "deploy" / "keyward.env").read_text()
    named = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", template, flags=re.MULTILINE))
    read = set().union(*(variables_read(path) for path in production_modules()))
    assert read - named == set()


def test_the_deployment_environment_file_can_be_sourced_by_a_shell():
    """Cron lines and scripts load it with `set -a; . keyward.env`: every value must parse."""
    loaded = subprocess.run(  # noqa: S603 a fixed command
        ["/bin/bash", "-c", 'set -a; . "$1"; env', "-", str(ROOT / "deploy" / "keyward.env")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "DEFAULT_FROM_EMAIL=Keyward <keyward@example.com>" in loaded.splitlines()


def load(monkeypatch, **environ) -> dict:
    """Return the settings config/settings.py makes of exactly `environ`."""
    for name in variables_read(SETTINGS):
        monkeypatch.delenv(name, raising=False)
    environ.setdefault("SECRET_KEY", "x" * 60)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def test_email_backend_wins_over_email_host(monkeypatch):
    loaded = load(monkeypatch, EMAIL_HOST="smtp.example.com", EMAIL_BACKEND=CONSOLE)
    assert loaded["MAILERS"] == {"default": {"BACKEND": CONSOLE}}


def test_email_host_alone_means_smtp_with_its_options(monkeypatch):
    loaded = load(monkeypatch, EMAIL_HOST="smtp.example.com", EMAIL_TIMEOUT="3")
    mailer = loaded["MAILERS"]["default"]
    assert mailer["BACKEND"] == SMTP
    assert (mailer["OPTIONS"]["host"], mailer["OPTIONS"]["timeout"]) == ("smtp.example.com", 3)


def test_development_email_goes_to_files(monkeypatch):
    default = load(monkeypatch, DEBUG="1")["MAILERS"]["default"]
    assert default == {"BACKEND": FILES, "OPTIONS": {"file_path": str(ROOT / "var" / "mail")}}
    moved = load(monkeypatch, DEBUG="1", EMAIL_FILE_PATH="/srv/keyward/mail")["MAILERS"]["default"]
    assert moved["OPTIONS"] == {"file_path": "/srv/keyward/mail"}
    assert load(monkeypatch)["MAILERS"]["default"] == {"BACKEND": CONSOLE}


def test_var_is_gitignored():
    assert "var/" in (ROOT / ".gitignore").read_text().splitlines()


def test_hsts_reaches_beyond_the_host_only_when_asked(monkeypatch):
    loaded = load(monkeypatch, KEYWARD_HTTPS="1")
    assert loaded["SECURE_HSTS_SECONDS"] == 31536000
    assert (loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"], loaded["SECURE_HSTS_PRELOAD"]) == (
        False,
        False,
    )
    assert set(loaded["SILENCED_SYSTEM_CHECKS"]) == {"security.W005", "security.W021"}
    both = load(
        monkeypatch,
        KEYWARD_HTTPS="1",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_HSTS_PRELOAD="1",
    )
    assert (both["SECURE_HSTS_INCLUDE_SUBDOMAINS"], both["SECURE_HSTS_PRELOAD"]) == (True, True)
    assert both["SILENCED_SYSTEM_CHECKS"] == []


def test_expiry_reminder_days_come_from_the_environment(monkeypatch):
    assert load(monkeypatch)["KEYWARD_EXPIRY_REMINDER_DAYS"] == [7, 1]
    loaded = load(monkeypatch, KEYWARD_EXPIRY_REMINDER_DAYS="3, 14,3")
    assert loaded["KEYWARD_EXPIRY_REMINDER_DAYS"] == [14, 3]


@pytest.mark.parametrize("value", ["0", "seven", "²", "3651", "1,,-2", "0010000"])
def test_unreadable_expiry_reminder_days_stop_the_start(monkeypatch, value):
    with pytest.raises(ImproperlyConfigured, match="KEYWARD_EXPIRY_REMINDER_DAYS"):
        load(monkeypatch, KEYWARD_EXPIRY_REMINDER_DAYS=value)


def test_old_token_prefixes_are_a_list(monkeypatch):
    loaded = load(
        monkeypatch, KEYWARD_TOKEN_PREFIX="acme", KEYWARD_TOKEN_PREFIXES_ACCEPTED="kw, old"
    )
    assert loaded["KEYWARD_TOKEN_PREFIXES_ACCEPTED"] == ["kw", "old"]


def test_without_redis_the_cache_is_a_database_table(monkeypatch):
    cache = load(monkeypatch)["CACHES"]["default"]

    assert cache["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert cache["LOCATION"] == "keyward_cache"


def test_redis_url_selects_redis_with_short_timeouts(monkeypatch):
    cache = load(monkeypatch, REDIS_URL="redis://127.0.0.1:6390/2")["CACHES"]["default"]

    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == "redis://127.0.0.1:6390/2"
    assert cache["OPTIONS"]["socket_connect_timeout"] <= 0.5
    assert cache["OPTIONS"]["socket_timeout"] <= 1
    assert cache["OPTIONS"]["retry"].get_retries() <= 1


def test_earlier_secret_keys_stay_accepted_while_the_key_is_rotated(monkeypatch):
    loaded = load(monkeypatch, SECRET_KEY="n" * 60, SECRET_KEY_FALLBACKS="o" * 60 + ", " + "p" * 60)
    assert loaded["SECRET_KEY_FALLBACKS"] == ["o" * 60, "p" * 60]


def test_single_sign_on_is_off_without_an_issuer(monkeypatch):
    values = load(monkeypatch)
    assert values["KEYWARD_OIDC_ISSUER"] == ""
    assert values["KEYWARD_OIDC_PROVIDER_NAME"] == "SSO"
    assert values["OIDC_USE_PKCE"] and values["OIDC_USE_NONCE"]
    assert values["KEYWARD_OIDC_SIGN_ALGORITHMS"] == ["RS256", "ES256"]


@pytest.mark.parametrize(
    "environ",
    [
        {"KEYWARD_OIDC_ISSUER": "https://login.example.com"},
        {"KEYWARD_OIDC_ISSUER": "https://login.example.com", "KEYWARD_OIDC_CLIENT_ID": "kw"},
        {
            "KEYWARD_OIDC_ISSUER": "login.example.com",
            "KEYWARD_OIDC_CLIENT_ID": "kw",
            "KEYWARD_OIDC_CLIENT_SECRET": "s",
        },
    ],
)
def test_an_incomplete_single_sign_on_stops_the_start(monkeypatch, environ):
    with pytest.raises(ImproperlyConfigured, match="KEYWARD_OIDC_"):
        load(monkeypatch, **environ)


@pytest.mark.parametrize("debug", ["0", "1"])
def test_templates_are_compiled_once_per_process(monkeypatch, debug):
    """Django wraps the loaders in its cached loader unless settings name the loaders."""
    (templates,) = load(monkeypatch, DEBUG=debug)["TEMPLATES"]
    engine = Engine(
        dirs=templates["DIRS"],
        app_dirs=templates["APP_DIRS"],
        debug=debug == "1",
        **templates["OPTIONS"],
    )
    assert [type(loader) for loader in engine.template_loaders] == [CachedLoader]


def without_secret_key(tmp_path, *command: str) -> subprocess.CompletedProcess:
    """Run `python *command` in the project with production settings and no SECRET_KEY."""
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "KEYWARD_TASKS": "database",
    }
    return subprocess.run(  # noqa: S603 fixed commands
        [sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_commands_that_sign_nothing_run_without_a_secret_key(tmp_path):
    ran = without_secret_key(tmp_path, "manage.py", "makemigrations", "--check", "--dry-run")
    assert (ran.returncode, ran.stdout) == (0, "No changes detected\n"), ran.stderr


@pytest.mark.parametrize(
    "command",
    [("-c", "import config.wsgi"), ("-c", "import config.asgi"), ("manage.py", "run_worker")],
    ids=["wsgi", "asgi", "worker"],
)
def test_the_web_and_worker_processes_refuse_to_start_without_a_secret_key(tmp_path, command):
    ran = without_secret_key(tmp_path, *command)
    assert ran.returncode != 0
    assert "Set SECRET_KEY (or DEBUG=1 for local development)." in ran.stderr
