"""The holo daemon: warm Sessions that `holo build`, `holo check` and `holo test` reuse.

A fresh `holo build` pays for importing holo, opening the project, restoring
its results from the cache and starting two BEAM nodes, about a second
before any work. A warm process does a no-op build in milliseconds. So the
command line hands its commands to a long-lived process of the same user,
in the manner of dmypy, Gradle's daemon or Bazel's server.

Where it lives
    One daemon per cache directory, listening on the Unix socket
    ``<cache dir>/daemon/socket`` (the cache dir and ``daemon/`` are 0700),
    holding ``daemon/lock`` (an ``flock``) for its whole life, so two never
    serve one directory; a crashed daemon's lock goes with it and its stale
    socket is replaced by the next one. It serves any project root: a small
    LRU of Sessions (:mod:`holo.daemon.sessions`). It refuses a connection
    whose peer (``SO_PEERCRED``) is another uid.

Protocol (:mod:`holo.daemon.protocol`)
    4-byte big-endian length, then a UTF-8 JSON object, both ways. A request
    is ``{"kind": "run", argv, cwd, env, fingerprint, stdout_tty, stderr_tty,
    columns, lines, stdout_encoding, stderr_encoding}``, ``{"kind":
    "status"}`` or ``{"kind": "stop"}``. A run is answered with ``{"out":
    text}`` and ``{"err": text}`` frames as the command writes, then ``{"exit":
    code}``; or ``{"kind": "stale"}`` when the client's fingerprint is not the
    daemon's, or ``{"kind": "refused"}`` for another user.

Fingerprint (:mod:`holo.daemon.fingerprint`)
    holo's version, the Python environment that runs it (prefix and
    version), and a digest of the path, size and mtime of every file of
    holo's installed source: an edited editable install never talks to a
    daemon running the old code. A client that gets
    "stale" asks that daemon to stop and goes on as if there were none.

The client (:mod:`holo.daemon.client`, called first by holo.cli)
    Imports only the standard library. For build, check and test, unless
    ``--no-daemon``, ``HOLO_DAEMON=0``, ``-v`` (logs go to the terminal) or
    ``--node`` (the agent would keep Erlang distribution open after the
    build): connect, send, copy the output, exit with the daemon's code.
    When no daemon answers, the command runs in the client's own process as
    it always did, and a daemon is started in the background for the next
    call (``HOLO_DAEMON=wait``: start one and wait for it instead). Ctrl-C
    exits 130 at once; the daemon finishes the request, dropping its output.
    A daemon that dies mid-request is one line and exit 2.

Each request (:mod:`holo.daemon.requests`)
    Runs under one lock, one at a time, in the client's working directory and
    environment, with sys.stdout and sys.stderr sending frames and reporting
    the client's terminals (``COLUMNS``/``LINES`` set from the client's
    terminal when it has one and they are unset), through the same
    ``holo.cli.run_command`` as a command in its own process. Before the
    command asks for its Session, the warm one is refreshed from disk
    (``Workspace.refresh``), so it sees what a fresh process would.

Its life (:mod:`holo.daemon.server`)
    Started by a client with ``python -m holo.daemon CACHE_DIR``, in a session
    of its own with its output in holo's log; it imports holo's commands
    after it listens, and opens a Session only for a request. It exits after
    ``HOLO_DAEMON_IDLE`` seconds without a request (default 600), on `holo
    daemon stop`, or when its socket file is removed or replaced; its BEAM
    nodes go with it.
"""
