"""factory_boy factories. Rows are created through the services (the only write path), so
hashes, audit entries and constraints behave as in production. `.build()` returns an unsaved
model instance and touches no database table (no audit entry, no name index, no constraint)."""

import factory
from faker import Faker

from holders.services import holder_build, holder_create
from tests.conftest import ORG_A

fake = Faker("pt_BR")
Faker.seed(4321)


def holder_payload(**overrides) -> dict:
    """A valid `POST /v1/holders` body (natural person with a unique CPF)."""
    payload = {
        "type": "NATURAL_PERSON",
        "name": fake.name(),
        "document": fake.unique.cpf().replace(".", "").replace("-", ""),
    }
    payload.update(overrides)
    return payload


class HolderFactory(factory.Factory):
    """`HolderFactory(organization_id=..., **payload_overrides)` -> a saved Holder;
    `HolderFactory.build(...)` -> an unsaved Holder with the payload's type, name, document
    (and its search hash), externalId and metadata."""

    class Meta:
        model = dict

    organization_id = ORG_A

    @classmethod
    def _create(cls, model_class, *args, organization_id=ORG_A, **kwargs):
        return holder_create(organization_id=organization_id, data=holder_payload(**kwargs))

    @classmethod
    def _build(cls, model_class, *args, organization_id=ORG_A, **kwargs):
        return holder_build(organization_id=organization_id, data=holder_payload(**kwargs))


def alias_payload(**overrides) -> dict:
    """A valid `POST /v1/holders/{holder_id}/aliases` body with a unique account id."""
    payload = {
        "ledgerId": str(fake.uuid4()),
        "accountId": str(fake.unique.uuid4()),
        "bankingDetails": {"branch": "0001", "account": fake.numerify("#####-#"), "type": "CACC"},
    }
    payload.update(overrides)
    return payload


class AliasFactory(factory.Factory):
    """`AliasFactory(holder=..., organization_id=..., **payload_overrides)` -> a saved
    AliasAccount (a new holder of the organization when `holder` is not given);
    `AliasFactory.build(...)` -> an unsaved AliasAccount (under an unsaved holder when `holder`
    is not given) with its search hashes computed."""

    class Meta:
        model = dict

    organization_id = ORG_A

    @classmethod
    def _create(cls, model_class, *args, organization_id=ORG_A, holder=None, **kwargs):
        from aliases.services import alias_create

        if holder is None:
            holder = HolderFactory(organization_id=organization_id)
        return alias_create(
            organization_id=holder.organization_id,
            holder_id=holder.id,
            data=alias_payload(**kwargs),
        )

    @classmethod
    def _build(cls, model_class, *args, organization_id=ORG_A, holder=None, **kwargs):
        from aliases.services import alias_build

        if holder is None:
            holder = HolderFactory.build(organization_id=organization_id)
        return alias_build(holder=holder, data=alias_payload(**kwargs))


def admin_log_entry(user, obj):
    """A Django admin log row about `obj` (what staff edits leave behind)."""
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType

    return LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(type(obj)),
        object_id=str(obj.pk),
        object_repr=str(obj),
        action_flag=CHANGE,
        change_message="[]",
    )
