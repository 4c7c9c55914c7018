"""`address.country` (docs/api.md §4.3) is checked against django-countries' codes. The set
accepted is pinned here: it is the 249 officially assigned ISO 3166-1 alpha-2 codes the
hand-written list (`crm/api/countries.py`, removed) accepted, so a django-countries upgrade that
adds or drops a code (a user-assigned `XK` for Kosovo, say) fails this test instead of changing
what the API accepts unnoticed. The API, its OpenAPI enum and the admin's picker use that one
set."""

import re

import pytest
from django.urls import reverse
from django_countries import countries

from crm.api.serializers import country_codes
from tests.factories import holder_payload
from tests.test_openapi_schema import refs, resolve, served_document

# The codes `crm/api/countries.py` accepted until django-countries replaced it.
ACCEPTED = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()
)


def test_django_countries_has_exactly_the_codes_the_api_accepted():
    assert len(ACCEPTED) == 249
    assert set(country_codes()) == ACCEPTED
    assert country_codes() == sorted(ACCEPTED)
    assert "XK" not in countries  # Kosovo: user-assigned, not in ISO 3166-1


@pytest.mark.parametrize("code", ["BR", "AX", "SS", "XK", "br", "ZZ"])
def test_holder_country_is_accepted_exactly_when_django_countries_has_it(api, code):
    payload = holder_payload(addresses={"primary": {"country": code}})

    response = api.post("/v1/holders", payload)

    if code in ACCEPTED:
        assert response.status_code == 201, response.content
        assert response.json()["addresses"]["primary"]["country"] == code
    else:
        assert response.status_code == 400
        assert response.json() == {
            "code": "CRM-0015",
            "title": "Bad Request",
            "message": "The request contains invalid values. Please check the listed fields.",
            "fields": {"addresses.primary.country": "must be an ISO 3166-1 alpha-2 country code"},
        }


def test_openapi_enum_is_the_accepted_codes(client):
    document = served_document(client)
    schema = document["components"]["schemas"]["AddressRequest"]["properties"]["country"]
    # drf-spectacular documents `""` as an enum of its own beside the codes' (`oneOf`)
    enums = sorted(resolve(document, ref)["enum"] for ref in refs(schema))

    assert enums == [[""], sorted(ACCEPTED)]


def test_admin_country_picker_offers_the_accepted_codes(admin_client):
    page = admin_client.get(reverse("admin:holders_holder_add"), HTTP_ACCEPT_LANGUAGE="en")

    select = re.search(
        r'<select name="addresses__primary__country".*?</select>', page.text, re.S
    ).group(0)
    assert set(re.findall(r'<option value="([A-Z]{2})">', select)) == ACCEPTED
    assert '<option value="BR">Brazil (BR)</option>' in select
