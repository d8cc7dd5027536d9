"""``python -m f5lab`` is the ``f5lab`` command."""

from f5lab.cli.main import main

main()
