"""Wire models of the Manager itself: version, configuration, variables, storage, Blender, status, Shaman."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from app.api.codec import RequestBody, Wire, decode_request, field_path, wire
from app.api.enums import FarmStatus
from app.api.errors import ContractError
from app.api.limits import ENTRIES_MAX, PATH_MAX, SHORT_MAX, VALUE_MAX, limits


@dataclass(slots=True)
class ErrorBody(Wire):
    """The one error shape: the HTTP status again, and what went wrong in words."""

    code: int
    message: str


@dataclass(slots=True)
class FlamencoVersion(Wire):
    version: str
    shortversion: str
    name: str
    git: str


@dataclass(slots=True)
class ManagerConfiguration(Wire):
    storage_location: str = field(metadata=wire("storageLocation"))
    shaman_enabled: bool = field(metadata=wire("shamanEnabled"))
    is_first_run: bool = field(metadata=wire("isFirstRun"))


@dataclass(slots=True)
class SubmitPolicy(Wire):
    """Tablao: what the farm allows this caller's submissions (`GET /api/v3/tablao/submit-policy`)."""

    blend_scripts_run: bool
    blend_scripts_reason: str
    output_roots: list[str]
    output_denied: list[str]


@dataclass(slots=True)
class ManagerVariable(Wire):
    """One variable resolved for an audience and platform (Flamenco's `ManagerVariable`); its name
    is its key in `ManagerVariables`."""

    is_twoway: bool
    value: str


@dataclass(slots=True)
class ManagerVariables(Wire):
    variables: dict[str, ManagerVariable]


#: Who a variable's value is for; left out: all.
VARIABLE_AUDIENCES = ("all", "workers", "users")


@dataclass(slots=True)
class TablaoVariableValue(RequestBody):
    """One value of a variable, for `platform`, for each of `platforms`, or for both (their union):
    one of the two is required. The Manager answers with `platform` where a value has one platform
    and with `platforms` where it has several (as `flamenco-manager.yaml` may say), so what a GET
    gives, a PUT takes. The platform names ("all", not blank, not "manager") are the Manager's
    variables' to check, in their words."""

    value: str = field(metadata=limits(max_len=VALUE_MAX))
    platform: str | None = field(default=None, metadata=limits(max_len=SHORT_MAX))
    platforms: list[str] | None = field(default=None,
                                        metadata=limits(max_len=SHORT_MAX, max_items=ENTRIES_MAX))
    audience: str | None = field(default=None, metadata=limits(choices=VARIABLE_AUDIENCES))

    def check_fields(self, path: str) -> None:
        if self.platforms == []:
            raise ContractError(f"`{field_path(path, 'platforms')}` must name at least one platform; "
                                "leave it out where `platform` says it")
        if self.platform is None and self.platforms is None:
            raise ContractError(f"`{field_path(path, 'platform')}` or `{field_path(path, 'platforms')}` is "
                                'required: the platform this value is for ("all" for every platform)')

    def platform_names(self) -> list[str]:
        """`platform` and `platforms` together, in order."""
        return ([self.platform] if self.platform is not None else []) + list(self.platforms or ())


@dataclass(slots=True)
class TablaoVariable(RequestBody):
    """A variable as configured: a value per platform (and audience); `is_twoway`: paths under its
    values are also replaced by `{name}` when a job is submitted."""

    values: list[TablaoVariableValue] = field(metadata=limits(max_items=ENTRIES_MAX))
    is_twoway: bool = False


@dataclass(slots=True)
class TablaoVariables(RequestBody):
    """The `variables` section of `flamenco-manager.yaml` (`GET`/`PUT /api/v3/tablao/variables`):
    the names are checked by the Manager's variables, in their words."""

    variables: dict[str, TablaoVariable]


@dataclass(slots=True)
class SharedStorageLocation(Wire):
    location: str
    audience: str
    platform: str
    shaman_enabled: bool = field(metadata=wire("shamanEnabled"))


@dataclass(slots=True)
class PathCheckInput(RequestBody):
    """A path to check: a shared-storage folder or a Blender executable, as the Manager sees it.

    Unbounded here: the check itself answers a path no file system takes (NUL, control characters,
    over-long) as unusable, saying why, as it does for any other path that does not work."""

    path: str


@dataclass(slots=True)
class TablaoStorageCheckInput(RequestBody):
    """A folder to judge as shared storage; `shaman_enabled`: as if Shaman were on (or off)."""

    path: str = field(metadata=limits(max_len=PATH_MAX))
    shaman_enabled: bool | None = None


@dataclass(slots=True)
class PathCheckResult(Wire):
    path: str
    is_usable: bool
    cause: str


@dataclass(slots=True)
class StorageCheckResult(Wire):
    """PathCheckResult plus what the Manager found out about the file system there (Tablao)."""

    path: str
    is_usable: bool
    cause: str
    #: None where the path could not be inspected (the Manager sends null).
    free_bytes: int | None = None
    total_bytes: int | None = None
    can_symlink: bool = False
    can_hardlink: bool = False
    #: "shaman", "shared-or-copy", or "" when the path is not usable.
    approach: str = ""
    link_mode: str | None = None
    #: The approach in a sentence for a person.
    approach_text: str | None = None
    #: Things that work but that the user should know about.
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class BlenderPathCheckResult(Wire):
    input: str
    path: str
    source: str
    is_usable: bool
    cause: str


