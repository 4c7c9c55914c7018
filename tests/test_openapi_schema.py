"""The OpenAPI document served at /swagger/doc.json: valid OpenAPI 3, complete (errors, enums,
bounds, headers, security) and true to what the API does. `test_schema_fuzz.py` checks the
responses against it; this file checks the document itself."""

import json

import jsonschema
import pytest
import schemathesis
from django.conf import settings
from drf_spectacular.validation import validate_schema
from schemathesis.core.result import Err

from aliases.views import AliasViewSet
from holders.views import HolderViewSet
from tests.test_error_contract import API_ERRORS

ERROR_REF = "#/components/schemas/Error"
METHODS = {"get", "post", "put", "patch", "delete"}


def served_document(client) -> dict:
    response = client.get("/swagger/doc.json")
    assert response.status_code == 200
    return json.loads(response.content)


@pytest.fixture
def document(client) -> dict:
    return served_document(client)


def operations(document: dict, prefix: str = "/v1/"):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS and path.startswith(prefix):
                yield path, method, operation


def resolve(document: dict, ref: str) -> dict:
    node = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def parameter(operation: dict, name: str) -> dict:
    return next(p for p in operation.get("parameters", []) if p["name"] == name)


def test_served_document_is_valid_openapi_3(document):
    assert document["openapi"].startswith("3.")
    validate_schema(document)  # the official OpenAPI 3.0 JSON schema
    for ref in set(refs(document)):
        resolve(document, ref)  # every $ref resolves
    loaded = schemathesis.openapi.from_dict(document)
    results = list(loaded.get_all_operations())
    assert [result.err() for result in results if isinstance(result, Err)] == []
    assert len(results) == sum(1 for _ in operations(document, "/"))


def test_every_endpoint_of_the_contract_is_documented(document):
    documented = {(method, path) for path, method, _ in operations(document, "/")}
    assert documented == {
        ("get", "/v1/holders"),
        ("post", "/v1/holders"),
        ("get", "/v1/holders/{id}"),
        ("patch", "/v1/holders/{id}"),
        ("delete", "/v1/holders/{id}"),
        ("get", "/v1/holders/{id}/versions"),
        ("get", "/v1/holders/{id}/versions/{number}"),
        ("post", "/v1/holders/{holder_id}/aliases"),
        ("get", "/v1/holders/{holder_id}/aliases/{alias_id}"),
        ("patch", "/v1/holders/{holder_id}/aliases/{alias_id}"),
        ("delete", "/v1/holders/{holder_id}/aliases/{alias_id}"),
        ("get", "/v1/holders/{holder_id}/aliases/{alias_id}/versions"),
        ("get", "/v1/holders/{holder_id}/aliases/{alias_id}/versions/{number}"),
        ("delete", "/v1/holders/{holder_id}/aliases/{alias_id}/related-parties/{related_party_id}"),
        ("get", "/v1/aliases"),
        ("get", "/health"),
        ("get", "/version"),
        ("get", "/readyz"),
    }


def test_error_schema_is_the_contract_shape(document):
    error = document["components"]["schemas"]["Error"]

    assert set(error["required"]) == {"code", "title", "message"}
    assert error["properties"]["code"] == {
        **error["properties"]["code"],
        "type": "string",
        "pattern": r"^CRM-\d{4}$",
    }
    assert error["properties"]["fields"]["type"] == "object"
    assert error["properties"]["fields"]["additionalProperties"] == {"type": "string"}
    for code, (_status, title) in API_ERRORS.items():
        jsonschema.validate({"code": code, "title": title, "message": "A sentence."}, error)


