"""`RegistryViewSet`, the base of every `/v1` view set (DRF generic views and mixins).

What a request goes through before a view set's action runs (docs/api.md §10 lists the order):
first the method: one the route does not serve is 405 CRM-0904 whatever else the request
carries (body, headers, credentials), then a body declared over the size limit is 413 CRM-0905.
Then DRF's hooks: authentication (`crm.access.auth`), the permission chain
`crm.api.tenancy.OrganizationHeader` (resolves `request.organization_id`),
`crm.api.tenancy.UUIDPathParameters` (`request.path_ids`), `crm.access.auth.HasResourcePermission`,
then throttling. Bodies are parsed by `crm.api.parsers.StrictJSONParser`; a write without a body
is CRM-0004 like invalid JSON.

A concrete view set declares its serializers, `filterset_class` (lists, run by
`crm.api.filters.RegistryFilterBackend`), `not_found_code` and `resource`, reads through its
app's selectors (`get_queryset`, `get_object`) and writes through its app's services in
`perform_create` / `perform_update` / `perform_destroy`. Its OpenAPI text is its app's
`schema.py`.

`POST`/`PATCH` with an `Idempotency-Key` run once per organization and key: the last step of
`initial()` claims the key (`crm.api.idempotency.IdempotentViewMixin`, which documents the rules).
Just before it, a `PATCH` or `DELETE` reads its `If-Match` (`crm.api.conditional`) into
`self.if_match`, which `perform_update` / `perform_destroy` hand to the service (compared with
the locked row: 412 CRM-0911); a malformed one is a 400 that burns no key. Every response
carrying a record sends its version as `ETag` (`CreateMixin`, `MergePatchMixin`, and the
retrieve of `crm.api.history.HistoryMixin`, which also serves the record's past).
"""

import uuid
from typing import Any

from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.conditional import IfMatch, parse_if_match, with_etag
from crm.api.errors import CRMError
from crm.api.idempotency import IdempotentViewMixin
from crm.api.parsers import refuse_declared_oversized_body
from crm.api.serializers import representation
from crm.lifecycle.audit import Actor, set_actor

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
CONDITIONAL_METHODS = frozenset({"PATCH", "DELETE"})  # the writes that honour If-Match


def query_flag(request: Request, name: str) -> bool:
    """A boolean query flag (`include_deleted`, `hard_delete`): only `true` (any case) is
    true, as in the reference."""
    return (request.query_params.get(name) or "").lower() == "true"


class RegistryViewSet(IdempotentViewMixin, viewsets.GenericViewSet):
    """Shared plumbing; the actions come from the mixins below."""

    resource: str = ""  # token permission resource: "holders" | "aliases"
    not_found_code: str = ""  # 404 code of this resource (also for other organizations)
    lookup_value_regex = "[^/]+"  # malformed ids reach UUIDPathParameters (400, not 404)
    input_serializer_classes: dict[str, type] = {}  # action -> strict input serializer
    if_match: IfMatch | None = None  # a PATCH's or DELETE's If-Match (`initial`)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # The method first (docs/api.md §3.1): DRF's `dispatch()` checks it only after all of
        # `initial()`, where a PUT without a body was a 400 CRM-0004, without an organization a
        # 400 CRM-0018, and with a large body a 413.
        if not self.serves(request.method):
            self.http_method_not_allowed(request)
        refuse_declared_oversized_body(request.META)
        super().initial(request, *args, **kwargs)
        set_actor(Actor.from_api_request(request))
        if request.method in BODY_METHODS and request.stream is None:  # DRF skips parsers
            raise CRMError("CRM-0004", "The request body is empty; a JSON object is expected.")
        if request.method in CONDITIONAL_METHODS:
            self.if_match = parse_if_match(request.headers.get("If-Match"))
        self.claim_idempotency_key(request)

    def serves(self, method: str) -> bool:
        """The route has a handler for `method`, as DRF's `dispatch()` decides it (a view set
        binds one per routed method, plus HEAD with GET, and OPTIONS)."""
        name = method.lower()
        return name in self.http_method_names and hasattr(self, name)

    def get_serializer_class(self):
        return self.input_serializer_classes.get(self.action, self.serializer_class)

    @property
    def organization_id(self) -> uuid.UUID:
        return self.request.organization_id

    def path_id(self, name: str) -> uuid.UUID:
        return self.request.path_ids[name]

    def include_deleted(self) -> bool:
        return query_flag(self.request, "include_deleted")


class ListMixin:
    """`GET` of a list page: DRF's `ListModelMixin` without a model instance or a list
    serializer per row. The page's rows are read as named tuples of the columns the response
    serializer's body reads (its `reads`, declared beside its fields), each value converted
    (decrypted) once, and each body is built by that serializer's own `to_representation`, so
    the JSON is the same as a record's (`tests/test_list_bodies.py` compares them). A page of
    100 spent about a sixth of its CPU building model instances it then only read
    (docs/performance.md). A kind whose body lists parts (an alias's related parties) reads
    them for the whole page in `bodies`."""

    def bodies(self, rows: list) -> list[dict[str, Any]]:
        """The page's response bodies, in its order."""
        return [representation(self.serializer_class, row) for row in rows]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset()).prefetch_related(None)
        reads = self.serializer_class.reads
        rows = self.paginate_queryset(queryset.values_list(*reads, named=True))
        return self.get_paginated_response(self.bodies(rows))


def written_body(serializer) -> Any:
    """The response body of a write: the record's body as the write stored it in its version
    (`body_as_written`, `crm.lifecycle.writes`), the JSON a GET now returns; the response
    serializer's when the write stored none (a patch that changed nothing)."""
    body = getattr(serializer.instance, "body_as_written", None)
    return serializer.data if body is None else body


class CreateMixin:
    """`POST` of a new record: DRF's `CreateModelMixin`, with the record's `ETag`.
    `perform_create(serializer)` writes through the service and sets `serializer.instance`."""

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        response = Response(written_body(serializer), status=status.HTTP_201_CREATED)
        return with_etag(response, serializer.instance.version)


class MergePatchMixin:
    """`PATCH` as a JSON merge patch. Unlike DRF's `UpdateModelMixin` the body is validated
    before anything is loaded (a bad body is a 400 even for an unknown id, as in the
    reference); `perform_update(serializer)` applies `validated_data` through the service
    (with `self.if_match`) and sets `serializer.instance`; the answer carries its `ETag`."""

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_update(serializer)
        return with_etag(Response(written_body(serializer)), serializer.instance.version)


class DestroyMixin:
    """`DELETE` (`hard_delete=true` erases). Unlike DRF's `DestroyModelMixin` nothing is
    loaded here: `perform_destroy(hard=...)` leaves it to the services (with `self.if_match`),
    which lock the row without decrypting it, so erasure works even on rows no key can
    read."""

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.perform_destroy(hard=query_flag(request, "hard_delete"))
        return Response(status=status.HTTP_204_NO_CONTENT)
