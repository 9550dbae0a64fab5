"""Health, request ids and Prometheus metrics of a real gunicorn instance (2 worker processes)."""

import json

from prometheus_client.parser import text_string_to_metric_families


def header(headers: dict, name: str) -> str | None:
    return {key.lower(): value for key, value in headers.items()}.get(name.lower())


def test_health_and_request_ids(served):
    status, headers, body = served.get("/health/live", headers={"X-Request-ID": "served-probe-1"})
    assert status == 200 and json.loads(body) == {"status": "ok"}
    assert header(headers, "X-Request-ID") == "served-probe-1"
    # Probes come by IP address, not by one of ALLOWED_HOSTS.
    status, _, body = served.get("/health/ready", headers={"Host": "10.0.0.7:8000"})
    assert status == 200, body
    assert json.loads(body)["checks"]["database"] == "ok"
    status, headers, _ = served.get("/graphql/", headers={"Accept": "application/json"})
    assert len(header(headers, "X-Request-ID")) == 32


def test_metrics_add_up_across_gunicorn_workers(start_served, tmp_path_factory):
    directory = tmp_path_factory.mktemp("prometheus")
    instance = start_served({"PROMETHEUS_MULTIPROC_DIR": str(directory)})
    sent = 12
    for _ in range(sent):
        status, body = instance.graphql("query ServedCount { __typename }", endpoint="storefront")
        assert status == 200, body

    def counted() -> float:
        status, _, text = instance.get("/metrics")
        assert status == 200
        return sum(
            sample.value
            for family in text_string_to_metric_families(text.decode())
            for sample in family.samples
            if sample.name == "marketplace_graphql_requests_total"
            and sample.labels == {"endpoint": "storefront", "operation": "ServedCount", "status": "200"}
        )

    # Whichever worker answers the scrape reports the requests of both.
    assert [counted() for _ in range(6)] == [float(sent)] * 6
    assert list(directory.glob("counter_*.db"))
