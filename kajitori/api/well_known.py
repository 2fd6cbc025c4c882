"""Annotations that more than one component reads or writes (Kubernetes keeps such names in
well_known_labels.go and friends)."""

from __future__ import annotations

SERVING_CERTIFICATE = "kajitori.io/serving-certificate"
"""On a Node: the PEM certificate its agent serves port 10250 with; the master trusts exactly it."""

VOLUMES_ROOT = "kajitori.io/volumes-root"
"""On a Node: the directory its agent keeps local-path PersistentVolumes in (``--volumes-root``)."""
