"""The options many commands share, as `Annotated` types: a command declares `namespace: Namespace = None`.

One definition per flag keeps the spelling, the short form and the help text the same in
every command (`-n`, `-A`, `-l`, `--field-selector`, `--kubeconfig`, `--validate`).
"""

from __future__ import annotations

from typing import Annotated

import typer

Kubeconfig = Annotated[
    str | None,
    typer.Option("--kubeconfig", help="Kubeconfig file (default: $KAJITORI_CONFIG, then ~/.kajitori/config)."),
]
Namespace = Annotated[str | None, typer.Option("--namespace", "-n", help="Namespace (default: the context's).")]
AllNamespaces = Annotated[bool, typer.Option("--all-namespaces", "-A", help="Every namespace.")]
Selector = Annotated[str | None, typer.Option("--selector", "-l", help="Label selector (app=web,tier!=db).")]
FieldSelector = Annotated[str | None, typer.Option("--field-selector", help="Field selector (status.phase=Running).")]
Validate = Annotated[
    str,
    typer.Option(
        "--validate",
        help="strict (or true): the server refuses fields Kubernetes does not have; warn: it warns; ignore (or false).",
    ),
]
