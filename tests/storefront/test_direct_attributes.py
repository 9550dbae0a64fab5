"""Plain columns and fetched to-one relations are read straight from the instance (storefront_api.core).

The fast resolvers must answer exactly what strawberry_django's own would: a value that is not
loaded (a deferred column, a relation the queryset did not fetch) falls back to strawberry_django,
which loads it.
"""

from types import SimpleNamespace

import pytest

from backend.catalog.models import Product as ProductModel
from storefront_api.schema import schema

from ..catalog.helpers import build_catalog, listed_product, merchant

pytestmark = pytest.mark.django_db


def resolver(type_name: str, field_name: str):
    return schema._schema.type_map[type_name].fields[field_name].resolve


def test_columns_and_to_one_relations_take_the_direct_resolver_and_computed_fields_do_not():
    for type_name, field_name in [("Product", "name"), ("Product", "slug"), ("Product", "category"), ("Category", "parent")]:
        assert resolver(type_name, field_name).__qualname__.split(".")[0] in ("_loaded_column", "_cached_relation")
    for type_name, field_name in [("Product", "id"), ("Product", "thumbnail"), ("Product", "inStock"), ("Product", "priceRange")]:
        assert resolver(type_name, field_name).__qualname__.split(".")[0] not in ("_loaded_column", "_cached_relation")


@pytest.fixture
def tea():
    vendor, owner = merchant(name="West Lake Tea", slug="west-lake-tea")
    return listed_product(vendor, owner, build_catalog()["tshirts"], name="龙井 Longjing")


def test_a_deferred_column_and_an_unfetched_relation_fall_back_and_load(tea):
    info = SimpleNamespace()
    deferred = ProductModel.objects.only("id").get(pk=tea.pk)
    calls = []

    def fallback(source, info, **kwargs):
        calls.append(source)
        return "loaded"

    from storefront_api.core import _cached_relation, _loaded_column

    assert _loaded_column("name", fallback)(deferred, info) == "loaded"
    assert _cached_relation("category", fallback)(deferred, info) == "loaded"
    fetched = ProductModel.objects.select_related("category").get(pk=tea.pk)
    assert _loaded_column("name", fallback)(fetched, info) == "龙井 Longjing"
    assert _cached_relation("category", fallback)(fetched, info) == fetched.category
    assert calls == [deferred, deferred]


def test_the_storefront_answers_the_same_names_and_categories(storefront_api, tea):
    data = storefront_api.execute(
        "query { products(first: 5) { edges { node { name slug category { name slug parent { slug } } vendor { name } } } } }"
    )
    (edge,) = data["products"]["edges"]
    assert edge["node"]["name"] == "龙井 Longjing" and edge["node"]["vendor"]["name"] == "West Lake Tea"
    assert edge["node"]["category"]["slug"] == tea.category.slug
    assert edge["node"]["category"]["parent"] == ({"slug": tea.category.parent.slug} if tea.category.parent else None)
