"""``python -m holo.daemon CACHE_DIR``: what a client runs to start a daemon."""

import sys

from holo.daemon.server import main

sys.exit(main(sys.argv[1:]))
