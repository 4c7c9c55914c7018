"""Property: whatever a client sends to a write endpoint, the answer is never a 5xx; every valid
body is accepted, however hostile its text; and every accepted write reads back exactly as the
write answered it, alone and in the lists (nothing unreadable is stored).

Hypothesis generates VALID bodies, sent nine times in ten: real CPF/CNPJ documents (check digits
computed), the enum values, dates in each of the reference's formats, ISO 3166-1 countries,
e-mail addresses, flat metadata, related parties with consistent dates, every string within its
documented maximum, and hostile text in every string: quotes, SQL, template and format syntax,
emoji and ZWJ sequences, right-to-left and zero-width marks, combining characters, control
characters, any Unicode scalar but NUL, and strings exactly at their maximum length. The other
tenth example sends arbitrary JSON, or a valid body with fields replaced by arbitrary JSON (lone
surrogates, huge numbers, wrong types): never a 5xx, and refused unless it happens to be valid.

Each test counts what was accepted and fails when fewer than ACCEPTED_SHARE of its examples
were: the property is about accepted writes, so a strategy that drifts to mostly invalid
bodies must not pass quietly. Runs on SQLite and PostgreSQL (the whole suite runs on both)."""

import datetime as dt
import json
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ORG_A, OrgClient
from tests.factories import AliasFactory, HolderFactory, alias_payload, holder_payload

pytestmark = pytest.mark.django_db

ACCEPTED_SHARE = 0.8
CREATE_EXAMPLES = 150
PATCH_EXAMPLES = 100


