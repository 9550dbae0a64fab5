"""The demo listings go through the catalog services and leave every screen with data."""

import pytest

from backend.catalog.models import Attribute, ListingStatus, Product, ProductMedia
from backend.catalog.selectors import storefront_products
from fixtures.catalog_demo import populate_products

pytestmark = pytest.mark.django_db


def test_populate_products_on_a_bare_database():
    report = populate_products(count=24, progress=False)
    assert report.created == 24 == Product.objects.count()
    assert Attribute.objects.filter(category__slug="手机-phones", slug="capacity").exists()
    statuses = set(Product.objects.values_list("status", flat=True))
    assert {ListingStatus.PUBLISHED, ListingStatus.PENDING_REVIEW, ListingStatus.REJECTED} <= statuses
    assert report.published == storefront_products().count()
    assert ProductMedia.objects.filter(product__status=ListingStatus.PUBLISHED, is_live=True).exists()
    assert all(p.variants.exists() and p.media.exists() for p in Product.objects.all())
    # Running again adds nothing; a larger count adds the difference.
    assert populate_products(count=24, progress=False).created == 0
    assert populate_products(count=26, progress=False).created == 2
