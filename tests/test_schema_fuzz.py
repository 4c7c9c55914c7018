"""Schema fuzzing: schemathesis against our own OpenAPI document, in process (WSGI).

Every operation of `/swagger/doc.json` is one test: schemathesis' fuzzing phase (Hypothesis,
derandomized, so every run sends the same requests) and, with `FUZZ_COVERAGE=true`, its coverage
phase (every boundary and invalid value the schema defines) generate requests, positive and
negative, and every response must be

* no 5xx (`not_a_server_error`): no input a client can send gives a 500;
* documented: status code, content type, body schema and documented headers
  (`status_code_conformance`, `content_type_conformance`, `response_schema_conformance`,
  `response_headers_conformance`).

Linked data: about half of the generated cases are pointed at real records of one organization
(a holder without aliases for the holder routes; a holder with an alias and a related party for
the alias routes; version 1 of either for the version routes), so the detail, update, delete and
history operations reach real rows, not only 404s.

`FUZZ_EXAMPLES` sets the fuzzing examples per operation: 25 in the normal suite (both
databases); `make fuzz` adds the coverage phase and runs 500 (`.ci/run` runs it with 50 on
PostgreSQL). `FUZZ_LOG=<file>` writes one line per request (method, path, status, body start).
A failure prints the request as a curl command.
"""

import os
import uuid
import zlib

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from aliases.services import alias_create
from holders.services import holder_create

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
FUZZ_COVERAGE = os.environ.get("FUZZ_COVERAGE", "false").lower() == "true"
FUZZ_LOG = os.environ.get("FUZZ_LOG")  # a file: one line per request (method, path, status)
ORG = uuid.UUID("0196a3f4-1c2b-7cde-8f00-0000000f0220")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

APP = get_wsgi_application()
CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": FUZZ_COVERAGE}}})
schema = schemathesis.openapi.from_wsgi("/swagger/doc.json", APP, config=CONFIG)


def linked_records() -> dict[str, str]:
    """Fresh records of `ORG` for the path parameters: a holder without aliases (`id`), a
    holder with an alias and a related party (`holder_id`, `alias_id`, `related_party_id`),
    and the version every record has (`number`: 1)."""
    bare = holder_create(
        organization_id=ORG,
        data={"type": "LEGAL_PERSON", "name": "Fuzz Ltda", "document": uuid.uuid4().hex},
    )
    owner = holder_create(
        organization_id=ORG,
        data={"type": "NATURAL_PERSON", "name": "Fuzz Person", "document": uuid.uuid4().hex},
    )
    alias = alias_create(
        organization_id=ORG,
        holder_id=owner.id,
        data={
            "ledgerId": str(uuid.uuid4()),
            "accountId": str(uuid.uuid4()),
            "relatedParties": [
                {
                    "document": "12345678900",
                    "name": "Party",
                    "role": "LEGAL_REPRESENTATIVE",
                    "startDate": "2024-01-01",
                }
            ],
        },
    )
    return {
        "id": str(bare.id),
        "holder_id": str(owner.id),
        "alias_id": str(alias.id),
        "related_party_id": str(alias.related_parties.get().id),
        "number": 1,
    }


def digest(*values) -> int:
    """A stable digest of generated values (not `hash()`, which changes per process)."""
    return zlib.crc32(repr(values).encode())


def request_of(case) -> tuple:
    return (
        case.method,
        case.operation.path,
        sorted((case.path_parameters or {}).items()),
        case.query,
        case.body,
    )


def link(case) -> None:
    """Send the case to `ORG` and its linked records (fresh ones when it has path ids)."""
    case.headers = {**(case.headers or {}), "X-Organization-Id": str(ORG)}
    if case.path_parameters:
        records = linked_records()
        case.path_parameters = {
            name: records.get(name, value) for name, value in case.path_parameters.items()
        }


def spread_organizations(case, generated: tuple) -> None:
    """A case not sent to the linked records writes into an organization of its own (derived
    from the request) when its generated `X-Organization-Id` is a valid UUID: schemathesis
    varies one value at a time around a fixed base, so in one organization nearly every create
    would be a 409 duplicate document and never reach the rest of the write path."""
    headers = case.headers or {}
    try:
        uuid.UUID(headers.get("X-Organization-Id", ""))
    except (TypeError, ValueError, AttributeError):
        return  # a missing or invalid header is what this case tests
    headers["X-Organization-Id"] = str(uuid.UUID(int=digest(generated) << 64 | 0xF0220))


def scope_idempotency_keys(case) -> None:
    """Generated idempotency keys repeat a lot ("0", "a", ...), and a key reused with another
    body is a 422 (CRM-0909) before the body is even looked at, which would hide every other
    answer. So a key gets a suffix derived from the request: the same request repeated is
    replayed, another request gets a key of its own. One case in four keeps its raw key and
    meets the 422."""
    headers = case.headers or {}
    request = request_of(case)  # with the linked ids: each linked case has keys of its own
    if digest(request) % 4 == 0:
        return
    for name in ("Idempotency-Key", "X-Idempotency"):
        if isinstance(headers.get(name), str):
            headers[name] = f"{headers[name]}~{digest(request):08x}"


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)
@pytest.mark.django_db(transaction=True)
def test_every_operation_conforms_to_the_openapi_document(case):
    generated = request_of(case)
    # A deterministic half of the /v1 cases (chosen by their generated values, so a
    # derandomized run always picks the same ones) go to the linked records.
    if case.operation.path.startswith("/v1/") and digest(generated) % 2 == 0:
        link(case)
    else:
        spread_organizations(case, generated)
    scope_idempotency_keys(case)
    response = case.call_and_validate(checks=CHECKS)
    if FUZZ_LOG:
        with open(FUZZ_LOG, "a") as log:
            body = response.text[:200].replace("\n", " ")
            log.write(f"{case.method} {case.operation.path} {response.status_code} {body}\n")
