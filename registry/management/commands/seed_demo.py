"""`python manage.py seed_demo`: fill a few organizations with realistic demo data (pt_BR
holders, alias accounts with banking details and related parties) so the back-office has
something to show. Everything is written through the services, so hashes, name index and
audit entries are as in production.

Idempotent: organizations that already hold holders are left alone unless `--reset` is given,
which first erases (hard-deletes, through the services) every holder of the demo
organizations. The demo organizations have fixed ids, so other data is never touched.
"""

import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from faker import Faker

from aliases.models import RelatedPartyRole
from aliases.services import alias_create, alias_soft_delete
from crm import lifecycle
from crm.lifecycle.audit import Actor, acting_as
from events import outbox
from holders.models import Holder
from holders.services import holder_create, holder_soft_delete

DEMO_ORGANIZATIONS = [
    uuid.UUID("0196a3f4-0000-7000-8000-00000000d001"),
    uuid.UUID("0196a3f4-0000-7000-8000-00000000d002"),
    uuid.UUID("0196a3f4-0000-7000-8000-00000000d003"),
]
BANKS = ["001", "033", "104", "237", "341", "260"]


class Command(BaseCommand):
    help = (
        "Fill up to 3 demo organizations (fixed ids 0196a3f4-0000-7000-8000-00000000d00N) with "
        "realistic pt_BR holders, alias accounts, banking details and related parties, "
        "through the services. Organizations that already have holders are skipped unless "
        "--reset is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--organizations", type=int, default=3, help="How many demo organizations (1-3)."
        )
        parser.add_argument(
            "--holders", type=int, default=30, help="Holders per organization (default 30)."
        )
        parser.add_argument(
            "--seed", type=int, default=2024, help="Random seed (same seed, same data)."
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Erase the demo organizations' holders and aliases first, then seed again.",
        )

    def handle(self, *args, organizations, holders, seed, reset, **options):
        if not 1 <= organizations <= len(DEMO_ORGANIZATIONS):
            raise CommandError(f"--organizations must be between 1 and {len(DEMO_ORGANIZATIONS)}.")
        if holders < 1:
            raise CommandError("--holders must be at least 1.")
        fake = Faker("pt_BR")
        fake.seed_instance(seed)
        with acting_as(Actor("command", "seed_demo")):
            for organization in DEMO_ORGANIZATIONS[:organizations]:
                existing = Holder.all_objects.filter(organization_id=organization)
                if existing.exists():
                    if not reset:
                        self.stdout.write(f"{organization}: already seeded, skipped (use --reset)")
                        continue
                    self._erase(organization)
                created, aliases = self._seed(fake, organization, holders)
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{organization}: {created} holders, {aliases} alias accounts"
                    )
                )

    def _erase(self, organization: uuid.UUID) -> None:
        lifecycle.run_purge(
            lifecycle.organization_purge(organization),
            batch_size=1000,
            announce=outbox.erasure_events,
        )

    @transaction.atomic
    def _seed(self, fake: Faker, organization: uuid.UUID, count: int) -> tuple[int, int]:
        alias_count = 0
        for index in range(count):
            company = index % 4 == 3
            holder = holder_create(
                organization_id=organization,
                data=self._company(fake) if company else self._person(fake),
            )
            for _ in range(fake.random_int(0, 2)):
                alias = alias_create(
                    organization_id=organization,
                    holder_id=holder.id,
                    data=self._alias(fake, holder, company),
                )
                alias_count += 1
                if fake.random_int(0, 9) == 0:
                    alias_soft_delete(
                        organization_id=organization, holder_id=holder.id, alias_id=alias.id
                    )
            if index % 10 == 9 and not holder.aliases.live().exists():
                holder_soft_delete(organization_id=organization, holder_id=holder.id)
        return count, alias_count

    def _address(self, fake: Faker) -> dict:
        return {
            "line1": fake.street_address(),
            "line2": fake.bairro(),
            "zipCode": fake.postcode(),
            "city": fake.city(),
            "state": fake.estado_sigla(),
            "country": "BR",
        }

    def _person(self, fake: Faker) -> dict:
        return {
            "type": "NATURAL_PERSON",
            "name": fake.name(),
            "document": fake.unique.cpf(),
            "externalId": f"CUST-{fake.unique.random_int(10000, 99999)}",
            "contact": {
                "primaryEmail": fake.free_email(),
                "mobilePhone": fake.cellphone_number(),
            },
            "addresses": {"primary": self._address(fake)},
            "naturalPerson": {
                "birthDate": fake.date_of_birth(minimum_age=18, maximum_age=90).isoformat(),
                "gender": fake.random_element(["Female", "Male"]),
                "civilStatus": fake.random_element(["Single", "Married", "Divorced"]),
                "nationality": "Brazilian",
                "motherName": fake.name_female(),
                "status": "Active",
            },
            "metadata": {"segment": fake.random_element(["retail", "private", "digital"])},
        }

    def _company(self, fake: Faker) -> dict:
        return {
            "type": "LEGAL_PERSON",
            "name": fake.company(),
            "document": fake.unique.cnpj(),
            "externalId": f"CORP-{fake.unique.random_int(10000, 99999)}",
            "contact": {"primaryEmail": fake.company_email(), "otherPhone": fake.phone_number()},
            "addresses": {"primary": self._address(fake)},
            "legalPerson": {
                "tradeName": fake.company(),
                "activity": fake.random_element(["Comércio varejista", "Serviços", "Indústria"]),
                "type": "Limited Company",
                "foundingDate": fake.date_between("-30y", "-1y").isoformat(),
                "size": fake.random_element(["Small", "Medium", "Large"]),
                "status": "Active",
                "representative": {
                    "name": fake.name(),
                    "document": fake.cpf(),
                    "email": fake.free_email(),
                    "role": "Director",
                },
            },
            "metadata": {"segment": "corporate"},
        }

    def _alias(self, fake: Faker, holder: Holder, company: bool) -> dict:
        account = fake.numerify("#####-#")
        branch = fake.numerify("####")
        bank = fake.random_element(BANKS)
        data = {
            "ledgerId": str(uuid.UUID(int=fake.random.getrandbits(128), version=4)),
            "accountId": str(uuid.UUID(int=fake.random.getrandbits(128), version=4)),
            "bankingDetails": {
                "branch": branch,
                "account": account,
                "type": fake.random_element(["CACC", "SVGS"]),
                "openingDate": fake.date_between("-10y", "-1d").isoformat(),
                "iban": fake.iban(),
                "countryCode": "BR",
                "bankId": bank,
            },
            "regulatoryFields": {"participantDocument": fake.cnpj()},
            "metadata": {"channel": fake.random_element(["app", "branch", "web"])},
        }
        role = RelatedPartyRole.LEGAL_REPRESENTATIVE if company else RelatedPartyRole.PRIMARY_HOLDER
        data["relatedParties"] = [
            {
                "document": fake.cpf(),
                "name": fake.name(),
                "role": role,
                "startDate": fake.date_between("-5y", "-1d").isoformat(),
            }
        ]
        return data
