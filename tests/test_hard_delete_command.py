"""`manage.py hard_delete`: erasure by id (one transaction), retention and organization purges
(batched), dry run by default, one erasure audit entry per record, every bad argument."""

import datetime as dt
import os
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from aliases.models import AliasAccount, RelatedParty
from aliases.services import alias_soft_delete
from crm import lifecycle as erasure
from crm.models import AuditEntry
from holders.models import Holder, HolderNameToken
from holders.services import holder_soft_delete, holder_update
from tests.conftest import ORG_A, ORG_B
from tests.factories import AliasFactory, HolderFactory

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent
PARTY = {
    "document": "11144477735",
    "name": "Rep",
    "role": "LEGAL_REPRESENTATIVE",
    "startDate": "2024-01-01",
}


def run(*args: str) -> str:
    out = StringIO()
    call_command("hard_delete", *args, stdout=out)
    return out.getvalue()


def customer(organization_id=ORG_A, aliases: int = 2):
    """A holder with live aliases (one with a related party)."""
    holder = HolderFactory(organization_id=organization_id)
    holder_update(organization_id=organization_id, holder_id=holder.id, patch={"name": "Ana B"})
    made = [
        AliasFactory(holder=holder, relatedParties=[PARTY] if i == 0 else None)
        for i in range(aliases)
    ]
    return holder, made


def soft_deleted_customer(deleted_at: dt.datetime, organization_id=ORG_A, aliases: int = 1):
    holder, made = customer(organization_id, aliases)
    for alias in made:
        alias_soft_delete(organization_id=organization_id, holder_id=holder.id, alias_id=alias.id)
    holder_soft_delete(organization_id=organization_id, holder_id=holder.id)
    Holder.all_objects.filter(pk=holder.pk).update(deleted_at=deleted_at)
    AliasAccount.all_objects.filter(holder=holder).update(deleted_at=deleted_at)
    return holder, made


def exists(*records) -> list[bool]:
    return [type(r).all_objects.filter(pk=r.pk).exists() for r in records]


def assert_erased_with_one_audit_entry(record, object_type: str) -> None:
    assert not type(record).all_objects.filter(pk=record.pk).exists()
    # The record's earlier entries are cleared to their frame (crm.lifecycle.chain.redact);
    # what is left beyond them is the one erasure entry.
    entries = list(AuditEntry.objects.filter(object_id=record.pk, redacted=False))
    assert [
        (e.action, e.object_type, e.actor_type, e.actor, e.changed_fields) for e in entries
    ] == [("hard_delete", object_type, "command", "hard_delete", [])]


def days_ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


# --- holders by id -------------------------------------------------------------------------


def test_hard_delete_holders_dry_run_prints_ids_and_counts_and_erases_nothing():
    holder, aliases = customer()
    alias_soft_delete(organization_id=ORG_A, holder_id=holder.id, alias_id=aliases[1].id)

    output = run("holders", str(holder.id))

    assert f"holder  {holder.id}  {ORG_A}  live     -" in output
    assert f"alias   {aliases[0].id}  {ORG_A}  live     {holder.id}" in output
    assert f"alias   {aliases[1].id}  {ORG_A}  deleted  {holder.id}" in output
    assert "Total: 1 holder(s), 2 alias account(s)." in output
    assert "Dry run: nothing was erased. Re-run with --yes" in output
    assert holder.name not in output
    assert holder.document not in output
    assert exists(holder, *aliases) == [True, True, True]
    assert not AuditEntry.objects.filter(action="hard_delete").exists()


def test_hard_delete_holders_yes_erases_holder_aliases_and_history():
    holder, aliases = customer()
    alias_soft_delete(organization_id=ORG_A, holder_id=holder.id, alias_id=aliases[1].id)
    other, other_aliases = customer()

    output = run("holders", str(holder.id), "--yes")

    assert "Erased 1 holder(s) and 2 alias account(s) in one transaction." in output
    assert_erased_with_one_audit_entry(holder, "holder")
    for alias in aliases:
        assert_erased_with_one_audit_entry(alias, "alias")
    assert not RelatedParty.objects.filter(alias_id__in=[a.id for a in aliases]).exists()
    assert not HolderNameToken.objects.filter(holder_id=holder.id).exists()
    assert exists(other, *other_aliases) == [True, True, True]
    assert AuditEntry.objects.filter(object_id=other.id, action="create").exists()


def test_hard_delete_several_holders_live_and_soft_deleted_duplicates_ignored():
    live, _ = customer(aliases=0)
    deleted, _ = soft_deleted_customer(days_ago(1), aliases=1)

    output = run("holders", str(live.id), str(deleted.id), str(live.id), "--yes")

    assert "Erased 2 holder(s) and 1 alias account(s) in one transaction." in output
    assert exists(live, deleted) == [False, False]


