"""Meta operations against a real Manager over HTTP."""

from __future__ import annotations

import json
import pathlib

import pytest

import app


async def test_version_reports_flamenco_compatible_shortversion(manager):
    status, body = await manager.request("GET", "/api/v3/version")
    assert status == 200
    assert body["shortversion"] == app.FLAMENCO_COMPAT_VERSION
    assert body["name"] == manager.cfg.manager_name


async def test_configuration(manager):
    status, body = await manager.request("GET", "/api/v3/configuration")
    assert status == 200
    assert body["storageLocation"] == manager.cfg.shared_storage_path
    assert body["isFirstRun"] is False
    assert isinstance(body["shamanEnabled"], bool)


async def test_variables_for_workers_on_linux(manager):
    status, body = await manager.request("GET", "/api/v3/configuration/variables/workers/linux")
    assert status == 200
    assert body["blender"]["value"] == "blender"  # Flamenco's shape: the mapping itself
    assert body["blenderArgs"]["value"] == "-b -y"


async def test_variables_bad_audience_is_400(manager):
    status, body = await manager.request("GET", "/api/v3/configuration/variables/robots/linux")
    assert status == 400
    assert "audience" in body["message"]


async def test_shared_storage_location(manager):
    status, body = await manager.request("GET", "/api/v3/configuration/shared-storage/users/linux")
    assert status == 200
    assert body["location"] == manager.cfg.shared_storage_path
    assert body["audience"] == "users"


async def test_shared_storage_check(manager, tmp_path):
    status, body = await manager.request("POST", "/api/v3/configuration/check/shared-storage",
                                         json={"path": str(tmp_path / "shared")}, admin=True)
    assert status == 200 and body["is_usable"] is True
    status, body = await manager.request("POST", "/api/v3/configuration/check/shared-storage",
                                         json={"path": str(tmp_path / "nope")}, admin=True)
    assert status == 200 and body["is_usable"] is False and body["cause"]


async def test_shared_storage_check_body_needs_its_path(manager):
    # No body is the empty path, as in Flamenco; a body is a `PathCheckInput`, whose `path` is required.
    status, body = await manager.request("POST", "/api/v3/configuration/check/shared-storage", admin=True)
    assert status == 200 and body["is_usable"] is False
    for sent in ({}, {"path": None}, {"folder": "/tmp"}):
        status, body = await manager.request("POST", "/api/v3/configuration/check/shared-storage",
                                             json=sent, admin=True)
        assert status == 400 and "`path` is required" in body["message"], (sent, body)


async def test_storage_check_refuses_the_managers_own_folders(manager, tmp_path):
    program = pathlib.Path(app.__file__).resolve().parent.parent
    for own in (tmp_path, manager.cfg.storage_dir, program):  # config folder, its storage, the program
        own.mkdir(exist_ok=True)
        for path in ("/api/v3/configuration/check/shared-storage", "/api/v3/tablao/storage-check"):
            status, body = await manager.request("POST", path, json={"path": str(own)}, admin=True)
            assert status == 200 and body["is_usable"] is False, (own, body)
            assert "Manager's own folder" in body["cause"]


async def test_variables_edit_needs_the_variables_key_and_keeps_old(manager):
    # A bare mapping used to be taken as the variables; `{}` then erased them all.
    for sent in ({}, {"blender": {"values": [{"platform": "all", "value": "/bin/sh"}]}}, {"variables": None}):
        status, body = await manager.request("PUT", "/api/v3/tablao/variables", json=sent, admin=True)
        assert status == 400 and "`variables` is required" in body["message"], (sent, body)
    # Typed as the document says (the YAML file may say `value: 8`; JSON says "8"), each refusal
    # naming the field; the names and platforms are checked by the Manager's variables, in their words.
    at = "`variables.blender.values[0]"
    for value, words in (
        ({"platform": "all", "value": 8}, f"{at}.value` must be a string, not a number"),
        ({"platform": "all", "value": "x", "audience": None}, f"{at}.audience` must be one of all, workers, users"),
        ({"platform": "all", "value": "x", "audience": "everyone"}, f"{at}.audience` must be one of"),
        ({"value": "x"}, f"{at}.platform` or {at}.platforms` is required"),
        ({"platforms": [], "value": "x"}, f"{at}.platforms` must name at least one platform"),
        ({"platform": "all", "platforms": [], "value": "x"}, f"{at}.platforms` must name at least one platform"),
        ({"platforms": "linux", "value": "x"}, f"{at}.platforms` must be a list, not a string"),
        ({"platforms": ["linux", 3], "value": "x"}, f"{at}.platforms[1]` must be a string, not a number"),
        ({"platform": "all", "value": "/bin/\x00sh"}, f"{at}.value` must not contain NUL"),
        ({"platform": "all", "value": "x" * 70_000}, f"{at}.value` must be at most 65,536 characters"),
        ({"platform": "x" * 300, "value": "x"}, f"{at}.platform` must be at most 255 characters"),
        ({"platforms": ["linux", " "], "value": "x"}, 'variable "blender", value #1: platform names must be'),
        ({"platform": "Manager", "value": "x"}, '"manager" is not a platform here'),
    ):
        status, body = await manager.request("PUT", "/api/v3/tablao/variables", admin=True,
                                             json={"variables": {"blender": {"values": [value]}}})
        assert status == 400 and words in body["message"], (value, body)
    for variables, words in (({"blender": []}, "`variables.blender` must be a JSON object, not a list"),
                             ({"bad name": {"values": [{"platform": "all", "value": "x"}]}}, "bad name"),
                             ({"blender": {"values": []}}, "needs a non-empty list of values"),
                             ({"blender": {"values": [{"platform": "all", "value": "x"}], "is_twoway": "yes"}},
                              "`variables.blender.is_twoway` must be true or false, not a string")):
        status, body = await manager.request("PUT", "/api/v3/tablao/variables", admin=True,
                                             json={"variables": variables})
        assert status == 400 and words in body["message"], (variables, body)
    status, body = await manager.request("GET", "/api/v3/configuration/variables/workers/linux")
    assert body["blender"]["value"] == "blender"


