"""Optional per-organization rate limit (`API_RATE_LIMIT`, e.g. `600/min`; off when empty).

Over the limit -> 429 CRM-0906 with `Retry-After`, counted in `crm_rate_limit_refusals_total`.
Counters live in Django's cache: the default local-memory cache counts per process (N workers
allow about N x the rate); point `CACHE_URL` at a shared cache (Redis, database) for an exact
limit across workers.

The count is per organization, not per address. Should a throttle key on the client's address
(DRF's `get_ident`), it gets ours (crm/access/client_address.py: `TRUSTED_PROXIES` only), never
DRF's own reading of `X-Forwarded-For`, which believes any client unless `NUM_PROXIES` is set.
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from crm.access.client_address import client_address
from crm.observability import metrics


class OrganizationRateThrottle(SimpleRateThrottle):
    scope = "organization"

    def get_rate(self) -> str | None:
        return settings.API_RATE_LIMIT or None

    def allow_request(self, request, view) -> bool:
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        allowed = super().allow_request(request, view)
        if not allowed:
            metrics.rate_limit_refused(self.scope)
        return allowed

    def get_cache_key(self, request, view) -> str | None:
        organization_id = getattr(request, "organization_id", None)
        if organization_id is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": str(organization_id)}

    def get_ident(self, request) -> str:
        return client_address(request) or "-"
