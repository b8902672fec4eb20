"""The sandbox's identity provider: app registrations, user passwords, opaque bearer tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password

from crm_sandbox import metadata, runtime, store
from crm_sandbox.models import AccessToken, AppRegistration, SystemUserRoles, UserCredential, model_for

# Microsoft's public client id used by Dataverse samples for the password grant.
DATAVERSE_SAMPLE_CLIENT_ID = uuid.UUID("51f81489-12ee-4a9e-aaae-a2591f45987d")
# Validated tokens are remembered this long, so the hot path runs no authentication query.
IDENTITY_CACHE_SECONDS = 30.0
# Touched by ``crm_sandbox reset`` (another process): cached identities from before it are void.
RESET_STAMP_FILE = "reset.stamp"


@dataclass(frozen=True)
class Identity:
    systemuserid: uuid.UUID
    businessunitid: uuid.UUID | None
    role_names: frozenset[str]
    is_disabled: bool

    def caller(self) -> store.Caller:
        return store.Caller(systemuserid=self.systemuserid, businessunitid=self.businessunitid)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def app_registration_create(*, name: str, systemuserid: uuid.UUID, client_id: uuid.UUID, secret: str) -> None:
    AppRegistration.objects.using(store.DB).update_or_create(
        client_id=client_id,
        defaults={"name": name, "systemuserid": systemuserid, "secret_hash": make_password(secret)},
    )


def user_password_set(*, systemuserid: uuid.UUID, username: str, password: str) -> None:
    UserCredential.objects.using(store.DB).update_or_create(
        systemuserid=systemuserid, defaults={"username": username.lower(), "password_hash": make_password(password)}
    )


def app_registration_find(client_id: str) -> AppRegistration | None:
    try:
        parsed = uuid.UUID(client_id)
    except (ValueError, TypeError):
        return None
    return AppRegistration.objects.using(store.DB).filter(client_id=parsed).first()


# Secrets and passwords already verified against their stored hash, by (hash, SHA-256 of the
# secret): a client asks for a token per job, an administrator's tool per sign-in, and PBKDF2 is
# deliberately slow (a quarter second per check). A changed secret or password has a new hash, so
# nothing stale can match.
_VERIFIED_SECRETS: set[tuple[str, str]] = set()


def _secret_matches(secret: str, stored_hash: str) -> bool:
    seen = (stored_hash, hashlib.sha256(secret.encode()).hexdigest())
    if seen in _VERIFIED_SECRETS:
        return True
    if not check_password(secret, stored_hash):
        return False
    _VERIFIED_SECRETS.add(seen)
    return True


def app_secret_matches(app: AppRegistration, secret: str) -> bool:
    return _secret_matches(secret, app.secret_hash)


def user_authenticate(*, username: str, password: str) -> tuple[uuid.UUID | None, bool]:
    """Returns (systemuserid or None, whether the user exists)."""
    credential = UserCredential.objects.using(store.DB).filter(username=username.lower()).first()
    if credential is None:
        return None, False
    return (credential.systemuserid if _secret_matches(password, credential.password_hash) else None), True


def token_issue(*, systemuserid: uuid.UUID, client_id: str, lifetime: int) -> str:
    token = secrets.token_urlsafe(48)
    AccessToken.objects.using(store.DB).create(
        token_hash=_digest(token),
        systemuserid=systemuserid,
        client_id=client_id,
        expires_on=runtime.now() + dt.timedelta(seconds=lifetime),
    )
    return token


@dataclass(frozen=True)
class _CachedIdentity:
    identity: Identity
    token_expires_on: dt.datetime
    cached_until: float
    reset_stamp: int


_identity_cache: dict[str, _CachedIdentity] = {}
_identity_cache_lock = threading.Lock()


def identity_for_token(token: str) -> Identity | None:
    """The user a bearer token belongs to, or None when it is unknown or expired.

    Answers from process memory for ``IDENTITY_CACHE_SECONDS`` after a token was validated; the
    token's own expiry still applies to cached entries."""
    digest = _digest(token)
    with _identity_cache_lock:
        cached = _identity_cache.get(digest)
    stamp = _reset_stamp()
    if (
        cached is not None
        and time.monotonic() < cached.cached_until
        and runtime.now() < cached.token_expires_on
        and cached.reset_stamp == stamp
    ):
        return cached.identity
    record = AccessToken.objects.using(store.DB).filter(token_hash=digest, expires_on__gt=runtime.now())
    record = record.values("systemuserid", "expires_on").first()
    if record is None:
        return None
    identity = identity_for_user(record["systemuserid"])
    if identity is not None:
        entry = _CachedIdentity(identity, record["expires_on"], time.monotonic() + IDENTITY_CACHE_SECONDS, stamp)
        with _identity_cache_lock:
            _identity_cache[digest] = entry
    return identity


def _reset_stamp_path() -> str:
    return os.path.join(settings.CRM_SANDBOX_DATA_DIR, RESET_STAMP_FILE)


def _reset_stamp() -> int:
    try:
        return os.stat(_reset_stamp_path()).st_mtime_ns
    except FileNotFoundError:
        return 0


def mark_reset() -> None:
    """Tells running servers (other processes) that every token they validated is void."""
    os.makedirs(settings.CRM_SANDBOX_DATA_DIR, exist_ok=True)
    with open(_reset_stamp_path(), "w") as stamp:
        stamp.write(str(time.time_ns()))
    forget_cached_identities()


def forget_cached_identities() -> None:
    """Drops every cached identity (after a change to users or their roles)."""
    with _identity_cache_lock:
        _identity_cache.clear()


def identity_for_user(systemuserid: uuid.UUID) -> Identity | None:
    user = (
        model_for(metadata.SYSTEMUSER)
        .objects.using(store.DB)
        .filter(systemuserid=systemuserid)
        .values("businessunitid", "isdisabled")
        .first()
    )
    if user is None:
        return None
    role_ids = SystemUserRoles.objects.using(store.DB).filter(systemuserid=systemuserid).values("roleid")
    names = model_for(metadata.ROLE).objects.using(store.DB).filter(roleid__in=role_ids).values_list("name", flat=True)
    return Identity(
        systemuserid=systemuserid,
        businessunitid=user["businessunitid"],
        role_names=frozenset(names),
        is_disabled=bool(user["isdisabled"]),
    )


def tokens_purge_expired() -> int:
    forget_cached_identities()
    return AccessToken.objects.using(store.DB).filter(expires_on__lte=runtime.now()).delete()[0]
