"""Schemathesis, in process, against the app's own OpenAPI schema, with its default checks:
no server error, every status, content type, header and body as documented, and data
outside the schema rejected. A world of funds and sponsors exists, so generated requests
reach real objects as well as missing ones."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, settings

from test_api_support import memory_api_running, build_side

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import schemathesis

_running = memory_api_running()
API = _running.__enter__()
build_side(API, "Vietcombank Da Nang", "FA")
schema = schemathesis.openapi.from_asgi("/openapi.json", API.app)


@pytest.fixture(scope="module", autouse=True)
def _close_the_api():
    """Stops the API this module started at import, after its tests."""
    yield
    _running.__exit__(None, None, None)


@schema.parametrize()
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_openapi_schema(case):
    case.call_and_validate(headers=API.auth("treasurer"))
