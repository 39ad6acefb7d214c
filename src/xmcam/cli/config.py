"""`xmcam config`: read, write, back up and restore the camera's configuration by name.

Names are the device's dotted names (`General.General`, `Camera.Param.[0]`, `Alarm.AlarmOut`).
Secrets (passwords, Wi-Fi keys) never reach the screen or a file: they show as `<redacted>`.
A value written back with `<redacted>` in it keeps the device's current secret there, so an
exported file imports without losing anything.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xmcam.aio import AsyncCamera
from xmcam.cli.output import CommandError, ExitCode, Progress, pretty_json, print_json, safe_text
from xmcam.cli.session import camera_command
from xmcam.errors import AuthenticationError, DeviceError
from xmcam.protocol import redact
from xmcam.protocol.redaction import REDACTED

__all__ = [
    "add_parser",
    "export_text",
    "fill_redacted",
    "read_json_argument",
    "write_atomically",
]


def read_json_argument(text: str) -> Any:
    """The JSON value a command line argument gives: JSON text, `@FILE` or `-` (stdin).
    Raises CommandError (usage) for text that is not JSON or a file that cannot be read."""
    source = "the argument"
    if text == "-":
        source, text = "standard input", sys.stdin.read()
    elif text.startswith("@"):
        source, text = text[1:], _read_file(text[1:])
    try:
        return json.loads(text)
    except ValueError as error:
        raise CommandError(f"{safe_text(source)} is not JSON: {error}", ExitCode.USAGE) from None
    except RecursionError:
        raise CommandError(f"{safe_text(source)} is nested too deep", ExitCode.USAGE) from None


def _read_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read {path}: {_reason(error)}", ExitCode.USAGE) from None


def _reason(error: Exception) -> str:
    return error.strerror or str(error) if isinstance(error, OSError) else str(error)


def fill_redacted(value: Any, current: Any) -> Any:
    """`value` with every `<redacted>` placeholder replaced by what `current` (the device's
    value now) holds at the same place. Raises CommandError when there is nothing there."""
    if value == REDACTED:
        if current is None or current == REDACTED:
            raise CommandError("a <redacted> value has nothing on the device to keep")
        return current
    if isinstance(value, dict):
        here = current if isinstance(current, dict) else {}
        return {key: fill_redacted(item, here.get(key)) for key, item in value.items()}
    if isinstance(value, list):
        here_list = current if isinstance(current, list) else []
        return [
            fill_redacted(item, here_list[index] if index < len(here_list) else None)
            for index, item in enumerate(value)
        ]
    return value


def _has_redacted(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_redacted(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_redacted(item) for item in value)
    return bool(value == REDACTED)


async def _value_to_write(camera: AsyncCamera, name: str, value: Any) -> Any:
    if not _has_redacted(value):
        return value
    return fill_redacted(value, await camera.get_config(name))


def write_atomically(path: str, text: str) -> None:
    """Write `text` to `path` so that a reader sees the old file or the new one, never half:
    a temporary file in the same directory, flushed to disk, then renamed over `path`."""
    target = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise CommandError(f"cannot write {path}: {_reason(error)}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise CommandError(f"cannot write {path}: {_reason(error)}") from None


def export_text(tree: Mapping[str, Any]) -> str:
    """The text of an export file: indented JSON of {name: value}, secrets redacted."""
    return json.dumps(redact(tree), ensure_ascii=False, indent=2) + "\n"


async def config_get(camera: AsyncCamera, args: argparse.Namespace) -> int:
    value = await camera.get_config(args.name)
    if args.json:
        print_json(value)
    else:
        print(pretty_json(value))
    return ExitCode.SUCCESS


async def config_set(camera: AsyncCamera, args: argparse.Namespace) -> int:
    await camera.set_config(args.name, await _value_to_write(camera, args.name, args.value))
    if args.json:
        print_json({"name": args.name, "ok": True})
    else:
        print(f"{safe_text(args.name)}: set")
    return ExitCode.SUCCESS


async def config_export(camera: AsyncCamera, args: argparse.Namespace) -> int:
    progress = Progress()
    progress.show("reading the configuration…")
    try:
        tree = await camera.export_config(args.names or None)
    finally:
        progress.done()
    text = export_text(tree)
    if args.file == "-":
        sys.stdout.write(text)
        return ExitCode.SUCCESS
    write_atomically(args.file, text)
    if args.json:
        print_json({"file": args.file, "names": list(tree)})
    else:
        print(f"{len(tree)} config names written to {safe_text(args.file)}")
    return ExitCode.SUCCESS


def _read_tree(path: str) -> dict[str, Any]:
    tree = read_json_argument("-" if path == "-" else f"@{path}")
    if not isinstance(tree, dict) or not all(isinstance(name, str) for name in tree):
        raise CommandError(
            f"{safe_text(path)} is not a config export (a JSON object of names)", ExitCode.USAGE
        )
    return tree


async def config_import(camera: AsyncCamera, args: argparse.Namespace) -> int:
    tree: dict[str, Any] = args.tree
    progress = Progress()
    failed: list[str] = []
    for number, (name, value) in enumerate(tree.items(), start=1):
        progress.show(f"importing {number}/{len(tree)}: {name}")
        try:
            await camera.set_config(name, await _value_to_write(camera, name, value))
        except AuthenticationError:
            raise  # a refused login again for every name left would lock the account
        except (DeviceError, CommandError) as error:
            failed.append(name)
            _report(args, name, error)
        else:
            _report(args, name, None)
    progress.done()
    if failed:
        raise CommandError(
            f"{len(failed)} of {len(tree)} config names not imported: "
            + ", ".join(safe_text(name, 60) for name in failed),
            ExitCode.DEVICE,
        )
    return ExitCode.SUCCESS


def _report(args: argparse.Namespace, name: str, error: Exception | None) -> None:
    """One line per name, printed as it happens: if the connection dies half way, the lines
    so far say exactly what was written."""
    if args.json:
        record: dict[str, Any] = {"name": name, "ok": error is None}
        if isinstance(error, DeviceError):
            record["ret"] = error.ret
        if error is not None:
            record["error"] = str(error)
        print_json(record)
    else:
        outcome = "ok" if error is None else f"FAILED: {error}"
        print(f"{safe_text(name)}: {safe_text(outcome)}", flush=True)


def _set_handler(args: argparse.Namespace) -> int:
    # The value is read before connecting: a typo in it costs no login.
    args.value = read_json_argument(args.value)
    return camera_command(config_set)(args)


def _import_handler(args: argparse.Namespace) -> int:
    args.tree = _read_tree(args.file)
    return camera_command(config_import)(args)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "config",
        help="read, write, export and import configuration",
        description=(
            "Read and write the camera's configuration by its dotted name. Secrets show as "
            "<redacted>; writing <redacted> back keeps the device's own value."
        ),
        epilog=(
            "examples:\n"
            "  xmcam config get General.General\n"
            '  xmcam config set General.General \'{"MachineName": "porch"}\'\n'
            "  xmcam config set Camera.Param.[0] @param.json\n"
            "  xmcam config export backup.json && xmcam config import backup.json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    get = actions.add_parser(
        "get", help="print one config", epilog="example: xmcam config get Camera.Param.[0]"
    )
    get.add_argument("name", metavar="NAME", help="config name, e.g. General.General")
    get.set_defaults(handler=camera_command(config_get))
    put = actions.add_parser(
        "set",
        help="write one config",
        epilog='example: echo \'{"MachineName": "porch"}\' | xmcam config set General.General -',
    )
    put.add_argument("name", metavar="NAME", help="config name")
    put.add_argument(
        "value",
        metavar="JSON|@FILE|-",
        help="the new value: JSON text, @FILE to read it from a file, - for standard input",
    )
    put.set_defaults(handler=_set_handler)
    export = actions.add_parser(
        "export",
        help="save every config to a JSON file",
        epilog="example: xmcam config export backup.json",
    )
    export.add_argument("file", metavar="FILE", help="the file to write (- for standard output)")
    export.add_argument(
        "--name", dest="names", action="append", metavar="NAME", help="only this name (repeat)"
    )
    export.set_defaults(handler=camera_command(config_export))
    restore = actions.add_parser(
        "import",
        help="write every config from a JSON file",
        epilog="example: xmcam config import backup.json",
    )
    restore.add_argument("file", metavar="FILE", help="a file from `config export` (- for stdin)")
    restore.set_defaults(handler=_import_handler)
