"""The `xmcam` command. Every command is a module with `add_parser()`; `main()` dispatches.

Commands use the public API only (the asyncio client, one `asyncio.run` per command; see
`xmcam.cli.session`). Errors end as one line on stderr and a named exit code
(`xmcam.cli.output.ExitCode`), never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from xmcam import __version__
from xmcam.cli import (
    abilities,
    alarm_out,
    audit,
    bridge,
    channels,
    clock,
    completion,
    config,
    decode,
    defaults,
    demo,
    discover,
    files,
    fleet,
    info,
    log,
    ptz,
    raw,
    reboot,
    rtsp_url,
    sim,
    snapshot,
    storage,
    stream,
    talk,
    upgrade,
    users,
    watch,
)
from xmcam.cli.output import CommandError, ExitCode, safe_text, warn_password_on_command_line
from xmcam.cli.parsing import (
    CommandParser,
    add_after_the_command,
    add_json_option,
    all_parsers,
    json_refusal,
)
from xmcam.cli.session import PASSWORD_ENVIRONMENT, add_global_options, configure_logging
from xmcam.cli.signals import interrupted_exit_code, signals_noted, sigterm_as_ctrl_c
from xmcam.errors import (
    AccountLockedError,
    AuthenticationError,
    DeviceError,
    EncryptionRequiredError,
    EncryptionUnavailableError,
    ProtocolError,
    RequestTimeoutError,
    TransportError,
    XMCamError,
)

__all__ = ["ExitCode", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="xmcam",
        description="Toolkit for Xiongmai (XMEye / iCSee / NetSurveillance) cameras and recorders.",
        epilog=(
            "examples:\n"
            "  xmcam demo\n"
            "  XMCAM_HOST=192.168.1.10 XMCAM_PASSWORD=secret xmcam info\n"
            "  xmcam -H 192.168.1.10:34567 -u admin --json config get General.General\n"
            "\nxmcam COMMAND --help shows each command's options and an example."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_json_option(
        parser,
        "print JSON for scripts: one JSON document from a one-shot command, JSON Lines from a "
        "stream (watch); each command's --help says which",
    )
    parser.add_argument("--version", action="version", version=f"xmcam {__version__}")
    add_global_options(parser)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in (
        demo,
        info,
        config,
        alarm_out,
        watch,
        clock,
        reboot,
        upgrade,
        users,
        audit,
        log,
        storage,
        abilities,
        channels,
        defaults,
        ptz,
        stream,
        snapshot,
        rtsp_url,
        talk,
        files,
        discover,
        fleet,
        bridge,
        raw,
        decode,
        sim,
        completion,
    ):
        module.add_parser(commands)
    # Once for every command: --json and the global options after the command too.
    for command in all_parsers(parser):
        add_json_option(command)
    add_after_the_command(parser, add_global_options)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "json"):
        args.json = False
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    refusal = json_refusal(args)
    if refusal is not None:
        print(f"xmcam: --json is not taken here: {refusal}", file=sys.stderr)
        return ExitCode.USAGE
    undo_logging = configure_logging(args)
    undo_signals = sigterm_as_ctrl_c()  # SIGTERM (systemd, docker stop) as Ctrl-C
    # A command whose normal end is a signal (the MQTT bridge) has both only noted from its
    # very start, so that one arriving before its own handlers are in place still ends it
    # with 0, not 130 (the bridge's test once caught SIGINT just after the -p warning).
    clean_stop = bool(getattr(args, "signal_ends_cleanly", False))
    try:
        with signals_noted() if clean_stop else contextlib.nullcontext():
            if args.password:  # typed on the command line (the environment's is read later)
                warn_password_on_command_line("-p/--password", PASSWORD_ENVIRONMENT)
            return int(handler(args))
    except KeyboardInterrupt:  # 130 after Ctrl-C, 143 after SIGTERM
        return ExitCode.SUCCESS if clean_stop else interrupted_exit_code()
    except BrokenPipeError:
        # The reader went away (`xmcam demo --json | head -1`, `xmcam stream -o - | head -c
        # 1000`): stop writing quietly, and succeed, as Unix tools in a pipeline do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.SUCCESS
    except (CommandError, XMCamError, OSError) as error:
        message, code = _explain(error)
        print(f"xmcam: {safe_text(message)}", file=sys.stderr)
        return code
    finally:
        undo_signals()
        undo_logging()


def _explain(error: CommandError | XMCamError | OSError) -> tuple[str, ExitCode]:
    """The error line (without the "xmcam: ") and the exit code for an error."""
    if isinstance(error, CommandError):
        return str(error), error.code
    if isinstance(error, XMCamError):
        code = next(code for kind, code in _EXIT_CODES if isinstance(error, kind))
        hint = next((text for kind, text in _HINTS if isinstance(error, kind)), "")
        return f"{error}{hint}", code
    if isinstance(error, TimeoutError):
        return "no answer in time", ExitCode.TIMEOUT
    if error.filename is not None:
        # A local file (an output path, an inventory, a state file), not the network.
        return f"{error.filename}: {error.strerror or error}", ExitCode.FAILURE
    # Refused, reset, unreachable, unknown host name: the camera cannot be reached.
    return f"cannot reach the camera: {error.strerror or error}", ExitCode.CONNECTION


# What to try instead, after the error's own words.
_HINTS: tuple[tuple[type[XMCamError], str], ...] = (
    (EncryptionRequiredError, " (try --encryption auto)"),
    (EncryptionUnavailableError, " (try --encryption auto, or off)"),
    (AccountLockedError, f": {AccountLockedError.ADVICE}"),
)

# The first matching class wins: subclasses before their bases.
_EXIT_CODES: tuple[tuple[type[XMCamError], ExitCode], ...] = (
    (AuthenticationError, ExitCode.AUTHENTICATION),
    (DeviceError, ExitCode.DEVICE),
    (RequestTimeoutError, ExitCode.TIMEOUT),
    (TransportError, ExitCode.CONNECTION),
    (ProtocolError, ExitCode.PROTOCOL),
    (XMCamError, ExitCode.FAILURE),
)
