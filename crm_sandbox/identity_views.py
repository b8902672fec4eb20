"""An Entra ID v2 look-alike: OpenID configuration, token endpoint, user realm discovery.

Covers what MSAL and azure-identity call for the client-credentials and password grants
(with instance discovery turned off), and answers errors with Entra's JSON shape.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from urllib.parse import urlsplit

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from crm_sandbox import auth, runtime, webapi


def _org_url(request) -> str:
    return runtime.options.public_url.rstrip("/") or request.build_absolute_uri("/").rstrip("/")


def _known_tenant(tenant: str) -> bool:
    return tenant.lower() in {"common", "organizations", webapi.tenant_id().lower()}


def entra_error(error: str, code: int, description: str, status: int = 400) -> JsonResponse:
    now = dt.datetime.now(dt.UTC)
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    return JsonResponse(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} "
            f"Timestamp: {stamp}",
            "error_codes": [code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"{_error_host()}/error?code={code}",
        },
        status=status,
    )


def _error_host() -> str:
    return runtime.options.public_url.rstrip("/")


@require_GET
def openid_configuration(request, tenant: str) -> HttpResponse:
    if not _known_tenant(tenant):
        return entra_error(
            "invalid_tenant", 90002, f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID."
        )
    base = _org_url(request)
    tenant_id = webapi.tenant_id()
    return JsonResponse(
        {
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{tenant_id}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "name", "oid", "tid"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }
    )


@require_GET
def user_realm(request, username: str) -> HttpResponse:
    domain = username.rpartition("@")[2] or "sandbox.local"
    return JsonResponse(
        {
            "ver": "1.0",
            "account_type": "Managed",
            "domain_name": domain,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        }
    )


def _resource_of(scope: str) -> str | None:
    for item in scope.split():
        if "://" in item:
            parts = urlsplit(item)
            return f"{parts.scheme}://{parts.netloc}".lower()
    return None


def _audience_matches(request, resource: str) -> bool:
    org = urlsplit(_org_url(request))
    candidate = urlsplit(resource)
    loopback = {"127.0.0.1", "localhost", "::1", "[::1]"}
    same_host = candidate.hostname == org.hostname or {candidate.hostname, org.hostname} <= loopback
    return candidate.scheme == org.scheme and same_host and candidate.port == org.port


@csrf_exempt
def token(request, tenant: str) -> HttpResponse:
    if request.method != "POST":
        return entra_error(
            "invalid_request", 900561, "The endpoint only accepts POST, OPTIONS requests. Received a GET request."
        )
    if not _known_tenant(tenant):
        return entra_error(
            "invalid_request", 90002, f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID."
        )
    form = request.POST
    client_id, client_secret = form.get("client_id", ""), form.get("client_secret")
    basic = request.headers.get("Authorization", "")
    if basic.lower().startswith("basic "):
        client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
    grant_type = form.get("grant_type")
    for name, value in (("grant_type", grant_type), ("client_id", client_id), ("scope", form.get("scope"))):
        if not value:
            return entra_error(
                "invalid_request", 900144, f"The request body must contain the following parameter: '{name}'."
            )
    if grant_type not in {"client_credentials", "password"}:
        return entra_error("unsupported_grant_type", 70003, "The app requested an unsupported grant type.", status=400)
    scope = form["scope"]
    resource = _resource_of(scope)
    if resource is None or not _audience_matches(request, resource):
        return entra_error(
            "invalid_resource",
            500011,
            f"The resource principal named {resource or scope} was not found in the tenant named {tenant}. This can "
            "happen if the application has not been installed by the administrator of the tenant.",
        )
    if grant_type == "client_credentials":
        return _client_credentials(client_id, client_secret, scope)
    return _password_grant(client_id, client_secret, form.get("username"), form.get("password"), scope)


def _token_body(token_value: str, scope: str | None = None) -> JsonResponse:
    lifetime = runtime.options.token_lifetime
    body = {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token_value}
    if scope:
        body["scope"] = scope
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store, no-cache"
    return response


def _client_credentials(client_id: str, client_secret: str | None, scope: str) -> HttpResponse:
    if not any(item.endswith("/.default") for item in scope.split()):
        return entra_error(
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must have a scope value "
            "with /.default suffixed to the resource identifier (application ID URI).",
        )
    app = auth.app_registration_find(client_id)
    if app is None:
        return _unknown_client(client_id)
    if not client_secret:
        return entra_error(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            status=401,
        )
    if not auth.app_secret_matches(app, client_secret):
        return entra_error(
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "
            f"not the client secret ID, for a secret added to app '{client_id}'.",
            status=401,
        )
    return _token_body(auth.token_issue(systemuserid=app.systemuserid, client_id=client_id, lifetime=_lifetime()))


def _password_grant(client_id, client_secret, username, password, scope) -> HttpResponse:
    app = auth.app_registration_find(client_id)
    if app is None and client_id != str(auth.DATAVERSE_SAMPLE_CLIENT_ID):
        return _unknown_client(client_id)
    if app is not None and client_secret is not None and not auth.app_secret_matches(app, client_secret):
        return entra_error(
            "invalid_client", 7000215, f"Invalid client secret provided for app '{client_id}'.", status=401
        )
    if not username or not password:
        missing = "username" if not username else "password"
        return entra_error(
            "invalid_request", 900144, f"The request body must contain the following parameter: '{missing}'."
        )
    systemuserid, exists = auth.user_authenticate(username=username, password=password)
    if not exists:
        return entra_error(
            "invalid_grant",
            50034,
            "The user account {EUII Hidden} does not exist in the directory. To sign into this application, the "
            "account must be added to the directory.",
        )
    if systemuserid is None:
        return entra_error("invalid_grant", 50126, "Error validating credentials due to invalid username or password.")
    return _token_body(auth.token_issue(systemuserid=systemuserid, client_id=client_id, lifetime=_lifetime()), scope)


def _unknown_client(client_id: str) -> HttpResponse:
    return entra_error(
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory. This can happen if the "
        "application has not been installed by the administrator of the tenant or consented to by any user in the "
        "tenant. You may have sent your authentication request to the wrong tenant.",
    )


def _lifetime() -> int:
    return runtime.options.token_lifetime
