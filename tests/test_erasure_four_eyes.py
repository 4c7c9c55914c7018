"""Issue 28 item 5: four eyes on erasure (`ERASURE_APPROVAL`; crm/lifecycle/approval.py,
crm/admin/erasure_requests.py, docs/admin.md "Four eyes"). A hard delete asked for in the admin
waits for a second data-protection officer; the requester, a clerk and a supervisor cannot
approve it; approving erases through the erasure path and is audited; rejecting keeps the
record; a hold or a change since the request refuses the approval; the setting off keeps the
one-step flow; the API and `manage.py hard_delete` erase as before."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from aliases.models import AliasAccount
from crm.lifecycle import approval, holds
from crm.models import AuditEntry, ErasureRequest
from events.models import OutboxEvent
from holders.models import Holder
from holders.services import holder_update
from staff.roles import CLERK, DATA_PROTECTION_OFFICER, SUPERVISOR
from tests.conftest import ORG_A
from tests.factories import AliasFactory, HolderFactory
from tests.test_admin_bank_work import member_of

pytestmark = pytest.mark.django_db

REASON = "LGPD Art. 18 VI: ticket 4711"
REQUESTS = reverse("admin:crm_erasurerequest_changelist")


@pytest.fixture
def four_eyes(settings):
    settings.ERASURE_APPROVAL = True


@pytest.fixture
def customer():
    holder = HolderFactory(name="Maria José da Conceição", document="52998224725")
    alias = AliasFactory(holder=holder)
    return holder, alias


@pytest.fixture
def officers(client, django_user_model):
    """Two data-protection officers, each with their own client; `ana` asks, `bia` decides."""
    from django.test import Client

    ana, bia = Client(), Client()
    ana.force_login(member_of(DATA_PROTECTION_OFFICER, "dpo-ana"))
    bia.force_login(member_of(DATA_PROTECTION_OFFICER, "dpo-bia"))
    return ana, bia


@pytest.fixture
def asked(four_eyes, officers, customer):
    """`dpo-ana` asked for the customer's erasure: the pending request."""
    ask(officers[0], customer[0])
    return ErasureRequest.objects.get()


def hard_delete_url(holder) -> str:
    return reverse("admin:holders_holder_hard_delete", args=[holder.pk])


def request_url(erasure_request) -> str:
    return reverse("admin:crm_erasurerequest_change", args=[erasure_request.pk])


def ask(client, holder, reason=REASON):
    return client.post(hard_delete_url(holder), {"post": "yes", "reason": reason})


def exists(holder, alias) -> bool:
    return (
        Holder.all_objects.filter(pk=holder.pk).exists()
        and AliasAccount.all_objects.filter(pk=alias.pk).exists()
    )


def trail(holder) -> list[tuple[str, str]]:
    return list(
        AuditEntry.objects.filter(object_id=holder.pk)
        .exclude(action="create")
        .order_by("created_at", "id")
        .values_list("action", "actor")
    )


def test_four_eyes_off_keeps_the_one_step_erasure(officers, customer):
    ana, _ = officers
    holder, alias = customer

    page = ana.get(hard_delete_url(holder)).text
    assert 'id="crm-four-eyes"' not in page
    assert ask(ana, holder).status_code == 302

    assert not exists(holder, alias)
    assert not ErasureRequest.objects.exists()
    assert AuditEntry.objects.get(action="hard_delete", object_id=holder.pk).reason == REASON


def test_four_eyes_hard_delete_asks_instead_of_erasing(four_eyes, officers, customer):
    ana, _ = officers
    holder, alias = customer

    page = ana.get(hard_delete_url(holder)).text
    assert 'id="crm-four-eyes"' in page and "Ask for the erasure of 2 records" in page
    response = ask(ana, holder)

    erasure_request = ErasureRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == request_url(erasure_request)
    assert exists(holder, alias)
    assert (erasure_request.status, erasure_request.requested_by, erasure_request.reason) == (
        "pending",
        "dpo-ana",
        REASON,
    )
    assert (erasure_request.version, erasure_request.plan_counts) == (1, {"holder": 1, "alias": 1})
    entry = AuditEntry.objects.get(action="request_erasure")
    assert (entry.object_id, entry.actor, entry.reason) == (holder.pk, "dpo-ana", REASON)
    change = ana.get(reverse("admin:holders_holder_change", args=[holder.pk])).text
    assert 'id="crm-erasure-request-banner"' in change and 'id="crm-hard-delete"' not in change


