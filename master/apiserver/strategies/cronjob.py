"""The API server's rules for batch/v1 CronJobs (kube-apiserver's cronjob strategy).

A client may not write status at create (it is the controller's, through /status; a
spec update keeps it, as for every kind with a status subresource). The schedule and
time zone are checked by the model (kajitori.api.batch.CronJob, 422 naming
spec.schedule or spec.timeZone); the Job template's labels and selector are left
alone, as in Kubernetes: each Job the controller makes gets its own generated
selector when it is created.
"""

from __future__ import annotations

from master.apiserver.strategies.base import Obj, Strategy


class CronJobStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        obj.pop("status", None)
