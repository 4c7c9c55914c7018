"""factory_boy factories. Rows are created through the services (the only write path), so
hashes, audit entries and constraints behave as in production."""

import factory
from faker import Faker

from holders.services import holder_create
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
    """`HolderFactory(organization_id=..., **payload_overrides)` -> a saved Holder."""

    class Meta:
        model = dict

    organization_id = ORG_A

    @classmethod
    def _create(cls, model_class, *args, organization_id=ORG_A, **kwargs):
        return holder_create(organization_id=organization_id, data=holder_payload(**kwargs))

    _build = _create


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
    AliasAccount (a new holder of the organization when `holder` is not given)."""

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

    _build = _create
