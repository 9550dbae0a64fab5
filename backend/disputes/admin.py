"""The staff console for disputes: a queue ordered by deadline and one page per dispute with
everything an arbiter needs (order, lines, payments, shipments and tracking, the thread with
evidence, the policy's suggestion) and the resolve actions, which call the same services as
the API so the rules, the money and the audit log are the same.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Case, F, IntegerField, Value, When
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from backend.core.admin import ReadOnlyAdmin, money_column, money_text, render_audit_trail
from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission

from . import policy, services
from .files import evidence_link_path
from .models import ACTIVE_STATUSES, Dispute, DisputeStatus, EvidenceStatus, MessageRole, RulingOutcome
from .selectors import messages_with_evidence


class DisputeResolveForm(forms.Form):
    outcome = forms.ChoiceField(choices=RulingOutcome.choices)
    refund_amount = forms.DecimalField(
        required=False, max_digits=12, decimal_places=2, help_text="For a partial refund: at most the amount requested."
    )
    deposit_penalty = forms.DecimalField(
        required=False, max_digits=12, decimal_places=2, help_text="Optional: taken from the vendor's deposit."
    )
    penalty_to_shopper = forms.BooleanField(
        required=False, initial=True, help_text="The penalty compensates the shopper (otherwise a fine to the platform)."
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                           help_text="Posted on the dispute's thread and kept in the audit log.")


def _table(headers: tuple[str, ...], rows) -> str:
    rows = list(rows)
    if not rows:
        return "—"
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join("", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows))
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def _shipment(shipment) -> str:
    if shipment is None:
        return "—"
    events = _table(
        ("When", "Status", "Where", "What"),
        ((f"{e.occurred_at:%Y-%m-%d %H:%M}", e.get_status_display(), e.location, e.description) for e in shipment.events.all()),
    )
    return format_html(
        "<p>{} {} — {} ({})</p>{}", shipment.carrier_id, shipment.tracking_number, shipment.get_status_display(),
        shipment.service_name or shipment.service_code, events,
    )


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    """Visible to staff holding ARBITRATE_DISPUTES; changes only through the resolve actions."""

    money_fields = {"requested_amount": "currency", "refundable_amount": "currency"}

    # Fits 1366 px: the kind and the description are on the dispute's page.
    list_display = (
        "id", "order_link", "vendor", "reason", "status", money_column("requested_amount", description="requested"),
        "deadline_at", "overdue",
    )
    list_filter = ("status", "reason", "kind")
    search_fields = ("id", "order__id", "vendor__name", "order__email")
    list_select_related = ("order", "vendor")
    change_form_template = "admin/disputes/dispute/change_form.html"
    fieldsets = (
        (None, {"fields": ("status", "deadline_at", "reason", "kind", "description", "requested_amount",
                           "refundable_amount", "created_at")}),
        ("Order", {"fields": ("order_summary", "lines_table", "payments_table", "shipment_tracking")}),
        ("Return", {"fields": ("return_tracking", "return_received_at")}),
        ("Thread", {"fields": ("thread",)}),
        ("Ruling", {"fields": ("ruling_summary", "money_summary", "audit")}),
    )
    readonly_fields = (
        "status", "deadline_at", "reason", "kind", "description", "requested_amount", "refundable_amount", "created_at",
        "order_summary", "lines_table", "payments_table", "shipment_tracking", "return_tracking", "return_received_at",
        "thread", "ruling_summary", "money_summary", "audit",
    )

    # --- Who may use it ---

    view_permission = PlatformPermission.ARBITRATE_DISPUTES

    # --- The queue ---

    def get_ordering(self, request):
        # Waiting disputes first, the nearest deadline first, then the oldest.
        waiting = Case(When(status__in=ACTIVE_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField())
        return [waiting.asc(), F("deadline_at").asc(nulls_last=True), "created_at", "id"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("_change"):
            queryset = queryset.select_related(
                "order__payment", "order__shipment", "return_shipment", "vendor", "ruled_by"
            ).prefetch_related(
                "lines__order_line", messages_with_evidence(), "order__shipment__events", "return_shipment__events",
                "order__payment__refunds",
            )
        return queryset

    @admin.display(description="Order", ordering="order_id")
    def order_link(self, dispute):
        return format_html('<a href="{}">#{}</a>', reverse("admin:orders_order_change", args=[dispute.order_id]), dispute.order_id)

    @admin.display(boolean=True, description="Overdue")
    def overdue(self, dispute):
        return dispute.is_active and dispute.deadline_at is not None and dispute.deadline_at <= timezone.now()

    # --- The page ---

    @admin.display(description="Order")
    def order_summary(self, dispute):
        order = dispute.order
        return format_html(
            '<a href="{}">Order #{}</a> of {} — {} · total {} (goods {}, shipping {}) · refunded {} · '
            "paid {} · released {} · release frozen: {}",
            reverse("admin:orders_order_change", args=[order.pk]), order.pk, order.email, order.get_status_display(),
            money_text(order.total_amount, order.currency), money_text(order.subtotal_amount, order.currency),
            money_text(order.shipping_amount, order.currency), money_text(order.refunded_amount, order.currency),
            f"{order.paid_at:%Y-%m-%d %H:%M}" if order.paid_at else "not yet",
            f"{order.released_at:%Y-%m-%d %H:%M}" if order.released_at else "not yet",
            "yes" if order.release_frozen else "no",
        )

    @admin.display(description="Disputed lines")
    def lines_table(self, dispute):
        return _table(
            ("Item", "SKU", "Disputed", "Bought", "Unit price", "Commission rate"),
            (
                (line.order_line.product_name, line.order_line.variant_sku, line.quantity, line.order_line.quantity,
                 money_text(line.order_line.unit_price_amount, line.order_line.currency),
                 f"{line.order_line.commission_rate * 100:.2f}%")
                for line in dispute.lines.all()
            ),
        )

    @admin.display(description="Payment")
    def payments_table(self, dispute):
        payment = dispute.order.payment
        if payment is None:
            return "—"
        refunds = _table(
            ("Refund", "Amount", "Status", "Reason"),
            (
                (refund.idempotency_key, money_text(refund.amount, refund.currency), refund.get_status_display(),
                 refund.reason or "—")
                for refund in payment.refunds.all()
            ),
        )
        return format_html(
            "<p>Payment #{} via {}: {} captured, {} refunded ({})</p>{}",
            payment.pk, payment.gateway, money_text(payment.captured_amount, payment.currency),
            money_text(payment.refunded_amount, payment.currency),
            payment.get_status_display(), refunds,
        )

    @admin.display(description="Shipment and tracking")
    def shipment_tracking(self, dispute):
        return _shipment(dispute.order.shipment)

    @admin.display(description="Return parcel")
    def return_tracking(self, dispute):
        return _shipment(dispute.return_shipment)

    @admin.display(description="Messages")
    def thread(self, dispute):
        rows = []
        for message in dispute.messages.all():
            pictures = format_html_join(
                " ",
                '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="evidence" '
                'style="max-width:120px;max-height:120px;border:1px solid #ccc"></a>',
                (
                    (evidence_link_path(e, "large"), evidence_link_path(e, "thumbnail"))
                    for e in message.evidence.all()
                    if e.status == EvidenceStatus.READY
                ),
            )
            processing = sum(1 for e in message.evidence.all() if e.status != EvidenceStatus.READY)
            if processing:
                pictures = format_html("{} <em>({} picture(s) processing)</em>", pictures, processing)
            rows.append((f"{message.created_at:%Y-%m-%d %H:%M}", message.get_role_display(), message.body, pictures))
        return _table(("When", "Who", "Message", "Evidence"), rows)

    @admin.display(description="Ruling")
    def ruling_summary(self, dispute):
        if not dispute.ruling_source:
            return "—"
        return format_html(
            "{} by {}{}: {} — {}", dispute.get_ruling_outcome_display() or "No ruling",
            dispute.get_ruling_source_display(), f" ({dispute.ruled_by})" if dispute.ruled_by else "",
            money_text(dispute.ruling_amount, dispute.currency) if dispute.ruling_amount is not None else "nothing",
            dispute.ruling_note or "no note",
        )

    @admin.display(description="Money")
    def money_summary(self, dispute):
        return format_html(
            "Refunded {} ({}), commission returned {}; deposit penalty {}",
            money_text(dispute.refunded_amount, dispute.currency),
            "from the vendor, after release" if dispute.refunded_after_release else "from escrow",
            money_text(dispute.commission_returned_amount, dispute.currency),
            f"{money_text(dispute.deposit_penalty_amount, dispute.currency)} "
            f"({'to the shopper' if dispute.deposit_penalty_to_buyer else 'to the platform'})"
            if dispute.deposit_penalty_amount else "none",
        )

    @admin.display(description="Audit log")
    def audit(self, dispute):
        return render_audit_trail(dispute)

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None and self.has_view_permission(request):
            context["suggestion"] = policy.suggested_outcome(obj) if obj.is_active else None
            if obj.status == DisputeStatus.UNDER_ARBITRATION:
                suggestion = context["suggestion"]
                initial = {"penalty_to_shopper": True}
                if suggestion is not None and suggestion.outcome in RulingOutcome.values:
                    initial["outcome"] = suggestion.outcome
                    if suggestion.outcome == RulingOutcome.REFUND_PARTIAL and suggestion.amount is not None:
                        initial["refund_amount"] = suggestion.amount.amount
                    if suggestion.deposit_penalty is not None:
                        initial["deposit_penalty"] = suggestion.deposit_penalty.amount
                context["resolve_form"] = DisputeResolveForm(initial=initial)
                context["resolve_url"] = reverse("admin:disputes_dispute_resolve", args=[obj.pk])
            if obj.status in services.ESCALATE_FROM[MessageRole.STAFF]:
                context["escalate_url"] = reverse("admin:disputes_dispute_escalate", args=[obj.pk])
            if obj.status == DisputeStatus.RETURN_SHIPPED:
                context["return_received_url"] = reverse("admin:disputes_dispute_return_received", args=[obj.pk])
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    # --- The actions ---

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/resolve/", view(self.resolve_view), name="disputes_dispute_resolve"),
            path("<path:object_id>/escalate/", view(self.escalate_view), name="disputes_dispute_escalate"),
            path("<path:object_id>/return-received/", view(self.return_received_view),
                 name="disputes_dispute_return_received"),
            *super().get_urls(),
        ]

    def _act(self, request, object_id, call, done: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        change_url = reverse("admin:disputes_dispute_changelist")
        if not self.has_view_permission(request):
            return HttpResponseRedirect(change_url)
        dispute = get_object_or_404(Dispute, pk=object_id)
        try:
            call(dispute)
        except DomainError as error:
            self.message_user(request, f"{dispute}: {error.message}", messages.ERROR)
        else:
            self.message_user(request, f"{done}: {dispute}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:disputes_dispute_change", args=[dispute.pk]))

    def resolve_view(self, request, object_id):
        form = DisputeResolveForm(request.POST or None)

        def call(dispute):
            if not form.is_valid():
                raise DomainError(services.E.INVALID, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
            data = form.cleaned_data
            services.dispute_resolve(
                actor=request.user,
                dispute=dispute,
                outcome=data["outcome"],
                refund_amount=data["refund_amount"] if data["outcome"] == RulingOutcome.REFUND_PARTIAL else None,
                deposit_penalty=data["deposit_penalty"],
                penalty_to_buyer=data["penalty_to_shopper"],
                note=data["note"],
            )

        return self._act(request, object_id, call, "Resolved")

    def escalate_view(self, request, object_id):
        return self._act(
            request, object_id,
            lambda dispute: services.dispute_escalate(actor=request.user, dispute=dispute,
                                                      message=request.POST.get("message", "")),
            "Taken to arbitration",
        )

    def return_received_view(self, request, object_id):
        return self._act(
            request, object_id,
            lambda dispute: services.dispute_return_received(actor=request.user, dispute=dispute),
            "Return confirmed and refunded",
        )
