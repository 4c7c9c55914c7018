"""`manage.py import_holders`: JSON Lines and CSV, the API's validation and storage (imported
records read back exactly as POSTed ones), rejected lines reported without values, dry run,
resuming, stdin, duplicates in the file, audit entries, worker processes."""

import io
import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from aliases.models import AliasAccount, RelatedParty
from crm.db import statistics
from crm.models import AuditEntry, RecordVersion
from holders.models import Holder, HolderNameToken
from registry import importing
from tests.conftest import ORG_A, ORG_B

pytestmark = pytest.mark.django_db

PARTY = {
    "document": "111.444.777-35",
    "name": "Rep Legal",
    "role": "LEGAL_REPRESENTATIVE",
    "startDate": "2024-01-01",
}
FULL = {
    "type": "NATURAL_PERSON",
    "name": "Maria José da Conceição",
    "document": "123.456.789-09",
    "externalId": "CUST-1",
    "contact": {"primaryEmail": "maria@example.com", "mobilePhone": "+5511912345678"},
    "addresses": {"primary": {"line1": "Rua A, 1", "city": "São Paulo", "country": "BR"}},
    "naturalPerson": {"birthDate": "1980-01-02", "motherName": "Ana Maria"},
    "metadata": {"segment": "retail", "score": 7},
}
FULL_ALIAS = {
    "ledgerId": "0196a3f4-0000-7000-8000-000000000001",
    "accountId": "acct-full-1",
    "bankingDetails": {"branch": "0001", "account": "12345-1", "type": "CACC"},
    "regulatoryFields": {"participantDocument": "12.345.678/0001-90"},
    "relatedParties": [PARTY],
    "metadata": {"use": "main"},
}
IGNORED = {"id", "holderId", "createdAt", "updatedAt", "deletedAt"}


def jsonl(*bodies) -> str:
    return "".join(
        (body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)) + "\n"
        for body in bodies
    )


def sample(count: int, start: int = 0) -> list[dict]:
    return list(importing.sample_bodies(count, start=start))


