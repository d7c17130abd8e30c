"""The command line: ``descend demo | train | predict | evaluate | sweep | explain``.

``descend.cli.main.main`` is the entry point; each command is a short module that calls the library.
"""
