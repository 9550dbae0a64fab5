from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError

from backend.core.exceptions import DomainError

from . import services, throttle
from .error_codes import AccountErrorCode
from .models import Address, User


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin login checks credentials through the same service and throttle as tokenCreate."""

    def clean(self):
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is not None and password:
            try:
                self.user_cache = services.authenticate_credentials(
                    email=email, password=password, client=throttle.client_of(self.request)
                )
            except DomainError as exc:
                if exc.code in (AccountErrorCode.LOGIN_THROTTLED, AccountErrorCode.TOO_MANY_OPERATIONS):
                    raise ValidationError(exc.message, code=exc.code.value) from exc
                raise self.get_invalid_login_error() from exc
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


admin.site.login_form = ThrottledAdminAuthenticationForm


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active", "email_confirmed", "date_joined")
    list_filter = ("is_staff", "is_active", "email_confirmed", "groups")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "language_code")}),
        (
            "Permissions",
            {"fields": ("is_active", "email_confirmed", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2", "is_staff")}),)


admin.site.register(Address)
