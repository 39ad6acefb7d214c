"""`xmcam config`: read, write, back up and restore the camera's configuration by name.

Names are the device's dotted names (`General.General`, `Camera.Param.[0]`, `Alarm.AlarmOut`).
Secrets (passwords, Wi-Fi keys) never reach the screen or a file: they show as `<redacted>`.
A value written back with `<redacted>` in it keeps the device's current secret there, so an
exported file imports without losing anything.

Every write reads the config first and sends the whole object back (a partial value is merged
in: `xmcam.client.config_values`); an export asks for every name xmcam knows
(`xmcam.client.config_names`) and keeps what the camera answers; an import keeps the camera's
own addresses, MAC and serial unless told otherwise. The logic is the client's; this module
parses arguments and prints.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from xmcam.aio import AsyncCamera
from xmcam.cli.output import (
    CommandError,
    ExitCode,
    Progress,
    dumps_safe,
    pretty_json,
    print_json,
    safe_text,
)
from xmcam.cli.parsing import json_lines
from xmcam.cli.session import camera_command, target_of
from xmcam.client.config_values import changes, path_text
from xmcam.client.models import ConfigChange, ConfigProbe, ConfigUpdate
from xmcam.errors import AuthenticationError, DeviceError
from xmcam.protocol import redact
from xmcam.protocol.codes import ret_meaning
from xmcam.protocol.redaction import REDACTED, SECRET_KEYS

__all__ = [
    "add_parser",
    "change_line",
    "config_import",
    "diff_trees",
    "export_text",
    "probe_summary",
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
    """The text of an export file: indented JSON of {name: value}, secrets redacted (the
    password-reset answers of General.PwdSafety too)."""
    return json.dumps(_redact_answers(redact(tree)), ensure_ascii=False, indent=2) + "\n"


# General.PwdSafety's QuestionAnswer unlocks a password reset ([BES] 1043_General.PwdSafety):
# as good as a password in a backup file.
_EXPORT_SECRETS: Final = frozenset({"questionanswer"})


def _redact_answers(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED if key.strip().lower() in _EXPORT_SECRETS else _redact_answers(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact_answers(item) for item in value]
    return value


def _is_secret_path(path: tuple[str | int, ...]) -> bool:
    return any(
        isinstance(part, str) and part.strip().lower() in SECRET_KEYS | _EXPORT_SECRETS
        for part in path
    )


def _shown(value: Any, secret: bool) -> str:
    if secret:
        return REDACTED
    text = dumps_safe(redact(value))
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"


_VALUE_WIDTH: Final = 60


def change_line(change: ConfigChange) -> str:
    """One change for people: `MachineName: "LocalHost" → "porch"`, secrets redacted."""
    member = safe_text(path_text(change.path) or "(the whole value)", 80)
    secret = _is_secret_path(change.path)
    if change.kind == "added":
        return f"{member}: added {_shown(change.new, secret)}"
    if change.kind == "removed":
        return f"{member}: removed (was {_shown(change.old, secret)})"
    return f"{member}: {_shown(change.old, secret)} → {_shown(change.new, secret)}"


def _change_record(change: ConfigChange) -> dict[str, Any]:
    secret = _is_secret_path(change.path)
    record: dict[str, Any] = {"member": path_text(change.path), "kind": change.kind}
    if change.kind != "added":
        record["old"] = REDACTED if secret else change.old
    if change.kind != "removed":
        record["new"] = REDACTED if secret else change.new
    return record


def _update_record(update: ConfigUpdate) -> dict[str, Any]:
    return {
        "name": update.name,
        "ok": True,
        "written": update.written,
        "changes": [_change_record(change) for change in update.changes],
        "identity_kept": list(update.identity_kept),
    }


async def config_get(camera: AsyncCamera, args: argparse.Namespace) -> int:
    value = await camera.get_config(args.name)
    if args.json:
        print_json(value)
    else:
        print(pretty_json(value))
    return ExitCode.SUCCESS


async def config_set(camera: AsyncCamera, args: argparse.Namespace) -> int:
    update = await camera.update_config(
        args.name, args.value, replace=args.replace, dry_run=args.dry_run
    )
    if args.json:
        print_json(_update_record(update))
        return ExitCode.SUCCESS
    name = safe_text(args.name)
    if not update.changed:
        print(f"{name}: unchanged (nothing written)")
        return ExitCode.SUCCESS
    print(f"{name}: {'set' if update.written else 'would change (dry run)'}")
    for change in update.changes:
        print(f"  {change_line(change)}")
    return ExitCode.SUCCESS


def _chosen_names(args: argparse.Namespace) -> list[str] | None:
    """The names or patterns of `--name` and `--names`, or None for every known name."""
    chosen = [*(args.name or [])]
    for text in args.names or []:
        chosen += [item.strip() for item in text.split(",") if item.strip()]
    return chosen or None


async def _probe(camera: AsyncCamera, args: argparse.Namespace) -> ConfigProbe:
    progress = Progress()
    progress.show("asking the camera for every config name…")
    try:
        return await camera.probe_config(_chosen_names(args))
    finally:
        progress.done()


def probe_summary(probe: ConfigProbe) -> str:
    """`43 of 61 names answered, 18 refused (Ret 607: 16, Ret 103: 2); 62 requests`."""
    counts: dict[int, int] = {}
    for ret in probe.refused.values():
        counts[ret] = counts.get(ret, 0) + 1
    text = f"{len(probe.values)} of {probe.probed} names answered"
    if counts:
        rets = ", ".join(f"Ret {ret}: {count}" for ret, count in sorted(counts.items()))
        text += f", {len(probe.refused)} refused ({rets})"
    return f"{text}; {probe.requests} requests"


async def config_names(camera: AsyncCamera, args: argparse.Namespace) -> int:
    probe = await _probe(camera, args)
    if args.json:
        print_json(
            [{"name": name, "ok": True} for name in probe.values]
            + [
                {"name": name, "ok": False, "ret": ret, "error": ret_meaning(ret)}
                for name, ret in probe.refused.items()
            ]
        )
        return ExitCode.SUCCESS
    for name in probe.values:
        print(safe_text(name))
    print(f"xmcam: {probe_summary(probe)}", file=sys.stderr)
    return ExitCode.SUCCESS


async def config_export(camera: AsyncCamera, args: argparse.Namespace) -> int:
    probe = await _probe(camera, args)
    tree = probe.values
    if not tree:
        raise CommandError(f"nothing to export: {probe_summary(probe)}", ExitCode.DEVICE)
    text = export_text(tree)
    if args.file == "-":
        sys.stdout.write(text)
        return ExitCode.SUCCESS
    write_atomically(args.file, text)
    if args.json:
        print_json(
            {
                "file": args.file,
                "names": list(tree),
                "refused": probe.refused,
                "requests": probe.requests,
            }
        )
    else:
        print(
            f"{len(tree)} config names written to {safe_text(args.file)} ({probe_summary(probe)})"
        )
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
    dry_run = getattr(args, "dry_run", False)
    keep_identity = not getattr(args, "include_identity", False)
    progress = Progress()
    failed: list[str] = []
    changed = 0
    for number, (name, value) in enumerate(tree.items(), start=1):
        progress.show(f"importing {number}/{len(tree)}: {name}")
        try:
            update = await camera.update_config(
                name, value, keep_identity=keep_identity, dry_run=dry_run
            )
        except AuthenticationError:
            raise  # a refused login again for every name left would lock the account
        except (DeviceError, ValueError) as error:
            failed.append(name)
            progress.done()
            _report_failure(args, name, error)
        else:
            changed += update.changed
            progress.done()
            _report(args, update)
    progress.done()
    if dry_run and not args.json:
        print(f"dry run: {changed} of {len(tree)} config names would change; nothing written")
    if failed:
        raise CommandError(
            f"{len(failed)} of {len(tree)} config names not imported: "
            + ", ".join(safe_text(name, 60) for name in failed),
            ExitCode.DEVICE,
        )
    return ExitCode.SUCCESS


def _report(args: argparse.Namespace, update: ConfigUpdate) -> None:
    """One line per name (and, in a dry run, one per change), printed as it happens: if the
    connection dies half way, the lines so far say exactly what was written."""
    if args.json:
        print_json(_update_record(update))
        return
    name = safe_text(update.name)
    kept = ", ".join(safe_text(member, 40) for member in update.identity_kept)
    if not update.changed:
        outcome = "unchanged"
    elif update.written:
        outcome = "ok"
    else:
        outcome = "would change"
    if kept:
        outcome += f" (this camera's {kept} kept; --include-identity writes them)"
    print(f"{name}: {outcome}", flush=True)
    if not update.written:
        for change in update.changes:
            print(f"  {change_line(change)}", flush=True)


def _report_failure(args: argparse.Namespace, name: str, error: Exception) -> None:
    if args.json:
        record: dict[str, Any] = {"name": name, "ok": False, "error": str(error)}
        if isinstance(error, DeviceError):
            record["ret"] = error.ret
        print_json(record)
    else:
        print(f"{safe_text(name)}: FAILED: {safe_text(str(error))}", flush=True)


# ------------------------------------------------------------------------ config diff


@dataclass(frozen=True)
class _NameChange:
    """One config value that differs between two trees: `name` its config name, `change` the
    member (path relative to the name's value)."""

    name: str
    change: ConfigChange

    @property
    def place(self) -> str:
        """The full place, in the device's own naming: `Camera.Param.[0].Style`."""
        return self.name + "".join(
            f".[{part}]" if isinstance(part, int) else f".{part}" for part in self.change.path
        )


def diff_trees(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[_NameChange]:
    """What differs from `old` to `new` ({config name: value}), name by name in `old`'s order,
    then the names only `new` has. Both are redacted first, as an export is: a secret never
    shows, and a backup's `<redacted>` equals any secret (it cannot be compared)."""
    old, new = _redact_answers(redact(dict(old))), _redact_answers(redact(dict(new)))
    found = []
    for name in [*old, *(name for name in new if name not in old)]:
        if name not in new:
            found.append(_NameChange(name, ConfigChange((), old[name], None, "removed")))
        elif name not in old:
            found.append(_NameChange(name, ConfigChange((), None, new[name], "added")))
        else:
            found += [_NameChange(name, change) for change in changes(old[name], new[name])]
    return found


def _diff_line(item: _NameChange) -> str:
    change = item.change
    place = safe_text(item.place, 100)
    secret = _is_secret_path(change.path)
    if change.kind == "added":
        return f"{place}: added {_shown(change.new, secret)}"
    if change.kind == "removed":
        return f"{place}: removed (was {_shown(change.old, secret)})"
    return f"{place}: {_shown(change.old, secret)} → {_shown(change.new, secret)}"


def _show_diff(
    args: argparse.Namespace,
    sides: tuple[str, str],
    old: Mapping[str, Any],
    new: Mapping[str, Any],
) -> int:
    """Print the differences; exit 0 when there are none, 1 when there are (as diff does)."""
    found = diff_trees(old, new)
    names = len(old.keys() | new.keys())
    differing = len({item.name for item in found})
    if args.json:
        print_json(
            {
                "old": sides[0],
                "new": sides[1],
                "same": not found,
                "names": names,
                "names_differing": differing,
                "changes": [
                    {"name": item.name, "place": item.place, **_change_record(item.change)}
                    for item in found
                ],
            }
        )
    else:
        for item in found:
            print(_diff_line(item))
        summary = (
            f"{differing} of {names} config names differ "
            f"({len(found)} value{'' if len(found) == 1 else 's'})"
            if found
            else f"no differences in {names} config names"
        )
        print(f"{safe_text(sides[0])} → {safe_text(sides[1])}: {summary}", file=sys.stderr)
    return ExitCode.FAILURE if found else ExitCode.SUCCESS


async def config_diff(camera: AsyncCamera, args: argparse.Namespace) -> int:
    """The backup (`args.tree`, read from `args.file`) against the camera now: the camera is
    asked for the names the backup has, no others (a backup of `NetWork.*` is not a list of
    everything the camera lacks)."""
    backup: dict[str, Any] = args.tree
    progress = Progress()
    progress.show(f"asking the camera for the {len(backup)} config names of the backup…")
    try:
        probe = await camera.probe_config(list(backup))
    finally:
        progress.done()
    return _show_diff(args, (args.file, f"the camera at {args.camera}"), backup, probe.values)


def _diff_handler(args: argparse.Namespace) -> int:
    # Both files are read before connecting: a typo in one costs no login.
    args.tree = _read_tree(args.file)
    if args.other is not None:
        return _show_diff(args, (args.file, args.other), args.tree, _read_tree(args.other))
    args.camera = target_of(args).address
    return camera_command(config_diff)(args)


def _set_handler(args: argparse.Namespace) -> int:
    # The value is read before connecting: a typo in it costs no login.
    args.value = read_json_argument(args.value)
    return camera_command(config_set)(args)


def _import_handler(args: argparse.Namespace) -> int:
    args.tree = _read_tree(args.file)
    return camera_command(config_import)(args)


def _add_name_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--names",
        action="append",
        metavar="LIST",
        help="only these names, comma-separated; * and ? match known names (NetWork.*)",
    )
    parser.add_argument("--name", action="append", metavar="NAME", help="only this name (repeat)")


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
            "  xmcam config set 'Camera.Param.[0]' @param.json\n"
            "  xmcam config names\n"
            "  xmcam config export backup.json && xmcam config import backup.json --dry-run"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    get = actions.add_parser(
        "get", help="print one config", epilog="example: xmcam config get 'Camera.Param.[0]'"
    )
    get.add_argument("name", metavar="NAME", help="config name, e.g. General.General")
    get.set_defaults(handler=camera_command(config_get))
    put = actions.add_parser(
        "set",
        help="change one config (a partial object is merged into the camera's)",
        description=(
            "Read the config, merge VALUE into it and write the whole object back: members "
            "left out keep the camera's values; an array is replaced whole, or changed by "
            'index with an object such as {"1": {"Enable": true}}. Nothing is written when '
            "nothing changes."
        ),
        epilog='example: echo \'{"MachineName": "porch"}\' | xmcam config set General.General -',
    )
    put.add_argument("name", metavar="NAME", help="config name")
    put.add_argument(
        "value",
        metavar="JSON|@FILE|-",
        help="the new value: JSON text, @FILE to read it from a file, - for standard input",
    )
    put.add_argument(
        "--replace", action="store_true", help="send VALUE as the whole object, as given"
    )
    put.add_argument("--dry-run", action="store_true", help="show the changes, write nothing")
    put.set_defaults(handler=_set_handler)
    names = actions.add_parser(
        "names",
        help="list the config names this camera has",
        description=(
            "Ask the camera for every known config name (per-channel names once per channel) "
            "and list those it answers; a summary of the refused ones goes to stderr."
        ),
        epilog="example: xmcam config names --names 'NetWork.*'",
    )
    _add_name_options(names)
    names.set_defaults(handler=camera_command(config_names))
    export = actions.add_parser(
        "export",
        help="save every config the camera has to a JSON file",
        description=(
            "Ask the camera for every known config name (per-channel names once per "
            "channel) and save each one it answers; refused names are skipped and counted."
        ),
        epilog="example: xmcam config export backup.json --names 'NetWork.*,General.*'",
    )
    export.add_argument("file", metavar="FILE", help="the file to write (- for standard output)")
    _add_name_options(export)
    export.set_defaults(handler=camera_command(config_export))
    diff = actions.add_parser(
        "diff",
        help="compare a backup with the camera, or two backups",
        description=(
            "Show what differs between a backup (a file from `config export`) and the camera "
            "now, or between two backups (FILE first, FILE2 second; no camera is asked): each "
            "value changed, added or removed, by its full place (Camera.Param.[0].Style). "
            "Against the camera only the backup's own names are compared. Secrets are "
            "redacted on both sides and so never differ. Exit 0 when there is no difference, "
            "1 when there is one (as diff), other codes for errors."
        ),
        epilog=(
            "examples:\n"
            "  xmcam config diff backup.json\n"
            "  xmcam --json config diff monday.json tuesday.json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    diff.add_argument(
        "file", metavar="FILE", help="a file from `config export` (- for standard input)"
    )
    diff.add_argument(
        "other",
        metavar="FILE2",
        nargs="?",
        help="a second export to compare FILE with, instead of the camera",
    )
    diff.set_defaults(handler=_diff_handler)
    restore = actions.add_parser(
        "import",
        help="write every config from a JSON file",
        description=(
            "Merge each config of the file into the camera's and write it back whole; names "
            "that would not change are not written. This camera's identity (its IP address, "
            "netmask and gateway, MAC, serial number) is never taken from the file unless "
            "--include-identity."
        ),
        epilog="example: xmcam config import backup.json --dry-run",
    )
    restore.add_argument("file", metavar="FILE", help="a file from `config export` (- for stdin)")
    restore.add_argument(
        "--dry-run", action="store_true", help="show what would change, write nothing"
    )
    restore.add_argument(
        "--include-identity",
        action="store_true",
        help="also write the file's addresses, MAC and serial (restoring this same camera)",
    )
    # One object per name as it is written: if the connection dies half way, the lines so far
    # say exactly what was written (a progress stream, not one document at the end).
    json_lines(restore)
    restore.set_defaults(handler=_import_handler)
