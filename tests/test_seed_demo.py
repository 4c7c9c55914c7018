"""`manage.py seed_demo`: demo data through the services, idempotent, `--reset`."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from aliases.models import AliasAccount, RelatedParty
from crm.models import AuditEntry
from holders.models import Holder, HolderNameToken
from registry.management.commands.seed_demo import DEMO_ORGANIZATIONS


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_fills_organizations_through_the_services():
    seed("--organizations", "2", "--holders", "10")
    assert set(Holder.all_objects.values_list("organization_id", flat=True)) == set(
        DEMO_ORGANIZATIONS[:2]
    )
    assert Holder.all_objects.count() == 20
    assert Holder.all_objects.filter(type="LEGAL_PERSON").exists()
    assert Holder.all_objects.filter(deleted_at__isnull=False).exists()
    assert AliasAccount.all_objects.exists()
    assert RelatedParty.objects.exists()
    assert HolderNameToken.objects.exists()
    holder = Holder.all_objects.filter(type="NATURAL_PERSON").first()
    assert holder.contact["primaryEmail"]
    assert holder.addresses["primary"]["country"] == "BR"
    assert AuditEntry.objects.filter(actor="seed_demo", action="create").count() >= 20


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_reset_reseeds():
    seed("--organizations", "1", "--holders", "5")
    ids = set(Holder.all_objects.values_list("id", flat=True))
    assert "skipped" in seed("--organizations", "1", "--holders", "5")
    assert set(Holder.all_objects.values_list("id", flat=True)) == ids
    seed("--organizations", "1", "--holders", "5", "--reset")
    new_ids = set(Holder.all_objects.values_list("id", flat=True))
    assert len(new_ids) == 5
    assert not ids & new_ids


@pytest.mark.django_db
def test_seed_demo_rejects_bad_arguments():
    with pytest.raises(CommandError, match="--organizations"):
        seed("--organizations", "9")
    with pytest.raises(CommandError, match="--holders"):
        seed("--holders", "0")