def run_import(tmp_path, text: str, *args: str, name: str = "in.jsonl", org=ORG_A):
    """Run the command on `text`; (exit status, stdout, stderr)."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    out, err = StringIO(), StringIO()
    try:
        call_command(
            "import_holders",
            "--organization",
            str(org),
            str(path),
            "--workers",
            "0",
            *args,
            stdout=out,
            stderr=err,
        )
        status = 0
    except CommandError as exc:
        err.write(str(exc))
        status = exc.returncode
    return status, out.getvalue(), err.getvalue()


def strip(body: dict) -> dict:
    """An API body without server-assigned ids and timestamps (related parties included)."""
    body = {key: value for key, value in body.items() if key not in IGNORED}
    if "relatedParties" in body:
        body["relatedParties"] = [
            {key: value for key, value in party.items() if key != "id"}
            for party in body["relatedParties"]
        ]
    return body


def test_import_reads_back_through_the_api_exactly_as_posted(tmp_path, api, api_b):
    """The same bodies, once imported into org A and once POSTed into org B, read back the
    same through every API path: get by id, filter by document, aliases by banking account."""
    status, out, _ = run_import(tmp_path, jsonl({**FULL, "aliases": [FULL_ALIAS]}))
    assert status == 0, out
    assert "created 1 holders and 1 aliases" in out

    posted = api_b.post("/v1/holders", FULL)
    assert posted.status_code == 201
    posted_alias = api_b.post(f"/v1/holders/{posted.json()['id']}/aliases", FULL_ALIAS)
    assert posted_alias.status_code == 201

    found = api.get("/v1/holders", {"document": "12345678909"}).json()["items"]
    assert len(found) == 1
    imported = api.get(f"/v1/holders/{found[0]['id']}").json()
    assert strip(imported) == strip(posted.json())

    aliases = api.get(
        "/v1/aliases", {"banking_details_branch": "0001", "banking_details_account": "123451"}
    ).json()["items"]
    assert len(aliases) == 1
    assert aliases[0]["holderId"] == imported["id"]
    alias = api.get(f"/v1/holders/{imported['id']}/aliases/{aliases[0]['id']}").json()
    assert strip(alias) == strip(posted_alias.json())
    for query in (
        {"account_id": "acct-full-1"},
        {"document": "12345678909"},
        {"related_party_document": "11144477735"},
        {"regulatory_fields_participant_document": "12345678000190"},
    ):
        assert [a["id"] for a in api.get("/v1/aliases", query).json()["items"]] == [alias["id"]]


def test_import_keeps_text_that_copy_would_misread(tmp_path, api):
    """Backslashes, tabs, line breaks, a literal `\\N` and JSON escapes arrive as sent (on
    PostgreSQL the rows travel as `COPY` text, where each of these means something else)."""
    awkward = 'a\\b\tc\nd\re \\N \\. "q" ç 🙂'
    body = {
        **FULL,
        "externalId": "ext\\N\\t",
        "addresses": {"primary": {**FULL["addresses"]["primary"], "line2": awkward}},
        "metadata": {"note": awkward, "path": "C:\\dir\\N"},
    }
    status, out, _ = run_import(tmp_path, jsonl(body))
    assert status == 0, out
    assert "created 1 holders" in out
    found = api.get("/v1/holders", {"external_id": body["externalId"]}).json()["items"]
    assert len(found) == 1
    stored = api.get(f"/v1/holders/{found[0]['id']}").json()
    assert stored["externalId"] == body["externalId"]
    assert stored["addresses"]["primary"]["line2"] == awkward
    assert stored["metadata"] == body["metadata"]


def test_import_stores_the_same_hashes_and_name_tokens_as_the_services(tmp_path, api_b):
    run_import(tmp_path, jsonl({**FULL, "aliases": [FULL_ALIAS]}))
    api_b.post("/v1/holders", FULL)
    imported, posted = (
        Holder.objects.get(organization_id=ORG_A),
        Holder.objects.get(organization_id=ORG_B),
    )
    assert imported.name == posted.name and imported.contact == posted.contact

    def tokens(holder):
        return set(HolderNameToken.objects.filter(holder=holder).values_list("token_hash", flat=1))

    # The prefixes from 3 letters of maria, jose and conceicao (3 + 2 + 7), and "da" as a word.
    assert len(tokens(imported)) == 12 + 1
    assert imported.email_hash and imported.phone_hash  # the contact search hashes too
    assert tokens(imported) == imported.name_token_hashes() == {*posted_tokens_in_org_a(posted)}
    # The same metadata pair index rows (their hashes are per organization: compare counts).
    assert imported.metadata_pairs.count() == posted.metadata_pairs.count() > 0
    assert AliasAccount.objects.get().metadata_pairs.count() == len(FULL_ALIAS["metadata"])
    # Recomputing every search hash from the decrypted values finds nothing to change.
    assert imported.recompute_search_hashes() == []
    assert AliasAccount.objects.get().recompute_search_hashes() == []
    assert RelatedParty.objects.get().recompute_search_hashes() == []


def posted_tokens_in_org_a(posted: Holder) -> set[str]:
    """The name tokens the services would store for the POSTed holder's name in org A."""
    return Holder(organization_id=ORG_A, name=posted.name).name_token_hashes()


def test_import_finds_holders_by_name_word_in_the_admin(tmp_path, admin_client):
    run_import(tmp_path, jsonl(FULL))
    holder = Holder.objects.get()
    response = admin_client.get(reverse("admin:holders_holder_changelist"), {"q": "conceicao"})
    assert str(holder.pk) in response.text


def test_import_many_lines_with_workers(tmp_path, api):
    """Worker processes (fork) produce the same rows, versions included; batches of 7 lines."""
    bodies = sample(40)
    status, _out, _ = run_import(tmp_path, jsonl(*bodies), "--workers", "2", "--batch-size", "7")
    assert status == 0
    assert Holder.objects.filter(organization_id=ORG_A).count() == 40
    assert AliasAccount.objects.filter(organization_id=ORG_A).count() == 40
    assert RecordVersion.objects.filter(organization_id=ORG_A, number=1).count() == 80
    assert len(set(Holder.objects.values_list("id", flat=True))) == 40
    body = bodies[17]
    found = api.get("/v1/holders", {"document": body["document"]}).json()["items"]
    assert [(item["name"], item["externalId"]) for item in found] == [(body["name"], "CUST-17")]


