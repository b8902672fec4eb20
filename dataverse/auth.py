"""OAuth 2 tokens for the Dataverse Web API through msal.

The client calls `configure()` once (resource URL, TLS verification, timeout) and then `token()`
before each request, and `token(force_refresh=True)` once after a 401. Tokens are cached and
renewed shortly before they expire. Secrets and passwords stay inside these objects: they are
never logged and never shown by repr().
"""

from __future__ import annotations

import threading
import time
import warnings
from typing import Any, Protocol
from urllib.parse import urlsplit

import msal
import requests

from .errors import AuthenticationFailed, TransportError

ENTRA_HOSTS = frozenset({"login.microsoftonline.com"})
# Renew this long before expiry, but never more than a tenth of the token's lifetime.
MAX_REFRESH_MARGIN_SECONDS = 300.0


class TokenProvider(Protocol):
    def configure(self, *, resource: str, verify: bool | str, timeout: float) -> None: ...

    def token(self, *, force_refresh: bool = False) -> str: ...


class _VerifyingSession(requests.Session):
    """The HTTP client given to msal: always verifies with our CA bundle and always has a timeout.

    (msal's own `verify=` sets Session.verify, which requests lets REQUESTS_CA_BUNDLE override.)
    """

    def __init__(self, verify: bool | str, timeout: float):
        super().__init__()
        self._forced_verify = verify
        self._timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        # Takes whatever Session.request takes (msal passes keywords); verify is always ours.
        kwargs["verify"] = self._forced_verify
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


class _MsalAuth:
    """Shared machinery: one msal application per object, one cached access token, a lock."""

    def __init__(self, authority: str, client_id: str):
        if not authority.startswith("https://"):
            raise ValueError(f"authority must be an https URL, got {authority!r}")
        self.authority = authority.rstrip("/")
        self.client_id = client_id
        self.tokens_acquired = 0  # tokens issued by the identity provider (not cache hits)
        self._resource: str | None = None
        self._verify: bool | str = True
        self._timeout = 30.0
        self._app: Any = None
        self._access_token: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(authority={self.authority!r}, client_id={self.client_id!r})"

    @property
    def instance_discovery(self) -> bool:
        return (urlsplit(self.authority).hostname or "").lower() in ENTRA_HOSTS

    @property
    def scopes(self) -> list[str]:
        if self._resource is None:
            raise RuntimeError("the auth object is not configured; pass it to dataverse.Client")
        return [f"{self._resource}/.default"]

    def configure(self, *, resource: str, verify: bool | str, timeout: float) -> None:
        resource = resource.rstrip("/")
        with self._lock:
            if self._resource is not None and (self._resource, self._verify) != (resource, verify):
                raise ValueError("this auth object is already used for another organization; create a new one")
            self._resource, self._verify, self._timeout = resource, verify, timeout

    def token(self, *, force_refresh: bool = False) -> str:
        with self._lock:
            now = time.monotonic()
            if not force_refresh and self._access_token and now < self._renew_at:
                return self._access_token
            result = self._call_msal(force_refresh=force_refresh)
            if "access_token" not in result:
                raise AuthenticationFailed(
                    401, result.get("error") or "token_error", result.get("error_description") or str(result)
                )
            if result.get("token_source") != "cache":
                self.tokens_acquired += 1
            lifetime = float(result.get("expires_in") or 0)
            self._access_token = result["access_token"]
            self._renew_at = now + lifetime - min(MAX_REFRESH_MARGIN_SECONDS, lifetime / 10)
            return self._access_token

    def _call_msal(self, *, force_refresh: bool) -> dict[str, Any]:
        try:
            if self._app is None:
                self._app = self._build_app(
                    authority=self.authority,
                    instance_discovery=self.instance_discovery,
                    http_client=_VerifyingSession(self._verify, self._timeout),
                )
            return self._acquire(self._app, force_refresh=force_refresh)
        except requests.exceptions.SSLError as exc:
            raise TransportError(f"TLS verification failed for the authority {self.authority}: {exc}") from exc
        except requests.exceptions.RequestException as exc:
            raise TransportError(f"cannot reach the authority {self.authority}: {exc}") from exc
        except ValueError as exc:  # msal reports an unusable authority (discovery failed) as ValueError
            raise AuthenticationFailed(401, "authority_error", str(exc)) from exc

    def _build_app(self, **options: Any) -> Any:
        raise NotImplementedError

    def _acquire(self, app: Any, *, force_refresh: bool) -> dict[str, Any]:
        raise NotImplementedError


class _ClientCredentialsAuth(_MsalAuth):
    def _acquire(self, app: Any, *, force_refresh: bool) -> dict[str, Any]:
        if force_refresh:
            # msal serves a cached token until 5 minutes before expiry; after a 401 that token is useless.
            app.remove_tokens_for_client()
        result: dict[str, Any] = app.acquire_token_for_client(scopes=self.scopes)
        return result


class ClientSecretAuth(_ClientCredentialsAuth):
    """Client credentials grant with a client secret (an Entra app registration + application user)."""

    def __init__(self, authority: str, client_id: str, client_secret: str):
        super().__init__(authority, client_id)
        self.__client_secret = client_secret

    def _build_app(self, **options: Any) -> Any:
        return msal.ConfidentialClientApplication(self.client_id, client_credential=self.__client_secret, **options)


class CertificateAuth(_ClientCredentialsAuth):
    """Client credentials grant with a certificate: PEM private key and the certificate's SHA-1 thumbprint."""

    def __init__(self, authority: str, client_id: str, private_key_pem: str | bytes, thumbprint: str):
        super().__init__(authority, client_id)
        if isinstance(private_key_pem, bytes):
            private_key_pem = private_key_pem.decode("ascii")
        self.__credential = {"private_key": private_key_pem, "thumbprint": thumbprint.replace(":", "")}

    def _build_app(self, **options: Any) -> Any:
        return msal.ConfidentialClientApplication(self.client_id, client_credential=dict(self.__credential), **options)


class UsernamePasswordAuth(_MsalAuth):
    """Resource owner password grant, used once by the setup to act as a CRM administrator."""

    def __init__(self, authority: str, client_id: str, username: str, password: str):
        super().__init__(authority, client_id)
        self.username = username
        self.__password = password

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, username={self.username!r})"

    def _build_app(self, **options: Any) -> Any:
        app = msal.PublicClientApplication(self.client_id, **options)
        if not self.instance_discovery:
            # User realm discovery (is this user federated?) exists only on Entra ID; msal would ask
            # https://<host>/common/userrealm/… on port 443 of any other authority.
            type(app.authority)._domains_without_user_realm_discovery.add(app.authority.instance)
        return app

    def _acquire(self, app: Any, *, force_refresh: bool) -> dict[str, Any]:
        if not force_refresh:
            for account in app.get_accounts(username=self.username):
                cached: dict[str, Any] | None = app.acquire_token_silent(self.scopes, account=account)
                if cached and "access_token" in cached:
                    return cached
        with warnings.catch_warnings():
            # msal deprecates this grant for public clients; the setup uses it once, on purpose.
            warnings.simplefilter("ignore", DeprecationWarning)
            result: dict[str, Any] = app.acquire_token_by_username_password(
                self.username, self.__password, scopes=self.scopes
            )
            return result
