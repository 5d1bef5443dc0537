"""The ``ringmatch`` command line.

    ringmatch --version                 (and which core runs: compiled or pure Python)
    ringmatch replay FILE [--format {csv,lobster,journal}]
                          [--trades-out T.csv] [--book-out B.csv] [--events-out E.jsonl]
                          [--skip-bad] [--speed X]
                          [--orderbook PATH] [--levels N] [--resync]   (lobster only)
    ringmatch bench core|e2e|replay|ring|ids|compare ...   (benchmarks/harness/cli.py)

Each replay format lives in its own module with ``run(args) -> int``, imported
only when asked for, so a format that is missing or broken cannot stop another.
Exit status, the same for every command (README.md, "Exit status"): 0 done,
1 a failure at run time (or a replay that skipped bad rows), 2 bad usage or
bad input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import math
import os
import sys
from collections.abc import Callable, Sequence
from importlib import metadata

import ringmatch.engine as engine
from ringmatch.arg_types import whole_number_at_least_1
from ringmatch.engine import build_info

EXIT_USAGE = 2

_FORMAT_MODULES = {
    "csv": "ringmatch.engine.replay.csv_replay",
    "lobster": "ringmatch.engine.replay.lobster_replay",
    "journal": "ringmatch.engine.replay.journal_replay",
}
_LOBSTER_ONLY = ("orderbook", "levels", "resync")
# Other rooms' subcommands: each module has add_subcommands(subparsers), and every
# parser it adds sets ``run`` (args -> exit status) as a default.
_SUBCOMMAND_MODULES = (
    "ringmatch.serve",
    "ringmatch.gateway.client.cli_send",
    "ringmatch.benchmarks.harness.cli",
    "ringmatch.gateway.feed.cli",
    "ringmatch.risk_cli",
    "ringmatch.journal_cli",
)


def version() -> str:
    try:
        return metadata.version("ringmatch")
    except metadata.PackageNotFoundError:  # run from a checkout, not installed
        return engine.__version__


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


class CommandParser(argparse.ArgumentParser):
    """A parser that refuses what it does not know with its own usage.

    argparse hands a subcommand's unknown arguments back to the top-level parser,
    which prints the top-level usage; here the subcommand's parser (the parser of
    every subcommand is one of these: ``add_subparsers`` makes its own kind)
    says what that subcommand takes, and exits 2.
    """

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="ringmatch", description="An order-matching engine: price-time priority."
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {version()}, {build_info.describe()}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    replay = commands.add_parser(
        "replay",
        help="run a file of orders through the engine",
        description="Run a file of orders through the engine, in file order.",
    )
    replay.add_argument(
        "file",
        metavar="FILE",
        help="the order file (csv), message file (lobster) or data directory (journal)",
    )
    replay.add_argument("--format", choices=tuple(_FORMAT_MODULES), default="csv")
    replay.add_argument("--trades-out", metavar="T.csv", help="write every trade as CSV")
    replay.add_argument("--book-out", metavar="B.csv", help="write the final book as CSV")
    replay.add_argument("--events-out", metavar="E.jsonl", help="write every event, JSON lines")
    replay.add_argument(
        "--skip-bad",
        action="store_true",
        help="report each malformed row on stderr and go on, exit 1 if any (default: stop, exit 2)",
    )
    replay.add_argument(
        "--speed",
        type=_speed,
        metavar="X",
        help="pace by the file's timestamps, X times real time (default: as fast as possible)",
    )
    lobster = replay.add_argument_group("lobster")
    lobster.add_argument("--orderbook", metavar="PATH", help="the LOBSTER orderbook file")
    lobster.add_argument(
        "--levels",
        type=whole_number_at_least_1,
        metavar="N",
        help="levels in the orderbook file (default 1)",
    )
    lobster.add_argument(
        "--resync", action="store_true", help="resynchronise the book from the orderbook file"
    )
    for module_name in _SUBCOMMAND_MODULES:
        importlib.import_module(module_name).add_subcommands(commands)
    return parser


def subcommand_parser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of subcommand ``name`` (its errors print its own usage)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise KeyError(name)


def _check_format_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.format != "lobster":
        for name in _LOBSTER_ONLY:
            if getattr(args, name) not in (None, False):
                parser.error(f"--{name} is only for --format lobster")
    if args.levels is None:
        args.levels = 1


def _runner(fmt: str) -> Callable[[argparse.Namespace], int]:
    """The replay of ``fmt``, imported only when asked for (``ringmatch --help`` stays quick).

    A journal's replay is handed the wiring's pre-trade stages (ringmatch.stages),
    so that it decides as the live core did wherever the journal names one.
    """
    module = importlib.import_module(_FORMAT_MODULES[fmt])
    run: Callable[..., int] = module.run
    if fmt == "journal":
        from ringmatch import stages

        return functools.partial(run, resolve=stages.resolve)
    return run


def _same_file(a: str, b: str) -> bool:
    """Whether paths ``a`` and ``b`` name one file: the same inode where both exist
    (a hard link, a symlink, ``./x`` and ``x``), else the same resolved path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _inside(path: str, directory: str) -> bool:
    """Whether ``path`` lies inside ``directory`` (resolved, symlinks followed)."""
    real_dir = os.path.realpath(directory)
    return os.path.commonpath([os.path.realpath(path), real_dir]) == real_dir


def clashing_paths(args: argparse.Namespace) -> str | None:
    """Why the replay's outputs would overwrite one of its inputs or each other, or None.

    Checked before anything is opened: an output is opened for writing (truncated)
    before the input is read, so ``--trades-out`` naming the input would empty it.
    A journal's data directory belongs to its core: an output may be a new file
    there, never one the directory already holds (a segment, a snapshot, the lock)."""
    inputs = [("FILE", args.file)]
    if args.orderbook is not None:
        inputs.append(("--orderbook", args.orderbook))
    outputs = [
        (f"--{name.replace('_', '-')}", path)
        for name in ("trades_out", "book_out", "events_out")
        if (path := getattr(args, name)) is not None
    ]
    for i, (option, path) in enumerate(outputs):
        for what, source in inputs:
            if _same_file(path, source):
                return f"{option} {path} is the input {what} {source}: it would be overwritten"
            if (
                args.format == "journal"
                and os.path.isdir(source)
                and os.path.lexists(path)
                and _inside(path, source)
            ):
                return (
                    f"{option} {path} is a file of the data directory {what} {source}:"
                    " write the outputs elsewhere"
                )
        for other, other_path in outputs[:i]:
            if _same_file(path, other_path):
                return f"{option} {path} and {other} {other_path} are the same file"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "replay":
        status: int = args.run(args)
        return status
    _check_format_options(subcommand_parser(parser, "replay"), args)
    clash = clashing_paths(args)
    if clash is not None:
        print(f"ringmatch replay: {clash}; nothing was run", file=sys.stderr)
        return EXIT_USAGE
    return _runner(args.format)(args)


if __name__ == "__main__":
    sys.exit(main())
