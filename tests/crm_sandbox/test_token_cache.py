"""Validated bearer tokens are answered from memory, without authentication queries."""

import time
import uuid

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from crm_sandbox import auth, metadata, runtime, store
from crm_sandbox.models import model_for


@pytest.fixture
def user_token(db):
    user_id = uuid.uuid4()
    model_for(metadata.SYSTEMUSER).objects.using(store.DB).create(
        systemuserid=user_id, lastname="Cache", domainname="cache@sandbox.local", isdisabled=False
    )
    auth.forget_cached_identities()
    yield user_id, auth.token_issue(systemuserid=user_id, client_id="test", lifetime=60)
    auth.forget_cached_identities()


@pytest.mark.django_db(databases=["default", "crm_sandbox"])
def test_second_lookup_runs_no_query(user_token):
    user_id, token = user_token
    with CaptureQueriesContext(connections[store.DB]) as first:
        assert auth.identity_for_token(token).systemuserid == user_id
    assert len(first) >= 2
    with CaptureQueriesContext(connections[store.DB]) as second:
        assert auth.identity_for_token(token).systemuserid == user_id
    assert len(second) == 0


@pytest.mark.django_db(databases=["default", "crm_sandbox"])
def test_cached_identity_is_dropped_after_a_reset(user_token, settings, tmp_path):
    settings.CRM_SANDBOX_DATA_DIR = tmp_path
    _user_id, token = user_token
    assert auth.identity_for_token(token) is not None
    auth.AccessToken.objects.using(store.DB).all().delete()
    assert auth.identity_for_token(token) is not None  # still cached
    time.sleep(0.01)
    auth.mark_reset()
    assert auth.identity_for_token(token) is None


@pytest.mark.django_db(databases=["default", "crm_sandbox"])
def test_cached_identity_respects_the_token_expiry(db, monkeypatch):
    user_id = uuid.uuid4()
    model_for(metadata.SYSTEMUSER).objects.using(store.DB).create(
        systemuserid=user_id, lastname="Short", domainname="short@sandbox.local", isdisabled=False
    )
    token = auth.token_issue(systemuserid=user_id, client_id="test", lifetime=1)
    assert auth.identity_for_token(token) is not None
    monkeypatch.setattr(runtime, "clock_advanced", runtime.clock_advanced + 1.2)
    assert auth.identity_for_token(token) is None
