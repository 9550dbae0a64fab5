"""Health, request ids and Prometheus metrics of a real gunicorn instance (2 worker processes)."""

import json
import time

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


def _json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_gunicorn_logs_json_lines_like_the_platform(start_served):
    instance = start_served({"LOG_FORMAT": "json", "GUNICORN_ACCESS_LOG": "-"})
    since = instance.log_size()
    status, headers, _ = instance.get("/health/live?probe=1", headers={"X-Request-ID": "served-json-log-1"})
    assert status == 200 and header(headers, "X-Request-ID") == "served-json-log-1"
    instance.get("/no-such-page/")

    text = instance.log()
    # Every line gunicorn wrote is JSON, the start-up lines included (nothing in plain text).
    plain = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("{")]
    assert plain == [], plain
    records = _json_lines(text)
    assert any(r["logger"] == "gunicorn.error" and "Listening at" in r["message"] for r in records)
    assert all({"timestamp", "level", "logger", "message"} <= set(r) for r in records)

    def access_line(path: str) -> dict:
        for _ in range(50):
            found = [r for r in _json_lines(instance.log(since)) if r["logger"] == "gunicorn.access" and r.get("path") == path]
            if found:
                return found[-1]
            time.sleep(0.1)
        raise AssertionError(f"no access line for {path}:\n{instance.log(since)}")

    live = access_line("/health/live")
    assert live["method"] == "GET" and live["status"] == 200 and live["query"] == "probe=1"
    assert live["request_id"] == "served-json-log-1"
    assert live["remote_addr"] == "127.0.0.1" and live["bytes"] > 0
    assert isinstance(live["duration_ms"], float) and live["duration_ms"] >= 0
    missing = access_line("/no-such-page/")
    assert missing["status"] == 404 and len(missing["request_id"]) == 32


def test_gunicorn_logs_plain_text_when_asked(start_served):
    instance = start_served({"LOG_FORMAT": "text"})
    assert "Listening at" in instance.log()
    assert not any(line.lstrip().startswith("{") for line in instance.log().splitlines() if "Listening at" in line)
