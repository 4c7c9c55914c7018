"""Shared fixtures: an API client bound to an organization, factories, a second organization
for tenant-isolation tests."""

import uuid

import pytest
from rest_framework.test import APIClient

ORG_A = uuid.UUID("0196a3f4-1c2b-7cde-8f00-00000000000a")
ORG_B = uuid.UUID("0196a3f4-1c2b-7cde-8f00-00000000000b")


class OrgClient(APIClient):
    """An APIClient that sends `X-Organization-Id` and JSON bodies by default."""

    def __init__(self, organization_id: uuid.UUID | None, **kwargs):
        super().__init__(**kwargs)
        self.organization_id = organization_id
        if organization_id is not None:
            self.credentials(HTTP_X_ORGANIZATION_ID=str(organization_id))

    def _json(self, method, path, data=None, **extra):
        if data is not None and not isinstance(data, str | bytes):
            extra.setdefault("format", "json")
        return getattr(super(), method)(path, data, **extra)

    def post(self, path, data=None, **extra):
        return self._json("post", path, data, **extra)

    def patch(self, path, data=None, **extra):
        return self._json("patch", path, data, **extra)


@pytest.fixture
def org_a() -> uuid.UUID:
    return ORG_A


@pytest.fixture
def org_b() -> uuid.UUID:
    return ORG_B


@pytest.fixture
def api(db) -> OrgClient:
    """Client for organization A."""
    return OrgClient(ORG_A)


@pytest.fixture
def api_b(db) -> OrgClient:
    """Client for organization B (tenant isolation)."""
    return OrgClient(ORG_B)


@pytest.fixture
def anonymous_api(db) -> OrgClient:
    """Client that sends no organization header."""
    return OrgClient(None)
