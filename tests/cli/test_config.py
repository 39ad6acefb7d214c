"""`xmcam config`: get, set (JSON, @FILE, stdin), export and import against the simulator."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import xmcam
from tests.cli.conftest import Run
from xmcam.aio import Link
from xmcam.cli import ExitCode
from xmcam.cli.config import config_import, fill_redacted, write_atomically
from xmcam.cli.output import CommandError
from xmcam.errors import AuthenticationError, ConnectionClosedError
from xmcam.sim import Simulator, SimulatorThread


def _machine_name(sim: SimulatorThread) -> str:
    return str(sim.simulator.state.get_config("General.General")["MachineName"])


def test_get_prints_indented_json(xmcam: Run) -> None:
    result = xmcam("config", "get", "General.General")
    assert result.code == ExitCode.SUCCESS
    assert '  "MachineName": "LocalHost",' in result.out.splitlines()
    assert json.loads(result.out)["MachineName"] == "LocalHost"


def test_get_json_is_one_line(xmcam: Run) -> None:
    result = xmcam("--json", "config", "get", "Camera.Param.[0]")
    assert result.code == ExitCode.SUCCESS
    (line,) = result.out.splitlines()
    assert isinstance(json.loads(line), dict)


def test_unknown_name_exits_6_with_ret_607_and_its_meaning(xmcam: Run) -> None:
    result = xmcam("config", "get", "No.Such.Config")
    assert result.code == ExitCode.DEVICE
    assert result.err.startswith("xmcam: Ret 607 (")
    assert "config" in result.err.lower()
    assert result.err.count("\n") == 1


def test_set_from_the_argument(xmcam: Run, sim: SimulatorThread) -> None:
    value = dict(sim.simulator.state.get_config("General.General"), MachineName="porch")
    result = xmcam("config", "set", "General.General", json.dumps(value))
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out == "General.General: set\n"
    assert _machine_name(sim) == "porch"


def test_set_from_a_file_and_from_stdin(xmcam: Run, sim: SimulatorThread, tmp_path: Path) -> None:
    value = dict(sim.simulator.state.get_config("General.General"), MachineName="from-file")
    path = tmp_path / "general.json"
    path.write_text(json.dumps(value), encoding="utf-8")
    assert xmcam("config", "set", "General.General", f"@{path}").code == ExitCode.SUCCESS
    assert _machine_name(sim) == "from-file"
    value["MachineName"] = "from-stdin"
    result = xmcam("--json", "config", "set", "General.General", "-", stdin=json.dumps(value))
    assert result.code == ExitCode.SUCCESS
    assert json.loads(result.out) == {"name": "General.General", "ok": True}
    assert _machine_name(sim) == "from-stdin"


@pytest.mark.parametrize("argument", ["{not json", "@/nonexistent/file.json"])
def test_bad_json_argument_exits_2_before_logging_in(
    xmcam: Run, sim: SimulatorThread, argument: str
) -> None:
    result = xmcam("config", "set", "General.General", argument)
    assert result.code == ExitCode.USAGE
    assert result.err.startswith("xmcam: ")
    assert result.err.count("\n") == 1
    assert sim.simulator.session_count == 0


def test_json_nested_too_deep_is_a_usage_error(
    xmcam: Run, sim: SimulatorThread, tmp_path: Path
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    for argv in (("config", "set", "General.General", f"@{deep}"), ("config", "import", str(deep))):
        result = xmcam(*argv)
        assert result.code == ExitCode.USAGE
        assert result.err.startswith("xmcam: ")
        assert result.err.count("\n") == 1
    assert sim.simulator.session_count == 0


def test_export_writes_every_name_to_a_file(
    xmcam: Run, sim: SimulatorThread, tmp_path: Path
) -> None:
    path = tmp_path / "backup.json"
    path.write_text("old contents", encoding="utf-8")
    result = xmcam("config", "export", str(path))
    assert result.code == ExitCode.SUCCESS, result.err
    tree = json.loads(path.read_text(encoding="utf-8"))
    assert tree["General.General"]["MachineName"] == "LocalHost"
    assert "Alarm.AlarmOut" in tree
    assert result.out == f"{len(tree)} config names written to {path}\n"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_export_some_names_to_stdout(xmcam: Run) -> None:
    result = xmcam("config", "export", "-", "--name", "General.General", "--name", "No.Such")
    assert result.code == ExitCode.SUCCESS
    assert list(json.loads(result.out)) == ["General.General"]


def test_export_to_a_missing_directory_fails_in_one_line(xmcam: Run, tmp_path: Path) -> None:
    result = xmcam("config", "export", str(tmp_path / "missing" / "backup.json"))
    assert result.code == ExitCode.FAILURE
    assert result.err.startswith("xmcam: cannot write ")
    assert result.err.count("\n") == 1


def test_import_writes_every_name_and_reports_each(
    xmcam: Run, sim: SimulatorThread, tmp_path: Path
) -> None:
    path = tmp_path / "backup.json"
    assert xmcam("config", "export", str(path)).code == ExitCode.SUCCESS
    tree = json.loads(path.read_text(encoding="utf-8"))
    tree["General.General"]["MachineName"] = "restored"
    path.write_text(json.dumps(tree), encoding="utf-8")
    result = xmcam("config", "import", str(path))
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out.splitlines() == [f"{name}: ok" for name in tree]
    assert _machine_name(sim) == "restored"


def test_import_goes_on_past_a_failing_name_and_says_which(
    xmcam: Run, sim: SimulatorThread, tmp_path: Path
) -> None:
    general = dict(sim.simulator.state.get_config("General.General"), MachineName="after")
    tree = {"No.Such.Config": {}, "General.General": general}
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(tree), encoding="utf-8")
    result = xmcam("--json", "config", "import", str(path))
    assert result.code == ExitCode.DEVICE
    first, second = (json.loads(line) for line in result.out.splitlines())
    assert first["name"] == "No.Such.Config"
    assert first["ok"] is False
    assert first["ret"] == 607
    assert second == {"name": "General.General", "ok": True}
    assert _machine_name(sim) == "after"
    assert result.err == "xmcam: 1 of 2 config names not imported: No.Such.Config\n"


def test_import_refuses_a_file_that_is_not_an_export(xmcam: Run, tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2]", encoding="utf-8")
    result = xmcam("config", "import", str(path))
    assert result.code == ExitCode.USAGE
    assert "not a config export" in result.err


def test_redacted_values_keep_the_device_value() -> None:
    listed = [{"Password": "a"}, {"Password": "b"}]
    current = {"SSID": "home", "Keys": "wifi-secret", "List": listed}
    new = {"SSID": "away", "Keys": "<redacted>", "List": [{"Password": "<redacted>"}]}
    assert fill_redacted(new, current) == {
        "SSID": "away",
        "Keys": "wifi-secret",
        "List": [{"Password": "a"}],
    }
    with pytest.raises(CommandError):
        fill_redacted({"Keys": "<redacted>"}, {})


def test_write_atomically_replaces_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "file.json"
    path.write_text("x" * 1000, encoding="utf-8")
    write_atomically(str(path), "{}\n")
    assert path.read_text(encoding="utf-8") == "{}\n"
    assert list(tmp_path.iterdir()) == [path]


def _alarm_server_password(sim: SimulatorThread) -> str:
    return str(sim.state.get_config("NetWork.AlarmServer")["Server"]["Password"])


def test_secrets_never_show_and_survive_export_and_import(
    xmcam: Run, sim: SimulatorThread, tmp_path: Path
) -> None:
    value = sim.state.get_config("NetWork.AlarmServer")
    value["Server"]["Password"] = "hunter2"
    assert xmcam("config", "set", "NetWork.AlarmServer", "-", stdin=json.dumps(value)).code == 0
    assert _alarm_server_password(sim) == "hunter2"
    shown = xmcam("config", "get", "NetWork.AlarmServer")
    assert '"Password": "<redacted>"' in shown.out
    assert "hunter2" not in shown.out
    path = tmp_path / "backup.json"
    assert xmcam("config", "export", str(path), "--name", "NetWork.AlarmServer").code == 0
    text = path.read_text(encoding="utf-8")
    assert "hunter2" not in text
    tree = json.loads(text)
    tree["NetWork.AlarmServer"]["Server"]["Port"] = 15003
    path.write_text(json.dumps(tree), encoding="utf-8")
    assert xmcam("config", "import", str(path)).code == ExitCode.SUCCESS
    assert _alarm_server_password(sim) == "hunter2"
    assert sim.state.get_config("NetWork.AlarmServer")["Server"]["Port"] == 15003


def test_import_stops_at_a_refused_login_instead_of_logging_in_per_name() -> None:
    class PasswordChangedMidway(dict[str, Any]):
        """A tree whose reading, after the first name, changes the account's password (as an
        operator elsewhere might) and ends the connection (as if the device's EOF had come in
        while the command was between two names)."""

        def __init__(self, link: Link, sim: Simulator, tree: dict[str, Any]) -> None:
            super().__init__(tree)
            self.link, self.sim = link, sim

        def items(self) -> Any:
            for number, item in enumerate(super().items()):
                if number == 1:
                    self.sim.state.users[0]["Password"] = xmcam.sofia_hash("changed")
                    self.link.end(ConnectionClosedError("the camera hung up"))
                yield item

    async def scenario() -> None:
        async with Simulator() as sim, xmcam.connect(sim.host, sim.port) as camera:
            general = sim.state.get_config("General.General")
            names = ("General.General", "General.Location", "NetWork.NetCommon", "Record")
            tree = {name: sim.state.get_config(name) for name in names} | {"x": general}
            link = await camera.control_link()  # the connection the first names are written on
            args = argparse.Namespace(tree=PasswordChangedMidway(link, sim, tree), json=True)
            with pytest.raises(AuthenticationError):
                await config_import(camera, args)
            assert sim.device.login_attempts == 2  # the first, and one refused: no more

    asyncio.run(scenario())
