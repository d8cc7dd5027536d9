"""Where the ``f5lab`` group was found before the commands were split by stage: tests and older
entry points import ``main`` and ``friendly_errors`` from here."""

from f5lab.cli.main import friendly_errors, main  # noqa: F401

__all__ = ["friendly_errors", "main"]
