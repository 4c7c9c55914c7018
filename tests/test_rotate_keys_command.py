"""`manage.py rotate_encryption_keys`: every row readable and every search finding after the
old keys are dropped; resumable, dry run, bad rows reported, bad arguments refused."""

from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import models
from django.db.models import ExpressionWrapper, F

from crm.crypto.encryption import keyring
from crm.crypto.rotation import encrypted_fields
from crm.crypto.search import search_hash
from crm.models import AuditEntry, RecordVersion
from holders.models import NAME_PREFIX_FIELD, Holder, HolderNameToken, name_token
from holders.services import DOCUMENT_FIELD
from tests.conftest import ORG_A
from tests.factories import HolderFactory

K0 = "a0" * 32  # a key nobody configures any more
K1 = "b1" * 32
K2 = "c2" * 32
H1 = "hash-key-one-" + "1" * 32
H2 = "hash-key-two-" + "2" * 32

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _without_key_check(db):
    """These tests stage data under keys (K0, K1, H1) other than the ones the test database
    was migrated with, so the migrate-time key check row belongs to another world: take it
    out. tests/test_key_check.py covers the check row through a rotation."""
    from crm.models import KeyCheck

    KeyCheck.objects.all().delete()


def run(*args: str) -> str:
    out = StringIO()
    call_command("rotate_encryption_keys", *args, stdout=out)
    return out.getvalue()


def raw_tokens(model: type[models.Model]) -> list[bytes]:
    """Every non-null encrypted value of `model` as stored (ciphertext bytes)."""
    fields = encrypted_fields(model)
    columns = [ExpressionWrapper(F(f.attname), output_field=models.BinaryField()) for f in fields]
    rows = model._base_manager.values_list(*columns)
    return [bytes(value) for row in rows for value in row if value is not None]


def all_current(model: type[models.Model]) -> bool:
    return all(keyring().is_current(token) for token in raw_tokens(model))


def rich_holder(**overrides) -> Holder:
    return HolderFactory(
        contact={"primaryEmail": "maria@example.com", "mobilePhone": "+5511999999999"},
        naturalPerson={"motherName": "Ana Souza", "favoriteName": "Mari"},
        **overrides,
    )


def snapshot(holder: Holder) -> tuple:
    return (holder.name, holder.document, holder.contact, holder.natural_person_private)


def finds(api, holder: Holder) -> bool:
    response = api.get("/v1/holders", {"document": holder.document})
    return [item["id"] for item in response.json()["items"]] == [str(holder.id)]


def test_rotate_encryption_key_old_rows_readable_after_old_key_dropped(settings, api):
    # Given rows written under K1
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = K1
    holders = [rich_holder() for _ in range(3)]
    before = {h.id: snapshot(h) for h in holders}
    updated_at = dict(Holder.all_objects.values_list("id", "updated_at"))
    # When K2 becomes current with K1 as a previous key
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = K2
    settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = [K1]
    # Then old rows still read, but are not under the current key
    assert {h.id: snapshot(h) for h in Holder.all_objects.all()} == before
    assert not all_current(Holder)
    # When the rows are rotated and K1 dropped
    output = run("--encryption")
    settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = []
    # Then every row decrypts with K2 alone and every search still finds
    assert "holders.Holder encryption: 3 rows checked, 3 rotated" in output
    assert all_current(Holder)
    assert {h.id: snapshot(h) for h in Holder.all_objects.all()} == before
    assert all(finds(api, h) for h in holders)
    # and re-encryption did not touch updated_at
    assert dict(Holder.all_objects.values_list("id", "updated_at")) == updated_at


