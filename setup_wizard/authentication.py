"""REST/OData authentication with a web service access key.

- HTTP Basic: `Authorization: Basic base64(<user name>:<access key>)`, as NAV's web services.
- Header alternative: `Authorization: AccessKey <user name>:<access key>`.

Every mismatch (unknown user, wrong key, expired key, inactive user) answers the same 401.
"""

from __future__ import annotations

from rest_framework import authentication, exceptions

from setup_wizard import selectors

INVALID_CREDENTIALS = "Invalid user name or web service access key."
ACCESS_KEY_SCHEME = "AccessKey"


def authenticate_access_key(username: str, key: str):
    """The user for a user name + access key pair; AuthenticationFailed otherwise (for DRF and OData views)."""
    user = selectors.access_key_user(username=username, key=key)
    if user is None:
        raise exceptions.AuthenticationFailed(INVALID_CREDENTIALS)
    return user


class AccessKeyBasicAuthentication(authentication.BasicAuthentication):
    """HTTP Basic where the password is the user's web service access key (not the login password)."""

    www_authenticate_realm = "nav_crm"

    def authenticate_credentials(self, userid, password, request=None):
        return authenticate_access_key(userid, password), None


class AccessKeyHeaderAuthentication(authentication.BaseAuthentication):
    """`Authorization: AccessKey <user name>:<access key>`."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != ACCESS_KEY_SCHEME.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(f"Use: Authorization: {ACCESS_KEY_SCHEME} <user name>:<key>.")
        try:
            username, separator, key = header[1].decode("utf-8").partition(":")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(INVALID_CREDENTIALS) from None
        if not separator:
            raise exceptions.AuthenticationFailed(f"Use: Authorization: {ACCESS_KEY_SCHEME} <user name>:<key>.")
        return authenticate_access_key(username, key), None

    def authenticate_header(self, request):
        return ACCESS_KEY_SCHEME
