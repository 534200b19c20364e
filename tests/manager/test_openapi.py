"""Tests for the served OpenAPI document and the offline API explorer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from app.manager.web.openapi import (
    EXPLORER_PATH,
    INITIALIZER,
    add_openapi_routes,
    load_spec,
    swagger_ui_files,
)

REPO = Path(__file__).resolve().parents[2]
# A pristine copy of Flamenco's document: the contract ours must stay a superset of.
FLAMENCO_SPEC = REPO / "resources" / "openapi" / "flamenco-openapi.yaml"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@pytest.fixture
async def client(aiohttp_client: Any) -> Any:
    app = web.Application()
    add_openapi_routes(app)
    return await aiohttp_client(app)


@pytest.fixture(scope="module")
def flamenco() -> dict[str, Any]:
    return yaml.load(FLAMENCO_SPEC.read_text("utf-8"), Loader=_LOADER)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_spec()


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method): item[method]
        for path, item in spec["paths"].items()
        for method in METHODS
        if method in item
    }


def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(value) for value in node))
    return set()


# The document ------------------------------------------------------------------------


async def test_json_is_a_superset_of_flamenco(client: Any, flamenco: dict[str, Any]) -> None:
    response = await client.get("/api/v3/openapi3.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    ours = await response.json()
    differences = ours["info"]["description"].split("Deliberate differences from Flamenco")[1]

    def listed(name: str) -> bool:
        return f"`{name}`" in differences

    assert set(flamenco["paths"]) <= set(ours["paths"])
    our_ops = operations(ours)
    for key, op in operations(flamenco).items():
        assert key in our_ops, key
        ours_op = our_ops[key]
        assert ours_op["operationId"] == op["operationId"]
        assert ours_op.get("security") == op.get("security"), key
        assert set(op["responses"]) <= set(ours_op["responses"]), key
        if ours_op["responses"] != op["responses"] or ours_op.get("requestBody") != op.get("requestBody"):
            assert listed(op["operationId"]), f"{key} differs from Flamenco's without being listed"
    # Flamenco's schemas are the wire contract: unchanged unless the difference is listed.
    for name, schema in flamenco["components"]["schemas"].items():
        assert ours["components"]["schemas"][name] == schema or listed(name), f"{name} differs, not listed"
    assert ours["components"]["securitySchemes"] == flamenco["components"]["securitySchemes"]


def test_listed_differences_are_real(flamenco: dict[str, Any], spec: dict[str, Any]) -> None:
    differences = spec["info"]["description"].split("Deliberate differences from Flamenco")[1]
    flamenco_ops = {op["operationId"]: op for op in operations(flamenco).values()}
    our_ops = {op["operationId"]: op for op in operations(spec).values()}
    for name in re.findall(r"`([A-Za-z]+)`", differences):
        if name in flamenco["components"]["schemas"]:
            assert spec["components"]["schemas"][name] != flamenco["components"]["schemas"][name], name
        elif name in flamenco_ops:
            assert our_ops[name] != flamenco_ops[name], name


def test_only_tablao_paths_are_added(flamenco: dict[str, Any], spec: dict[str, Any]) -> None:
    added = set(spec["paths"]) - set(flamenco["paths"])
    assert all(path.startswith("/api/v3/tablao/") for path in added), added
    assert added >= {
        "/api/v3/tablao/events",
        "/api/v3/tablao/variables",
        "/api/v3/tablao/storage-check",
        "/api/v3/tablao/jobs",
    }


def test_every_ref_resolves(spec: dict[str, Any]) -> None:
    for ref in refs(spec):
        assert ref.startswith("#/"), ref
        node: Any = spec
        for key in ref[2:].split("/"):
            assert key in node, f"dangling $ref {ref}"
            node = node[key]


def test_operation_ids_are_unique(spec: dict[str, Any]) -> None:
    ids = [op["operationId"] for op in operations(spec).values()]
    assert len(ids) == len(set(ids))


def test_long_poll_header_documented(spec: dict[str, Any]) -> None:
    for path, method in [("/api/v3/worker/task", "post"), ("/api/v3/worker/task/{task_id}/may-i-run", "get")]:
        params = spec["paths"][path][method]["parameters"]
        assert {"$ref": "#/components/parameters/TablaoWait"} in params
    wait = spec["components"]["parameters"]["TablaoWait"]
    assert (wait["name"], wait["in"], wait["required"]) == ("X-Tablao-Wait", "header", False)


def test_tablao_additions_shapes(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["TablaoEvent"]["required"] == ["type", "data"]
    assert set(schemas["TablaoStorageCheckResult"]["properties"]) >= {
        "path", "is_usable", "cause", "free_bytes", "total_bytes", "can_symlink", "can_hardlink", "approach",
    }
    assert schemas["TablaoJobsPage"]["required"] == ["jobs", "total"]
    jobs = spec["paths"]["/api/v3/tablao/jobs"]["get"]
    assert [p["name"] for p in jobs["parameters"]] == ["limit", "offset", "status"]
    variables = spec["paths"]["/api/v3/tablao/variables"]
    assert {"get", "put"} <= set(variables)
    assert spec["paths"]["/api/v3/tablao/events"]["get"]["x-tablao-websocket"] is True
    for (path, _), op in operations(spec).items():
        if path.startswith("/api/v3/tablao/"):
            assert op["tags"] == ["tablao"]


async def test_yaml_is_served_as_written(client: Any, spec: dict[str, Any]) -> None:
    response = await client.get("/api/v3/openapi.yaml")
    assert response.status == 200
    text = await response.text()
    assert text.startswith("openapi: 3.0.0")
    assert yaml.load(text, Loader=_LOADER) == spec


# The explorer ------------------------------------------------------------------------

_ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".html": "text/html"}


async def test_explorer_is_swagger_ui_served_offline(client: Any) -> None:
    response = await client.get(EXPLORER_PATH)
    assert response.status == 200
    assert response.content_type == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp
    html = await response.text()
    assert '<div id="swagger-ui">' in html
    assets = re.findall(r'(?:src|href)="([^"#?]+)"', html)
    assert {"./swagger-ui-bundle.js", "./swagger-ui-standalone-preset.js", "./swagger-ui.css",
            "./swagger-initializer.js"} <= set(assets)
    for asset in assets:
        assert not re.match(r"^(?:[a-z]+:)?//", asset), f"{asset} is loaded from another host"
        asset_response = await client.get(EXPLORER_PATH + asset.removeprefix("./"))
        assert asset_response.status == 200, asset
        assert asset_response.content_type == _ASSET_TYPES[asset[asset.rfind("."):]], asset
        assert await asset_response.read() == (swagger_ui_files() / asset).read_bytes() or asset.endswith(
            INITIALIZER), asset


async def test_explorer_opens_the_served_document_without_the_online_validator(client: Any) -> None:
    response = await client.get(EXPLORER_PATH + INITIALIZER)
    assert response.status == 200 and response.content_type == "text/javascript"
    script = await response.text()
    assert 'url: "../openapi3.json"' in script  # relative to /api/v3/swagger-ui/: the served document
    assert "validatorUrl: null" in script  # Swagger UI would otherwise send the document to swagger.io
    assert not re.search(r"https?://", script)
    spec_response = await client.get("/api/v3/swagger-ui/../openapi3.json")
    assert spec_response.status == 200 and spec_response.content_type == "application/json"


@pytest.mark.parametrize("alias", ["/api/v3/explorer/", "/api/v3/explorer", "/api/v3/swagger-ui"])
async def test_explorer_aliases_redirect(client: Any, alias: str) -> None:
    response = await client.get(alias, allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == EXPLORER_PATH


@pytest.mark.parametrize("name", ["..%2F..%2Fopenapi.py", "missing.js", ".hidden.js", "openapi.py",
                                  "__init__.py", "swagger-ui.js.map"])
async def test_explorer_serves_only_its_own_assets(client: Any, name: str) -> None:
    response = await client.get(EXPLORER_PATH + name)
    assert response.status == 404


def test_no_hand_written_explorer_is_left() -> None:
    assert not (REPO / "app" / "manager" / "web" / "static").exists()


def test_document_is_valid_openapi_3(spec: dict[str, Any]) -> None:
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    try:
        validate(spec)
    except OpenAPIValidationError as exc:
        pytest.fail(f"the served document is not valid OpenAPI 3: {exc.message} at {list(exc.path)}")


def test_a_shaman_requirement_is_a_file_spec_whose_path_may_be_left_out(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    requirement, file_spec = schemas["TablaoShamanRequirement"], schemas["ShamanFileSpec"]
    assert requirement["properties"] == file_spec["properties"]  # one set of limits, written twice
    assert set(file_spec["required"]) - set(requirement["required"]) == {"path"}
