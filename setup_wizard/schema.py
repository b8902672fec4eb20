"""How the API description (drf-spectacular) names the web service access key authentications."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AccessKeyBasicScheme(OpenApiAuthenticationExtension):
    target_class = "setup_wizard.authentication.AccessKeyBasicAuthentication"
    name = "accessKeyBasic"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "HTTP Basic with the user name and the user's web service access key (not the password).",
        }


class AccessKeyHeaderScheme(OpenApiAuthenticationExtension):
    target_class = "setup_wizard.authentication.AccessKeyHeaderAuthentication"
    name = "accessKeyHeader"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`AccessKey <user name>:<web service access key>`.",
        }
