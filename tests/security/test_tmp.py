import pytest
pytestmark = pytest.mark.django_db
@pytest.mark.parametrize("i", range(200))
def test_empty(world, i):
    pass
