"""Client credentials: the local admin token, and tokens remembered per Manager (file and keyring)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from app.common.credentials import (
    ADMIN_TOKEN_FILENAME,
    KEYRING_SERVICE,
    SUBMIT_KEYRING_SERVICE,
    TokenStore,
    default_keyring,
    manager_key,
    read_local_admin_token,
    submit_token_store,
)


class FakeKeyring:
    """The three calls of a `keyring` backend, in a dict."""

    def __init__(self, broken: bool = False):
        self.items: dict[tuple[str, str], str] = {}
        self.broken = broken

    def get_password(self, service: str, username: str) -> str | None:
        if self.broken:
            raise RuntimeError("keyring locked")
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.broken:
            raise RuntimeError("keyring locked")
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.items:
            raise KeyError(username)
        del self.items[(service, username)]


def test_reads_the_local_managers_admin_token(tmp_path: Path):
    assert read_local_admin_token(tmp_path) is None
    (tmp_path / ADMIN_TOKEN_FILENAME).write_text("abc123\n")
    assert read_local_admin_token(tmp_path) == "abc123"


def test_default_config_folder_follows_tablao_home(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TABLAO_HOME", str(tmp_path))
    (tmp_path / ADMIN_TOKEN_FILENAME).write_text("xyz")
    assert read_local_admin_token() == "xyz"


@pytest.mark.parametrize("url, key", [
    ("http://Farm.local:8080/", "http://farm.local:8080"),
    ("http://farm.local:8080/api/v3", "http://farm.local:8080"),
    ("farm.local:8080", "http://farm.local:8080"),
    ("http://farm.local", "http://farm.local:80"),
    ("https://farm.local", "https://farm.local:443"),
])
def test_tokens_are_kept_per_scheme_host_and_port(url, key):
    assert manager_key(url) == key


def test_file_fallback_remembers_recalls_and_forgets(tmp_path: Path):
    store = TokenStore(tmp_path / "tokens.json", keyring=None)
    assert not store.uses_keyring
    assert store.recall("http://farm:8080") is None
    store.remember("http://farm:8080/", "t1")
    store.remember("http://other:8080", "t2")
    assert store.recall("http://FARM:8080") == "t1"
    assert json.loads((tmp_path / "tokens.json").read_text()) == {
        "http://farm:8080": "t1", "http://other:8080": "t2"}
    store.forget("http://farm:8080")
    assert store.recall("http://farm:8080") is None
    assert store.recall("http://other:8080") == "t2"
    store.forget("http://never-seen:1")  # nothing to forget is fine


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_token_file_is_readable_by_its_user_only(tmp_path: Path):
    store = TokenStore(tmp_path / "sub" / "tokens.json", keyring=None)
    store.remember("http://farm:8080", "t1")
    assert stat.S_IMODE((tmp_path / "sub" / "tokens.json").stat().st_mode) == 0o600


def test_a_damaged_token_file_is_ignored(tmp_path: Path):
    (tmp_path / "tokens.json").write_text("{not json")
    store = TokenStore(tmp_path / "tokens.json", keyring=None)
    assert store.recall("http://farm:8080") is None
    store.remember("http://farm:8080", "t1")
    assert store.recall("http://farm:8080") == "t1"


def test_keyring_is_used_when_there_is_one(tmp_path: Path):
    ring = FakeKeyring()
    store = TokenStore(tmp_path / "tokens.json", keyring=ring)
    assert store.uses_keyring
    store.remember("http://farm:8080", "t1")
    assert ring.items == {(KEYRING_SERVICE, "http://farm:8080"): "t1"}
    assert not (tmp_path / "tokens.json").exists()  # never written to disk in clear
    assert store.recall("http://farm:8080") == "t1"
    store.forget("http://farm:8080")
    assert ring.items == {} and store.recall("http://farm:8080") is None


def test_submit_tokens_are_kept_apart_from_admin_tokens(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TABLAO_HOME", str(tmp_path))
    ring = FakeKeyring()
    TokenStore(keyring=ring).remember("http://farm:8080", "admin")
    submit_token_store(keyring=ring).remember("http://farm:8080", "artist")
    assert ring.items == {(KEYRING_SERVICE, "http://farm:8080"): "admin",
                          (SUBMIT_KEYRING_SERVICE, "http://farm:8080"): "artist"}
    files = submit_token_store(keyring=None)
    files.remember("http://farm:8080", "artist")
    assert files.path == tmp_path / "manager-submit-tokens.json" and stat.S_IMODE(files.path.stat().st_mode) == 0o600
    assert TokenStore(keyring=None).recall("http://farm:8080") is None, "never read as an admin token"
    assert submit_token_store(keyring=None).recall("http://farm:8080") == "artist"


def test_remembering_in_the_keyring_drops_an_older_file_copy(tmp_path: Path):
    TokenStore(tmp_path / "tokens.json", keyring=None).remember("http://farm:8080", "old")
    store = TokenStore(tmp_path / "tokens.json", keyring=FakeKeyring())
    store.remember("http://farm:8080", "new")
    assert json.loads((tmp_path / "tokens.json").read_text()) == {}
    assert store.recall("http://farm:8080") == "new"


def test_a_broken_keyring_falls_back_to_the_file(tmp_path: Path):
    store = TokenStore(tmp_path / "tokens.json", keyring=FakeKeyring(broken=True))
    store.remember("http://farm:8080", "t1")
    assert store.recall("http://farm:8080") == "t1"
    assert "t1" in (tmp_path / "tokens.json").read_text()


def test_no_keyring_package_means_no_keyring(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_keyring(name, *args, **kwargs):
        if name == "keyring":
            raise ImportError("no keyring here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_keyring)
    assert default_keyring() is None


def test_a_keyring_without_a_usable_backend_is_not_used(monkeypatch):
    import sys
    import types

    fail_backend = types.SimpleNamespace(priority=0)
    good_backend = types.SimpleNamespace(priority=5)
    fake = types.ModuleType("keyring")
    fake.get_keyring = lambda: fail_backend  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    assert default_keyring() is None
    fake.get_keyring = lambda: good_backend  # type: ignore[attr-defined]
    assert default_keyring() is good_backend
