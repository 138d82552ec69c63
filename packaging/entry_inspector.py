"""Entry point of the frozen station bundle (PyInstaller): the ``inspector`` command.

The station starts some work in child processes as ``sys.executable -m MODULE ...``
(the tiling memory probe, the TensorRT engine builder, the trainer). In a frozen
bundle ``sys.executable`` is this program, not a Python interpreter, so it accepts
``-m MODULE ARGS...`` itself and runs that bundled module as ``__main__``. Anything
else goes to the ``inspector`` command line.
"""

from __future__ import annotations

import runpy
import sys

# Modules the bundle leaves out on purpose, with what to use instead.
NOT_BUNDLED = {
    "trainer": (
        "the trainer is not part of the station bundle (TensorFlow stays out of it); "
        "run inspector-train from its own environment or the trainer container "
        "(packaging/docker/trainer)"
    ),
}


def _run_module(module: str, args: list[str]) -> int:
    sys.argv = [sys.argv[0], *args]
    top = module.split(".", 1)[0]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except ImportError as exc:
        reason = NOT_BUNDLED.get(top, f"module {module!r} is not in this bundle")
        print(f"inspector: cannot run -m {module}: {reason} ({exc})", file=sys.stderr)
        return 2
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    return 0


def main() -> int:
    argv = sys.argv[1:]
    if len(argv) >= 2 and argv[0] == "-m":
        return _run_module(argv[1], argv[2:])
    from inspector.cli.main import main as inspector_main

    return inspector_main(argv)


if __name__ == "__main__":
    sys.exit(main())