def test_import_rejects_lines_with_line_numbers_codes_and_no_values(tmp_path):
    bad = [
        {**FULL, "document": "98765432100"},  # line 1: fine
        "{not json",  # line 2: CRM-0004
        {"type": "NATURAL_PERSON", "document": "55566677788"},  # 3: name missing, CRM-0003
        {**FULL, "document": "22233344455", "secret": "Zeca"},  # 4: unknown field, CRM-0007
        "",  # 5: blank line, ignored
        {  # line 6: related party without a name -> CRM-0027
            **FULL,
            "document": "33344455566",
            "aliases": [{**FULL_ALIAS, "relatedParties": [{**PARTY, "name": " "}]}],
        },
        {**FULL, "document": "44455566677", "contact": {"primaryEmail": "x" * 300}},  # 7
    ]
    status, out, err = run_import(tmp_path, jsonl(*bad), "--quiet")
    assert status == 1
    assert "created 1 holders" in out and "refused 5 lines" in out
    # No --report: the closing line points at the lines above, not at a report never written.
    assert err.splitlines()[-1] == "5 line(s) refused (listed above on standard error)."
    lines = [line for line in err.splitlines() if line.startswith("line ")]
    assert lines == [
        "line 2: CRM-0004 Unmarshalling error",
        "line 3: CRM-0003 Missing Fields in Request (name)",
        "line 4: CRM-0007 Unexpected Fields in the Request (secret)",
        "line 6: CRM-0027 Related Party Name Required",
        "line 7: CRM-0015 Bad Request (contact.primaryEmail)",
    ]
    for value in ("Zeca", "55566677788", "xxxxxxxxxx", "Rep Legal", "Maria"):
        assert value not in err
    assert Holder.objects.count() == 1  # a refused line writes nothing, aliases included
    assert AliasAccount.objects.count() == 0


def test_import_report_file_is_json_lines(tmp_path):
    report = tmp_path / "report.jsonl"
    status, _, err = run_import(
        tmp_path, jsonl(FULL, {**FULL, "name": ""}), "--report", str(report), "--quiet"
    )
    assert status == 1
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    assert rows == [
        {"line": 2, "code": "CRM-0003", "title": "Missing Fields in Request", "fields": ["name"]}
    ]
    assert "line 2" not in err
    assert err.splitlines()[-1] == f"1 line(s) refused (see the report {report})."


def test_import_rejection_codes_match_the_api(tmp_path, api_b):
    """The importer refuses what the API refuses, with the same code."""
    bodies = [
        {**FULL, "type": "ROBOT"},
        {**FULL, "metadata": {"a": {"nested": 1}}},
        {**FULL, "naturalPerson": {"birthDate": "yesterday"}},
        {**FULL, "addresses": {"primary": {"country": "XX"}}},
        {**FULL, "name": 42},
    ]
    _, _, err = run_import(tmp_path, jsonl(*bodies), "--quiet")
    codes = [line.split()[2] for line in err.splitlines() if line.startswith("line ")]
    assert codes == [api_b.post("/v1/holders", body).json()["code"] for body in bodies]


def test_import_duplicates_in_the_file_refuse_the_later_line(tmp_path):
    text = jsonl(
        {**FULL, "aliases": [{**FULL_ALIAS, "accountId": "A1"}]},
        {**FULL, "name": "Other", "document": "12345678909"},  # same document, other format
        {**FULL, "document": "99988877766", "aliases": [{**FULL_ALIAS, "accountId": "A1"}]},
        {**FULL, "document": "99988877766"},  # line 3 was refused, so this one is new
    )
    status, _out, err = run_import(tmp_path, text, "--quiet")
    assert status == 1
    assert "line 2: CRM-0010 Document Association Error (document)" in err
    assert "line 3: CRM-0013 Account Already Associated (aliases[0].accountId)" in err
    assert "line 4" not in err
    assert Holder.objects.count() == 2
    assert AliasAccount.objects.count() == 1


def test_import_dry_run_writes_nothing(tmp_path):
    status, out, err = run_import(
        tmp_path, jsonl(*sample(5), {"type": "NATURAL_PERSON"}), "--dry-run", "--quiet"
    )
    assert status == 1
    assert "would create 5 holders and 5 aliases" in out
    assert "line 6: CRM-0003" in err
    assert Holder.all_objects.count() == AliasAccount.all_objects.count() == 0
    assert AuditEntry.objects.count() == 0 and HolderNameToken.objects.count() == 0


