"""The query parameters every verb shares, parsed once and refused with a 400 that names them.

kube-apiserver decodes its ``ListOptions``/``CreateOptions``/... from the query string
and answers a value it cannot decode with 400 BadRequest; so does this module, for
``resourceVersion``, ``resourceVersionMatch``, ``limit``, ``continue``,
``timeoutSeconds`` and ``dryRun``. The combinations Kubernetes forbids (a continue
token with a resourceVersion, ``resourceVersionMatch`` without a resourceVersion, ...)
are refused here too, in Kubernetes' words, so a handler only ever sees options that
make sense together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.datastructures import QueryParams

from kajitori.api.meta import StatusCause
from master.apiserver import errors

VersionMatch = Literal["", "Exact", "NotOlderThan"]
_MATCHES: tuple[VersionMatch, ...] = ("Exact", "NotOlderThan")


def bad_parameter(name: str, value: str, why: str) -> errors.ApiError:
    """400 BadRequest whose message and single cause name the parameter."""
    return errors.ApiError(
        400,
        "BadRequest",
        f"{name}: Invalid value: {value!r}: {why}",
        causes=[StatusCause(reason="FieldValueInvalid", field=name, message=f"Invalid value: {value!r}: {why}")],
    )


def dry_run(params: QueryParams) -> bool:
    """``dryRun``: absent means a real write; ``All`` (the only stage Kubernetes has) a dry one."""
    values = [v for v in params.getlist("dryRun") if v != ""]
    for value in values:
        if value != "All":
            raise errors.ApiError(
                400,
                "BadRequest",
                f'dryRun: Unsupported value: "{value}": supported values: "All"',
                causes=[StatusCause(reason="FieldValueNotSupported", field="dryRun", message=f'Unsupported value: "{value}"')],
            )
    return bool(values)


def dry_run_in_options(options: object) -> bool:
    """``dryRun`` of a DeleteOptions body (kubectl delete sends it there): a list of stages."""
    if not isinstance(options, dict) or options.get("dryRun") in (None, []):
        return False
    values = options["dryRun"]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise errors.bad_request("dryRun: must be a list of strings")
    return dry_run(QueryParams([("dryRun", v) for v in values]))


def resource_version(params: QueryParams) -> str:
    """``resourceVersion`` as sent ("" when absent), refused unless it is a revision number."""
    value = params.get("resourceVersion") or ""
    if value and not (value.isascii() and value.isdigit()):
        raise bad_parameter("resourceVersion", value, "must be a non-negative integer resource version")
    return value


def non_negative_int(params: QueryParams, name: str) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    assert value is not None
    try:
        number = int(value)
    except ValueError:
        raise bad_parameter(name, value, "must be an integer") from None
    if number < 0:
        raise bad_parameter(name, value, "must be greater than or equal to 0")
    return number


@dataclass(frozen=True)
class ListOptions:
    """A list's (or watch's) options, checked against each other as Kubernetes does."""

    resource_version: str = ""
    match: VersionMatch = ""
    limit: int = 0  # 0: no limit, the whole list
    continue_token: str = ""

    @classmethod
    def from_query(cls, params: QueryParams, *, watch: bool = False) -> ListOptions:
        rv = resource_version(params)
        match = params.get("resourceVersionMatch") or ""
        limit = non_negative_int(params, "limit") or 0
        token = params.get("continue") or ""
        if match and match not in _MATCHES:
            supported = ", ".join(f'"{m}"' for m in _MATCHES)
            raise errors.ApiError(
                400,
                "BadRequest",
                f'resourceVersionMatch: Unsupported value: "{match}": supported values: {supported}',
                causes=[StatusCause(reason="FieldValueNotSupported", field="resourceVersionMatch", message=f'Unsupported value: "{match}"')],
            )
        if match and watch:
            raise _forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden for watch")
        if match and not rv:
            raise _forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided")
        if match and token:
            raise _forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided")
        if match == "Exact" and rv == "0":
            raise _forbidden("resourceVersionMatch", 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"')
        if token and rv and rv != "0":
            raise _forbidden("resourceVersion", "specifying resource version is not allowed when using continue")
        return cls(rv, match, limit, token)  # type: ignore[arg-type]  # checked against _MATCHES above


def _forbidden(field: str, message: str) -> errors.ApiError:
    return errors.ApiError(
        400, "BadRequest", f"{field}: Forbidden: {message}", causes=[StatusCause(reason="FieldValueForbidden", field=field, message=f"Forbidden: {message}")]
    )