def property_settings(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# --- Valid bodies with hostile text ------------------------------------------------------------

HOSTILE = [
    "Robert'); DROP TABLE holders_holder;--",
    "' OR '1'='1",
    '"; SELECT pg_sleep(10); --',
    "1; DELETE FROM aliases_aliasaccount WHERE 1=1",
    'Maria "Mafalda" O\'Neil',
    "back\\slash \\x00 \\u0000 (escaped, not a NUL)",
    "%s %d %(name)s {0} {name} {{ 7|add:1 }} ${jndi:ldap://x}",
    "<script>alert(1)</script>&amp;",
    "José da Conceição Ñandú Müller-Lüdenscheidt",
    "名前 なまえ 이름",
    "محمد بن عبد الله",
    "\u202eevil\u202c",  # right-to-left override
    "\u200f\u200e\u200b\u2060\u00ad",  # RTL/LTR marks, zero-width space and joiner, soft hyphen
    "👩‍👩‍👧‍👦🇧🇷💸🏳️‍🌈",
    "e\u0301\u0301\u0301 Z\u0351\u0352\u0353",  # combining marks
    "\t tab\r\nnew line\x0b\x1b[31m",
    "NULL",
    "null",
    " ",
    "\ufeffBOM",
    "\U0010fffd\ue000",  # private use
    "ß ǅ ﬁ İ",  # case mapping changes the length
]
# Any Unicode scalar value except NUL (the API refuses NUL: CRM-0015); no lone surrogates.
ANY_CHARACTER = st.characters(codec="utf-8", exclude_characters="\x00")


def hostile(max_size: int, required: bool = False) -> st.SearchStrategy[str]:
    """Text within `max_size` characters: hostile pieces and arbitrary characters joined, or a
    hostile piece repeated to exactly `max_size`. `required`: never empty, never only
    whitespace (what the API calls blank)."""
    piece = st.sampled_from(HOSTILE) | st.text(ANY_CHARACTER, max_size=12)
    joined = st.lists(piece, min_size=1, max_size=4).map("".join)
    at_the_limit = st.sampled_from([p for p in HOSTILE if p]).map(
        lambda p: (p * max_size)[:max_size]
    )
    text = (joined | at_the_limit).map(lambda value: value[:max_size])
    if required:
        text = text.map(lambda value: value if value.strip() else ("x" + value)[:max_size])
    return text


def optional_text(max_size: int) -> st.SearchStrategy[str | None]:
    return st.none() | hostile(max_size)


def cpf(base: int) -> str:
    """A CPF with valid check digits from 9 base digits."""
    digits = [int(c) for c in f"{base:09d}"]
    for length in (9, 10):
        total = sum(d * w for d, w in zip(digits, range(length + 1, 1, -1), strict=True))
        digits.append(total * 10 % 11 % 10)
    return "".join(map(str, digits))


def cnpj(base: int) -> str:
    """A CNPJ with valid check digits from 12 base digits."""
    digits = [int(c) for c in f"{base:012d}"]
    weights = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    for w in (weights, [6, *weights]):
        remainder = sum(d * x for d, x in zip(digits, w, strict=True)) % 11
        digits.append(0 if remainder < 2 else 11 - remainder)
    return "".join(map(str, digits))


def test_document_generators_make_valid_documents():
    assert cpf(529982247) == "52998224725"
    assert cpf(111444777) == "11144477735"
    assert cnpj(123456780001) == "12345678000195"
    assert cnpj(112223330001) == "11222333000181"


CPFS = st.integers(1, 10**9 - 1).map(cpf)
CNPJS = st.integers(1, 10**12 - 1).map(cnpj)
# A hand-picked sample of ISO 3166-1 alpha-2 codes, from every continent.
COUNTRIES = ["BR", "US", "PT", "AR", "DE", "FR", "JP", "CN", "IN", "ZA", "GB", "MX", "NG", "AE"]
EMAILS = st.from_regex(
    r"\A[a-z0-9]{1,12}([.+_'-][a-z0-9]{1,12}){0,2}@[a-z0-9]{1,12}(-[a-z0-9]{1,8})?"
    r"(\.[a-z]{2,6}){1,2}\Z"
) | st.sampled_from(["o'brien@example.com", "maria+crm@exemplo.com.br", "x@例子.广告"])
TODAY = dt.datetime.now(dt.UTC).date()


def api_dates(lowest=dt.date(1900, 1, 1), highest=dt.date(2099, 12, 31)):
    """A date in each format of docs/api.md §4.3: plain, local date-time, RFC 3339 in UTC or
    with an offset (which never moves these times to another UTC date)."""
    formats = [
        "{}",
        "{}T08:30:00",
        "{}T23:59:59.123Z",
        "{}T12:00:00-03:00",
    ]
    return st.builds(
        lambda day, fmt: fmt.format(day.isoformat()),
        st.dates(min_value=lowest, max_value=highest),
        st.sampled_from(formats),
    )


def maybe(**fields: st.SearchStrategy) -> st.SearchStrategy[dict]:
    """An object with any subset of `fields` (a null drawn for an optional field leaves it out
    or, in a merge patch, removes it)."""
    return st.fixed_dictionaries({}, optional=fields)


ADDRESSES = maybe(
    line1=hostile(256),
    line2=optional_text(256),
    zipCode=hostile(20),
    city=hostile(100),
    state=hostile(100),
    country=st.sampled_from(COUNTRIES),
    description=hostile(100),
)
CONTACT = maybe(
    primaryEmail=EMAILS,
    secondaryEmail=EMAILS,
    mobilePhone=hostile(50),
    otherPhone=hostile(50),
)
NATURAL_PERSON = maybe(
    favoriteName=hostile(256),
    socialName=hostile(256),
    gender=hostile(50),
    birthDate=api_dates(),
    civilStatus=hostile(50),
    nationality=hostile(100),
    motherName=hostile(256),
    fatherName=hostile(256),
    status=hostile(50),
)
LEGAL_PERSON = maybe(
    tradeName=hostile(256),
    activity=hostile(256),
    type=hostile(100),
    foundingDate=api_dates(),
    size=hostile(50),
    status=hostile(50),
    representative=maybe(name=hostile(256), document=CPFS, email=EMAILS, role=hostile(100)),
)
METADATA_VALUES = (
    hostile(2000)
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
)
METADATA = st.dictionaries(hostile(100, required=True), METADATA_VALUES, max_size=5)


@st.composite
def holder_creates(draw) -> dict:
    kind = draw(st.sampled_from(["NATURAL_PERSON", "LEGAL_PERSON"]))
    body = {
        "type": kind,
        "name": draw(hostile(256, required=True)),
        "document": draw(CPFS if kind == "NATURAL_PERSON" else CNPJS),
    }
    body.update(
        draw(
            maybe(
                externalId=hostile(256),
                addresses=maybe(primary=ADDRESSES, additional1=ADDRESSES, additional2=ADDRESSES),
                contact=CONTACT,
                naturalPerson=NATURAL_PERSON,
                legalPerson=LEGAL_PERSON,
                metadata=METADATA,
            )
        )
    )
    return body


HOLDER_PATCHES = maybe(
    name=hostile(256, required=True),
    externalId=optional_text(256),
    addresses=st.none() | maybe(primary=st.none() | ADDRESSES, additional1=ADDRESSES),
    contact=st.none() | CONTACT,
    naturalPerson=st.none() | NATURAL_PERSON,
    legalPerson=st.none() | LEGAL_PERSON,
    metadata=st.dictionaries(hostile(100, required=True), st.none() | METADATA_VALUES, max_size=5),
)


@st.composite
def related_parties(draw) -> dict:
    start = draw(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2099, 1, 1)))
    party = {
        "document": draw(CPFS | CNPJS | hostile(256, required=True)),
        "name": draw(hostile(256, required=True)),
        "role": draw(
            st.sampled_from(["PRIMARY_HOLDER", "LEGAL_REPRESENTATIVE", "RESPONSIBLE_PARTY"])
        ),
        "startDate": start.isoformat(),
    }
    days = draw(st.none() | st.integers(0, 20_000))
    if days is not None:
        party["endDate"] = (start + dt.timedelta(days=days)).isoformat()
    return party


