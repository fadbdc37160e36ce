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


#: operations that refuse some requests the schema allows, for reasons a JSON Schema
#: cannot state: two fields that must differ, and a file's rows. Their refusals are
#: problems (422) as documented; only schemathesis's "valid data accepted" check is off.
BEYOND_THE_SCHEMA = {
    "POST /v1/transfers": "from_fund and to_fund must be two different funds",
    "POST /v1/imports/donations": "the file's rows are read and checked",
}


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@pytest.mark.parametrize("who", ["treasurer", "auditor"])
def test_every_operation_conforms_to_the_openapi_schema(case, who):
    excluded = ([schemathesis.checks.positive_data_acceptance]
                if case.operation.label in BEYOND_THE_SCHEMA else [])
    case.call_and_validate(headers=API.auth(who), excluded_checks=excluded)
