"""The ``f5lab`` command line: validate the options, make one library call, show a terminal
table or JSON. Holds no logic of its own.

``main`` holds the click plumbing and the group; each stage's module holds its commands and
their views. Importing the package imports every stage module, so the group ``f5lab.cli.main.main``
is whole whichever module a caller imports first; the order of ``f5lab --help`` is click's
(alphabetical), not this one."""

from f5lab.cli import compat, files, hardware, reporting, speech  # noqa: F401  (each registers its commands)