def test_rotate_hash_key_searches_find_after_old_key_dropped(settings, api):
    # Given rows hashed under H1
    settings.LCRYPTO_HASH_SECRET_KEY = H1
    holders = [HolderFactory(name="Maria Rotação Silva") for _ in range(3)]
    # When H2 becomes current with H1 as a previous key, searches still find (lookup_hashes)
    settings.LCRYPTO_HASH_SECRET_KEY = H2
    settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS = [H1]
    assert all(finds(api, h) for h in holders)
    # When the hashes are recomputed and H1 dropped
    output = run("--hashes")
    settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS = []
    # Then every search finds with H2 alone
    assert "holders.Holder hashes: 3 rows checked, 3 rotated" in output
    assert all(finds(api, h) for h in holders)
    for holder in Holder.all_objects.all():
        assert holder.document_hash == search_hash(ORG_A, DOCUMENT_FIELD, holder.document)
    word = name_token(search_hash(ORG_A, NAME_PREFIX_FIELD, "rotacao"))
    assert HolderNameToken.objects.filter(token_hash=word).count() == 3


def test_rotate_default_does_both_and_a_rerun_has_nothing_left(settings, api):
    settings.LCRYPTO_ENCRYPT_SECRET_KEY, settings.LCRYPTO_HASH_SECRET_KEY = K1, H1
    holders = [rich_holder() for _ in range(2)]
    settings.LCRYPTO_ENCRYPT_SECRET_KEY, settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = K2, [K1]
    settings.LCRYPTO_HASH_SECRET_KEY, settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS = H2, [H1]

    first = run()
    second = run()

    assert "holders.Holder encryption: 2 rows checked, 2 rotated" in first
    assert "holders.Holder hashes: 2 rows checked, 2 rotated" in first
    assert "Done: " in first
    assert "holders.Holder encryption: 2 rows checked, 0 rotated" in second
    assert "holders.Holder hashes: 2 rows checked, 0 rotated" in second
    settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = []
    settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS = []
    assert all(finds(api, h) for h in holders)


def test_rotate_dry_run_counts_and_changes_nothing(settings):
    settings.LCRYPTO_ENCRYPT_SECRET_KEY, settings.LCRYPTO_HASH_SECRET_KEY = K1, H1
    rich_holder()
    rich_holder()
    settings.LCRYPTO_ENCRYPT_SECRET_KEY, settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = K2, [K1]
    settings.LCRYPTO_HASH_SECRET_KEY, settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS = H2, [H1]
    stored = raw_tokens(Holder)
    hashes = list(Holder.all_objects.values_list("document_hash", flat=True))
    tokens = list(HolderNameToken.objects.values_list("token_hash", flat=True))

    output = run("--dry-run")

    assert "holders.Holder encryption: 2 rows checked, 2 would be rotated" in output
    assert "holders.Holder hashes: 2 rows checked, 2 would be rotated" in output
    # Each holder's version 1 keeps its body encrypted like the holder: rotated with it.
    assert "crm.RecordVersion encryption: 2 rows checked, 2 would be rotated" in output
    assert "Dry run: 6 row(s) not yet under the current keys. Nothing was changed." in output
    assert raw_tokens(Holder) == stored
    assert list(Holder.all_objects.values_list("document_hash", flat=True)) == hashes
    assert list(HolderNameToken.objects.values_list("token_hash", flat=True)) == tokens
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.ROTATE_KEYS).exists()


def test_rotate_batches_with_progress_lines(settings):
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = K1
    for _ in range(5):
        HolderFactory()
    settings.LCRYPTO_ENCRYPT_SECRET_KEY, settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = K2, [K1]

    output = run("--encryption", "--batch-size", "2")

    assert "holders.Holder encryption: batch 1, 2/5 rows checked" in output
    assert "holders.Holder encryption: batch 2, 4/5 rows checked" in output
    assert "holders.Holder encryption: batch 3, 5/5 rows checked" in output
    assert all_current(Holder)


