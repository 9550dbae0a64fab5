from django.contrib import admin, messages

from backend.core.exceptions import DomainError

from . import services
from .models import ProductReview


@admin.register(ProductReview)
class ProductReviewAdmin(admin.ModelAdmin):
    list_display = ("pk", "product", "vendor", "author", "rating", "is_hidden", "created_at")
    list_filter = ("is_hidden", "rating")
    search_fields = ("comment", "product__name", "author__email")
    readonly_fields = ("order_line", "product", "vendor", "author", "rating", "comment", "is_hidden", "hidden_reason", "created_at")
    actions = ["hide_reviews", "unhide_reviews"]

    def has_add_permission(self, request):
        return False

    def _apply(self, request, queryset, action):
        for review in queryset:
            try:
                action(review)
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
                return

    @admin.action(description="Hide (abusive): not shown, not counted in ratings")
    def hide_reviews(self, request, queryset):
        self._apply(request, queryset, lambda r: services.product_review_hide(actor=request.user, review=r, reason="admin"))

    @admin.action(description="Show again")
    def unhide_reviews(self, request, queryset):
        self._apply(request, queryset, lambda r: services.product_review_unhide(actor=request.user, review=r))
