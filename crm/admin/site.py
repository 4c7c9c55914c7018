"""The admin site's titles and layout."""

from django.conf import settings
from django.contrib import admin

# Lists are wide: the whole screen goes to the table, not the app navigation sidebar.
admin.site.enable_nav_sidebar = False
# Staff always see which environment they are changing (ENV_NAME: production, staging, ...).
admin.site.site_header = f"CRM back-office · {settings.ENV_NAME}"
admin.site.site_title = "CRM back-office"
admin.site.index_title = "Customer registry"
# No "View site" link: the site root is the API (JSON), not a page for staff.
admin.site.site_url = None
