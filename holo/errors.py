"""Errors that reach the user as one clear line (the CLI exits 2 with them)."""


class UserError(Exception):
    """Bad usage or configuration: the message says what is wrong and where."""
