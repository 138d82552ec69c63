"""The ``inspector`` console script (Qt-free except for launching the GUI)."""