@dataclass(slots=True)
class SetupAssistantConfig(RequestBody):
    """The setup assistant's choices (`POST /api/v3/configuration/setup-assistant`).

    `blender_executable` is what a Blender check or search answered; the Manager reads its `source`
    and its `path` (or `input`) and checks that Blender again, so a partial one such as
    `{"source": "default"}` is enough. The storage folder is judged by the same check as
    `checkSharedStoragePath`, and the token by the Manager's token rules, each with its own words.
    Tablao's additions, each kept as configured when left out: `shamanEnabled`, `allowBlendScripts`
    and `submitToken`."""

    storage_location: str = field(metadata=wire("storageLocation"))
    blender_executable: dict[str, Any] = field(metadata=wire("blenderExecutable"))
    shaman_enabled: bool | None = field(default=None, metadata=wire("shamanEnabled"))
    allow_blend_scripts: bool | None = field(default=None, metadata=wire("allowBlendScripts"))
    submit_token: str | None = field(default=None, metadata=wire("submitToken"))


@dataclass(slots=True)
class FarmStatusReport(Wire):
    status: FarmStatus


# --- Shaman ----------------------------------------------------------------------------------


#: A stored file's size: Flamenco's sizes are 64-bit integers.
SHAMAN_SIZE_MAX = 2**63 - 1
SHAMAN_SIZE = limits(least=0, most=SHAMAN_SIZE_MAX)


@dataclass(slots=True)
class ShamanRequirement(RequestBody):
    """A file a requirements check asks about (the document's `TablaoShamanRequirement`): its SHA-256
    digest and size; `path`, its place in a checkout, may be left out. The Shaman checks the digest's
    and the path's form itself, in its words."""

    sha: str
    size: int = field(metadata=SHAMAN_SIZE)
    path: str | None = None


@dataclass(slots=True)
class ShamanFileSpec(RequestBody):
    """A file of a checkout: its SHA-256 digest, its size and its place in the checkout."""

    sha: str
    size: int = field(metadata=SHAMAN_SIZE)
    path: str


@dataclass(slots=True)
class ShamanRequirementsRequest(RequestBody):
    """Which of these files does the Shaman lack? (`POST /api/v3/shaman/checkout/requirements`)"""

    files: list[ShamanRequirement]

    @classmethod
    def from_json(cls, data: Any) -> ShamanRequirementsRequest:
        """The codec's strict decoding, with a short way for the files that fit (see `_shaman_files`)."""
        return cls(_shaman_files(cls, data, ShamanRequirement, False))


@dataclass(slots=True)
class ShamanCheckout(RequestBody):
    """Make a checkout of these files at `checkout_path` (`POST /api/v3/shaman/checkout/create`);
    the Shaman checks the path's form and length itself, in its words."""

    files: list[ShamanFileSpec]
    checkout_path: str = field(metadata=wire("checkoutPath"))

    @classmethod
    def from_json(cls, data: Any) -> ShamanCheckout:
        """The codec's strict decoding, with a short way for the files that fit (see `_shaman_files`)."""
        files = _shaman_files(cls, data, ShamanFileSpec, True)
        checkout_path = data.get("checkoutPath")
        if type(checkout_path) is not str:
            return decode_request(cls, data)  # raises, in the codec's words
        return cls(files, checkout_path)


#: A file of a Shaman request.
F = TypeVar("F", ShamanRequirement, ShamanFileSpec)


def _shaman_files(model: type, data: Any, item: type[F], path_required: bool) -> list[F]:
    """The `files` of a Shaman request: a list of tens of thousands of files for a big scene, so a
    file that plainly fits (a string digest, a size in range, a string path or, where allowed, none)
    is made directly; any other goes through the codec, which gives its model or its message. The
    same bodies give the same result as the codec (tests/api/test_fast_decoders.py)."""
    files = data.get("files") if type(data) is dict else None
    if type(files) is not list:
        return decode_request(model, data).files  # raises, in the codec's words
    made: list[F] = []
    path: Any  # a string, or None where the model allows it (checked below)
    for i, file in enumerate(files):
        if type(file) is dict:
            sha, size, path = file.get("sha"), file.get("size"), file.get("path")
            if (type(sha) is str and type(size) is int and 0 <= size <= SHAMAN_SIZE_MAX
                    and (type(path) is str or (not path_required and "path" not in file))):
                made.append(item(sha, size, path))
                continue
        made.append(decode_request(item, file, f"files[{i}]"))
    return made


@dataclass(slots=True)
class ShamanFileSpecWithStatus(Wire):
    """A file the Shaman lacks, in the answer to a requirements check: `unknown` or `uploading`.
    `path` is the one asked with ("" for a file asked without one)."""

    sha: str
    size: int
    path: str
    status: str


@dataclass(slots=True)
class ShamanFileStatusReport(Wire):
    status: str


@dataclass(slots=True)
class ShamanCheckoutResult(Wire):
    checkout_path: str = field(metadata=wire("checkoutPath"))
    #: Tablao: how the checkout was built (the X-Tablao-Link-Mode header); "" from a Flamenco Manager.
    link_mode: str = field(default="", metadata=wire(None))
