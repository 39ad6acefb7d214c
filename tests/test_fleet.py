"""xmcam.fleet: the inventory file, and run_fleet() against several simulated cameras at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.waiting import until
from xmcam.aio import AsyncCamera
from xmcam.errors import AuthenticationError, ConfigNotFoundError
from xmcam.fleet import (
    CameraEntry,
    CameraResult,
    Inventory,
    InventoryError,
    current_entry,
    describe_error,
    find_camera,
    load_inventory,
    run_fleet,
)
from xmcam.sim import Simulator

SECRET = "hunter2"  # the tests' conftest fails any test whose logs hold it


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


# ------------------------------------------------------------------------ the inventory file


def test_load_inventory_reads_cameras_defaults_and_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEET_PW", SECRET)
    path = write(
        tmp_path,
        """
        [defaults]
        user = "operator"
        password_env = "FLEET_PW"
        timeout = 3

        [[camera]]
        name = "porch"
        host = "192.0.2.10"

        [[camera]]
        name = "garage-2"
        host = "192.0.2.11:34568"
        user = "admin"
        password = "other"
        timeout = 1.5

        [[camera]]
        name = "nvr.v6"
        host = "[::1]:4000"

        [[camera]]
        name = "bare_v6"
        host = "fe80::1"
        port = 5000
        password = ""
        """,
    )
    inventory = load_inventory(path)
    assert isinstance(inventory, Inventory)
    assert len(inventory) == 4
    porch, garage, nvr, bare = inventory
    assert porch == CameraEntry("porch", "192.0.2.10", 34567, "operator", SECRET, 3.0)
    assert garage == CameraEntry("garage-2", "192.0.2.11", 34568, "admin", "other", 1.5)
    assert (nvr.host, nvr.port, nvr.password, nvr.address) == ("::1", 4000, SECRET, "[::1]:4000")
    assert (bare.host, bare.port, bare.password) == ("fe80::1", 5000, "")
    assert SECRET not in repr(inventory)
    assert "other" not in repr(garage)


def test_load_inventory_defaults_without_a_defaults_table(tmp_path: Path) -> None:
    path = write(tmp_path, '[[camera]]\nname = "a"\nhost = "192.0.2.1"\n')
    (camera,) = load_inventory(path).cameras
    assert camera == CameraEntry("a", "192.0.2.1")
    assert (camera.port, camera.user, camera.password, camera.timeout) == (
        34567,
        "admin",
        "",
        10.0,
    )


CAMERA = '[[camera]]\nname = "porch"\nhost = "192.0.2.10"\n'


def test_alarm_center_addresses_are_read_as_addresses_and_networks(tmp_path: Path) -> None:
    text = CAMERA + 'alarm_center_addresses = ["192.0.2.1", "10.0.0.7/24", "FD00::5", "::1/128"]\n'
    (camera,) = load_inventory(write(tmp_path, text)).cameras
    assert camera.alarm_center_addresses == ("192.0.2.1", "10.0.0.0/24", "fd00::5", "::1")
    (plain,) = load_inventory(write(tmp_path, CAMERA)).cameras
    assert plain.alarm_center_addresses == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[camera]]\nname = "porch"\n', "camera 1 (porch): host: missing"),
        ('[[camera]]\nhost = "h"\n', "camera 1: name: missing"),
        ('[[camera]]\nname = "a/b"\nhost = "h"\n', "camera 1: name: expected"),
        ('[[camera]]\nname = ".hidden"\nhost = "h"\n', "camera 1: name: expected"),
        (CAMERA + "port = 70000\n", "camera 1 (porch): port: bad port 70000"),
        (CAMERA + "port = true\n", "camera 1 (porch): port: bad port True"),
        ('[[camera]]\nname = "p"\nhost = "h:0"\n', "camera 1 (p): host: bad port 0:"),
        ('[[camera]]\nname = "p"\nhost = "h:"\n', "camera 1 (p): host: bad port ''"),
        ('[[camera]]\nname = "p"\nhost = "h:x1"\n', "camera 1 (p): host: bad port 'x1'"),
        ('[[camera]]\nname = "p"\nhost = "[::1"\n', "camera 1 (p): host: bad host"),
        ('[[camera]]\nname = "p"\nhost = ":80"\n', "camera 1 (p): host: bad host"),
        ('[[camera]]\nname = "p"\nhost = "a b"\n', "camera 1 (p): host: must be"),
        ('[[camera]]\nname = "p"\nhost = "h:80"\nport = 81\n', "camera 1 (p): port: given twice"),
        (CAMERA + 'password = "x"\npassword_env = "Y"\n', "camera 1 (porch): password: give"),
        (CAMERA + "password = 1234\n", "camera 1 (porch): password: must be a string"),
        (CAMERA + 'password_env = ""\n', "camera 1 (porch): password_env: must be the name"),
        (CAMERA + 'password_env = "XMCAM_FLEET_UNSET"\n', "XMCAM_FLEET_UNSET is not set"),
        (CAMERA + "timeout = 0\n", "camera 1 (porch): timeout: bad timeout 0"),
        (CAMERA + "timeout = nan\n", "camera 1 (porch): timeout: bad timeout nan"),
        (CAMERA + 'timeout = "5"\n', "camera 1 (porch): timeout: bad timeout '5'"),
        (CAMERA + 'user = ""\n', "camera 1 (porch): user: must be a non-empty string"),
        (CAMERA + 'pasword = "x"\n', "camera 1 (porch): pasword: unknown key"),
        (CAMERA + CAMERA, "camera 2 (porch): name: already used by camera 1"),
        (CAMERA + CAMERA.replace("porch", "PORCH"), "camera 2 (PORCH): name: already used"),
        ("", "camera: no [[camera]] table"),
        ('[camera]\nname = "x"\n', "camera: must be an array of tables"),
        ("camera = 3\n", "camera: must be an array of tables"),
        ("camera = [1]\n", "camera 1: must be a table"),
        ('cameras = []\n[[camera]]\nname = "p"\nhost = "h"\n', "cameras: unknown key"),
        ("defaults = 1\n" + CAMERA, "defaults: must be a table"),
        ('[defaults]\nname = "x"\n' + CAMERA, "[defaults]: name: unknown key"),
        ("[defaults]\nport = 0\n" + CAMERA, "[defaults]: port: bad port 0"),
        ("[[camera]]\nname = \n", "not TOML: Invalid value (at line 2, column 8)"),
        (CAMERA + 'alarm_center_addresses = "10.0.0.1"\n', "alarm_center_addresses: must be a"),
        (CAMERA + "alarm_center_addresses = [1]\n", "alarm_center_addresses: not an IP"),
        (CAMERA + 'alarm_center_addresses = ["gw.lan"]\n', "not an IP address or network"),
        (CAMERA + f"alarm_center_addresses = {['10.0.0.1'] * 65}\n", "up to 64 addresses"),
        ("[defaults]\nalarm_center_addresses = []\n" + CAMERA, "[defaults]: alarm_center"),
    ],
)
def test_load_inventory_refuses_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    monkeypatch.delenv("XMCAM_FLEET_UNSET", raising=False)
    path = write(tmp_path, text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_load_inventory_errors_never_show_a_password(tmp_path: Path) -> None:
    for text in (
        CAMERA + f'password = "{SECRET}"\npassword_env = "X"\n',
        CAMERA + f'pasword = "{SECRET}"\n',
        CAMERA + f'passwd = "{SECRET}"\n',
        f'[defaults]\npassword = "{SECRET}"\npassword_env = "X"\n' + CAMERA,
    ):
        with pytest.raises(InventoryError) as caught:
            load_inventory(write(tmp_path, text))
        assert SECRET not in str(caught.value)


def test_load_inventory_refuses_a_missing_or_binary_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match=r"missing\.toml: cannot read: No such file"):
        load_inventory(tmp_path / "missing.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[[camera]]")
    with pytest.raises(InventoryError, match="not UTF-8"):
        load_inventory(binary)


@pytest.mark.skipif(os.name != "posix", reason="mode bits")
def test_readable_file_with_clear_passwords_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "xmcam.fleet")
    path = write(tmp_path, CAMERA + 'password = "visible"\n', mode=0o644)
    load_inventory(path)
    load_inventory(path)
    warnings = [record for record in caplog.records if record.name == "xmcam.fleet"]
    assert len(warnings) == 1
    assert "chmod 600" in warnings[0].getMessage()
    assert "visible" not in caplog.text

    caplog.clear()
    private = tmp_path / "private"
    private.mkdir()
    load_inventory(write(private, CAMERA + 'password = "visible"\n', mode=0o600))
    env_only = tmp_path / "env"
    env_only.mkdir()
    load_inventory(write(env_only, CAMERA + 'password = ""\n', mode=0o644))
    assert not [record for record in caplog.records if record.name == "xmcam.fleet"]


ROOT = Path(__file__).parent.parent


def test_the_example_inventory_and_the_docs_example_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XMCAM_PASSWORD", SECRET)
    monkeypatch.setenv("XMCAM_NVR_PASSWORD", "other")
    example = load_inventory(ROOT / "examples" / "fleet.toml")
    assert [camera.name for camera in example] == ["porch", "garage", "yard-nvr", "lab"]
    assert [camera.password for camera in example] == [SECRET, SECRET, "other", ""]
    assert example.cameras[3].address == "[fd00::20]:34567"
    docs = (ROOT / "docs" / "fleet.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(.*?)```", docs, re.DOTALL)
    assert block is not None
    documented = load_inventory(write(tmp_path, block.group(1)))
    assert [camera.name for camera in documented] == ["porch", "garage", "yard-nvr"]


# ------------------------------------------------------------------------ running a fleet


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Fleet:
    """Five simulated cameras and an inventory for them: two good ones, an NVR, one entered
    with a wrong password, and one whose port is closed."""

    def __init__(self, sims: dict[str, Simulator], inventory: Inventory) -> None:
        self.sims = sims
        self.inventory = inventory


@contextlib.asynccontextmanager
async def fleet_of_five() -> AsyncIterator[Fleet]:
    sims = {
        "cam1": Simulator(),
        "cam2": Simulator(password=SECRET),
        "nvr": Simulator(profile="nvr-8ch"),
        "wrongpw": Simulator(password=SECRET),
    }
    async with contextlib.AsyncExitStack() as stack:
        for sim in sims.values():
            await stack.enter_async_context(sim)
        entries = [
            CameraEntry("cam1", "127.0.0.1", sims["cam1"].port, timeout=2),
            CameraEntry("cam2", "127.0.0.1", sims["cam2"].port, password=SECRET, timeout=2),
            CameraEntry("nvr", "127.0.0.1", sims["nvr"].port, timeout=2),
            CameraEntry("wrongpw", "127.0.0.1", sims["wrongpw"].port, password="wrong", timeout=2),
            CameraEntry("closed", "127.0.0.1", closed_port(), timeout=2),
        ]
        yield Fleet(sims, Inventory(tuple(entries)))


async def model(camera: AsyncCamera) -> str | None:
    return (await camera.system_info()).model


async def test_run_fleet_gives_one_result_per_camera_in_order() -> None:
    seen: list[CameraResult[str | None]] = []
    async with fleet_of_five() as fleet:
        results = await run_fleet(fleet.inventory, model, concurrency=3, progress=seen.append)
        assert fleet.sims["wrongpw"].device.login_attempts == 1
    assert [result.name for result in results] == ["cam1", "cam2", "nvr", "wrongpw", "closed"]
    assert sorted(seen, key=results.index) == results
    cam1, cam2, nvr, wrongpw, closed = results
    assert cam1.ok
    assert cam1.value == "HI3516D_83H50N"
    assert cam1.error is None
    assert cam2.ok
    assert cam2.value == "HI3516D_83H50N"
    assert nvr.ok
    assert nvr.value is not None
    assert nvr.value != cam1.value
    assert not wrongpw.ok
    assert wrongpw.value is None
    assert wrongpw.error is not None
    assert "Ret 203" in wrongpw.error
    assert not closed.ok
    assert closed.error is not None
    assert "cannot connect" in closed.error
    assert all(result.seconds >= 0 for result in results)
    for result in results:
        assert result.error is None or "\n" not in result.error
        assert SECRET not in repr(result)
        assert "wrong" not in repr(result.value)


async def test_a_refused_login_is_never_tried_again_in_the_run() -> None:
    async with Simulator(password=SECRET) as sim:
        account = ("127.0.0.1", sim.port)
        aliases = [
            CameraEntry(f"alias{number}", *account, password="wrong", timeout=2)
            for number in range(4)
        ]
        guest = CameraEntry("other-user", *account, user="guest", password="wrong", timeout=2)
        inventory = Inventory((*aliases, guest))
        results = await run_fleet(inventory, model, concurrency=8)
        # One refused login for admin, one for guest (Ret 205 unknown user): never more.
        assert sim.device.login_attempts == 2
    assert [result.ok for result in results] == [False] * 5
    assert results[0].error is not None
    assert "Ret 203" in results[0].error
    for result in results[1:4]:
        assert result.error == "not tried: the login as admin was refused for alias0"
    assert results[4].error is not None
    assert "Ret 205" in results[4].error


@pytest.mark.virtual_time  # the reply delays take no real time
async def test_run_fleet_keeps_to_the_concurrency_bound() -> None:
    sims = [Simulator() for _ in range(6)]
    active = peak = peak_sessions = 0

    async def slow_info(camera: AsyncCamera) -> int:
        nonlocal active, peak, peak_sessions
        active += 1
        peak = max(peak, active)
        await camera.system_info()
        peak_sessions = max(peak_sessions, sum(sim.session_count for sim in sims))
        active -= 1
        return camera.port

    async with contextlib.AsyncExitStack() as stack:
        for sim in sims:
            sim.faults.reply_delay = 0.05
            await stack.enter_async_context(sim)
        inventory = Inventory(
            tuple(CameraEntry(f"c{n}", "127.0.0.1", sim.port) for n, sim in enumerate(sims))
        )
        results = await run_fleet(inventory, slow_info, concurrency=2)
        assert [result.value for result in results] == [sim.port for sim in sims]
        assert peak == 2
        assert 1 <= peak_sessions <= 2
        one_at_a_time = await run_fleet(inventory, slow_info, concurrency=1)
        assert all(result.ok for result in one_at_a_time)
        assert peak == 2
        assert active == 0
    with pytest.raises(ValueError, match="at least 1"):
        await run_fleet(inventory, slow_info, concurrency=0)


@pytest.mark.virtual_time  # the request timeout takes no real time
async def test_action_failures_are_results() -> None:
    async def missing_config(camera: AsyncCamera) -> Any:
        return await camera.get_config("No.Such.Config")

    async def broken(camera: AsyncCamera) -> Any:
        raise KeyError("not here")

    async with Simulator() as sim:
        inventory = Inventory((CameraEntry("a", "127.0.0.1", sim.port, timeout=2),))
        (missing,) = await run_fleet(inventory, missing_config)
        (bug,) = await run_fleet(inventory, broken)
        sim.faults.silent_ids.add(1020)
        (silent,) = await run_fleet(
            Inventory((CameraEntry("a", "127.0.0.1", sim.port, timeout=0.2),)), model
        )
    assert missing.error is not None
    assert missing.error.startswith("Ret 607")
    assert bug.error == "'not here'"
    assert silent.error == "no reply to SYSINFO_REQ within 0.2 s"


async def test_current_entry_is_the_camera_the_action_runs_for() -> None:
    with pytest.raises(LookupError):
        current_entry()

    async def own_name(camera: AsyncCamera) -> tuple[str, int]:
        await asyncio.sleep(0)  # the other cameras' actions run meanwhile
        return current_entry().name, camera.port

    async with Simulator() as first, Simulator() as second:
        inventory = Inventory(
            (
                CameraEntry("first", "127.0.0.1", first.port),
                CameraEntry("second", "127.0.0.1", second.port),
            )
        )
        results = await run_fleet(inventory, own_name)
        assert [result.value for result in results] == [
            ("first", first.port),
            ("second", second.port),
        ]
    with pytest.raises(LookupError):
        current_entry()


def test_describe_error_words_failures_in_one_line() -> None:
    assert describe_error(ConfigNotFoundError(607)).startswith("Ret 607")
    assert "Ret 203" in describe_error(AuthenticationError(203))
    assert describe_error(TimeoutError()) == "no answer in time"
    refused = ConnectionRefusedError(111, "Connection refused")
    assert describe_error(refused) == "cannot reach the camera: Connection refused"
    assert describe_error(ValueError("two\nlines")) == "two lines"
    assert describe_error(RuntimeError()) == "RuntimeError"


async def test_cancelling_a_run_reports_the_cameras_not_done() -> None:
    seen: list[CameraResult[str | None]] = []
    first_done = asyncio.Event()

    async def slow_model(camera: AsyncCamera) -> str | None:
        if camera.port != sims[0].port:
            await asyncio.sleep(30)
        return await model(camera)

    def note(result: CameraResult[str | None]) -> None:
        seen.append(result)
        first_done.set()

    sims = [Simulator() for _ in range(4)]
    async with contextlib.AsyncExitStack() as stack:
        for sim in sims:
            await stack.enter_async_context(sim)
        inventory = Inventory(
            tuple(CameraEntry(f"c{n}", "127.0.0.1", sim.port) for n, sim in enumerate(sims))
        )
        run = asyncio.create_task(run_fleet(inventory, slow_model, concurrency=2, progress=note))
        await first_done.wait()
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        assert [result.name for result in seen] == ["c0", "c1", "c2", "c3"]
        assert seen[0].ok
        assert [result.error for result in seen[1:]] == ["cancelled"] * 3
        # The connections under way were closed (logged out), not left open.
        await until(lambda: sum(sim.connection_count for sim in sims) == 0, 1)


def test_find_camera_resolves_only_the_camera_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XMCAM_TEST_UNSET", raising=False)
    monkeypatch.setenv("XMCAM_TEST_PORCH", "s3cret")
    path = tmp_path / "cameras.toml"
    path.write_text(
        '[defaults]\nuser = "viewer"\ntimeout = 4\n\n'
        '[[camera]]\nname = "porch"\nhost = "10.0.0.5:34568"\npassword_env = "XMCAM_TEST_PORCH"\n\n'
        '[[camera]]\nname = "yard"\nhost = "10.0.0.6"\npassword_env = "XMCAM_TEST_UNSET"\n\n'
        '[[camera]]\nname = "bad"\nhost = "10.0.0.7"\nport = 0\n',
        encoding="utf-8",
    )
    porch = find_camera(path, "porch")
    assert porch == CameraEntry("porch", "10.0.0.5", 34568, "viewer", "s3cret", 4.0)
    assert find_camera(path, "nosuch") is None
    with pytest.raises(InventoryError, match=r"camera 2 \(yard\): password_env: .*not set"):
        find_camera(path, "yard")  # and only when asked for
    with pytest.raises(InventoryError, match=r"camera 3 \(bad\): port: bad port 0"):
        find_camera(path, "bad")
    with pytest.raises(InventoryError, match="cannot read"):
        find_camera(tmp_path / "missing.toml", "porch")
