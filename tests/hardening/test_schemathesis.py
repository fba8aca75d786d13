"""Property-based fuzzing of a real server against its OpenAPI schema (schemathesis).

The schema is generated at collection time from `create_app` with the same settings as
the live server (schemathesis' lazy fixture loader does not work under pytest 9), and
`test_live_schema_is_the_fuzzed_one` proves the live `/openapi.json` is that very schema.
Every operation gets positive and negative generated requests with a valid read-write
key. Checks: no 5xx, status codes, content types, headers and bodies as documented (the
error contract included), invalid data rejected, auth not ignored, and every error body
in the contract. `positive_data_acceptance` is left out on purpose: business rules that
JSON Schema cannot state (blank texts, limits set in settings) answer 400/413 to
schema-valid input, by design. Examples per operation: `SIMSERVE_FUZZ_EXAMPLES` (default 25).
"""

from __future__ import annotations

import os

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import allow_header_conformance, positive_data_acceptance

from app.api.app import create_app
from app.settings import Settings
from tests.hardening.helpers import RO_KEY, RW_KEY, contract_problem

EXAMPLES = int(os.environ.get("SIMSERVE_FUZZ_EXAMPLES", "25"))
AUTH = {"Authorization": f"Bearer {RW_KEY}"}


def _schema_settings() -> Settings:
    return Settings(auth={"keys": [RW_KEY], "read_only_keys": [RO_KEY]})


OPENAPI = create_app(_schema_settings()).openapi()
# 413 is a rejection too (e.g. n=false -> 0 -> "n must be in [1, 256]")
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
            }
        }
    }
)
schema = schemathesis.openapi.from_dict(OPENAPI, config=CONFIG)


@schemathesis.check
def error_contract(ctx, response, case) -> bool | None:
    """Every 4xx/5xx body is in the error contract."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(
            f"{response.status_code} body is not JSON: {response.text[:200]}"
        ) from None
    problem = contract_problem(case.path, response.status_code, response.headers, body)
    assert problem is None, problem
    return None


def test_live_schema_is_the_fuzzed_one(secured_server):
    live = httpx.get(f"{secured_server.url}/openapi.json", timeout=10).json()
    assert live == OPENAPI


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_live_schema(case, secured_server):
    excluded = [positive_data_acceptance]
    if case.path == "/collections/{name}/documents/delete":
        # GET .../documents/delete is truly served (the document with id "delete", via
        # .../documents/{doc_id:path}), so `Allow: GET, POST` is right; OpenAPI cannot say so
        excluded.append(allow_header_conformance)
    case.call_and_validate(
        base_url=secured_server.url,
        headers=AUTH,
        additional_checks=[error_contract],
        excluded_checks=excluded,
        timeout=30,
    )
