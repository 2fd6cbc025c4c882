"""The API server's rules for autoscaling/v2 HorizontalPodAutoscalers (kube-apiserver's hpa strategy).

Status is the HPA controller's, written through /status: a client's status at create is
dropped. The spec's rules (min/max, metric targets) are the model's
(kajitori.api.autoscaling.HorizontalPodAutoscaler, 422 naming the field).
"""

from __future__ import annotations

from master.apiserver.strategies.base import Obj, Strategy


class HorizontalPodAutoscalerStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        obj.pop("status", None)
