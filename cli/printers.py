"""kubectl's `get` layout: aligned columns whose widths only grow, for lists and watches.

What the columns are and what each cell says lives in ``kajitori.tables``, shared with the
API server's ``meta.k8s.io`` Tables, so `kajitori get` and `kubectl get` print the same
cells; the names are re-exported here for the CLI's modules.
"""

from __future__ import annotations

from collections.abc import Sequence

from kajitori.tables import (
    NONE,
    TABLES,
    PodSummary,
    age,
    endpoints_text,
    event_last_seen,
    headers_for,
    human_duration,
    node_roles,
    node_status,
    pod_summary,
    row_for,
    rows_for,
    selector_text,
    service_external_ip,
    service_ports,
    sort_for_table,
    table_spec,
)

__all__ = [
    "NONE",
    "TABLES",
    "ColumnWidths",
    "PodSummary",
    "age",
    "endpoints_text",
    "event_last_seen",
    "headers_for",
    "human_duration",
    "node_roles",
    "node_status",
    "pod_summary",
    "render_table",
    "row_for",
    "rows_for",
    "selector_text",
    "service_external_ip",
    "service_ports",
    "sort_for_table",
    "table_spec",
]


class ColumnWidths:
    """Widths that only grow, so the rows a watch prints later line up with the first table."""

    def __init__(self) -> None:
        self.widths: list[int] = []

    def fit(self, rows: Sequence[Sequence[str]]) -> None:
        for row in rows:
            for i, cell in enumerate(row):
                if i >= len(self.widths):
                    self.widths.append(len(cell))
                else:
                    self.widths[i] = max(self.widths[i], len(cell))

    def line(self, row: Sequence[str]) -> str:
        # Three spaces between columns, as kubectl's tabwriter; the last column is not padded.
        cells = [cell.ljust(self.widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        return "   ".join(cells).rstrip()


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], widths: ColumnWidths | None = None) -> str:
    widths = widths or ColumnWidths()
    widths.fit([headers, *rows])
    return "\n".join(widths.line(r) for r in [headers, *rows])
