"""Meta operations: version, configuration, variables, shared storage, storage check, farm status."""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

import app
from app.api.errors import BadRequest
from app.api.meta import (
    FarmStatusReport,
    FlamencoVersion,
    ManagerConfiguration,
    PathCheckInput,
    PathCheckResult,
    SetupAssistantConfig,
    SharedStorageLocation,
    SubmitPolicy,
    TablaoStorageCheckInput,
    TablaoVariables,
)
from app.manager.checks.storage_check import check_storage
from app.manager.jobs.blend_scripts import blend_scripts_reason
from app.manager.web.access import carries_credential
from app.manager.web.keys import ADMIN_TOKEN, FARM_STATUS, JOB_TYPES, OUTPUT_ROOTS, SETTINGS
from app.manager.web.request_body import read_body, read_json_object

AUDIENCES = ("users", "workers")


class JobTypeCatalog(Protocol):
    """What the job-type handlers need (the `JobCompiler` fits)."""

    async def list_job_types(self) -> list[dict[str, Any]]: ...

    async def get_job_type(self, name: str) -> dict[str, Any]: ...


async def get_version(request: web.Request) -> web.Response:
    cfg = request.app[SETTINGS].config
    return web.json_response(FlamencoVersion(
        version=f"{app.FLAMENCO_COMPAT_VERSION} (Tablao {app.__version__})",
        shortversion=app.FLAMENCO_COMPAT_VERSION, name=cfg.manager_name, git=f"tablao-{app.__version__}",
    ).to_json())


async def get_configuration(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    cfg = settings.config
    return web.json_response(ManagerConfiguration(
        storage_location=cfg.shared_storage_path, shaman_enabled=settings.shaman_available,
        is_first_run=cfg.is_first_run).to_json())


async def get_submit_policy(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    cfg = settings.config
    platform = request.query.get("platform") or settings.variables.manager_platform
    if len(platform) > 32:
        raise BadRequest("`platform` must be a platform name such as linux, windows or darwin")
    credentialed = carries_credential(request, cfg.access_token, request.app[ADMIN_TOKEN], cfg.submit_token)
    outputs = request.app[OUTPUT_ROOTS]
    return web.json_response(SubmitPolicy(
        blend_scripts_run=cfg.allow_blend_scripts and credentialed,
        blend_scripts_reason=blend_scripts_reason(cfg.allow_blend_scripts, credentialed),
        output_roots=outputs.roots(platform), output_denied=outputs.denied(platform)).to_json())


def _audience_platform(request: web.Request) -> tuple[str, str]:
    audience, platform = request.match_info["audience"], request.match_info["platform"]
    if audience not in AUDIENCES:
        raise BadRequest(f"audience must be one of {', '.join(AUDIENCES)}, not {audience!r}")
    return audience, platform.lower()


async def get_variables(request: web.Request) -> web.Response:
    audience, platform = _audience_platform(request)
    # Flamenco's shape: the mapping itself, {name: {value, is_twoway}}.
    return web.json_response(request.app[SETTINGS].variables.resolve(audience, platform))


async def get_shared_storage(request: web.Request) -> web.Response:
    audience, platform = _audience_platform(request)
    settings = request.app[SETTINGS]
    return web.json_response(SharedStorageLocation(
        location=settings.variables.shared_storage_for(audience, platform), audience=audience,
        platform=platform, shaman_enabled=settings.shaman_available).to_json())


async def check_shared_storage(request: web.Request) -> web.Response:
    # As Flamenco: no body is the empty path, which the check reports as unusable; a body is a
    # `PathCheckInput`, whose `path` is required (Flamenco's request validator refuses `{}` too).
    body = await read_body(request, PathCheckInput) if request.body_exists else PathCheckInput("")
    report = await _run_check(body.path, request.app[SETTINGS].config)
    data = report.to_json()
    return web.json_response(PathCheckResult(data["path"], data["is_usable"], data["cause"]).to_json())


async def tablao_storage_check(request: web.Request) -> web.Response:
    body = await read_body(request, TablaoStorageCheckInput)
    report = await _run_check(body.path, request.app[SETTINGS].config, body.shaman_enabled)
    return web.json_response(report.to_json())


async def _run_check(path: str, config, shaman_enabled: bool | None = None):
    import asyncio

    shaman = config.shaman_enabled if shaman_enabled is None else shaman_enabled
    return await asyncio.to_thread(check_storage, path, shaman, protected_dirs=config.own_dirs)


async def get_farm_status(request: web.Request) -> web.Response:
    status = await request.app[FARM_STATUS].refresh()
    return web.json_response(FarmStatusReport(status).to_json())


async def get_tablao_variables(request: web.Request) -> web.Response:
    return web.json_response({"variables": request.app[SETTINGS].variables.to_yaml_dict()})


async def put_tablao_variables(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    await settings.update_variables(await read_body(request, TablaoVariables))
    return web.json_response({"variables": settings.variables.to_yaml_dict()})


async def get_job_types(request: web.Request) -> web.Response:
    types = await request.app[JOB_TYPES].list_job_types()
    return web.json_response({"job_types": types})


async def get_job_type(request: web.Request) -> web.Response:
    job_type = await request.app[JOB_TYPES].get_job_type(request.match_info["type_name"])
    return web.json_response(job_type, headers={"ETag": f'"{job_type["etag"]}"'})


async def get_configuration_file(request: web.Request) -> web.Response:
    from app.manager.settings.config import config_to_dict

    return web.json_response(config_to_dict(request.app[SETTINGS].config))


async def put_configuration_file(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    await request.app[SETTINGS].replace(body)
    return web.Response(status=204)


async def find_blender(request: web.Request) -> web.Response:
    from app.manager.checks.blender_check import find_blender as find

    return web.json_response(await find())


async def check_blender(request: web.Request) -> web.Response:
    from app.manager.checks.blender_check import check_blender as check

    body = await read_body(request, PathCheckInput)
    return web.json_response(await check(body.path))


async def save_setup_assistant(request: web.Request) -> web.Response:
    await request.app[SETTINGS].save_setup(await read_body(request, SetupAssistantConfig))
    return web.Response(status=204)
