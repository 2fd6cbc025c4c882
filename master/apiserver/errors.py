"""API errors as Kubernetes ``Status`` objects, and the mapping from validation errors.

Every failure a client can cause leaves the server as one of these, with a reason
(NotFound, AlreadyExists, Conflict, Invalid, BadRequest, ...) and, for invalid
objects, ``details.causes[]`` whose ``field`` is the JSON path of the bad field
(``spec.containers[0].name``) — never a 500 or a traceback. Fields Kubernetes does not
have, refused under ``fieldValidation=Strict``, come back as kube-apiserver words it:
400 BadRequest, ``Deployment in version "v1" cannot be handled as a Deployment: strict
decoding error: unknown field "spec.replica"``, with a cause per field.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from kajitori.api.meta import Status, StatusCause, StatusDetails
from kajitori.api.registry import Resource


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        name: str | None = None,
        resource: Resource | None = None,
        causes: list[StatusCause] | None = None,
        kind: str | None = None,
        group: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.group = group
        self.code = code
        self.reason = reason
        self.message = message
        # The name often comes from the body being refused: it may be anything but a string.
        self.name = name if isinstance(name, str) else None
        self.resource = resource
        self.causes = causes

    def status(self) -> Status:
        details = None
        if self.name or self.resource or self.causes:
            details = StatusDetails(
                name=self.name,
                group=self.group if self.group is not None else (self.resource.group if self.resource else None),
                kind=self.kind or (self.resource.plural if self.resource else None),
                causes=self.causes,
            )
        return Status(status="Failure", message=self.message, reason=self.reason, details=details, code=self.code)

    def body(self) -> dict[str, Any]:
        return self.status().to_dict()


def _what(resource: Resource) -> str:
    return f"{resource.plural}.{resource.group}" if resource.group else resource.plural


def not_found(resource: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{_what(resource)} "{name}" not found', name=name, resource=resource)


def already_exists(resource: Resource, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{_what(resource)} "{name}" already exists', name=name, resource=resource)


def conflict(resource: Resource, name: str, why: str | None = None) -> ApiError:
    message = why or "the object has been modified; please apply your changes to the latest version and try again"
    return ApiError(
        409, "Conflict", f'Operation cannot be fulfilled on {_what(resource)} "{name}": {message}', name=name, resource=resource
    )


def for_http_status(code: int) -> ApiError:
    """A routing answer (no such path, no such method) as kube-apiserver gives it."""
    if code == 404:
        return ApiError(404, "NotFound", "the server could not find the requested resource")
    if code == 405:
        return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    return ApiError(code, "InternalError" if code >= 500 else "BadRequest", f"the request failed with HTTP status {code}")


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def too_large_resource_version(wanted: int, current: int) -> ApiError:
    """504: this server has not reached the revision a read asked for (kube-apiserver's words and cause)."""
    return ApiError(
        504,
        "Timeout",
        f"Timeout: Too large resource version: {wanted}, current: {current}",
        causes=[StatusCause(reason="ResourceVersionTooLarge", message="Too large resource version")],
    )


def invalid(resource: Resource, name: str | None, causes: list[StatusCause]) -> ApiError:
    if not isinstance(name, str):
        name = None
    summary = "; ".join(f"{c.field}: {c.message}" if c.field else (c.message or "") for c in causes)
    return ApiError(
        422,
        "Invalid",
        f'{resource.kind} "{name or ""}" is invalid: {summary}',
        name=name,
        resource=resource,
        causes=causes,
        # Kubernetes names the qualified Kind here (kubectl prints `The Deployment.apps "x" is invalid`).
        kind=f"{resource.kind}.{resource.group}" if resource.group else resource.kind,
    )


def field_invalid(resource: Resource, name: str | None, field: str, message: str) -> ApiError:
    return invalid(resource, name, [StatusCause(reason="FieldValueInvalid", field=field, message=message)])


def unknown_field(path: str) -> str:
    """kube-apiserver's text for one unknown field, in errors and in Warning headers alike."""
    return f'unknown field "{path}"'


def strict_decoding(resource: Resource, name: str | None, unknown: list[str]) -> ApiError:
    """fieldValidation=Strict met fields Kubernetes does not have: 400, as kube-apiserver's strict decoder."""
    listed = ", ".join(unknown_field(path) for path in unknown)
    return ApiError(
        400,
        "BadRequest",
        f'{resource.kind} in version "{resource.version}" cannot be handled as a {resource.kind}: '
        f"strict decoding error: {listed}",
        name=name,
        resource=resource,
        # kube-apiserver sends no causes here; ours name each field as server-side apply's
        # strict check does (FieldValueInvalid, "unknown field"), for clients that read causes.
        causes=[StatusCause(reason="FieldValueInvalid", field=path, message="unknown field") for path in unknown],
    )


_RELATIVE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])*(\.[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])*)*$")


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("function-after", "function-before") or "[" in str(part):
            # pydantic's internal validator frames and union branch names are not fields
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


def from_validation_error(resource: Resource, name: str | None, exc: ValidationError) -> ApiError:
    causes = []
    for err in exc.errors(include_url=False):
        field = _field_path(tuple(err["loc"]))
        message = str(err["msg"]).removeprefix("Value error, ")
        # A model validator names the field it refuses, relative to its model, in Kubernetes'
        # form ("containers[1].name: Duplicate value: ..."; "metadata.name: ..." at the object).
        head, sep, rest = message.partition(": ")
        if sep and _RELATIVE_PATH.match(head):
            field, message = (f"{field}.{head}" if field else head), rest
        if err["type"] == "missing":
            reason, message = "FieldValueRequired", "Required value"
        elif err["type"] == "extra_forbidden":
            reason = "FieldValueNotSupported"
        else:
            reason = "FieldValueInvalid"
        causes.append(StatusCause(reason=reason, field=field or None, message=message))
    return invalid(resource, name, causes)
