"""The login records of django-axes as staff read them: proxies of axes' models whose names
(`__str__`, shown in titles, breadcrumbs and the list's checkboxes) are in the staff member's
language. Axes builds them with English f-strings; the proxies change nothing else, and
`staff.admin` shows them with axes' own admin classes in place of axes' models."""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class LoginAttempts(AccessAttempt):
    """Failed logins counted for one username and address (the lockout's counter)."""

    class Meta:
        proxy = True
        verbose_name = _("access attempt")
        verbose_name_plural = _("access attempts")

    def __str__(self) -> str:
        return gettext("Failed logins of %(user)s from %(address)s") % {
            "user": self.username,
            "address": self.ip_address,
        }


class LoginRecord(AccessLog):
    """One successful login (and its logout)."""

    class Meta:
        proxy = True
        verbose_name = _("access log")
        verbose_name_plural = _("access logs")

    def __str__(self) -> str:
        return gettext("Login of %(user)s at %(when)s") % {
            "user": self.username,
            "when": f"{self.attempt_time:%Y-%m-%d %H:%M:%S}",
        }


class LoginFailure(AccessFailureLog):
    """One failed login."""

    class Meta:
        proxy = True
        verbose_name = _("access failure")
        verbose_name_plural = _("access failures")

    def __str__(self) -> str:
        return gettext("Failed login of %(user)s at %(when)s") % {
            "user": self.username,
            "when": f"{self.attempt_time:%Y-%m-%d %H:%M:%S}",
        }
