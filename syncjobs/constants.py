"""What the integration expects to find in the CRM; the integration solution package creates it."""

INTEGRATION_SOLUTION_NAME = "NavCrmIntegration"
INTEGRATION_SOLUTION_VERSION = "1.1.0.0"
INTEGRATION_ADMINISTRATOR_ROLE = "Integration administrator"
INTEGRATION_USER_ROLE = "Integration user"
INTEGRATION_ROLES = (INTEGRATION_ADMINISTRATOR_ROLE, INTEGRATION_USER_ROLE)
# The integration user must not be an administrator: the setup checks it, as the reference product does.
SYSTEM_ADMINISTRATOR_ROLE = "System Administrator"