def test_hard_delete_holders_organization_scope():
    holder_b, _ = customer(ORG_B, aliases=0)

    with pytest.raises(CommandError, match=f"Unknown holder id\\(s\\) in organization {ORG_A}"):
        run("holders", str(holder_b.id), "--organization", str(ORG_A), "--yes")
    assert exists(holder_b) == [True]

    output = run("holders", str(holder_b.id), "--organization", str(ORG_B), "--yes")
    assert "Erased 1 holder(s)" in output


def test_hard_delete_holders_unknown_id_erases_nothing():
    holder, _ = customer(aliases=0)
    unknown = uuid.UUID("0196a3f4-1c2b-7cde-8f00-0000000000ff")

    with pytest.raises(CommandError) as excinfo:
        run("holders", str(holder.id), str(unknown), "--yes")

    assert str(excinfo.value) == f"Unknown holder id(s): {unknown}. Nothing was erased."
    assert exists(holder) == [True]


def test_hard_delete_holders_is_all_or_nothing():
    first, _ = customer()
    second, _ = customer()
    real = erasure.audit.record_erasure

    def fail_after_the_rows_are_gone(**kwargs):
        # Aliases and holders are deleted by now; only the holders' audit entries are left.
        if kwargs["object_type"] == "holder":
            raise RuntimeError("database went away")
        return real(**kwargs)

    with (
        mock.patch.object(
            erasure.audit, "record_erasure", side_effect=fail_after_the_rows_are_gone
        ),
        pytest.raises(RuntimeError),
    ):
        run("holders", str(first.id), str(second.id), "--yes")

    assert exists(first, second) == [True, True]
    assert AliasAccount.all_objects.count() == 4


def test_hard_delete_second_run_reports_the_id_as_unknown():
    holder, _ = customer(aliases=0)
    run("holders", str(holder.id), "--yes")

    with pytest.raises(CommandError, match="Unknown holder id"):
        run("holders", str(holder.id), "--yes")


# --- aliases by id -------------------------------------------------------------------------


def test_hard_delete_aliases_dry_run_then_yes():
    holder, aliases = customer(aliases=3)
    alias_soft_delete(organization_id=ORG_A, holder_id=holder.id, alias_id=aliases[1].id)

    dry = run("aliases", str(aliases[0].id), str(aliases[1].id))
    assert f"alias  {aliases[0].id}  {ORG_A}  live     {holder.id}  -" in dry
    assert f"alias  {aliases[1].id}  {ORG_A}  deleted  {holder.id}  -" in dry
    assert "Dry run" in dry
    assert exists(*aliases) == [True, True, True]

    output = run("aliases", str(aliases[0].id), str(aliases[1].id), "--yes")

    assert "Erased 0 holder(s) and 2 alias account(s) in one transaction." in output
    assert_erased_with_one_audit_entry(aliases[0], "alias")
    assert_erased_with_one_audit_entry(aliases[1], "alias")
    assert not RelatedParty.objects.filter(alias_id=aliases[0].id).exists()
    assert exists(holder, aliases[2]) == [True, True]


def test_hard_delete_aliases_unknown_or_other_organization():
    _, (alias_b,) = customer(ORG_B, aliases=1)
    unknown = uuid.UUID("0196a3f4-1c2b-7cde-8f00-0000000000ee")

    with pytest.raises(CommandError, match=f"Unknown alias id\\(s\\): {unknown}"):
        run("aliases", str(alias_b.id), str(unknown), "--yes")
    with pytest.raises(CommandError, match=f"in organization {ORG_A}: {alias_b.id}"):
        run("aliases", str(alias_b.id), "--organization", str(ORG_A), "--yes")
    assert exists(alias_b) == [True]


# --- retention purge -----------------------------------------------------------------------


def test_hard_delete_purge_before_date():
    old, old_aliases = soft_deleted_customer(dt.datetime(2024, 3, 1, tzinfo=dt.UTC))
    recent, recent_aliases = soft_deleted_customer(dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    live, live_aliases = customer()
    alias_soft_delete(organization_id=ORG_A, holder_id=live.id, alias_id=live_aliases[1].id)
    AliasAccount.all_objects.filter(pk=live_aliases[1].pk).update(
        deleted_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    )

    dry = run("purge", "--before", "2024-04-01")
    assert "Selection: soft-deleted before 2024-04-01T00:00:00+00:00." in dry
    assert f"{ORG_A}  1        2" in dry
    assert exists(old) == [True]

    output = run("purge", "--before", "2024-04-01", "--yes")

    assert "Erased 1 holder(s) and 2 alias account(s)" in output
    assert_erased_with_one_audit_entry(old, "holder")
    assert_erased_with_one_audit_entry(old_aliases[0], "alias")
    assert_erased_with_one_audit_entry(live_aliases[1], "alias")
    assert exists(recent, *recent_aliases, live, live_aliases[0]) == [True, True, True, True]


def test_hard_delete_purge_before_accepts_an_iso_datetime_with_offset():
    old, _ = soft_deleted_customer(dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC), aliases=0)

    output = run("purge", "--before", "2024-03-01T13:00:00+01:00", "--yes")

    assert "Nothing to erase." in output  # 12:00 UTC is not before 12:00 UTC
    assert exists(old) == [True]
    assert "Erased 1 holder(s)" in run("purge", "--before", "2024-03-01T12:00:01Z", "--yes")


