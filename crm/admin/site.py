"""The admin site's titles and layout."""

from django.contrib import admin

# Lists are wide: the whole screen goes to the table, not the app navigation sidebar.
admin.site.enable_nav_sidebar = False
admin.site.site_header = "CRM back-office"
admin.site.site_title = "CRM back-office"
admin.site.index_title = "Customer registry"
