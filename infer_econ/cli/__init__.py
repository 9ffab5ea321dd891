"""The ``infer-econ`` command line (``python -m infer_econ`` is the same program).

Each sub-command is a module ``infer_econ/cli/<command>.py`` with two functions:
``add_parser(subparsers)`` registering its arguments, and ``run(args) -> int``.
Errors on bad input (:class:`~infer_econ.errors.InferEconError`) print one line
to stderr and exit with code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__

#: sub-commands in the order ``--help`` lists them
COMMANDS = ["estimate", "evaluate", "plan", "calibrate", "validate", "catalog", "serve"]

EPILOG = """examples:
  infer-econ catalog hardware --format table
  infer-econ estimate --model llama-3.1-8b --hardware h100-sxm --precision bf16 \\
      --engine vllm --devices 1 --input-tokens 1000 --output-tokens 200 --json
  infer-econ evaluate --model llama-3.1-70b --hardware h100-sxm --precision fp8 --engine vllm \\
      --devices 4 --input-tokens 2000 --output-tokens 500 --provider aws --price-model on_demand
  infer-econ calibrate vllm_result.json --hardware h100-sxm --precision bf16 --devices 1 -o params.csv
  infer-econ validate
  infer-econ serve
"""


def _parser(modules: dict) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infer-econ",
        description="What it really costs to run AI models in production, and how to make it cheaper.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"infer-econ {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in modules.values():
        mod.add_parser(sub)
    return parser


def _modules() -> dict:
    mods = {}
    for name in COMMANDS:
        try:
            mods[name] = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:  # a command whose module is not written yet
            if exc.name != f"{__name__}.{name}":
                raise
    return mods


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    from ..errors import InferEconError

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(_modules())

    class _Exit(Exception):
        pass

    def _error(message: str) -> None:  # argparse usage errors: one line, exit 2
        print(f"infer-econ: error: {message}", file=sys.stderr)
        raise _Exit

    parser.error = _error  # type: ignore[method-assign]
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        for p in action.choices.values():
            p.error = _error  # type: ignore[method-assign]
    try:
        args = parser.parse_args(argv)
    except _Exit:
        return 2
    if not args.command:
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except InferEconError as exc:
        if args.debug:
            raise
        print(f"infer-econ: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("infer-econ: interrupted", file=sys.stderr)
        return 130
