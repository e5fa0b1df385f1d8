"""``check``'s full validation (openapi-spec-validator): each schema's meta-schema check is
decided by jsonschema-rs first, and still finds what openapi-spec-validator finds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator

from auralytik_mock.core import speccheck


def _document(schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/pets": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}},
                        }
                    }
                }
            }
        },
        "components": {"schemas": schemas},
    }


GOOD = {"Pet": {"type": "object", "properties": {"name": {"type": "string", "minLength": 1}}}}
BROKEN = {
    "Pet": {"type": "object", "properties": {"name": {"type": "string", "minLength": "three"}}},
    # OpenAPI's own vocabulary: the 2020-12 meta-schema says nothing of it
    "Animal": {
        "oneOf": [{"$ref": "#/components/schemas/Pet"}],
        "discriminator": {"mapping": {"pet": "#/components/schemas/Pet"}},
    },
}


@pytest.mark.parametrize("schemas", [GOOD, BROKEN], ids=["good", "broken"])
def test_the_findings_are_openapi_spec_validators_own(
    schemas: dict[str, Any], tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("AURALYTIK_MOCK_CACHE", "off")
    spec = tmp_path / "openapi.yaml"
    spec.write_text(yaml.safe_dump(_document(schemas)))
    fast = speccheck.validate(spec)
    monkeypatch.setattr(speccheck, "_fast_v31", lambda: OpenAPIV31SpecValidator)
    plain = speccheck.validate(spec)
    assert (fast.problems, fast.warnings) == (plain.problems, plain.warnings)
    if schemas is BROKEN:
        found = "\n".join(fast.problems)
        assert "'three' is not of type 'integer'" in found, found  # the 2020-12 meta-schema's finding
        assert "'propertyName' is a required property" in found, found  # OpenAPI's discriminator
    else:
        assert fast.problems == []
