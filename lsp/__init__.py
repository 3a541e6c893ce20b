"""holo.lsp: the language server, on the same query graph as `holo check` and `holo watch`.

:mod:`.server` speaks LSP (pygls) and keeps the open documents;
:mod:`.pipeline` runs the threads that set inputs and compute diagnostics;
:mod:`.definitions`, :mod:`.references`, :mod:`.hover`, :mod:`.symbols` and
:mod:`.completion` answer requests as queries over ``holo.queries``;
:mod:`.save` compiles, hot-loads and tests on save.
"""