def test_every_operation_documents_its_errors_with_the_error_schema(document):
    for path, method, operation in operations(document):
        responses = operation["responses"]
        errors = {status: r for status, r in responses.items() if int(status) >= 400}
        expected = {"400", "500", "503"}
        if "{" in path:
            expected.add("404")
        if method in ("post", "patch"):
            expected |= {"409", "413", "422"}
        assert expected <= set(errors), (method, path, sorted(errors))
        for status, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_REF}, (method, path, status)
            for example in response["content"]["application/json"].get("examples", {}).values():
                code = example["value"]["code"]
                assert API_ERRORS[code][0] == int(status), (method, path, code)


def test_idempotency_headers_and_errors_are_documented_on_writes(document):
    for path, method, operation in operations(document):
        names = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        if method not in ("post", "patch"):
            assert "Idempotency-Key" not in names, (method, path)
            continue
        assert {"Idempotency-Key", "X-Idempotency"} <= names, (method, path)
        assert not parameter(operation, "Idempotency-Key").get("required", False)
        examples = {
            status: set(r["content"]["application/json"].get("examples", {}))
            for status, r in operation["responses"].items()
            if "content" in r
        }
        assert "CRM-0909" in examples["422"]
        assert "CRM-0910" in examples["409"]
        assert "Retry-After" in operation["responses"]["409"]["headers"]
        assert (
            "Idempotent-Replayed"
            in operation["responses"]["200" if method == "patch" else "201"]["headers"]
        )


def test_organization_header_is_a_required_uuid_everywhere(document):
    for path, method, operation in operations(document):
        header = parameter(operation, "X-Organization-Id")
        assert header["in"] == "header" and header["required"] is True, (method, path)
        assert header["schema"] == {"type": "string", "format": "uuid"}
    for path, _method, operation in operations(document, "/"):
        for name in ("id", "holder_id", "alias_id", "related_party_id"):
            if "{" + name + "}" in path:
                assert parameter(operation, name)["schema"]["format"] == "uuid", (path, name)


# The enums as the contract and the reference state them (docs/api.md §3-§4), written
# here by hand and never read from the models the document is generated from; docs/api.md
# restates them.
HOLDER_TYPES = ["NATURAL_PERSON", "LEGAL_PERSON"]
RELATED_PARTY_ROLES = ["PRIMARY_HOLDER", "LEGAL_REPRESENTATIVE", "RESPONSIBLE_PARTY"]
SORT_ORDERS = ["asc", "desc"]


def enum_of(document: dict, component: str, prop: str) -> list:
    schema = document["components"]["schemas"][component]["properties"][prop]
    ref = schema.get("$ref") or next(iter(refs(schema)))
    return resolve(document, ref)["enum"]


def test_enums_are_documented(document):
    assert enum_of(document, "Holder", "type") == HOLDER_TYPES
    assert enum_of(document, "HolderCreateRequest", "type") == HOLDER_TYPES
    assert enum_of(document, "Alias", "type") == HOLDER_TYPES
    assert enum_of(document, "RelatedParty", "role") == RELATED_PARTY_ROLES
    assert enum_of(document, "RelatedPartyInputRequest", "role") == RELATED_PARTY_ROLES
    for path in ("/v1/holders", "/v1/aliases"):
        sort_order = parameter(document["paths"][path]["get"], "sort_order")
        assert sort_order["schema"]["enum"] == SORT_ORDERS
    role_filter = parameter(document["paths"]["/v1/aliases"]["get"], "related_party_role")
    assert role_filter["schema"]["enum"] == RELATED_PARTY_ROLES


def test_countries_are_the_iso_3166_alpha_2_codes(document):
    """ISO 3166-1 alpha-2: 249 officially assigned codes (docs/api.md §4), no reserved or
    user-assigned ones."""
    countries = enum_of(document, "AddressRequest", "country")

    assert len(countries) == len(set(countries)) == 249
    assert {"BR", "US", "PT", "AR", "DE", "JP", "ZA", "AQ", "SS", "BQ", "CW", "SX"} <= set(
        countries
    )
    assert not {"UK", "EU", "XK", "ZZ", "AN", "YU", "br", "BRA"} & set(countries)


