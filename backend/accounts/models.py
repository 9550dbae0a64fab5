import secrets

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, Group, PermissionsMixin
from django.db import models
from django.utils import timezone

from backend.core.permissions import PlatformPermission


def new_token_key() -> str:
    return secrets.token_urlsafe(16)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        """A platform staff user holding every permission."""
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        user = self.create_user(email, password, **extra)
        group = full_access_group()
        user.groups.add(group)
        return user


def full_access_group() -> Group:
    from django.contrib.auth.models import Permission

    group, _ = Group.objects.get_or_create(name="Full access")
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label="accounts",
            codename__in=[p.codename for p in PlatformPermission],
        )
    )
    return group


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False, help_text="Platform staff: may use the admin.")
    is_active = models.BooleanField(default=True)
    # Self-registered accounts start unconfirmed and cannot sign in until the emailed token confirms
    # the address (or a password reset, which proves the same). Accounts made by staff, the admin,
    # createsuperuser or the demo data are confirmed.
    email_confirmed = models.BooleanField(default=True)
    # The language emails to this account are written in ("en" or "zh-hans"); set at registration
    # from Accept-Language.
    language_code = models.CharField(max_length=16, blank=True, default="")
    date_joined = models.DateTimeField(default=timezone.now)
    # Part of every token; changing it (on password change) revokes all tokens.
    jwt_token_key = models.CharField(max_length=64, default=new_token_key)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        permissions = [(p.codename, p.label) for p in PlatformPermission]

    def __str__(self) -> str:
        return self.email

    def set_password(self, raw_password):
        super().set_password(raw_password)
        self.jwt_token_key = new_token_key()

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


class RefreshToken(models.Model):
    """One issued refresh token. Each is good for one refresh; reuse revokes its family."""

    jti = models.CharField(max_length=64, unique=True)
    family = models.CharField(max_length=64, db_index=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="refresh_tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)


class Address(models.Model):
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses")
    first_name = models.CharField(max_length=128, blank=True)
    last_name = models.CharField(max_length=128, blank=True)
    company_name = models.CharField(max_length=256, blank=True)
    street_address_1 = models.CharField(max_length=256)
    street_address_2 = models.CharField(max_length=256, blank=True)
    city = models.CharField(max_length=128)
    city_area = models.CharField(max_length=128, blank=True)
    country_area = models.CharField(max_length=128, blank=True, help_text="Province or state.")
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="CN")
    phone = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        return f"{self.street_address_1}, {self.city}, {self.country_area} {self.country}"