def test_hard_delete_purge_older_than_days():
    old, _ = soft_deleted_customer(days_ago(31))
    young, _ = soft_deleted_customer(days_ago(29))

    output = run("purge", "--older-than", "30d", "--yes")

    assert "Erased 1 holder(s) and 1 alias account(s)" in output
    assert exists(old, young) == [False, True]


def test_hard_delete_purge_scoped_by_organization():
    holder_a, _ = soft_deleted_customer(days_ago(40), ORG_A)
    holder_b, _ = soft_deleted_customer(days_ago(40), ORG_B)

    output = run("purge", "--older-than", "30d", "--organization", str(ORG_B), "--yes")

    assert f"in organization {ORG_B}" in output
    assert exists(holder_a, holder_b) == [True, False]


def test_hard_delete_purge_with_nothing_to_erase_is_a_success():
    customer()

    output = run("purge", "--older-than", "0d", "--yes")

    assert "Nothing to erase." in output


# --- organization purge --------------------------------------------------------------------


def test_hard_delete_organization_erases_everything_of_that_organization_only():
    live_a, aliases_a = customer(ORG_A)
    _deleted_a, _ = soft_deleted_customer(days_ago(1), ORG_A)
    live_b, aliases_b = customer(ORG_B)

    dry = run("organization", str(ORG_A))
    assert f"{ORG_A}  2        3" in dry
    assert "TOTAL" in dry
    assert "Dry run" in dry
    assert Holder.all_objects.filter(organization_id=ORG_A).count() == 2

    output = run("organization", str(ORG_A), "--yes")

    assert "Erased 2 holder(s) and 3 alias account(s)" in output
    assert not Holder.all_objects.filter(organization_id=ORG_A).exists()
    assert not AliasAccount.all_objects.filter(organization_id=ORG_A).exists()
    assert_erased_with_one_audit_entry(live_a, "holder")
    assert_erased_with_one_audit_entry(aliases_a[0], "alias")
    assert exists(live_b, *aliases_b) == [True, True, True]
    assert "Nothing to erase." in run("organization", str(ORG_A), "--yes")


# --- batches -------------------------------------------------------------------------------


def test_hard_delete_purge_runs_in_batches_with_progress():
    for _ in range(5):
        soft_deleted_customer(days_ago(60), aliases=1)

    output = run("purge", "--older-than", "30d", "--yes", "--batch-size", "2")

    assert "  batch 1 (holders): 2/5 holders, 2/5 aliases erased" in output
    assert "  batch 2 (holders): 4/5 holders, 4/5 aliases erased" in output
    assert "  batch 3 (holders): 5/5 holders, 5/5 aliases erased" in output
    assert "Erased 5 holder(s) and 5 alias account(s) in 3 batch(es)." in output
    assert not Holder.all_objects.exists()


def test_hard_delete_purge_loose_aliases_are_batched_too():
    holder, aliases = customer(aliases=3)
    for alias in aliases:
        alias_soft_delete(organization_id=ORG_A, holder_id=holder.id, alias_id=alias.id)
    AliasAccount.all_objects.update(deleted_at=days_ago(90))

    output = run("purge", "--older-than", "30d", "--yes", "--batch-size", "2")

    assert "  batch 1 (aliases): 0/0 holders, 2/3 aliases erased" in output
    assert "  batch 2 (aliases): 0/0 holders, 3/3 aliases erased" in output
    assert exists(holder) == [True]


def test_hard_delete_purge_failure_keeps_committed_batches_and_a_rerun_finishes():
    holders = [soft_deleted_customer(days_ago(60), aliases=1)[0] for _ in range(4)]
    real = erasure.audit.record_erasure
    holder_batches = []

    def fail_second_holder_batch(**kwargs):
        if kwargs["object_type"] == "holder":
            holder_batches.append(kwargs["object_ids"])
            if len(holder_batches) == 2:
                raise RuntimeError("killed")
        return real(**kwargs)

    with (
        mock.patch.object(erasure.audit, "record_erasure", side_effect=fail_second_holder_batch),
        pytest.raises(RuntimeError),
    ):
        run("purge", "--older-than", "30d", "--yes", "--batch-size", "2")

    # The first batch is erased whole, the second rolled back whole: no half-erased customer
    assert exists(*holders) == [False, False, True, True]
    assert AliasAccount.all_objects.filter(holder__in=holders[2:]).count() == 2

    output = run("purge", "--older-than", "30d", "--yes", "--batch-size", "2")

    assert "Erased 2 holder(s) and 2 alias account(s) in 1 batch(es)." in output
    assert not Holder.all_objects.exists()


