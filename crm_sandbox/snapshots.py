"""Snapshots of the whole organization, so a test suite gets a clean CRM per test in milliseconds.

Seeding an organization and starting a server take seconds; a test suite that wants a clean CRM
for each test starts one server, saves the states it needs once (seeded, integration ready…) and
restores one before each test. Restoring copies the saved SQLite file back with SQLite's online
backup (the open connections see the restored pages at their next read), then rebuilds what the
server keeps in memory from the database: entities installed by solution imports, option values,
cached identities, and the simulated conditions (latency, throttle, faults, token lifetime, the next N
requests answered by a dropped connection), which
a restore may change so that one server serves the tests of every condition. ``/_sandbox/clock``
moves the server's clock forward, so a test of Retry-After or token expiry waits for nothing.

This is not part of Dataverse: it exists only on a server started with ``serve --test-control``,
under ``/_sandbox/``, and every call must carry the key the server wrote to ``test-control.key``
in its data directory. Requests are held while a restore runs, and a restore waits for the
requests in flight.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from django.db import connections

from crm_sandbox import auth, customizations, metadata, models, option_sets, runtime, store

CONTROL_PREFIX = "/_sandbox/"
KEY_FILE = "test-control.key"
KEY_HEADER = "HTTP_X_SANDBOX_CONTROL_KEY"
SNAPSHOT_NAME = re.compile(r"[a-z0-9_-]{1,40}")
# A request still running after this long while a restore waits is left to finish on its own.
DRAIN_SECONDS = 30.0


@dataclass(frozen=True)
class _Registry:
    """What the server holds in memory about its entities before any solution or option value."""

    entities: tuple
    by_logical_name: dict
    by_set_name: dict
    entity_models: dict
    options: tuple  # (attribute, its options dict)

    @classmethod
    def capture(cls) -> _Registry:
        return cls(
            entities=metadata.ENTITIES,
            by_logical_name=dict(metadata.BY_LOGICAL_NAME),
            by_set_name=dict(metadata.BY_SET_NAME),
            entity_models=dict(models.ENTITY_MODELS),
            options=tuple(
                (attribute, attribute.options) for entity in metadata.ENTITIES for attribute in entity.attributes
            ),
        )

    def reinstate(self) -> None:
        metadata.ENTITIES = self.entities
        for live, kept in (
            (metadata.BY_LOGICAL_NAME, self.by_logical_name),
            (metadata.BY_SET_NAME, self.by_set_name),
            (models.ENTITY_MODELS, self.entity_models),
        ):
            live.clear()
            live.update(kept)
        for attribute, options in self.options:
            object.__setattr__(attribute, "options", options)  # attributes are frozen dataclasses


class _Gate:
    """Many requests at a time, or one restore alone."""

    def __init__(self):
        self._condition = threading.Condition()
        self._running = 0
        self._restoring = False

    @contextmanager
    def request(self):
        with self._condition:
            self._condition.wait_for(lambda: not self._restoring)
            self._running += 1
        try:
            yield
        finally:
            with self._condition:
                self._running -= 1
                self._condition.notify_all()

    @contextmanager
    def alone(self):
        with self._condition:
            self._condition.wait_for(lambda: not self._restoring)
            self._restoring = True
            self._condition.wait_for(lambda: self._running == 0, timeout=DRAIN_SECONDS)
        try:
            yield
        finally:
            with self._condition:
                self._restoring = False
                self._condition.notify_all()


class SnapshotControl:
    """WSGI middleware: answers ``/_sandbox/`` calls and lets every other request through the gate."""

    def __init__(self, app, *, data_dir: Path):
        self.app = app
        self.data_dir = data_dir
        self.key = secrets.token_urlsafe(24)
        key_path = data_dir / KEY_FILE
        key_path.write_text(self.key)
        key_path.chmod(0o600)
        self.gate = _Gate()
        # Taken when the server starts, before solutions and option values are loaded.
        self.registry: _Registry | None = None

    def capture_registry(self) -> None:
        self.registry = _Registry.capture()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(CONTROL_PREFIX):
            with self.gate.request():
                # Django builds the whole (non-streaming) answer inside the call.
                return self.app(environ, start_response)
        status, body = self._control(environ, path.removeprefix(CONTROL_PREFIX))
        payload = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]

    def _control(self, environ, route: str) -> tuple[str, dict]:
        if environ.get("REQUEST_METHOD") != "POST":
            return "405 Method Not Allowed", {"error": "POST only."}
        if not hmac.compare_digest(environ.get(KEY_HEADER, "").encode(), self.key.encode()):
            return "403 Forbidden", {"error": f"Send the key from {KEY_FILE} in X-Sandbox-Control-Key."}
        try:
            body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) or b"{}")
        except ValueError:
            return "400 Bad Request", {"error": "The body must be JSON."}
        parts = route.strip("/").split("/")
        if parts == ["clock"]:
            return self._advance_clock(body)
        if len(parts) not in (2, 3) or parts[0] != "snapshots" or not SNAPSHOT_NAME.fullmatch(parts[1]):
            return "404 Not Found", {
                "error": "Use /_sandbox/snapshots/NAME, /_sandbox/snapshots/NAME/restore or /_sandbox/clock."
            }
        name = parts[1]
        started = time.perf_counter()
        with self.gate.alone():
            if len(parts) == 2:
                self._save(name)
            else:
                if not self._path(name).exists():
                    return "404 Not Found", {"error": f"No snapshot named {name}."}
                try:
                    conditions = _conditions(body.get("conditions") or {})
                except (TypeError, ValueError) as error:
                    return "400 Bad Request", {"error": str(error)}
                self._restore(name, conditions)
        return "200 OK", {"snapshot": name, "milliseconds": round((time.perf_counter() - started) * 1000, 1)}

    def _advance_clock(self, body: dict) -> tuple[str, dict]:
        """Moves the server's clock forward, as if ``advance`` seconds had passed: throttling windows and token
        lifetimes (a test's client waits on a clock of its own that calls this instead of sleeping)."""
        try:
            seconds = float(body["advance"])
        except (KeyError, TypeError, ValueError):
            return "400 Bad Request", {"error": 'Send {"advance": SECONDS}.'}
        if seconds < 0:
            return "400 Bad Request", {"error": "The clock only moves forward."}
        runtime.advance_clock(seconds)
        return "200 OK", {"advanced": seconds}

    def _path(self, name: str) -> Path:
        return self.data_dir / f"snapshot-{name}.sqlite3"

    def _database(self) -> str:
        return connections[store.DB].settings_dict["NAME"]

    def _save(self, name: str) -> None:
        with sqlite3.connect(self._database()) as live, sqlite3.connect(self._path(name)) as copy:
            live.backup(copy)
        live.close()
        copy.close()

    def _restore(self, name: str, conditions: runtime.ServerOptions) -> None:
        # Tokens are the identity provider's, not the organization's: clients keep theirs.
        tokens = list(models.AccessToken.objects.using(store.DB).values())
        connections[store.DB].close()
        with sqlite3.connect(self._path(name)) as copy, sqlite3.connect(self._database()) as live:
            copy.backup(live)
        copy.close()
        live.close()
        models.AccessToken.objects.using(store.DB).bulk_create(
            [models.AccessToken(**token) for token in tokens], ignore_conflicts=True
        )
        if self.registry is not None:
            self.registry.reinstate()
        customizations.load_installed()
        option_sets.load_stored()
        auth.forget_cached_identities()
        runtime.configure(conditions)
        runtime.clock_advanced = 0.0  # a new organization, on the real time again


def _conditions(given: dict) -> runtime.ServerOptions:
    """The server's options with the simulated conditions a restore asks for (none: no latency, throttle…)."""
    unknown = set(given) - {"latency_ms", "throttle", "fault_rate", "token_lifetime", "drop_next"}
    if unknown:
        raise ValueError(f"Unknown conditions: {', '.join(sorted(unknown))}.")
    latency_ms = int(given.get("latency_ms") or 0)
    fault_rate = float(given.get("fault_rate") or 0.0)
    token_lifetime = int(given.get("token_lifetime") or runtime.DEFAULT_TOKEN_LIFETIME)
    drop_next = int(given.get("drop_next") or 0)
    if latency_ms < 0 or not 0 <= fault_rate <= 1 or token_lifetime < 1 or drop_next < 0:
        raise ValueError("latency_ms must be >= 0, fault_rate between 0 and 1, token_lifetime >= 1, drop_next >= 0.")
    throttle = runtime.Throttle.parse(given["throttle"]) if given.get("throttle") else None
    return replace(
        runtime.options,
        latency_ms=latency_ms,
        throttle=throttle,
        fault_rate=fault_rate,
        token_lifetime=token_lifetime,
        drop_next=drop_next,
    )
