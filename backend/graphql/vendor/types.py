import graphene
from graphene_django import DjangoObjectType
from graphene_django.fields import DjangoConnectionField

from backend.finance import selectors as finance_selectors
from backend.finance import statements
from backend.finance.standing import vendor_standing
from backend.vendors import files, models, selectors
from backend.vendors.error_codes import VendorErrorCode

from ..account.types import UserType
from ..catalog.types import CategoryType, media_url
from ..core.audit import AuditLogEntry, AuditTrailConnectionField, audit_log_of
from ..core.types import CountableConnection, choices_enum, error_type
from ..finance.types import (
    LedgerEntryType,
    StatementType,
    VendorBalance,
    VendorStandingType,
    attach_vendor_balances,
    vendor_balance_for,
    vendor_ledger_queryset,
)

VendorError = error_type("VendorError", VendorErrorCode)

VendorStatusEnum = choices_enum("VendorStatus", models.VendorStatus)
VendorApplicationStatusEnum = choices_enum("VendorApplicationStatus", models.ApplicationStatus)
DocumentTypeEnum = choices_enum("DocumentType", models.DocumentType)
VendorRoleEnum = choices_enum("VendorRole", models.VendorRole)
VendorStaffInvitationStatusEnum = choices_enum("VendorStaffInvitationStatus", models.InvitationStatus)


class VendorImageRendition(graphene.ObjectType):
    size = graphene.String(required=True, description="Rendition name, e.g. 128 or 1200x300.")
    format = graphene.String(required=True, description="webp or jpeg.")
    width = graphene.Int(required=True)
    height = graphene.Int(required=True)
    url = graphene.String(required=True)


def _renditions(info, stored: dict, sizes: dict) -> list[VendorImageRendition]:
    return [
        VendorImageRendition(
            size=size,
            format=fmt,
            width=sizes[size][0],
            height=sizes[size][1],
            url=media_url(info.context, path),
        )
        for size, formats in (stored or {}).items()
        if size in sizes
        for fmt, path in formats.items()
    ]


class VendorStaffType(DjangoObjectType):
    role = VendorRoleEnum(required=True)
    # Declared here rather than converted, so they read the prefetched rows instead of
    # one query each; whoever may see the membership may see both ends of it.
    user = graphene.Field(UserType, required=True)
    vendor = graphene.Field(lambda: VendorType, required=True)

    class Meta:
        model = models.VendorStaff
        name = "VendorStaff"
        interfaces = (graphene.relay.Node,)
        fields = ("id", "added_at")

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_vendor_staff(info.context.user, queryset)

    @staticmethod
    def resolve_role(root, _info):
        return models.VendorRole(root.role).value

    @staticmethod
    def resolve_user(root, _info):
        return root.user

    @staticmethod
    def resolve_vendor(root, _info):
        return root.vendor


class VendorStaffInvitationType(DjangoObjectType):
    role = VendorRoleEnum(required=True)
    status = VendorStaffInvitationStatusEnum(required=True)
    store_name = graphene.String(required=True, description="The inviting store's name.")
    expired = graphene.Boolean(required=True)

    class Meta:
        model = models.VendorStaffInvitation
        name = "VendorStaffInvitation"
        interfaces = (graphene.relay.Node,)
        fields = ("id", "email", "created_at", "expires_at", "answered_at")
        description = "An invitation to a store's staff, seen by the store's owner and by the invited account."

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_staff_invitations(info.context.user, queryset)

    @staticmethod
    def resolve_role(root, _info):
        return models.VendorRole(root.role).value

    @staticmethod
    def resolve_status(root, _info):
        return models.InvitationStatus(root.status).value

    @staticmethod
    def resolve_store_name(root, _info):
        return root.vendor.name

    @staticmethod
    def resolve_expired(root, _info):
        from django.utils import timezone

        return root.expires_at <= timezone.now()


