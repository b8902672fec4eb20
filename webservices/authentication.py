"""Who calls the OData service: a web service access key only (HTTP Basic user + key, or the AccessKey header).

Every refusal — no header, malformed header, unknown user, wrong, expired or inactive key — is one
and the same 401, so that an answer never tells which part was wrong.
"""

from __future__ import annotations

from rest_framework import exceptions

from setup_wizard.authentication import AccessKeyBasicAuthentication, AccessKeyHeaderAuthentication
from webservices.odata import ODataError

REALM = AccessKeyBasicAuthentication.www_authenticate_realm
UNAUTHORIZED_MESSAGE = (
    "Authenticate with a user name and that user's web service access key: HTTP Basic, "
    "or Authorization: AccessKey <user name>:<key>."
)
_AUTHENTICATORS = (AccessKeyBasicAuthentication(), AccessKeyHeaderAuthentication())


def unauthorized() -> ODataError:
    return ODataError(401, "Unauthorized", UNAUTHORIZED_MESSAGE, headers={"WWW-Authenticate": f'Basic realm="{REALM}"'})


def access_key_user(request):
    """The user whose access key the request carries; the single 401 otherwise."""
    for authenticator in _AUTHENTICATORS:
        try:
            result = authenticator.authenticate(request)
        except exceptions.AuthenticationFailed:
            raise unauthorized() from None
        if result is not None:
            return result[0]
    raise unauthorized()
