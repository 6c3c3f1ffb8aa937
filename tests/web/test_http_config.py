"""`[http]` mistakes an installer can make, each named by file and key, and the users file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edge.config import load
from edge.errors import ConfigError
from edge.web import sessions as sessions_module
from edge.web.sessions import Sessions
from edge.web.users import add_user, read_users, verify

BASE = """
[hall]
id = "h1"
[hall_broker]
url = "mqtt://127.0.0.1:1883"
[cloud]
url = "mqtt://127.0.0.1:1884"
"""


@pytest.mark.parametrize(
    ("table", "key", "expected"),
    [
        ('listen = "9580"', "http.listen", "host:port"),
        ('listen = "hub.local:9580"', "http.listen", "an IP address (or localhost)"),
        ('listen = "127.0.0.1:70000"', "http.listen", "a port number from 1 to 65535"),
        ("max_clients = 0", "http.max_clients", "at least 1"),
        ("session_hours = 0", "http.session_hours", "hours above 0"),
        ("login_attempts_per_min = 0", "http.login_attempts_per_min", "at least 1"),
        ('lisen = ""', "http.lisen", "only known keys"),
        ("console = 3", "http.console", "bool"),
    ],
)
def test_bad_http_keys_are_named(tmp_path: Path, table: str, key: str, expected: str) -> None:
    path = tmp_path / "hall.toml"
    path.write_text(BASE + "[http]\n" + table + "\n", "utf-8")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert info.value.key == key and expected in info.value.expected, str(info.value)
    assert str(path) in str(info.value)


def test_defaults_and_off(tmp_path: Path) -> None:
    path = tmp_path / "hall.toml"
    path.write_text(BASE, "utf-8")
    assert load(path).http.listen == "127.0.0.1:9580", "loopback unless the installer says"
    path.write_text(BASE + '[http]\nlisten = ""\n', "utf-8")
    assert load(path).http.listen == ""


def test_users_file_keeps_hashes_only(tmp_path: Path) -> None:
    users = tmp_path / "users"
    assert add_user(users, "ana", "first-password")
    assert not add_user(users, "ana", "second-password"), "a second add changes the password"
    text = users.read_text("utf-8")
    assert "password" not in text and "$argon2" in text
    digest = read_users(users)["ana"]
    assert verify(digest, "second-password") and not verify(digest, "first-password")
    with pytest.raises(ConfigError, match="at least 8"):
        add_user(users, "bob", "short")
    with pytest.raises(ConfigError, match="letters, digits"):
        add_user(users, "bad name", "long-enough-1")
    users.write_text("ana:plaintext\n", "utf-8")
    with pytest.raises(ConfigError) as info:
        read_users(users)
    assert info.value.key == "line 1"


def test_failed_logins_and_expired_sessions_do_not_pile_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sessions_module, "KEEP_KEYS", 4)
    monkeypatch.setattr(sessions_module, "WINDOW_S", 0.05)
    users = tmp_path / "users"
    add_user(users, "ana", "right-password")
    s = Sessions(users, hours=1e-6, attempts_per_min=5)  # a session lasts 3.6 ms

    async def scenario() -> None:
        assert await s.login("ana", "right-password", "10.0.0.1") is not None
        for i in range(6):  # a new name and address each time, as a guesser would
            assert await s.login(f"guess-{i}", "x", f"10.0.1.{i}") is None
            await asyncio.sleep(0.06)
        assert await s.login("ana", "right-password", "10.0.0.1") is not None

    asyncio.run(scenario())
    # Only the last guess's two keys are within the window when the bound is passed.
    assert len(s._failures) <= 4
    assert len(s._sessions) == 1, "the expired first session went at the second login"
    assert s.refused == 6
