"""Integration credentials (docs/api.md §10) in the admin: the secret is shown once."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm import lifecycle
from crm.access.auth import issue_token
from crm.models import ApiToken


def permission_choices() -> list[tuple[str, str]]:
    """Every `resource:action` pair: each kind's plural (`crm.lifecycle.kinds`) with each
    action."""
    return [
        (f"{of.plural}:{action}", f"{of.plural}: {action}")
        for of in lifecycle.kinds()
        for action in ApiToken.ACTIONS
    ]


class ApiTokenForm(forms.ModelForm):
    organizations = forms.CharField(
        label=_("organizations"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        help_text=_("Organization UUIDs, one per line (ignored when “all organizations” is on)."),
    )
    permissions = forms.MultipleChoiceField(
        required=False, choices=permission_choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiToken
        fields = (
            "name",
            "is_active",
            "expires_at",
            "all_organizations",
            "organizations",
            "permissions",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["organizations"] = "\n".join(self.instance.organizations or [])

    def clean_organizations(self) -> list[str]:
        organizations = []
        for line in self.cleaned_data["organizations"].split():
            try:
                organizations.append(str(uuid.UUID(line)))
            except ValueError:
                raise forms.ValidationError(
                    _("Not a UUID: %(line)s") % {"line": line[:40]}
                ) from None
        return organizations


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Integration credentials. The secret is shown once, on creation (or rotation), and only
    its hash is kept."""

    form = ApiTokenForm
    list_display = (
        "name",
        "key_prefix",
        "is_active",
        "expires_in",
        "last_used_at",
        "all_organizations",
        "scope",
        "created_at",
    )
    list_filter = ("is_active", "all_organizations")
    search_fields = ("name", "=key_prefix")
    readonly_fields = ("key_prefix", "last_used_at", "created_at")
    actions = ("rotate_secret",)

    @admin.display(description=_("expires in"), ordering="expires_at")
    def expires_in(self, token: ApiToken) -> str:
        """ "in 29 days, 23 hours", "expired 2 hours ago" or "never"."""
        if token.expires_at is None:
            return _("never")
        now = timezone.now()
        if token.expires_at <= now:
            return _("expired %(ago)s ago") % {"ago": timesince(token.expires_at, now)}
        return _("in %(left)s") % {"left": timeuntil(token.expires_at, now)}

    @admin.display(description=_("permissions"))
    def scope(self, token: ApiToken) -> str:
        return ", ".join(token.permissions or [])

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            request._issued_secret = issue_token(obj)
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_issued_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return self._secret_page(request, obj, secret)

    @admin.action(description=_("Rotate the secret of the selected token"), permissions=["change"])
    def rotate_secret(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one token to rotate."), messages.WARNING)
            return None
        token = queryset.get()
        secret = issue_token(token)
        token.save(update_fields=["key_hash", "key_prefix"])
        self.log_change(request, token, gettext("Rotated the secret."))
        return self._secret_page(request, token, secret)

    def _secret_page(self, request, token: ApiToken, secret: str):
        context = {
            **self.admin_site.each_context(request),
            "title": _("API token secret"),
            "token": token,
            "secret": secret,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/crm/apitoken/secret.html", context)
