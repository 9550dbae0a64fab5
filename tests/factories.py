"""factory_boy factories shared by the domains' tests. Add yours below; keep names per model."""

from __future__ import annotations

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from backend.catalog.models import Attribute, AttributeScope, Category, ListingStatus, Product, ProductVariant
from backend.vendors.models import Vendor, VendorRole, VendorStaff, VendorStatus

from .conftest import make_user


class VendorFactory(DjangoModelFactory):
    class Meta:
        model = Vendor

    name = factory.Sequence(lambda n: f"Store {n}")
    slug = factory.Sequence(lambda n: f"store-{n}")
    company_name = factory.LazyAttribute(lambda o: f"{o.name} Ltd")
    contact_email = factory.Sequence(lambda n: f"store{n}@example.com")
    status = VendorStatus.ACTIVE


class VendorStaffFactory(DjangoModelFactory):
    class Meta:
        model = VendorStaff

    vendor = factory.SubFactory(VendorFactory)
    user = factory.LazyFunction(make_user)
    role = VendorRole.OWNER


def vendor_with_owner(**vendor_fields) -> tuple[Vendor, object]:
    """A vendor and its owner (a user), the usual start of a merchant test."""
    membership = VendorStaffFactory(vendor=VendorFactory(**vendor_fields))
    return membership.vendor, membership.user


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class AttributeFactory(DjangoModelFactory):
    class Meta:
        model = Attribute

    category = factory.SubFactory(CategoryFactory)
    slug = factory.Sequence(lambda n: f"attribute-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())
    scope = AttributeScope.PRODUCT


class ProductFactory(DjangoModelFactory):
    """A listing created straight in the database (no services, no search index)."""

    class Meta:
        model = Product

    vendor = factory.SubFactory(VendorFactory)
    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    status = ListingStatus.DRAFT
    currency = "CNY"


class ProductVariantFactory(DjangoModelFactory):
    class Meta:
        model = ProductVariant

    product = factory.SubFactory(ProductFactory)
    vendor = factory.LazyAttribute(lambda o: o.product.vendor)
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    price_amount = Decimal("99.00")
    currency = "CNY"
    stock = 10


def staff_join(owner, vendor: Vendor, user, role: str = VendorRole.OPERATOR) -> VendorStaff:
    """`user` joins `vendor`'s staff the only way there is: the owner invites, the account accepts."""
    from backend.vendors import services

    invitation = services.vendor_staff_invite(actor=owner, vendor=vendor, email=user.email, role=role)
    return services.vendor_staff_invitation_accept(actor=user, invitation_id=invitation.pk)
