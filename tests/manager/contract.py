"""Check HTTP responses against the OpenAPI document the Manager serves.

`ResponseChecker.check(method, path_template, status, content_type, body)` returns the ways a response
breaks the document: a status code the operation does not list, a content type its response does not
list, or a JSON body that does not match the response's schema (OpenAPI 3.0 rules: `nullable`, formats,
`readOnly`). Used by the contract test that drives every operation and by the property-based run.
"""

from __future__ import annotations

import json
from typing import Any

from openapi_schema_validator import OAS30ReadValidator

METHODS = ("get", "put", "post", "delete", "patch")


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """{(METHOD, path template): operation} for every operation of the document."""
    return {(method.upper(), path): item[method]
            for path, item in spec["paths"].items() for method in METHODS if method in item}


class ResponseChecker:
    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.ops = operations(spec)

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.spec
            for key in node["$ref"][2:].split("/"):
                target = target[key]
            node = target
        return node

    def check(self, method: str, template: str, status: int, content_type: str, body: bytes) -> list[str]:
        op = self.ops.get((method.upper(), template))
        if op is None:
            return [f"{method} {template} is not in the document"]
        responses = op["responses"]
        entry = responses.get(str(status)) or responses.get(f"{status // 100}XX") or responses.get("default")
        where = f"{method} {template} -> {status}"
        if entry is None:
            return [f"{where}: status code not listed (listed: {', '.join(sorted(responses))})"]
        content = self._resolve(entry).get("content") or {}
        if not content:
            return [] if not body or status == 101 else [f"{where}: a body where the document lists none"]
        if content_type not in content and "*/*" not in content:
            listed = ", ".join(content)
            if not any(key.endswith("/*") and content_type.startswith(key[:-1]) for key in content):
                return [f"{where}: content type {content_type!r} not listed ({listed})"]
        schema = (content.get(content_type) or {}).get("schema")
        if content_type != "application/json" or schema is None:
            return []
        try:
            data = json.loads(body)
        except ValueError as exc:
            return [f"{where}: body is not JSON: {exc}"]
        validator = OAS30ReadValidator({**schema, "components": self.spec["components"]},
                                       format_checker=OAS30ReadValidator.FORMAT_CHECKER)
        return [f"{where}: {error.message} at {'/'.join(map(str, error.absolute_path)) or 'the top'}"
                for error in validator.iter_errors(data)][:5]
