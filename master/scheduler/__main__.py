"""`python -m master.scheduler`: the scheduler alone, in its own process, as kube-scheduler runs.

The master normally runs the scheduler in a thread beside the API server; this runs
the same ``Scheduler`` against any API server from a kubeconfig, with its own shared
informers and event recorder (the benchmark uses it so the scheduler has its own
interpreter and does not share one with the API server it talks to). It stops on
SIGTERM or SIGINT.

    python -m master.scheduler --kubeconfig /tmp/x/admin.kubeconfig
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from kajitori import config
from kajitori.client import ApiClient
from kajitori.events import EventRecorder
from kajitori.signal_wait import wait_until_set
from master.controllers.context import LoopContext
from master.controllers.informers import InformerFactory
from master.scheduler.scheduler import Scheduler
from master.settings import ControllerSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m master.scheduler", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--percentage-of-nodes-to-score", type=int, default=0)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    client = ApiClient(config.load(args.kubeconfig), user_agent="kajitori-scheduler", timeout=60.0)
    factory = InformerFactory(client)
    ctx = LoopContext(
        client=client,
        informers=factory,
        recorder=EventRecorder(client, "default-scheduler"),
        settings=ControllerSettings(percentage_of_nodes_to_score=args.percentage_of_nodes_to_score),
    )
    scheduler = Scheduler(ctx, percentage_of_nodes_to_score=args.percentage_of_nodes_to_score)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    factory.start()
    scheduler.start()
    wait_until_set(stopped)  # in slices: a SIGTERM given to another thread still runs its handler
    scheduler.stop()
    factory.stop()
    client.close()


if __name__ == "__main__":
    main()
