"""The API server: Kubernetes' REST paths over the state store (FastAPI on one event loop)."""
