"""The live web view of the cluster, served by the master at ``/ui/``.

The pages are plain HTML, CSS and JavaScript modules shipped inside this package
(``static/``, package data), with no build step and nothing fetched from elsewhere, so
the view works offline. The server side only hands out those files (``assets.py``);
everything the pages show they read from the API itself, in the browser, with the
bearer token the user signs in with: the same gates, RBAC and watches as kubectl.
"""

from master.ui.assets import UI_PREFIX, install

__all__ = ["UI_PREFIX", "install"]
