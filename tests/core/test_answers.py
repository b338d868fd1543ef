"""kpitrack.core.answers: the one JSON shape, and json_endpoint, which only takes safe methods
(it is exempt from CSRF because nothing it answers changes anything)."""

import json

import pytest

from kpitrack.core.answers import answer, error, json_endpoint


def test_an_error_carries_its_message_and_request_id_and_its_own_keys():
    response = error("沒有這項工作。", 404, status="unavailable")
    assert response.status_code == 404
    assert json.loads(response.content) == {
        "error": "沒有這項工作。",
        "request_id": "-",  # outside a request
        "status": "unavailable",
    }
    assert "沒有這項工作。" in response.content.decode()  # as is, not \u-escaped
    assert answer([1])["Content-Type"] == "application/json"


@pytest.mark.parametrize("methods", [(), ("POST",), ("GET", "DELETE")])
def test_a_json_endpoint_takes_safe_methods_only(methods):
    with pytest.raises(ValueError, match="safe methods only"):
        json_endpoint(*methods)
