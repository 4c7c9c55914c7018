"""The admin site's titles and layout."""

from django.conf import settings
from django.contrib import admin
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

# Lists are wide: the whole screen goes to the table, not the app navigation sidebar.
admin.site.enable_nav_sidebar = False
# Staff always see which environment they are changing (ENV_NAME: production, staging, ...).
admin.site.site_header = format_lazy("{} · {}", _("CRM back-office"), settings.ENV_NAME)
admin.site.site_title = _("CRM back-office")
admin.site.index_title = _("Customer registry")
# No "View site" link: the site root is the API (JSON), not a page for staff.
admin.site.site_url = None