async def test_job_types_listed_with_etags(manager):
    status, body = await manager.request("GET", "/api/v3/jobs/types")
    assert status == 200
    names = [t["name"] for t in body["job_types"]]
    assert "simple-blender-render" in names and "echo-sleep-test" in names
    assert all(len(t["etag"]) == 40 for t in body["job_types"])


async def test_single_job_type_and_unknown(manager):
    status, body = await manager.request("GET", "/api/v3/jobs/type/echo-sleep-test")
    assert status == 200 and body["name"] == "echo-sleep-test" and body["etag"]
    status, body = await manager.request("GET", "/api/v3/jobs/type/no-such-type")
    assert status == 404 and "no-such-type" in body["message"]


async def test_farm_status_without_workers_is_inoperative(manager):
    status, body = await manager.request("GET", "/api/v3/status")
    assert status == 200 and body["status"] == "inoperative"


async def test_openapi_and_explorer_served(manager):
    status, body = await manager.request("GET", "/api/v3/openapi3.json")
    assert status == 200 and "/api/v3/jobs" in body["paths"]
    status, body = await manager.request("GET", "/api/v3/swagger-ui/")
    assert status == 200 and "<html" in body.lower()


async def test_variables_edit_roundtrip_saved_to_config(manager):
    new = {"blender": {"values": [{"platform": "linux", "value": "/opt/blender/blender"}]},
           "blenderArgs": {"values": [{"platform": "all", "value": "-b -y"}]}}
    status, body = await manager.request("PUT", "/api/v3/tablao/variables", json={"variables": new}, admin=True)
    assert status == 200, body
    status, body = await manager.request("GET", "/api/v3/configuration/variables/workers/linux")
    assert body["blender"]["value"] == "/opt/blender/blender"
    assert "/opt/blender/blender" in manager.cfg.path.read_text()


async def test_what_a_get_of_the_variables_answers_a_put_takes_and_the_document_allows(manager):
    """A value for several platforms is `platforms`, as the YAML file may say: the GET answers it that
    way, a PUT of that answer is taken as it is, and both fit the document."""
    from openapi_schema_validator import OAS30WriteValidator

    from app.manager.web.openapi import load_spec
    from tests.manager.contract import ResponseChecker

    new = {"render": {"is_twoway": True, "values": [{"platforms": ["linux", "darwin"], "value": "/mnt/render"},
                                                    {"platform": "windows", "value": "R:\\render"}]},
           "blenderArgs": {"values": [{"platform": "all", "audience": "workers", "value": "-b -y"}]}}
    status, body = await manager.request("PUT", "/api/v3/tablao/variables", json={"variables": new}, admin=True)
    assert status == 200, body
    status, answer = await manager.request("GET", "/api/v3/tablao/variables")
    assert answer["variables"]["render"]["values"][0] == {"platforms": ["linux", "darwin"], "value": "/mnt/render"}
    spec = load_spec()
    raw = json.dumps(answer).encode()
    assert ResponseChecker(spec).check("GET", "/api/v3/tablao/variables", 200, "application/json", raw) == []
    schema = {**spec["components"]["schemas"]["TablaoVariables"], "components": spec["components"]}
    OAS30WriteValidator(schema).validate(answer)  # the document takes it as a PUT's body
    with pytest.raises(Exception, match="is not valid"):  # and refuses a value without a platform
        OAS30WriteValidator(schema).validate({"variables": {"v": {"values": [{"value": "x"}]}}})
    status, again = await manager.request("PUT", "/api/v3/tablao/variables", json=answer, admin=True)
    assert status == 200 and again == answer, again
    status, resolved = await manager.request("GET", "/api/v3/configuration/variables/workers/darwin")
    assert resolved["render"]["value"] == "/mnt/render" and resolved["blenderArgs"]["value"] == "-b -y"


async def test_variables_edit_rejects_bad_definition_and_keeps_old(manager):
    status, body = await manager.request("PUT", "/api/v3/tablao/variables",
                                         json={"variables": {"blender": {"values": [{"value": "x"}]}}}, admin=True)
    assert status == 400 and "blender" in body["message"]
    status, body = await manager.request("GET", "/api/v3/configuration/variables/workers/linux")
    assert body["blender"]["value"] == "blender"


