import pytest

from .helpers import build_catalog, merchant, reviewer


@pytest.fixture
def catalog(db):
    return build_catalog()


@pytest.fixture
def vendor_and_owner(db):
    return merchant(name="Sunny Apparel", slug="sunny-apparel")


@pytest.fixture
def other_vendor_and_owner(db):
    return merchant(name="Rival Store", slug="rival-store")


@pytest.fixture
def review_staff(db):
    return reviewer()
