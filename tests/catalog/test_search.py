"""Database search: Chinese by character bigrams, English by words, on SQLite and PostgreSQL."""

from io import StringIO

import pytest
from django.core.management import call_command

from backend.catalog import services
from backend.catalog.models import ListingStatus, Product
from backend.search import get_search_backend
from backend.search.text import QueryTerm, index_tokens, query_terms

from .helpers import listed_product


def test_index_tokens_split_cjk_into_bigrams_and_latin_into_words():
    assert index_tokens("华为 Mate 60 手机") == ["华为", "为", "mate", "60", "手机", "机"]
    assert index_tokens("纯棉T恤") == ["纯棉", "棉", "t", "恤"]
    assert index_tokens("ＭＡＴＥ６０, iPhone-15!") == ["mate60", "iphone", "15"]
    assert index_tokens("") == []


def test_query_terms():
    assert query_terms("手机") == [QueryTerm("手机", False)]
    assert query_terms("华为手机") == [QueryTerm("华为", False), QueryTerm("手机", False)]
    assert query_terms("运动鞋") == [QueryTerm("运动", False), QueryTerm("动鞋", False)]
    assert query_terms("鞋") == [QueryTerm("鞋", True)]
    assert query_terms("Mate mate 60") == [QueryTerm("mate", True), QueryTerm("60", True)]
    assert query_terms("  \"*()  ") == []


@pytest.fixture
def indexed(db, catalog, vendor_and_owner):
    vendor, owner = vendor_and_owner
    names = ["华为 Mate 60 手机", "小米 14 Ultra 手机", "Apple iPhone 15 手机壳", "纯棉 T恤 男款", "Running shoes 跑步鞋"]
    return {
        name: services.product_create(
            actor=owner, vendor=vendor, category=catalog["tshirts"], name=name, description="Fast delivery"
        )
        for name in names
    }


@pytest.mark.parametrize(
    "query, expected",
    [
        ("手机", {"华为 Mate 60 手机", "小米 14 Ultra 手机", "Apple iPhone 15 手机壳"}),
        ("华为", {"华为 Mate 60 手机"}),
        ("小米手机", {"小米 14 Ultra 手机"}),
        ("手机壳", {"Apple iPhone 15 手机壳"}),
        ("跑步", {"Running shoes 跑步鞋"}),
        ("鞋", {"Running shoes 跑步鞋"}),
        ("run", {"Running shoes 跑步鞋"}),
        ("ULTRA", {"小米 14 Ultra 手机"}),
        ("mate 60", {"华为 Mate 60 手机"}),
        ("mate 14", set()),
        ("delivery", {"华为 Mate 60 手机", "小米 14 Ultra 手机", "Apple iPhone 15 手机壳", "纯棉 T恤 男款", "Running shoes 跑步鞋"}),
        ("' OR 1=1; --", set()),
        ("NEAR(a b)", set()),
    ],
)
def test_database_backend_finds_chinese_and_english(indexed, query, expected):
    backend = get_search_backend()
    ids = backend.search(query)
    assert {Product.objects.get(pk=pk).name for pk in ids} == expected
    filtered = backend.filter_queryset(Product.objects.all(), query, rank=True)
    assert set(filtered.values_list("name", flat=True)) == expected


def test_name_matches_rank_before_description_matches(indexed, vendor_and_owner, catalog):
    vendor, owner = vendor_and_owner
    services.product_create(
        actor=owner, vendor=vendor, category=catalog["tshirts"], name="Case", description="Fits 华为 phones"
    )
    ids = get_search_backend().search("华为")
    assert [Product.objects.get(pk=pk).name for pk in ids] == ["华为 Mate 60 手机", "Case"]
    ranked = get_search_backend().filter_queryset(Product.objects.all(), "华为", rank=True)
    assert list(ranked.values_list("name", flat=True)) == ["华为 Mate 60 手机", "Case"]


def test_services_keep_the_index_current(db, catalog, vendor_and_owner, review_staff):
    vendor, owner = vendor_and_owner
    backend = get_search_backend()
    product = listed_product(vendor, owner, catalog["tshirts"], name="Old title", status=ListingStatus.DRAFT)
    assert backend.search("old") == [product.pk]
    services.product_update(actor=owner, product=product, name="新标题 new", description="Refreshed")
    assert backend.search("old") == [] and backend.search("标题") == [product.pk]
    services.product_submit_for_review(actor=owner, product=product)
    services.product_approve(actor=review_staff, product=product)
    # A revision is not searchable until approved: shoppers search what they can see.
    services.product_update(actor=owner, product=product, name="Revised title")
    assert backend.search("revised") == []
    services.product_approve(actor=review_staff, product=product)
    assert backend.search("revised") == [product.pk]
    services.product_delist(actor=owner, product=product)
    services.product_delete(actor=owner, product=product)
    assert backend.search("revised") == []


def test_search_index_command_rebuilds(indexed):
    backend = get_search_backend()
    backend.clear()
    assert backend.search("手机") == []
    out = StringIO()
    call_command("search_index", "--no-progress", "--batch-size", "2", stdout=out)
    assert "Indexed 5 listings" in out.getvalue()
    assert len(backend.search("手机")) == 3


def test_relevance_ranks_the_newest_candidates_only(indexed, vendor_and_owner, catalog, monkeypatch):
    """A list in order of relevance ranks a bounded set: the RANK_CANDIDATES newest matches."""
    from backend.search.backends import database

    monkeypatch.setattr(database, "RANK_CANDIDATES", 2)
    vendor, owner = vendor_and_owner
    made = {
        name: services.product_create(
            actor=owner, vendor=vendor, category=catalog["tshirts"], name=name, description=description
        )
        for name, description in (("华为 old case", ""), ("Cover", "Fits 华为 phones"), ("华为 new case", ""))
    }
    backend = get_search_backend()
    ranked = backend.filter_queryset(Product.objects.all(), "华为", rank=True)
    # The two newest matches, the name match before the description match; older ones are not ranked.
    assert list(ranked.values_list("name", flat=True)) == ["华为 new case", "Cover"]
    assert ranked.count() == 2
    # Unranked (another sort order, facets) every match counts.
    every = backend.filter_queryset(Product.objects.all(), "华为")
    assert set(every.values_list("name", flat=True)) == {"华为 Mate 60 手机", *made}
    # Fewer matches than candidates: every match is ranked.
    monkeypatch.setattr(database, "RANK_CANDIDATES", 100)
    names = list(backend.filter_queryset(Product.objects.all(), "华为", rank=True).values_list("name", flat=True))
    assert set(names[:3]) == {"华为 Mate 60 手机", "华为 new case", "华为 old case"} and names[3] == "Cover"


def test_relevance_candidates_are_found_for_a_rare_word(indexed, vendor_and_owner, catalog, monkeypatch):
    from backend.search.backends import database

    monkeypatch.setattr(database, "RANK_CANDIDATES", 2)
    vendor, owner = vendor_and_owner
    rare = services.product_create(
        actor=owner, vendor=vendor, category=catalog["tshirts"], name="Zither 古筝", description=""
    )
    for number in range(3):
        services.product_create(actor=owner, vendor=vendor, category=catalog["tshirts"], name=f"Plain {number}")
    ranked = get_search_backend().filter_queryset(Product.objects.all(), "古筝", rank=True)
    assert list(ranked.values_list("pk", flat=True)) == [rare.pk]
