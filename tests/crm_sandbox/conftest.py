import uuid

import pytest


@pytest.fixture
def admin_api(crm_sandbox):
    """A session on the test's organization as the administrator (System Administrator role)."""
    return crm_sandbox.session(crm_sandbox.admin_token())


@pytest.fixture
def unique():
    return uuid.uuid4().hex[:10]
