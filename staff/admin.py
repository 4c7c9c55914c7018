"""The user and group pages with a permission picker that offers only meaningful
permissions (`staff.permissions`)."""

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

from staff.models import LoginAttempts, LoginFailure, LoginRecord
from staff.permissions import offered_permissions

PERMISSION_FIELDS = ("permissions", "user_permissions")


class OfferedPermissionsMixin:
    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name in PERMISSION_FIELDS:
            kwargs["queryset"] = offered_permissions(self.admin_site)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class StaffGroupAdmin(OfferedPermissionsMixin, GroupAdmin):
    pass


class StaffUserAdmin(OfferedPermissionsMixin, UserAdmin):
    pass


admin.site.unregister(Group)
admin.site.register(Group, StaffGroupAdmin)
admin.site.unregister(User)
admin.site.register(User, StaffUserAdmin)

# Axes' login records under names in the staff member's language (`staff.models`).
for axes_model, proxy, model_admin in (
    (AccessAttempt, LoginAttempts, AccessAttemptAdmin),
    (AccessLog, LoginRecord, AccessLogAdmin),
    (AccessFailureLog, LoginFailure, AccessFailureLogAdmin),
):
    admin.site.unregister(axes_model)
    admin.site.register(proxy, model_admin)