def test_rotate_is_resumable_after_an_interruption(settings):
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = K1
    for _ in range(5):
        HolderFactory()
    settings.LCRYPTO_ENCRYPT_SECRET_KEY, settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = K2, [K1]
    # Given a run killed after its first batch of 2 rows (that batch is committed): the first
    # table with encrypted columns is the kernel's versions (one per holder, its body)
    from crm.management.commands.rotate_encryption_keys import Command

    with (
        mock.patch.object(Command, "_progress", side_effect=KeyboardInterrupt),
        pytest.raises(KeyboardInterrupt),
    ):
        run("--encryption", "--batch-size", "2")
    assert sum(keyring().is_current(t) for t in raw_tokens(RecordVersion)) == 2
    assert not any(keyring().is_current(t) for t in raw_tokens(Holder))

    # When it is run again, it rotates only what is left
    output = run("--encryption", "--batch-size", "2")

    assert "crm.RecordVersion encryption: 5 rows checked, 3 rotated" in output
    assert "holders.Holder encryption: 5 rows checked, 5 rotated" in output
    assert all_current(Holder)
    assert all_current(RecordVersion)


def test_rotate_row_under_unknown_key_is_reported_and_exits_non_zero(settings):
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = K0
    lost = HolderFactory()
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = K1
    kept = [HolderFactory() for _ in range(2)]
    settings.LCRYPTO_ENCRYPT_SECRET_KEY, settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = K2, [K1]

    with pytest.raises(CommandError) as excinfo:
        run("--batch-size", "2")

    message = str(excinfo.value)
    assert "could not be rotated; every other row was processed" in message
    assert f"holders.Holder (encryption): 1 row(s) no configured key decrypts: {lost.id}" in message
    assert f"holders.Holder (hashes): 1 row(s) no configured key decrypts: {lost.id}" in message
    assert "Do not drop the previous keys yet" in message
    settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = []
    assert {h.name for h in Holder.all_objects.filter(id__in=[k.id for k in kept])} == {
        k.name for k in kept
    }


def test_rotate_hash_collision_from_the_rotation_window_is_reported(settings):
    # Given the same document live twice: once under H1, once under H2 created while H1 was
    # not (yet) listed as a previous key, so the uniqueness check could not see it
    settings.LCRYPTO_HASH_SECRET_KEY = H1
    first = HolderFactory(document="52998224725")
    settings.LCRYPTO_HASH_SECRET_KEY = H2
    HolderFactory(document="52998224725")
    settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS = [H1]

    with pytest.raises(CommandError) as excinfo:
        run("--hashes")

    assert (
        f"holders.Holder (hashes): 1 row(s) whose new search hash collides with another live "
        f"row: {first.id}"
    ) in str(excinfo.value)


def test_holder_create_during_hash_rotation_window_refuses_duplicate(settings, api):
    settings.LCRYPTO_HASH_SECRET_KEY = H1
    HolderFactory(document="52998224725")
    settings.LCRYPTO_HASH_SECRET_KEY, settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS = H2, [H1]

    response = api.post(
        "/v1/holders", {"type": "NATURAL_PERSON", "name": "Other", "document": "529.982.247-25"}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "CRM-0010"
    assert Holder.objects.count() == 1


def test_rotate_writes_one_audit_entry_per_model_and_pass_without_values(settings):
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = K1
    holder = rich_holder()
    settings.LCRYPTO_ENCRYPT_SECRET_KEY, settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = K2, [K1]

    run("--encryption")

    entry = AuditEntry.objects.get(action="rotate_keys", object_type="holders.holder")
    assert (entry.actor_type, entry.actor) == ("command", "rotate_encryption_keys")
    assert entry.object_id is None
    assert entry.changed_fields == ["contact", "document", "name", "natural_person_private"]
    assert holder.name not in str(entry.__dict__)
    assert holder.document not in str(entry.__dict__)


def test_rotate_encryption_only_leaves_hashes_and_hashes_only_leaves_ciphertext(settings):
    settings.LCRYPTO_ENCRYPT_SECRET_KEY, settings.LCRYPTO_HASH_SECRET_KEY = K1, H1
    HolderFactory()
    settings.LCRYPTO_ENCRYPT_SECRET_KEY, settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = K2, [K1]
    settings.LCRYPTO_HASH_SECRET_KEY, settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS = H2, [H1]
    hashes = list(Holder.all_objects.values_list("document_hash", flat=True))

    encryption_output = run("--encryption")
    assert "hashes:" not in encryption_output
    assert list(Holder.all_objects.values_list("document_hash", flat=True)) == hashes

    settings.LCRYPTO_ENCRYPT_SECRET_KEY, settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = K1, [K2]
    stored = raw_tokens(Holder)
    hashes_output = run("--hashes")
    assert "encryption:" not in hashes_output
    assert raw_tokens(Holder) == stored


def test_rotate_discovers_every_model_with_encrypted_fields_or_hashes():
    output = run("--dry-run")

    assert "holders.Holder encryption:" in output
    assert "holders.Holder hashes:" in output
    assert "crm.AuditEntry" not in output


def test_changing_secret_key_leaves_stored_data_readable(settings):
    settings.SECRET_KEY = "first-secret-key-" + "s" * 40
    holder = rich_holder()
    settings.SECRET_KEY = "a-completely-different-secret-key-" + "t" * 40

    reloaded = Holder.all_objects.get(pk=holder.pk)

    assert snapshot(reloaded) == snapshot(holder)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch-size", "0"], "argument --batch-size: must be a positive integer, not '0'"),
        (["--batch-size", "-3"], "argument --batch-size: must be a positive integer, not '-3'"),
        (["--batch-size", "many"], "argument --batch-size: must be a positive integer"),
        (["--batch-size"], "argument --batch-size: expected one argument"),
        (["--keys", "x"], "unrecognized arguments: --keys x"),
        (["holders"], "unrecognized arguments: holders"),
    ],
)
def test_rotate_bad_arguments_are_refused(args, message):
    with pytest.raises(CommandError, match=r"^Error: ") as excinfo:
        run(*args)
    assert message in str(excinfo.value)