def test_import_is_resumable(tmp_path, api):
    """After a partial import (the first 3 lines, and line 4's holder created through the API
    without its alias), running the whole file again creates only what is missing."""
    bodies = sample(6)
    run_import(tmp_path, jsonl(*bodies[:3]))
    holder = api.post("/v1/holders", {k: v for k, v in bodies[3].items() if k != "aliases"})
    assert holder.status_code == 201

    status, out, _ = run_import(tmp_path, jsonl(*bodies), "--quiet")
    assert status == 0
    assert "created 2 holders and 3 aliases" in out
    assert "skipped (already present) 4 holders and 3 aliases" in out
    assert Holder.objects.count() == 6 and AliasAccount.objects.count() == 6
    alias = AliasAccount.objects.get(account_id=bodies[3]["aliases"][0]["accountId"])
    assert str(alias.holder_id) == holder.json()["id"]
    assert alias.document == bodies[3]["document"]

    status, out, _ = run_import(tmp_path, jsonl(*bodies), "--quiet")
    assert status == 0
    assert "created 0 holders and 0 aliases" in out
    assert AuditEntry.objects.filter(action="create", object_type="holder").count() == 6


def test_import_account_of_another_holder_is_refused(tmp_path):
    run_import(tmp_path, jsonl({**FULL, "aliases": [FULL_ALIAS]}))
    other = {**FULL, "document": "98765432100", "aliases": [FULL_ALIAS]}
    status, _, err = run_import(tmp_path, jsonl(other), "--quiet")
    assert status == 1
    assert "line 1: CRM-0013" in err
    assert Holder.objects.count() == 1


def test_import_from_stdin(monkeypatch, tmp_path):
    data = jsonl(*sample(3)).encode()
    monkeypatch.setattr(importing, "stdin_bytes", lambda: io.BytesIO(data))
    out = StringIO()
    call_command(
        "import_holders",
        "--organization",
        str(ORG_A),
        "-",
        "--workers",
        "0",
        stdout=out,
        stderr=StringIO(),
    )
    assert "created 3 holders and 3 aliases" in out.getvalue()
    assert Holder.objects.count() == 3


def test_import_csv_with_the_documented_columns(tmp_path, api):
    text = (
        "type,name,document,externalId,email,mobilePhone,city,country,birthDate,motherName,"
        "metadata.segment,ledgerId,accountId,branch,account,participantDocument,"
        "aliasMetadata.use\n"
        "NATURAL_PERSON,Maria José,123.456.789-09,C1,m@example.com,+5511999990000,"
        "São Paulo,BR,1980-01-02,Ana,retail,L1,ACC-1,0001,12345-1,,main\n"
        'LEGAL_PERSON,"Empresa, Ltda",12.345.678/0001-90,,,,,,,,,,,,,,\n'
        "NATURAL_PERSON,,11122233344,,,,,,,,,,,,,,\n"
    )
    status, _out, err = run_import(tmp_path, text, "--quiet", name="in.csv")
    assert status == 1
    assert "line 4: CRM-0003 Missing Fields in Request (name)" in err
    maria = api.get("/v1/holders", {"document": "12345678909"}).json()["items"][0]
    assert strip(maria) == {
        "externalId": "C1",
        "type": "NATURAL_PERSON",
        "name": "Maria José",
        "document": "123.456.789-09",
        "addresses": {
            "primary": {
                "line1": "",
                "line2": None,
                "zipCode": "",
                "city": "São Paulo",
                "state": "",
                "country": "BR",
            }
        },
        "contact": {"primaryEmail": "m@example.com", "mobilePhone": "+5511999990000"},
        "naturalPerson": {"birthDate": "1980-01-02", "motherName": "Ana"},
        "metadata": {"segment": "retail"},
    }
    alias = api.get("/v1/aliases", {"account_id": "ACC-1"}).json()["items"][0]
    assert alias["bankingDetails"] == {"branch": "0001", "account": "12345-1"}
    assert alias["metadata"] == {"use": "main"}
    company = api.get("/v1/holders", {"document": "12345678000190"}).json()["items"][0]
    assert company["name"] == "Empresa, Ltda"
    assert AliasAccount.objects.count() == 1


def test_import_csv_unknown_column_refuses_the_file(tmp_path):
    status, _, err = run_import(tmp_path, "type,name,document,cpf\n", name="x.csv")
    assert status == 2
    assert "unknown CSV column(s): cpf" in err


