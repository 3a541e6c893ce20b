"""Settings for the whole suite.

Commands run in their own process: no test starts a holo daemon (holo.daemon)
by accident and leaves it running. The daemon's own tests turn it on for the
processes they start, each with a cache directory of its own, and stop it.
(``HOLO_SUITE_DAEMON=wait`` runs the suite's commands through daemons
instead: tests/daemon/test_exit_codes_via_daemon.py does that for one file.)
"""

import os

os.environ["HOLO_DAEMON"] = os.environ.get("HOLO_SUITE_DAEMON", "0")