def test_four_eyes_reason_is_required_and_one_request_waits_per_record(
    four_eyes, officers, customer
):
    ana, bia = officers
    holder, _ = customer

    assert ask(ana, holder, reason="  ").status_code == 200  # the page again, asking for it
    assert not ErasureRequest.objects.exists()
    ask(ana, holder)
    response = ask(bia, holder)

    assert ErasureRequest.objects.count() == 1
    assert "already waiting for approval" in bia.get(response["Location"]).text
    assert 'id="crm-erasure-waiting"' in bia.get(hard_delete_url(holder)).text


def test_four_eyes_requester_cannot_approve_own_request(asked, four_eyes, officers, customer):
    ana, _ = officers
    holder, alias = customer
    erasure_request = asked

    page = ana.get(request_url(erasure_request)).text
    assert 'id="crm-request-own"' in page and 'id="crm-approve"' not in page
    assert REASON in page and "Maria José da Conceição" in page  # the reason and the plan
    response = ana.post(request_url(erasure_request), {"decision": "approve"}, follow=True)

    assert "another data protection officer must approve it" in response.text
    assert exists(holder, alias)
    assert ErasureRequest.objects.get().status == "pending"
    assert not AuditEntry.objects.filter(action__in=["approve_erasure", "hard_delete"]).exists()


def test_four_eyes_service_refuses_the_requester_too(four_eyes, customer):
    holder, alias = customer
    erasure_request = approval.erasure_request_create(
        obj=holder, reason=REASON, requested_by="dpo-ana"
    )

    with pytest.raises(approval.ApprovalError, match="another data protection officer"):
        approval.erasure_request_approve(request_id=erasure_request.pk, approver="dpo-ana")
    assert exists(holder, alias)


@pytest.mark.parametrize("role", [CLERK, SUPERVISOR])
def test_four_eyes_clerk_or_supervisor_cannot_see_or_approve(
    asked, four_eyes, officers, customer, client, role
):
    holder, alias = customer
    erasure_request = asked
    client.force_login(member_of(role))

    assert client.get(REQUESTS).status_code == 403
    assert client.get(request_url(erasure_request)).status_code == 403
    assert client.post(request_url(erasure_request), {"decision": "approve"}).status_code == 403
    assert exists(holder, alias)
    assert ErasureRequest.objects.get().status == "pending"


def test_four_eyes_second_officer_approves_and_the_record_is_erased_and_audited(
    asked, four_eyes, officers, customer, settings
):
    settings.EVENTS_ENABLED = True
    _, bia = officers
    holder, alias = customer
    erasure_request = asked

    listing = bia.get(REQUESTS).text
    assert request_url(erasure_request) in listing and REASON in listing
    page = bia.get(request_url(erasure_request)).text
    assert 'id="crm-approve"' in page and 'id="erase-list"' in page
    response = bia.post(request_url(erasure_request), {"decision": "approve"})

    assert response.status_code == 302 and response["Location"] == REQUESTS
    assert not exists(holder, alias)
    assert not ErasureRequest.objects.exists()  # it went with its record
    assert trail(holder) == [
        ("request_erasure", "dpo-ana"),
        ("approve_erasure", "dpo-bia"),
        ("hard_delete", "dpo-bia"),
    ]
    assert AuditEntry.objects.get(action="hard_delete", object_id=holder.pk).reason == REASON
    assert AuditEntry.objects.filter(action="hard_delete", object_id=alias.pk).exists()
    # Announced like a one-step erasure (the kind admin's `announce_erasure`): live records
    # hard-deleted.
    assert set(
        OutboxEvent.objects.values_list("type", "aggregate_id", "payload__deletionType")
    ) == {
        ("holder.deleted", holder.pk, "hard"),
        ("alias.deleted", alias.pk, "hard"),
    }


def test_four_eyes_reject_leaves_the_record(asked, four_eyes, officers, customer):
    ana, bia = officers
    holder, alias = customer
    erasure_request = asked

    bia.post(request_url(erasure_request), {"decision": "reject", "reason": " "})
    assert ErasureRequest.objects.get().status == "pending"  # a rejection needs its reason
    response = bia.post(
        request_url(erasure_request), {"decision": "reject", "reason": "Contract still active"}
    )

    assert response.status_code == 302
    assert exists(holder, alias)
    rejected = ErasureRequest.objects.get()
    assert (rejected.status, rejected.decided_by, rejected.decision_reason) == (
        "rejected",
        "dpo-bia",
        "Contract still active",
    )
    entry = AuditEntry.objects.get(action="reject_erasure")
    assert (entry.actor, entry.reason) == ("dpo-bia", "Contract still active")
    assert bia.post(request_url(erasure_request), {"decision": "approve"}).status_code == 302
    assert exists(holder, alias)  # a decided request cannot be approved afterwards
    assert ask(ana, holder).status_code == 302  # and the erasure may be asked for again
    assert ErasureRequest.objects.filter(status="pending").count() == 1