def test_rotate_both_keys_every_alias_value_and_filter_survives_dropping_old_keys(settings, api):
    # Given aliases (banking account/iban, participant document, a related party) under K1/H1
    from aliases.models import AliasAccount, RelatedParty
    from tests.factories import AliasFactory

    settings.LCRYPTO_ENCRYPT_SECRET_KEY, settings.LCRYPTO_HASH_SECRET_KEY = K1, H1
    alias = AliasFactory(
        bankingDetails={"branch": "0001", "account": "12345-6", "iban": "BR15000000000000001093"},
        regulatoryFields={"participantDocument": "12345678000195"},
        relatedParties=[
            {
                "document": "111.444.777-35",
                "name": "Rep",
                "role": "LEGAL_REPRESENTATIVE",
                "startDate": "2024-01-01",
            }
        ],
    )
    holder = Holder.objects.get(pk=alias.holder_id)
    # When both keys rotate and the old ones are dropped
    settings.LCRYPTO_ENCRYPT_SECRET_KEY, settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = K2, [K1]
    settings.LCRYPTO_HASH_SECRET_KEY, settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS = H2, [H1]
    output = run("--batch-size", "1")
    settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = []
    settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS = []
    # Then every value decrypts and every search filter finds the alias
    assert "aliases.AliasAccount encryption: 1 rows checked, 1 rotated" in output
    assert "aliases.RelatedParty hashes: 1 rows checked, 1 rotated" in output
    assert all_current(AliasAccount)
    assert all_current(RelatedParty)
    stored = AliasAccount.objects.get(pk=alias.pk)
    assert (stored.document, stored.account, stored.iban, stored.participant_document) == (
        holder.document,
        "12345-6",
        "BR15000000000000001093",
        "12345678000195",
    )
    assert RelatedParty.objects.get(alias=alias).document == "111.444.777-35"
    for name, value in [
        ("document", holder.document),
        ("banking_details_account", "123456"),
        ("banking_details_iban", "BR15 0000 0000 0000 0010 93"),
        ("regulatory_fields_participant_document", "12.345.678/0001-95"),
        ("related_party_document", "11144477735"),
    ]:
        response = api.get("/v1/aliases", {name: value})
        assert [item["id"] for item in response.json()["items"]] == [str(alias.id)], name
    assert finds(api, holder)
