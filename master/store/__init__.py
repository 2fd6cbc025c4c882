"""The master's state store: an interface and its embedded SQLite implementation."""

from master.store.interface import (
    AlreadyExists,
    Conflict,
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
    "AlreadyExists",
    "Conflict",
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
