"""holo's view of a project on disk: its layout and options, OTP's facts, and the Workspace edge.

``discover`` turns a directory into a ProjectModel, ``otp`` reads the installed
OTP's modules and headers, and ``Workspace`` sets the query graph's inputs from
both and keeps them in step with the disk and the editor's unsaved buffers.
"""
