"""The user and group pages with a permission picker that offers only meaningful
permissions (`staff.permissions`)."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

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