async def test_optional_access_token_guards_api_but_not_worker_endpoints(manager_factory):
    manager = await manager_factory(access_token="s3cret")
    status, body = await manager.request("GET", "/api/v3/jobs")
    assert status == 403 and "access token" in body["message"]
    status, _ = await manager.request("GET", "/api/v3/jobs", headers={"Authorization": "Bearer s3cret"})
    assert status == 200
    status, _ = await manager.request("GET", "/api/v3/version")
    assert status == 200
    status, body = await manager.request("POST", "/api/v3/worker/task")
    assert status == 403 and "worker credentials" in body["message"]


async def test_configuration_file_read_and_replace(manager):
    status, cfg = await manager.request("GET", "/api/v3/configuration/file", admin=True)
    assert status == 200 and cfg["_meta"] == {"version": 3}
    cfg["task_timeout"] = "3m0s"
    cfg["manager_name"] = "Night shift"
    status, _ = await manager.request("PUT", "/api/v3/configuration/file", json=cfg, admin=True)
    assert status == 204
    assert "Night shift" in manager.cfg.path.read_text()
    _, version = await manager.request("GET", "/api/v3/version")
    assert version["name"] == "Night shift"
    cfg["worker_timeout"] = "whenever"
    status, body = await manager.request("PUT", "/api/v3/configuration/file", json=cfg, admin=True)
    assert status == 400 and "worker_timeout" in body["message"]
    assert "whenever" not in manager.cfg.path.read_text()


async def test_blender_check_runs_the_real_executable(manager, tmp_path):
    import shutil

    status, body = await manager.request("POST", "/api/v3/configuration/check/blender", json={"path": "no-blender-here"}, admin=True)
    assert status == 200 and body["is_usable"] is False and "not found" in body["cause"]
    fake = tmp_path / "not-blender.sh"
    fake.write_text("#!/bin/sh\necho hello\n")
    fake.chmod(0o755)
    status, body = await manager.request("POST", "/api/v3/configuration/check/blender", json={"path": str(fake)}, admin=True)
    assert status == 200 and body["is_usable"] is False and "does not look like Blender" in body["cause"]
    if shutil.which("blender"):
        status, body = await manager.request("POST", "/api/v3/configuration/check/blender", json={"path": "blender"}, admin=True)
        assert status == 200 and body["is_usable"] is True and body["cause"].startswith("Blender ")
        status, found = await manager.request("GET", "/api/v3/configuration/check/blender", admin=True)
        assert status == 200 and any(c["is_usable"] for c in found)


async def test_wrong_method_and_unknown_path_get_json_errors(manager):
    async with manager.session.delete("/api/v3/version") as resp:
        body = await resp.json()
        assert resp.status == 405 and resp.headers["Allow"] == "GET,HEAD"
        assert body == {"code": 405, "message": "DELETE is not allowed on /api/v3/version; allowed: GET, HEAD"}
    status, body = await manager.request("GET", "/api/v3/no-such-thing")
    assert status == 404 and "/api/v3/no-such-thing" in body["message"]
    status, _ = await manager.request("GET", "/api/v3/version")  # and the Manager keeps serving
    assert status == 200


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("OPTIONS", "/api/v3/jobs/check", "POST"),  # not also the GET and DELETE of /api/v3/jobs/{job_id}
    ("PUT", "/api/v3/jobs/last-rendered", "GET,HEAD"),
    ("PATCH", "/api/v3/jobs/mass-delete", "DELETE"),
    ("OPTIONS", "/api/v3/jobs/types", "GET,HEAD"),
    ("PUT", "/api/v3/jobs/0c6b5e22-4b0c-4c2e-9d0e-3c1d2a9e0f11", "DELETE,GET,HEAD"),
])
async def test_a_405_allows_only_the_methods_of_the_path_it_names(manager, method, path, allowed):
    async with manager.session.request(method, path, headers=manager.admin_headers) as resp:
        body = await resp.json()
        assert resp.status == 405 and resp.headers["Allow"] == allowed, (resp.headers, body)
        assert body["message"] == f"{method} is not allowed on {path}; allowed: {allowed.replace(',', ', ')}"


async def test_a_method_with_no_route_is_405_whatever_body_it_carries(manager):
    # The body's type is only checked on routes that read it: a 415 here would hide the 405.
    path = "/api/v3/worker/task/0c6b5e22-4b0c-4c2e-9d0e-3c1d2a9e0f11/output-produced"
    async with manager.session.put(path, data=b"\xff\xd8\xff", headers={"Content-Type": "image/jpeg"}) as resp:
        assert resp.status == 405 and resp.headers["Allow"] == "POST", await resp.text()


async def test_a_plain_get_on_the_event_stream_says_it_is_a_websocket(manager):
    status, body = await manager.request("GET", "/api/v3/tablao/events")
    assert status == 400
    assert "websocket" in body["message"] and "Upgrade: websocket" in body["message"], body