def banking(closing_dates) -> st.SearchStrategy[dict]:
    return maybe(
        branch=hostile(256),
        account=hostile(256),
        type=hostile(50),
        openingDate=api_dates(),
        closingDate=closing_dates,
        iban=hostile(64),
        countryCode=hostile(256),
        bankId=hostile(256),
    )


@st.composite
def alias_creates(draw) -> dict:
    body = {
        "ledgerId": draw(hostile(256, required=True)),
        # Unique per organization among live aliases (409 otherwise): a UUID first.
        "accountId": (str(draw(st.uuids())) + draw(hostile(256)))[:256],
    }
    body.update(
        draw(
            maybe(
                bankingDetails=banking(api_dates()),
                regulatoryFields=maybe(participantDocument=CNPJS | hostile(256)),
                relatedParties=st.lists(related_parties(), max_size=3),
                metadata=METADATA,
            )
        )
    )
    return body


# `closingDate` earlier than the alias's creation date is CRM-0023: a PATCH closes it later.
ALIAS_PATCHES = maybe(
    bankingDetails=st.none() | banking(api_dates(lowest=TODAY + dt.timedelta(days=2))),
    regulatoryFields=st.none() | maybe(participantDocument=CNPJS | hostile(256)),
    relatedParties=st.lists(related_parties(), max_size=3),
    metadata=st.dictionaries(hostile(100, required=True), st.none() | METADATA_VALUES, max_size=5),
)


# --- Arbitrary JSON (the minority) ---------------------------------------------------------------

# Any text, including lone surrogates (json.dumps escapes them as \udfff on the wire).
text = st.text(st.characters(codec=None, categories=None), max_size=30) | st.sampled_from(
    [
        "\udfff",
        "\ud800x",
        "a\x00b",
        "",
        " ",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
    ]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([10**400, -(10**400), 1e308])
    | text
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)


