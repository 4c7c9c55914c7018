"""The holder page with its alias accounts: the back-office of the aggregate.

`holders.admin.HolderAdmin` knows holders only; here it gets the holder's accounts (the
`aliases.admin.AliasInline` near the top, a link to all of them when only the first are shown)
and a search that also finds holders by alias id or account id. The alias admin registers
itself (`aliases.admin`).
"""

from django.contrib import admin

from aliases.admin import AliasInline, holder_aliases_link, holders_by_alias
from holders.admin import HolderAdmin
from holders.models import Holder


@admin.register(Holder)
class HolderWithAccountsAdmin(HolderAdmin):
    inlines = (AliasInline,)
    extra_searches = (holders_by_alias,)

    def inlines_more(self, holder: Holder) -> dict:
        return holder_aliases_link(holder)
