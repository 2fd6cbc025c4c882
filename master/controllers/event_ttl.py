"""Event TTL: an Event is deleted ``event_ttl_s`` after it last happened.

Kubernetes gives every Event an etcd lease of one hour; Kajitori's store has no leases,
so this loop does the same job: each Event's key waits in the queue until its time is
up (``Requeue``), then the Event is deleted. A repeat of the event (its count and
lastTimestamp bumped) pushes the deadline out again, as the update re-enqueues it.
"""

from __future__ import annotations

import logging

from kajitori.api.core import Event
from kajitori.client import NotFoundError
from kajitori.clock import parse_time
from kajitori.controller import Controller, Requeue
from kajitori.informer import object_key, split_key
from master.controllers.context import LoopContext

log = logging.getLogger(__name__)


def last_seen(event: Event) -> float | None:
    """When the event last happened: lastTimestamp, else eventTime, firstTimestamp, creation."""
    for value in (event.lastTimestamp, event.eventTime, event.firstTimestamp, event.metadata.creationTimestamp):
        seen = parse_time(value)
        if seen is not None:
            return seen
    return None


class EventTTLController:
    def __init__(self, ctx: LoopContext) -> None:
        self.ctx = ctx
        self.events = ctx.informers.informer(Event)
        self.controller = Controller("event-ttl", self.reconcile, informers=[self.events])
        self.events.add_handlers(
            lambda e: self.controller.enqueue(object_key(e)),
            lambda _old, new: self.controller.enqueue(object_key(new)),
        )

    def reconcile(self, key: str) -> None:
        event = self.events.get(key)
        if event is None:
            return
        seen = last_seen(event)
        age = self.ctx.clock.time() - seen if seen is not None else self.ctx.settings.event_ttl_s
        left = self.ctx.settings.event_ttl_s - age
        if left > 0:
            raise Requeue(left)
        namespace, name = split_key(key)
        try:
            self.ctx.client.delete(Event, name, namespace, uid=event.metadata.uid)
        except NotFoundError:
            return
        log.debug("deleted event %s: last seen %.0fs ago", key, age)
