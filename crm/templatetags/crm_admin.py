"""Template tags of the back-office's own templates.

`{% list_count cl %}`: a list's size worded as everywhere else in the admin
(`crm.admin.paging.count_text`: "1,234 holders", "about 50,089 holders", "more than 10,000
holders"), for the search bar and the paginator alike.
"""

from django import template

from crm.admin.paging import list_count_text

register = template.Library()


@register.simple_tag
def list_count(changelist) -> str:
    return list_count_text(changelist)