class VendorType(DjangoObjectType):
    status = VendorStatusEnum(required=True)
    categories = graphene.List(graphene.NonNull(CategoryType), required=True)
    staff = graphene.List(graphene.NonNull(VendorStaffType), required=True)
    staff_invitations = graphene.List(
        graphene.NonNull(VendorStaffInvitationType),
        required=True,
        description="Pending staff invitations, newest first (the store's owner, or MANAGE_VENDORS).",
    )
    logo = graphene.List(
        graphene.NonNull(VendorImageRendition), required=True, description="Store logo, square, in every size and format."
    )
    banner = graphene.List(
        graphene.NonNull(VendorImageRendition), required=True, description="Store banner in every size and format."
    )
    shipping_origin = graphene.Field(
        "backend.graphql.logistics.types.ShippingRegion",
        description=(
            "Where the store's packages leave from (its own region, or the platform's default): the store's "
            "staff and staff managing vendors; null for others."
        ),
    )
    balance = graphene.Field(
        VendorBalance, description="Pending, available and deposit, from the ledger (its staff, or MANAGE_FINANCE)."
    )
    ledger = DjangoConnectionField(
        LedgerEntryType, description="Entries on the vendor's ledger accounts, newest first (its staff, or MANAGE_FINANCE)."
    )
    statements = graphene.List(
        graphene.NonNull(StatementType),
        year=graphene.Int(description="This year when not given."),
        description="Monthly statements of a year, oldest first, up to this month (its staff, or MANAGE_FINANCE).",
    )
    standing = graphene.Field(
        VendorStandingType,
        description="Entry fee and deposit owed and paid, and any restriction (its staff, or MANAGE_FINANCE).",
    )
    dispute_stats = graphene.Field(
        "backend.graphql.disputes.types.VendorDisputeStats",
        days=graphene.Int(default_value=30, description="Count the orders paid in this many last days."),
        description="Dispute rate and refund rate (its staff, or ARBITRATE_DISPUTES).",
    )

    class Meta:
        model = models.Vendor
        name = "Vendor"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = (
            "id",
            "name",
            "slug",
            "company_name",
            "contact_email",
            "contact_phone",
            "description",
            "status_reason",
            "created_at",
            "updated_at",
        )

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_vendors(info.context.user, queryset)

    @staticmethod
    def resolve_status(root, _info):
        # Plain values: a freshly changed row holds the choices member, which the enum does not take.
        return models.VendorStatus(root.status).value

    @staticmethod
    def resolve_categories(root, _info):
        return root.categories.all()

    @staticmethod
    def resolve_staff_invitations(root, info):
        return selectors.pending_invitations_of_vendor(info.context.user, root)

    @staticmethod
    def resolve_staff(root, info):
        # A store is also reached through its listings, orders and disputes, by staff who may
        # not see the store itself: its people are shown by the store's own rule only.
        if not selectors.may_see_vendor(info.context.user, root):
            return []
        return root.staff.all()

    @staticmethod
    def resolve_shipping_origin(root, info):
        if not selectors.may_see_vendor(info.context.user, root):
            return None
        from backend.logistics.models import Region
        from backend.orders.selectors import vendor_shipping_origin

        return Region.objects.select_related("parent").filter(code=vendor_shipping_origin(root)).first()

    @staticmethod
    def resolve_logo(root, info):
        return _renditions(info, root.logo, files.LOGO_SIZES)

    @staticmethod
    def resolve_banner(root, info):
        return _renditions(info, root.banner, files.BANNER_SIZES)

    @staticmethod
    def resolve_balance(root, info):
        return vendor_balance_for(root, info)

    @staticmethod
    def resolve_ledger(root, info, **_kwargs):
        return vendor_ledger_queryset(root, info)

    @staticmethod
    def resolve_statements(root, info, year=None):
        if not finance_selectors.can_see_vendor_finance(info.context.user, root.pk):
            return None
        return statements.vendor_statements(root, statements.statement_months(root, year))

    @staticmethod
    def resolve_standing(root, info):
        if not finance_selectors.can_see_vendor_finance(info.context.user, root.pk):
            return None
        return vendor_standing(root)

    @staticmethod
    def resolve_dispute_stats(root, info, days=30):
        # Imported here: the disputes types build on this one.
        from ..disputes.types import vendor_dispute_stats_for

        return vendor_dispute_stats_for(info, root, days)


