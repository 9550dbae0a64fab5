from backend.core.permissions import PlatformPermission, has_permission

from .models import User


def visible_users(user, queryset=None):
    """A user sees themself; staff managing staff see everyone."""
    queryset = User.objects.all() if queryset is None else queryset
    if has_permission(user, PlatformPermission.MANAGE_STAFF):
        return queryset
    if user is not None and user.is_authenticated:
        return queryset.filter(pk=user.pk)
    return queryset.none()
