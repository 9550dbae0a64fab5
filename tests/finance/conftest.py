import pytest

from ..factories import VendorFactory, vendor_with_owner


@pytest.fixture
def vendor(db):
    return VendorFactory()


@pytest.fixture
def other_vendor(db):
    return VendorFactory()


@pytest.fixture
def vendor_and_owner(db):
    return vendor_with_owner()
