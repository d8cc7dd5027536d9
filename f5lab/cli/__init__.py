"""The ``f5lab`` command line: validate the options, make one library call, show a terminal
table or JSON. Holds no logic of its own."""
