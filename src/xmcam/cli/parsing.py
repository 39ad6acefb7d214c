"""The parser's conventions, applied once to every command rather than command by command.

- The global options (`-H`, `-u`, `-p`, `--timeout`, `--encryption`, `-v`, `--debug`, and
  `--json`) are accepted after the command too (`xmcam info -H host` as `xmcam -H host info`),
  as users of git, kubectl or httpie expect. They are added to every subcommand's parser with
  the default `argparse.SUPPRESS`, so that a subcommand that was not given one does not overwrite
  the value given before the command; one given after the command wins.
- `--json` says in each command's help what it prints: one JSON document for a one-shot
  command, JSON Lines (one object per line, as they come) for a stream. A command declares a
  stream with `json_lines(parser)`, and one with nothing to print refuses it (`no_json()`).
- `all_parsers()` walks the tree, for the tests and for shell completion.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Final, cast

__all__ = [
    "JSON_DOCUMENT",
    "JSON_LINES",
    "CommandParser",
    "add_after_the_command",
    "add_json_option",
    "all_parsers",
    "json_help",
    "json_lines",
    "json_refusal",
    "no_json",
]

JSON_DOCUMENT: Final = "print one JSON document for scripts"
JSON_LINES: Final = "print JSON Lines for scripts: one JSON object per line, as they come"
JSON_REFUSED: Final = "refused: "
JSON_DEFAULT: Final = "json_help"
"""The name of the parser default that holds a command's --json help (`json_lines()`)."""


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser that remembers its subcommands' action, so that the tree of commands
    can be walked without argparse's private attributes. Subparsers made by `add_parser()` are
    of the same class (argparse creates them with `type(self)`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subcommands: argparse._SubParsersAction[argparse.ArgumentParser] | None = None

    # typeshed's overloads are narrower than the one signature that forwards them all.
    def add_subparsers(  # type: ignore[override]
        self, **kwargs: Any
    ) -> argparse._SubParsersAction[argparse.ArgumentParser]:
        action = super().add_subparsers(**kwargs)
        self.subcommands = action
        return action


def all_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """`parser` and every subcommand parser under it, depth first, each once (an alias is
    the same parser under another name)."""
    seen: set[int] = set()
    pending = [parser]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        subcommands = getattr(current, "subcommands", None)
        if subcommands is not None:
            pending[0:0] = list(subcommands.choices.values())


def add_after_the_command(
    parser: argparse.ArgumentParser, add_options: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Run `add_options` (which adds the global options to the parser it is given) on every
    subcommand parser under `parser`, each option with the default SUPPRESS, and skipped in a
    command that has an option of that name itself (`sim --host` is where it listens)."""
    for sub in all_parsers(parser):
        if sub is not parser:
            add_options(cast(argparse.ArgumentParser, _AfterTheCommand(sub)))


class _AfterTheCommand:
    """What `add_global_options()` calls on a parser (`add_argument_group`, `add_argument`),
    for a subcommand: defaults SUPPRESS, conflicts skipped."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def add_argument_group(self, *args: Any, **kwargs: Any) -> _AfterTheCommand:
        return _AfterTheCommand(self._target.add_argument_group(*args, **kwargs))

    def add_argument(self, *names: str, **kwargs: Any) -> None:
        kwargs["default"] = argparse.SUPPRESS
        with contextlib.suppress(argparse.ArgumentError):
            self._target.add_argument(*names, **kwargs)


def add_json_option(parser: argparse.ArgumentParser, text: str | None = None) -> None:
    """--json, valid before and after the command (default SUPPRESS, as the global options),
    its help saying what the command prints: JSON_DOCUMENT unless the command declared another
    (`json_lines()`, or its own words with `parser.set_defaults(json_help=...)`)."""
    text = text or parser.get_default(JSON_DEFAULT) or JSON_DOCUMENT
    if text.startswith(JSON_REFUSED):
        return  # after the command: argparse refuses it; before it: main() does (json_refusal)
    with contextlib.suppress(argparse.ArgumentError):
        parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=text)


def json_lines(parser: argparse.ArgumentParser) -> None:
    """Declare that `parser`'s command is a stream: --json prints JSON Lines."""
    parser.set_defaults(**{JSON_DEFAULT: JSON_LINES})


def no_json(parser: argparse.ArgumentParser, reason: str) -> None:
    """Declare that `parser`'s command has no JSON output, and why: --json is refused (a usage
    error), never silently ignored."""
    parser.set_defaults(**{JSON_DEFAULT: JSON_REFUSED + reason})


def json_refusal(args: argparse.Namespace) -> str | None:
    """Why the parsed command refuses the --json it was given, or None."""
    text = getattr(args, JSON_DEFAULT, None)
    if getattr(args, "json", False) and text and text.startswith(JSON_REFUSED):
        return str(text).removeprefix(JSON_REFUSED)
    return None


def json_help(parser: argparse.ArgumentParser) -> str:
    """The help of `parser`'s --json option ("" when it has none)."""
    for action in parser._actions:  # noqa: SLF001  (argparse has no public accessor)
        if "--json" in action.option_strings:
            return action.help or ""
    return ""
