"""`xmcam completion bash|zsh|fish`: the shell completion script, made from the same parser
that reads the command line (by shtab), so that it never lags behind the commands."""

from __future__ import annotations

import argparse
import sys
from typing import Final

from xmcam.cli.output import CommandError, ExitCode

__all__ = ["SHELLS", "add_parser", "completion_script"]

SHELLS: Final = ("bash", "zsh", "fish")


def completion_script(shell: str) -> str:
    """The completion script of `xmcam` for `shell`."""
    try:
        import shtab  # noqa: PLC0415  (only this command needs it)
    except ImportError:
        raise CommandError(
            "shell completion needs shtab: pip install 'shtab>=1.7'", ExitCode.FAILURE
        ) from None
    from xmcam.cli import build_parser  # noqa: PLC0415  (the parser this module is part of)

    script: str = shtab.complete(build_parser(), shell=shell)
    return script


def _handler(args: argparse.Namespace) -> int:
    sys.stdout.write(completion_script(args.shell))
    return ExitCode.SUCCESS


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "completion",
        help="print the shell completion script for bash, zsh or fish",
        description=(
            "Print a completion script for your shell: commands, options and their choices. "
            "Load it from your shell's start-up file (see the examples)."
        ),
        epilog=(
            "examples:\n"
            '  eval "$(xmcam completion bash)"                       # in ~/.bashrc\n'
            "  xmcam completion zsh > ~/.zfunc/_xmcam               # with fpath+=~/.zfunc\n"
            "  xmcam completion fish > ~/.config/fish/completions/xmcam.fish"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell: bash, zsh or fish")
    parser.set_defaults(handler=_handler)
