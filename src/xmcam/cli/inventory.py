"""Cameras by name: `xmcam -H porch info` when `porch` is a camera of the default inventory.

The inventory is the TOML file `xmcam fleet` reads (docs/fleet.md): `$XMCAM_INVENTORY`, or
else `cameras.toml` in xmcam's configuration directory (`$XDG_CONFIG_HOME/xmcam`, by default
`~/.config/xmcam`). A `-H` value that names one of its cameras takes that camera's host, port,
user, password (or password_env), timeout and encryption; what the command line gives
explicitly wins. Any other value is a host name or address, as before.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
from pathlib import Path
from typing import Final

from xmcam.cli.output import CommandError, ExitCode, safe_text
from xmcam.cli.session import DEFAULT_TIMEOUT, Target
from xmcam.fleet import CameraEntry, InventoryError, find_camera

__all__ = ["INVENTORY_ENVIRONMENT", "inventory_path", "inventory_target"]

INVENTORY_ENVIRONMENT: Final = "XMCAM_INVENTORY"


def inventory_path() -> Path:
    """Where the default inventory is (whether or not it exists)."""
    named = os.environ.get(INVENTORY_ENVIRONMENT)
    if named:
        return Path(named).expanduser()
    home = os.environ.get("XDG_CONFIG_HOME") or os.path.join("~", ".config")
    return Path(home).expanduser() / "xmcam" / "cameras.toml"


def inventory_target(args: argparse.Namespace) -> Target | None:
    """The camera `args.host` names in the default inventory, with the command line's own
    user, password, timeout and encryption where it gives them; None when `args.host` is a
    host name or address instead. A bare name that is neither a camera of the inventory nor
    a host name that resolves is an error naming the inventory (exit 3, as any unknown host).
    """
    text: str = args.host
    if not _could_be_a_name(text):
        return None
    path = inventory_path()
    try:
        entry = find_camera(path, text) if path.is_file() else None
    except InventoryError as error:
        raise CommandError(str(error), ExitCode.USAGE) from None
    if entry is None:
        _check_resolves(text, path)
        return None
    return _merged(entry, args)


def _could_be_a_name(text: str) -> bool:
    """Inventory names have no port and are not IP addresses."""
    if ":" in text or text.startswith("["):
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return True
    return False


def _check_resolves(name: str, path: Path) -> None:
    try:
        socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except UnicodeError:
        return  # not a host name at all: connecting says so, as a usage error
    except OSError as error:
        where = str(path) if path.is_file() else f"{path} (no such file)"
        raise CommandError(
            f"unknown camera {safe_text(name, 40)!r}: not in the inventory {where}, "
            f"not a host name ({error.strerror or error})",
            ExitCode.CONNECTION,
        ) from None


def _merged(entry: CameraEntry, args: argparse.Namespace) -> Target:
    """The entry, under what the command line says explicitly. The global options' defaults
    come from the environment (XMCAM_USER, XMCAM_PASSWORD, XMCAM_ENCRYPTION): those name
    "the" camera, and lose to this camera's own entry; an option typed differently wins."""
    user = args.user if args.user != os.environ.get("XMCAM_USER", "admin") else entry.user
    password = args.password if args.password is not None else entry.password
    timeout = args.timeout if args.timeout != DEFAULT_TIMEOUT else entry.timeout
    encryption = getattr(args, "encryption", "auto")
    if encryption == os.environ.get("XMCAM_ENCRYPTION", "auto"):
        encryption = entry.encryption
    return Target(entry.host, entry.port, user, password, timeout, encryption)