# --- bad arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no selector given: say what to erase"),
        (["customers", "x"], "argument {holders,aliases,purge,organization}: invalid choice"),
        (["holders"], "the following arguments are required: HOLDER_ID"),
        (["holders", "42"], "argument HOLDER_ID: not a UUID: '42'"),
        (["holders", str(ORG_A), "--organization", "acme"], "not a UUID: 'acme'"),
        (["holders", str(ORG_A), "--batch-size", "5"], "unrecognized arguments: --batch-size"),
        (["holders", str(ORG_A), "--force"], "unrecognized arguments: --force"),
        (["aliases"], "the following arguments are required: ALIAS_ID"),
        (["aliases", "not-an-id"], "argument ALIAS_ID: not a UUID: 'not-an-id'"),
        (["purge"], "one of the arguments --before --older-than is required"),
        (["purge", "--yes"], "one of the arguments --before --older-than is required"),
        (
            ["purge", "--before", "2024-01-01", "--older-than", "30d"],
            "argument --older-than: not allowed with argument --before",
        ),
        (["purge", "--before", "yesterday"], "argument --before: not a date: 'yesterday'"),
        (["purge", "--before", "2024-02-30"], "argument --before: not a date: '2024-02-30'"),
        (["purge", "--before", "2999-01-01"], "argument --before: '2999-01-01' is in the future"),
        (["purge", "--older-than", "30"], "argument --older-than: not an age: '30'"),
        (["purge", "--older-than", "-3d"], "argument --older-than: expected one argument"),
        (["purge", "--older-than=-3d"], "argument --older-than: not an age: '-3d'"),
        (["purge", "--older-than", "1y"], "not an age: '1y' (expected days, e.g. 30d)"),
        (["purge", "--older-than", "30d", "--batch-size", "0"], "must be a positive integer"),
        (["purge", "--older-than", "30d", "--batch-size", "x"], "must be a positive integer"),
        (["organization"], "the following arguments are required: ORG_ID"),
        (["organization", "acme"], "argument ORG_ID: not a UUID: 'acme'"),
        (["organization", str(ORG_A), "--organization", str(ORG_B)], "unrecognized arguments"),
    ],
)
def test_hard_delete_bad_arguments_are_refused(args, message):
    customer(aliases=0)

    with pytest.raises(CommandError) as excinfo:
        run(*args)

    assert message in str(excinfo.value)
    assert Holder.all_objects.count() == 1


# --- a real `python manage.py` -------------------------------------------------------------


def test_hard_delete_through_manage_py_subprocess(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert manage("migrate", "--no-input", "-v", "0").returncode == 0
    created = manage(
        "shell",
        "-c",
        "from holders.services import holder_create; from tests.conftest import ORG_A; "
        "print(holder_create(organization_id=ORG_A, data={'type': 'NATURAL_PERSON', "
        "'name': 'Maria', 'document': '52998224725'}).id)",
    )
    holder_id = created.stdout.strip().splitlines()[-1]
    assert created.returncode == 0, created.stderr

    dry = manage("hard_delete", "holders", holder_id)
    erased = manage("hard_delete", "holders", holder_id, "--yes")
    again = manage("hard_delete", "holders", holder_id, "--yes")
    bad = manage("hard_delete", "purge", "--older-than", "soon")
    helped = manage("hard_delete", "--help")

    assert (dry.returncode, erased.returncode, again.returncode) == (0, 0, 1)
    assert "Dry run" in dry.stdout
    assert "Maria" not in dry.stdout
    assert "Erased 1 holder(s) and 0 alias account(s) in one transaction." in erased.stdout
    assert f"CommandError: Unknown holder id(s): {holder_id}. Nothing was erased." in again.stderr
    assert bad.returncode == 2
    assert "argument --older-than: not an age: 'soon'" in bad.stderr
    assert helped.returncode == 0
    assert "examples:" in helped.stdout


def test_hard_delete_purge_never_decrypts_so_rows_under_a_lost_key_are_erased(settings):
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = "e5" * 32
    holder, aliases = soft_deleted_customer(days_ago(60), aliases=2)
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = "f6" * 32  # the old key is gone

    output = run("purge", "--older-than", "30d", "--yes")

    assert "Erased 1 holder(s) and 2 alias account(s)" in output
    assert exists(holder, *aliases) == [False, False, False]
