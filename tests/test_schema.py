"""schemathesis against the REST routes' own OpenAPI schema, in-process (ASGI): no 5xx, answers match the schema."""
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from app import create_app

# 413 is the documented answer to a text over max_chars (maxLength in the schema); the rest are schemathesis' defaults.
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": [400, 405, 406, 413, 415, 422]}}})
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(), config=CONFIG).include(path_regex="^/api/")

pytestmark = pytest.mark.slow  # 150 generated requests a route


@schema.parametrize()
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_rest_api_conforms_to_its_schema(case):
    """Positive and negative cases, every default check (not_a_server_error among them)."""
    case.call_and_validate()