def test_four_eyes_requester_may_withdraw(asked, four_eyes, officers, customer):
    ana, _ = officers
    holder, alias = customer
    erasure_request = asked

    ana.post(request_url(erasure_request), {"decision": "reject", "reason": "Asked by mistake"})

    assert ErasureRequest.objects.get().status == "rejected"
    assert exists(holder, alias)


def test_four_eyes_hold_refuses_at_approval(asked, four_eyes, officers, customer):
    _, bia = officers
    holder, alias = customer
    erasure_request = asked
    holds.place(holder, reason="Court order 2026/118", placed_by="dpo-carla")

    page = bia.get(request_url(erasure_request)).text
    assert 'id="crm-erase-held"' in page and 'id="crm-approve"' not in page
    response = bia.post(request_url(erasure_request), {"decision": "approve"}, follow=True)

    assert "under a legal hold" in response.text
    assert exists(holder, alias)
    assert ErasureRequest.objects.get().status == "pending"
    assert not AuditEntry.objects.filter(action__in=["approve_erasure", "hard_delete"]).exists()


def test_four_eyes_record_changed_since_the_request_is_not_approved(
    asked, four_eyes, officers, customer
):
    _, bia = officers
    holder, alias = customer
    erasure_request = asked
    holder_update(organization_id=ORG_A, holder_id=holder.pk, patch={"name": "Maria J. Conceição"})

    page = bia.get(request_url(erasure_request)).text
    assert 'id="crm-request-changed"' in page and "version 1 then, 2 now" in page
    assert 'id="crm-approve"' not in page
    response = bia.post(request_url(erasure_request), {"decision": "approve"}, follow=True)

    assert "Nothing was erased" in response.text
    assert exists(holder, alias)


def test_four_eyes_new_account_since_the_request_is_a_change_too(four_eyes, customer):
    holder, _ = customer
    erasure_request = approval.erasure_request_create(
        obj=holder, reason=REASON, requested_by="dpo-ana"
    )
    AliasFactory(holder=holder, accountId="acc-later")

    with pytest.raises(approval.ApprovalError, match="What the erasure would remove changed"):
        approval.erasure_request_approve(request_id=erasure_request.pk, approver="dpo-bia")
    assert Holder.objects.filter(pk=holder.pk).exists()


def test_four_eyes_record_erased_meanwhile_is_said_clearly(
    asked, four_eyes, officers, customer, api
):
    _, bia = officers
    holder, alias = customer
    erasure_request = asked
    api.delete(f"/v1/holders/{holder.pk}/aliases/{alias.pk}?hard_delete=true")
    # The API erases as before, whatever the setting; the holder's request goes with it.
    assert api.delete(f"/v1/holders/{holder.pk}?hard_delete=true").status_code == 204

    response = bia.post(request_url(erasure_request), {"decision": "approve"}, follow=True)

    assert "its record was erased meanwhile" in response.text
    assert not ErasureRequest.objects.exists()


def test_four_eyes_list_action_asks_for_each_record(four_eyes, officers):
    ana, _ = officers
    first, second = HolderFactory(), HolderFactory(document="39053344705")
    response = ana.post(
        reverse("admin:holders_holder_changelist"),
        {
            "action": "hard_delete_selected",
            "_selected_action": [str(first.pk), str(second.pk)],
            "post": "yes",
            "reason": REASON,
        },
        follow=True,
    )

    assert "The erasure of 2 records was asked for" in response.text
    assert Holder.objects.count() == 2
    assert set(ErasureRequest.objects.values_list("object_id", flat=True)) == {first.pk, second.pk}


def test_four_eyes_command_line_is_unchanged(four_eyes, customer):
    holder, alias = customer

    call_command(
        "hard_delete", "holders", str(holder.pk), "--yes", "--reason", REASON, stdout=StringIO()
    )

    assert not exists(holder, alias)
    assert not ErasureRequest.objects.exists()


def test_four_eyes_view_permission_alone_reads_the_queue_without_deciding(
    asked, four_eyes, officers, customer, client, django_user_model
):
    from django.contrib.auth.models import Permission

    holder, alias = customer
    erasure_request = asked
    auditor = django_user_model.objects.create_user("auditor", password="pw", is_staff=True)
    auditor.user_permissions.add(Permission.objects.get(codename="view_erasurerequest"))
    client.force_login(auditor)

    assert REASON in client.get(REQUESTS).text
    page = client.get(request_url(erasure_request)).text
    assert 'id="crm-approve"' not in page and 'id="crm-reject"' not in page
    assert client.post(request_url(erasure_request), {"decision": "approve"}).status_code == 403
    assert exists(holder, alias)
