"""FastLoad (backend/core/models.py): instances read from the database without Model.__init__ are
the same as Django's, loaded in full, with deferred columns, through select_related and prefetches,
and Django's own way is taken when a model has init signal receivers."""

from __future__ import annotations

import pytest
from django.db.models import Prefetch, signals

from backend.catalog.models import Category, Product, ProductVariant
from backend.core.models import FastLoad
from tests.factories import ProductVariantFactory

pytestmark = pytest.mark.django_db


def _state(obj) -> dict:
    return {key: value for key, value in obj.__dict__.items() if key != "_state"}


def _django(model, queryset):
    """The same rows through Model.__init__ (Django's from_db), for comparison."""
    original = FastLoad.__dict__["from_db"]
    try:
        del FastLoad.from_db
        return list(queryset.all())
    finally:
        FastLoad.from_db = original


@pytest.mark.parametrize(
    "build",
    [
        lambda: Product.objects.order_by("pk"),
        lambda: Product.objects.only("name", "category_id").order_by("pk"),
        lambda: Product.objects.defer("description", "attributes").order_by("pk"),
        lambda: Product.objects.select_related("category", "vendor").order_by("pk"),
        lambda: ProductVariant.objects.select_related("product__category").only("sku", "product__name", "product__category__slug"),
    ],
    ids=["full", "only", "defer", "select_related", "nested_only"],
)
def test_instances_equal_djangos(build):
    for _ in range(3):
        ProductVariantFactory()
    fast = list(build())
    slow = _django(Product, build())
    assert [type(o) for o in fast] == [type(o) for o in slow]
    for one, other in zip(fast, slow):
        assert _state(one).keys() == _state(other).keys()
        for key, value in _state(one).items():
            if key == "_state":
                continue
            assert value == _state(other)[key], key
        assert one._state.adding is False and one._state.db == other._state.db == "default"
        assert one.get_deferred_fields() == other.get_deferred_fields()
        for related in ("category", "vendor", "product"):
            if related in one._state.fields_cache:
                assert _state(one._state.fields_cache[related]).keys() == _state(other._state.fields_cache[related]).keys()


def test_a_deferred_column_loads_on_access_and_instances_save():
    variant = ProductVariantFactory()
    product = Product.objects.only("name").get(pk=variant.product_id)
    assert "description" in product.get_deferred_fields()
    assert product.description == variant.product.description  # read on access
    product.name = "改名 Renamed"
    product.save(update_fields=["name"])
    assert Product.objects.get(pk=product.pk).name == "改名 Renamed"
    assert product == variant.product and hash(product) == hash(variant.product)


def test_prefetched_children_are_fast_loaded_too():
    variant = ProductVariantFactory()
    ProductVariantFactory(product=variant.product, vendor=variant.vendor)
    (product,) = Product.objects.prefetch_related(Prefetch("variants", to_attr="loaded")).filter(pk=variant.product_id)
    assert sorted(v.sku for v in product.loaded) == sorted(ProductVariant.objects.values_list("sku", flat=True))
    assert all(v._state.adding is False for v in product.loaded)


def test_init_signal_receivers_get_djangos_way():
    ProductVariantFactory()
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    signals.post_init.connect(receiver, sender=Category)
    try:
        categories = list(Category.objects.all())
    finally:
        signals.post_init.disconnect(receiver, sender=Category)
    assert seen == categories and categories