@pytest.mark.parametrize(
    ("path", "viewset"), [("/v1/holders", HolderViewSet), ("/v1/aliases", AliasViewSet)]
)
def test_every_filter_of_a_list_is_documented(document, path, viewset):
    """The filter backend adds no parameters by introspection (`crm.api.openapi`): each list's
    schema names them from its view set's `filterset_class`."""
    documented = {p["name"] for p in document["paths"][path]["get"]["parameters"]}

    assert set(viewset.filterset_class.base_filters) <= documented
    assert "metadata.<key>" in documented


def test_page_and_limit_are_documented_with_their_bounds(client, document):
    for path in ("/v1/holders", "/v1/aliases"):
        operation = document["paths"][path]["get"]
        page = parameter(operation, "page")["schema"]
        limit = parameter(operation, "limit")["schema"]
        assert page["minimum"] == 1 and page["type"] == "integer"
        assert (limit["minimum"], limit["maximum"]) == (1, settings.MAX_PAGINATION_LIMIT)
        envelope = resolve(
            document, operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        )
        assert set(envelope["required"]) == {"items", "limit"}  # no `page` on cursor pages
        assert {"page", "next_cursor", "prev_cursor"} <= set(envelope["properties"])
        assert parameter(operation, "cursor")["schema"]["type"] == "string"


def test_limit_maximum_follows_the_setting(client, settings):
    settings.MAX_PAGINATION_LIMIT = 37
    operation = served_document(client)["paths"]["/v1/holders"]["get"]
    assert parameter(operation, "limit")["schema"]["maximum"] == 37


def test_metadata_filter_is_described(document):
    for path in ("/v1/holders", "/v1/aliases"):
        operation = document["paths"][path]["get"]
        assert "metadata.<key>=<value>" in operation["description"]
        assert "AND" in operation["description"]
        metadata = parameter(operation, "metadata.<key>")
        assert metadata["in"] == "query" and not metadata.get("required", False)
        assert metadata["x-name-pattern"] == r"^metadata\..+$"


def test_security_is_optional_while_auth_is_off(client, settings):
    settings.PLUGIN_AUTH_ENABLED = False
    document = served_document(client)
    assert "ApiToken" in document["components"]["securitySchemes"]
    for path, method, operation in operations(document):
        assert operation["security"] == [{}, {"ApiToken": []}], (method, path)
        assert "401" not in operation["responses"]
    for path in ("/health", "/version", "/readyz"):
        assert document["paths"][path]["get"]["security"] == []


def test_security_is_required_with_auth_on(client, settings):
    settings.PLUGIN_AUTH_ENABLED = True
    document = served_document(client)
    for path, method, operation in operations(document):
        assert operation["security"] == [{"ApiToken": []}], (method, path)
        assert {"401", "403"} <= set(operation["responses"])
        assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]


def test_rate_limit_is_documented_when_configured(client, settings):
    settings.API_RATE_LIMIT = "600/min"
    document = served_document(client)
    for _path, _method, operation in operations(document):
        assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_response_shapes_match_the_serializers(document):
    schemas = document["components"]["schemas"]
    holder, alias = schemas["Holder"], schemas["Alias"]

    assert set(holder["required"]) == {
        "id",
        "type",
        "name",
        "document",
        "createdAt",
        "updatedAt",
        "deletedAt",
    }
    assert holder["properties"]["deletedAt"]["nullable"] is True
    assert "externalId" not in holder["required"]  # left out when empty
    assert set(alias["required"]) == {
        "id",
        "holderId",
        "ledgerId",
        "accountId",
        "createdAt",
        "updatedAt",
        "deletedAt",
    }
    assert alias["properties"]["deletedAt"]["nullable"] is True
    assert schemas["RelatedParty"]["properties"]["endDate"]["format"] == "date"
    # Strict input: unknown keys are CRM-0007.
    for name, schema in schemas.items():
        if name.endswith("Request"):
            assert schema["additionalProperties"] is False, name