def _selects(info, name: str) -> bool:
    """Whether the query asks for field `name` anywhere below this field (fragments included)."""

    def walk(selection_set) -> bool:
        for selection in getattr(selection_set, "selections", None) or []:
            kind = type(selection).__name__
            if kind == "FieldNode" and selection.name.value == name:
                return True
            if kind == "FragmentSpreadNode":
                fragment = info.fragments.get(selection.name.value)
                if fragment is not None and walk(fragment.selection_set):
                    return True
            elif walk(getattr(selection, "selection_set", None)):
                return True
        return False

    return any(walk(node.selection_set) for node in info.field_nodes)


class VendorConnectionField(DjangoConnectionField):
    """Loads the balances of a whole page in a fixed number of queries when the query asks for them."""

    @classmethod
    def connection_resolver(cls, resolver, connection, default_manager, queryset_resolver, max_limit,
                            enforce_first_or_last, root, info, **args):
        result = super().connection_resolver(
            resolver, connection, default_manager, queryset_resolver, max_limit, enforce_first_or_last, root, info, **args
        )
        if _selects(info, "balance"):
            attach_vendor_balances([edge.node for edge in result.edges], info)
        return result


class VendorApplicationDocumentType(DjangoObjectType):
    document_type = DocumentTypeEnum(required=True)
    url = graphene.String(
        required=True, description="Signed link to the file; it expires, so fetch the application again for a new one."
    )

    class Meta:
        model = models.ApplicationDocument
        name = "VendorApplicationDocument"
        interfaces = (graphene.relay.Node,)
        fields = ("id", "content_type", "size", "uploaded_at")

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_documents(info.context.user, queryset)

    @staticmethod
    def resolve_document_type(root, _info):
        return models.DocumentType(root.document_type).value

    @staticmethod
    def resolve_url(root, info):
        return info.context.build_absolute_uri(files.document_link_path(root))


class VendorApplicationType(DjangoObjectType):
    status = VendorApplicationStatusEnum(required=True)
    applicant = graphene.Field(UserType, required=True)
    categories = graphene.List(graphene.NonNull(CategoryType), required=True)
    documents = graphene.List(graphene.NonNull(VendorApplicationDocumentType), required=True)
    vendor = graphene.Field(VendorType, description="The store opened on approval.")
    decided_by_email = graphene.String(description="Staff member who took the last decision (staff only).")
    audit_log = graphene.List(
        graphene.NonNull(AuditLogEntry), description="Every step and decision, oldest first (staff only)."
    )

    class Meta:
        model = models.VendorApplication
        name = "VendorApplication"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = (
            "id",
            "store_name",
            "company_name",
            "contact_email",
            "contact_phone",
            "description",
            "decision_reason",
            "decided_at",
            "submitted_at",
            "updated_at",
        )

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_applications(info.context.user, queryset)

    @staticmethod
    def resolve_status(root, _info):
        return models.ApplicationStatus(root.status).value

    @staticmethod
    def resolve_applicant(root, _info):
        return root.applicant

    @staticmethod
    def resolve_categories(root, _info):
        return root.categories.all()

    @staticmethod
    def resolve_documents(root, _info):
        return root.documents.all()

    @staticmethod
    def resolve_vendor(root, info):
        vendor = getattr(root, "vendor", None)
        return vendor if vendor is not None and selectors.may_see_vendor(info.context.user, vendor) else None

    @staticmethod
    def resolve_decided_by_email(root, info):
        if root.decided_by is None or not selectors.may_see_audit_trail(info.context.user):
            return None
        return root.decided_by.email

    @staticmethod
    def resolve_audit_log(root, info):
        if not selectors.may_see_audit_trail(info.context.user):
            return None
        return audit_log_of(root)


class VendorApplicationConnectionField(AuditTrailConnectionField):
    """Loads the audit trails of a whole page in one query, for staff who may read them."""

    may_see_audit_trail = staticmethod(selectors.may_see_audit_trail)
