"""The master's state store: an interface and its embedded SQLite implementation."""

from master.store.interface import (
    AllocationRaced,
    AlreadyExists,
    Conflict,
    Fence,
    NotFound,
    Store,
    StoredObject,
    StoreError,
    StoreEvent,
    StoreUnavailable,
    Subscription,
    TooOld,
)
from master.store.sqlite import SQLiteStore

__all__ = [
    "AllocationRaced",
    "AlreadyExists",
    "Conflict",
    "Fence",
    "NotFound",
    "SQLiteStore",
    "Store",
    "StoreError",
    "StoreEvent",
    "StoreUnavailable",
    "StoredObject",
    "Subscription",
    "TooOld",
]
