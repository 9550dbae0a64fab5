import pytest

from backend.search import get_search_backend

from .fake_elasticsearch import FakeElasticsearch

ES_BACKEND = "backend.search.backends.elasticsearch.ElasticsearchBackend"


@pytest.fixture
def fake_es(settings):
    """The Elasticsearch backend configured against a loopback fake (see fake_elasticsearch)."""
    fake = FakeElasticsearch()
    settings.ELASTICSEARCH_URL = fake.url
    settings.SEARCH_BACKEND = ES_BACKEND
    settings.ELASTICSEARCH_TIMEOUT = 0.5
    settings.ELASTICSEARCH_RETRY_AFTER = 30
    backend = get_search_backend()
    backend.reset()
    yield fake
    backend.reset()
    fake.close()
