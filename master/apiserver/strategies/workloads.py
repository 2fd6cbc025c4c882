"""The API server's rules for apps/v1 Deployments, ReplicaSets and DaemonSets (and Jobs, which extend them).

Their status is their controller's to write, and their selector is immutable once
created (as in apps/v1): both rules are written once here, for every workload kind
that shares them.
"""

from __future__ import annotations

from typing import ClassVar

from master.apiserver.strategies.base import Obj, Strategy


class WorkloadStrategy(Strategy):
    immutable_fields: ClassVar[tuple[str, ...]] = ("selector",)

    def prepare_for_create(self, obj: Obj) -> None:
        obj.pop("status", None)


class ReplicationControllerStrategy(WorkloadStrategy):
    """A ReplicationController's status is its controller's too, but its selector may change (core/v1 allows it)."""

    immutable_fields: ClassVar[tuple[str, ...]] = ()