def mutated(valid: dict, keys: list[str]) -> st.SearchStrategy[dict]:
    """`valid` with some keys (top level or one level down) replaced by arbitrary JSON."""
    paths = [(key,) for key in keys] + [
        (key, sub) for key in keys for sub in ("birthDate", "k", "branch", "closingDate", "0")
    ]

    def apply(choices: list[tuple[tuple[str, ...], object]]) -> dict:
        body = json.loads(json.dumps(valid))
        for path, value in choices:
            node = body
            for key in path[:-1]:
                if not isinstance(node.get(key), dict):
                    node[key] = {}
                node = node[key]
            node[path[-1]] = value
        return body

    return st.lists(st.tuples(st.sampled_from(paths), json_values), min_size=1, max_size=3).map(
        apply
    )


HOLDER_KEYS = [
    "type",
    "name",
    "document",
    "externalId",
    "addresses",
    "contact",
    "naturalPerson",
    "legalPerson",
    "metadata",
]
ALIAS_KEYS = [
    "ledgerId",
    "accountId",
    "bankingDetails",
    "regulatoryFields",
    "relatedParties",
    "metadata",
]


def arbitrary(valid: dict, keys: list[str]) -> st.SearchStrategy[dict]:
    return st.dictionaries(text, json_values, max_size=5) | mutated(valid, keys)


JUNK_EVERY = 10  # every tenth example sends the arbitrary body


def bodies(valid: st.SearchStrategy[dict], junk: st.SearchStrategy[dict]):
    """(a valid body, an arbitrary one): the test sends the arbitrary one every JUNK_EVERY-th
    example (a fixed share; Hypothesis's own choices between strategies are not uniform)."""
    return st.tuples(valid, junk)


def pick(case: tuple[dict, dict], outcomes: Counter) -> tuple[bool, dict]:
    valid_body, junk_body = case
    if outcomes.total() % JUNK_EVERY == JUNK_EVERY - 1:
        return False, junk_body
    return True, valid_body


# --- Sending, reading back ---------------------------------------------------------------------


