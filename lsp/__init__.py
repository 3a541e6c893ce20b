"""holo.lsp"""
