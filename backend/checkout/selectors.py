"""Who may see and change a checkout: the one place it is decided."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .models import Checkout


def visible_checkouts(user, queryset=None) -> QuerySet[Checkout]:
    """A guest checkout is reachable by whoever holds its id (a random UUID); a shopper's only by them."""
    queryset = Checkout.objects.all() if queryset is None else queryset
    if user is not None and user.is_authenticated:
        return queryset.filter(Q(user__isnull=True) | Q(user_id=user.pk))
    return queryset.filter(user__isnull=True)