def test_import_audit_entries_without_values(tmp_path):
    run_import(tmp_path, jsonl({**FULL, "aliases": [FULL_ALIAS]}))
    holder, alias = Holder.objects.get(), AliasAccount.objects.get()
    entries = {e.object_type: e for e in AuditEntry.objects.all()}
    assert set(entries) == {"holder", "alias"}
    assert entries["holder"].object_id == holder.id
    assert entries["alias"].object_id == alias.id
    for entry in entries.values():
        assert (entry.action, entry.actor_type, entry.actor) == (
            "create",
            "command",
            "import_holders",
        )
        assert entry.organization_id == ORG_A
    assert entries["holder"].changed_fields == sorted(
        [
            "addresses",
            "contact",
            "document",
            "externalId",
            "metadata",
            "name",
            "naturalPerson",
            "type",
        ]
    )
    assert "relatedParties" in entries["alias"].changed_fields
    stored = json.dumps([e.changed_fields for e in entries.values()])
    for value in ("Maria", "12345678909", "maria@example.com", "12345-1"):
        assert value not in stored


def test_import_bad_arguments_exit_2(tmp_path):
    status, _, _err = run_import(tmp_path, "", "--batch-size", "0")
    assert status == 2
    with pytest.raises(CommandError) as missing:
        call_command("import_holders", "--organization", str(ORG_A), str(tmp_path / "nope"))
    assert missing.value.returncode == 2


def test_sample_cpfs_are_valid():
    assert importing.cpf(123456789) == "12345678909"
    assert importing.cpf(111444777) == "11144477735"


def test_import_help_documents_the_csv_columns(capsys):
    with pytest.raises(SystemExit):
        call_command("import_holders", "--help")
    text = capsys.readouterr().out
    for column in ("ledgerId", "accountId", "branch", "account", "email", "metadata.<key>"):
        assert column in text
    assert "Exit status" in text


def test_import_ends_with_analyze(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(statistics, "refresh_statistics", lambda: calls.append(True))
    run_import(tmp_path, jsonl(FULL))
    run_import(tmp_path, jsonl(FULL), "--dry-run")
    assert calls == [True]  # not after a dry run


def test_import_csv_not_utf8_refuses_the_file(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("type,name,document\nNATURAL_PERSON,Jos\xe9,12345678909\n".encode("latin-1"))
    with pytest.raises(CommandError, match="line 2 is not UTF-8") as error:
        call_command(
            "import_holders",
            "--organization",
            str(ORG_A),
            str(path),
            "--workers",
            "0",
            stderr=StringIO(),
        )
    assert error.value.returncode == 2
    assert Holder.objects.count() == 0


@pytest.mark.parametrize("aliases", [{}, "x", [None], [{"ledgerId": "L"}]])
def test_import_malformed_aliases_refuse_the_line(tmp_path, aliases):
    status, _, err = run_import(tmp_path, jsonl({**FULL, "aliases": aliases}), "--quiet")
    assert status == 1
    assert re.search(r"^line 1: CRM-000[347] .*\(aliases", err, re.MULTILINE)
    assert Holder.objects.count() == 0


def test_copy_text_forms_and_refusals():
    """The COPY text of each kind of prepared value; a type it does not know is an error,
    not a guess (a wrong guess would write a wrong value without complaint)."""
    import datetime as dt
    import decimal
    import uuid

    from psycopg import Binary
    from psycopg.types.json import Jsonb
    from psycopg.types.numeric import Int8

    from registry.importing import _copy_text

    when = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    assert _copy_text(None) == "\\N"
    assert _copy_text("\\N") == "\\\\N"
    assert _copy_text("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e"
    assert _copy_text(uuid.UUID(int=1)) == "0" * 31 + "1"
    assert _copy_text(b"\x00\xff") == "\\\\x00ff"
    assert _copy_text(Binary(b"\x01")) == "\\\\x01"
    assert _copy_text(True) == "t"
    assert _copy_text(Int8(-(2**63))) == str(-(2**63))
    assert _copy_text(when) == "2026-11-30 08:00:00+00:00"
    assert _copy_text(dt.date(2026, 11, 30)) == "2026-11-30"
    assert _copy_text(Jsonb({"k": "a\tb"})) == '{"k": "a\\\\tb"}'
    with pytest.raises(TypeError):
        _copy_text(decimal.Decimal("1.5"))