def send(api: OrgClient, method: str, path: str, body):
    raw = json.dumps(body, ensure_ascii=True)  # lone surrogates travel as \\udfff escapes
    response = getattr(api, method)(path, raw, content_type="application/json")
    assert response.status_code < 500, (method, path, raw[:500], response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    return response


def everything_is_readable(api: OrgClient) -> None:
    for path in ("/v1/holders", "/v1/aliases"):
        response = api.get(path, {"include_deleted": "true", "limit": 100, "sort_order": "desc"})
        assert response.status_code == 200, response.content[:500]


def as_json_numbers(response) -> object:
    """The body with every number as a Decimal: PostgreSQL's jsonb keeps a number's decimal
    value, not its notation (1e+300 reads back as 1 and 300 zeros, -0.0 as 0), which are the
    same JSON number; floats and ints would compare them as different."""
    return json.loads(response.content, parse_float=Decimal, parse_int=Decimal)


def reads_back_as_written(api: OrgClient, path: str, written) -> None:
    """The record alone answers exactly what the write answered, and it is in its list."""
    read = api.get(path)
    assert read.status_code == 200, read.content[:500]
    assert as_json_numbers(read) == as_json_numbers(written)
    collection = "/v1/aliases" if "/aliases/" in path else "/v1/holders"
    listed = api.get(collection, {"limit": 5, "sort_order": "desc"})  # the newest first
    assert as_json_numbers(written) in as_json_numbers(listed)["items"]


def write_and_judge(
    api: OrgClient,
    method: str,
    path: str,
    body,
    *,
    valid: bool,
    outcomes: Counter,
    success: int,
    refusals: tuple[int, ...],
    read_path=None,
):
    """Send one write, then: everything stays readable; a valid body gets `success`; an
    accepted write reads back as it was written (at `read_path(response)`, default `path`);
    anything refused is one of `refusals`. Counts the outcome; returns the response."""
    response = send(api, method, path, body)
    everything_is_readable(api)
    if valid:
        assert response.status_code == success, (body, response.content[:500])
    if response.status_code == success:
        outcomes["accepted"] += 1
        reads_back_as_written(api, read_path(response) if read_path else path, response)
    else:
        assert response.status_code in refusals, response.status_code
        outcomes["refused"] += 1
    return response


def assert_mostly_accepted(outcomes: Counter) -> None:
    examples = sum(outcomes.values())
    accepted = outcomes["accepted"]
    assert examples >= 50, outcomes
    assert accepted >= ACCEPTED_SHARE * examples, outcomes


@pytest.fixture
def api():
    return OrgClient(ORG_A)


def test_any_holder_create_body_is_never_a_5xx_and_stays_readable(api):
    outcomes: Counter = Counter()
    documents: set[str] = set()

    @property_settings(CREATE_EXAMPLES)
    @given(case=bodies(holder_creates(), arbitrary(holder_payload(document=cpf(1)), HOLDER_KEYS)))
    def create(case):
        valid, body = pick(case, outcomes)
        # A document drawn twice would be a 409 (another live holder has it): the next unused
        # one of the same kind instead.
        base = 0
        while valid and body["document"] in documents:
            base += 1
            body["document"] = (cpf if body["type"] == "NATURAL_PERSON" else cnpj)(base)
        response = write_and_judge(
            api,
            "post",
            "/v1/holders",
            body,
            valid=valid,
            outcomes=outcomes,
            success=201,
            refusals=(400, 409),
            read_path=lambda created: f"/v1/holders/{created.json()['id']}",
        )
        if response.status_code == 201:
            documents.add(response.json()["document"])

    create()
    assert_mostly_accepted(outcomes)


def test_any_holder_patch_body_is_never_a_5xx_and_stays_readable(api):
    outcomes: Counter = Counter()

    @property_settings(PATCH_EXAMPLES)
    @given(case=bodies(HOLDER_PATCHES, arbitrary({"name": "N"}, HOLDER_KEYS)))
    def patch(case):
        valid, body = pick(case, outcomes)
        holder = HolderFactory()
        write_and_judge(
            api,
            "patch",
            f"/v1/holders/{holder.id}",
            body,
            valid=valid,
            outcomes=outcomes,
            success=200,
            refusals=(400,),
        )

    patch()
    assert_mostly_accepted(outcomes)


def test_any_alias_create_body_is_never_a_5xx_and_stays_readable(api):
    outcomes: Counter = Counter()
    accounts: set[str] = set()
    holder = HolderFactory()

    @property_settings(CREATE_EXAMPLES)
    @given(case=bodies(alias_creates(), arbitrary(alias_payload(), ALIAS_KEYS)))
    def create(case):
        valid, body = pick(case, outcomes)
        # An account id drawn twice would be a 409: a fresh UUID in front instead.
        if valid and body["accountId"] in accounts:
            body["accountId"] = (str(uuid.uuid4()) + body["accountId"][36:])[:256]
        response = write_and_judge(
            api,
            "post",
            f"/v1/holders/{holder.id}/aliases",
            body,
            valid=valid,
            outcomes=outcomes,
            success=201,
            refusals=(400, 409),
            read_path=lambda created: f"/v1/holders/{holder.id}/aliases/{created.json()['id']}",
        )
        if response.status_code == 201:
            accounts.add(response.json()["accountId"])

    create()
    assert_mostly_accepted(outcomes)


def test_any_alias_patch_body_is_never_a_5xx_and_stays_readable(api):
    outcomes: Counter = Counter()

    @property_settings(PATCH_EXAMPLES)
    @given(
        case=bodies(
            ALIAS_PATCHES,
            arbitrary({"bankingDetails": {"branch": "1"}, "relatedParties": []}, ALIAS_KEYS),
        )
    )
    def patch(case):
        valid, body = pick(case, outcomes)
        alias = AliasFactory()
        path = f"/v1/holders/{alias.holder_id}/aliases/{alias.id}"
        write_and_judge(
            api,
            "patch",
            path,
            body,
            valid=valid,
            outcomes=outcomes,
            success=200,
            refusals=(400,),
        )

    patch()
    assert_mostly_accepted(outcomes)
