"""`xmcam config`: get, set (JSON, @FILE, stdin), export and import against the simulator."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

import xmcam
from tests.cli.conftest import Run
from xmcam.aio import Link
from xmcam.cli import ExitCode
from xmcam.cli.config import config_import, export_text, write_atomically
from xmcam.errors import AuthenticationError, ConnectionClosedError
from xmcam.sim import Simulator, SimulatorThread

Written = list[tuple[str, Any]]


@pytest.fixture
def written(sim: SimulatorThread, monkeypatch: pytest.MonkeyPatch) -> Written:
    """Every config write the simulated camera receives, in order; and the camera REPLACES
    the value with the one written (as real firmware may), instead of merging it in: a
    member the client leaves out is lost."""
    received: Written = []
    state = sim.state

    def replace(name: str, value: Any) -> None:
        received.append((name, value))
        base, _, last = name.rpartition(".")
        if name not in state.config and last.startswith("[") and base in state.config:
            state.config[base][int(last[1:-1])] = value
        elif name in state.config:
            state.config[name] = value
        else:
            raise KeyError(name)

    monkeypatch.setattr(state, "set_config", replace)
    return received


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


def test_set_merges_a_partial_object_and_sends_it_whole(
    xmcam: Run, sim: SimulatorThread, written: Written
) -> None:
    before = sim.state.get_config("General.General")
    result = xmcam("config", "set", "General.General", '{"MachineName": "porch"}')
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out == 'General.General: set\n  MachineName: "LocalHost" → "porch"\n'
    assert written == [("General.General", dict(before, MachineName="porch"))]
    assert sim.state.get_config("General.General") == dict(before, MachineName="porch")


def test_set_from_a_file_and_from_stdin(
    xmcam: Run, sim: SimulatorThread, tmp_path: Path, written: Written
) -> None:
    path = tmp_path / "general.json"
    path.write_text(json.dumps({"MachineName": "from-file"}), encoding="utf-8")
    assert xmcam("config", "set", "General.General", f"@{path}").code == ExitCode.SUCCESS
    assert _machine_name(sim) == "from-file"
    value = {"MachineName": "from-stdin"}
    result = xmcam("--json", "config", "set", "General.General", "-", stdin=json.dumps(value))
    assert result.code == ExitCode.SUCCESS
    assert json.loads(result.out) == {
        "name": "General.General",
        "ok": True,
        "written": True,
        "changes": [
            {"member": "MachineName", "kind": "changed", "old": "from-file", "new": "from-stdin"}
        ],
        "identity_kept": [],
    }
    assert _machine_name(sim) == "from-stdin"
    assert len(written) == 2
    assert all(len(value) == len(sim.state.get_config("General.General")) for _, value in written)


def test_set_replace_sends_the_value_as_given(
    xmcam: Run, sim: SimulatorThread, written: Written
) -> None:
    result = xmcam("config", "set", "General.General", '{"MachineName": "x"}', "--replace")
    assert result.code == ExitCode.SUCCESS, result.err
    assert written == [("General.General", {"MachineName": "x"})]
    assert "  AutoLogout: removed (was 0)" in result.out.splitlines()


def test_set_changes_array_elements_by_index(
    xmcam: Run, sim: SimulatorThread, written: Written
) -> None:
    result = xmcam("config", "set", "Alarm.AlarmOut", '{"0": {"AlarmOutType": "MANUAL"}}')
    assert result.code == ExitCode.SUCCESS, result.err
    assert written == [("Alarm.AlarmOut", [{"AlarmOutStatus": "CLOSE", "AlarmOutType": "MANUAL"}])]
    refused = xmcam("config", "set", "Alarm.AlarmOut", '{"AlarmOutType": "AUTO"}')
    assert refused.code == ExitCode.USAGE
    assert "give the whole array" in refused.err
    assert refused.err.count("\n") == 1
    assert len(written) == 1


def test_set_writes_nothing_when_nothing_changes_or_in_a_dry_run(
    xmcam: Run, written: Written
) -> None:
    same = xmcam("config", "set", "General.General", '{"MachineName": "LocalHost"}')
    assert same.out == "General.General: unchanged (nothing written)\n"
    dry = xmcam("config", "set", "General.General", '{"AutoLogout": 5}', "--dry-run")
    assert dry.out == "General.General: would change (dry run)\n  AutoLogout: 0 → 5\n"
    assert written == []


def test_set_shows_changed_secrets_redacted(xmcam: Run, sim: SimulatorThread) -> None:
    value = {"Server": {"Password": "hunter2"}}
    result = xmcam("config", "set", "NetWork.NetNTP", json.dumps(value))
    assert result.code == ExitCode.SUCCESS, result.err
    assert "  Server.Password: <redacted> → <redacted>" in result.out.splitlines()
    as_json = xmcam("--json", "config", "set", "NetWork.NetNTP", '{"Server": {"Password": "x"}}')
    assert "hunter2" not in result.out + as_json.out
    assert '"old": "<redacted>", "new": "<redacted>"' in as_json.out
    assert _ntp_server_password(sim) == "x"


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


def test_export_writes_every_name_the_camera_has_to_a_file(
    xmcam: Run, sim: SimulatorThread, tmp_path: Path
) -> None:
    path = tmp_path / "backup.json"
    path.write_text("old contents", encoding="utf-8")
    result = xmcam("config", "export", str(path))
    assert result.code == ExitCode.SUCCESS, result.err
    tree = json.loads(path.read_text(encoding="utf-8"))
    assert tree["General.General"]["MachineName"] == "LocalHost"
    assert tree["Camera.Param.[0]"] == sim.state.get_config("Camera.Param.[0]")
    assert "Camera.Param" not in tree
    for name in ("Alarm.AlarmOut", "NetWork.AlarmServer", "Detect.MotionDetect.[0]"):
        assert name in tree
    summary = re.fullmatch(
        r"(\d+) config names written to (.+) \((\d+) of (\d+) names answered, "
        r"(\d+) refused \(Ret 607: (\d+)\); (\d+) requests\)\n",
        result.out,
    )
    assert summary is not None, result.out
    saved, file, answered, asked, refused, refused_607, requests = summary.groups()
    assert (int(saved), file, int(answered)) == (len(tree), str(path), len(tree))
    assert int(asked) == len(tree) + int(refused)
    assert refused == refused_607
    assert int(requests) == int(asked) + 1  # and SystemInfo for the channel counts
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_export_of_a_recorder_asks_per_channel(run_cli: Run, tmp_path: Path) -> None:
    with SimulatorThread(profile="nvr-8ch") as nvr:
        result = run_cli("-H", f"127.0.0.1:{nvr.port}", "--json", "config", "export", "-")
    tree = json.loads(result.out)
    assert [name for name in tree if name.startswith("Record.")] == [
        f"Record.[{n}]" for n in range(8)
    ]
    assert [name for name in tree if name.startswith("Alarm.LocalAlarm")] == [
        f"Alarm.LocalAlarm.[{n}]" for n in range(4)
    ]


def test_export_some_names_to_stdout(xmcam: Run) -> None:
    result = xmcam("config", "export", "-", "--name", "General.General", "--name", "No.Such")
    assert result.code == ExitCode.SUCCESS
    assert list(json.loads(result.out)) == ["General.General"]
    patterns = xmcam("config", "export", "-", "--names", "General.*, Detect.Motion*")
    assert list(json.loads(patterns.out)) == [
        "General.General",
        "General.Location",
        "General.AutoMaintain",
        "Detect.MotionDetect.[0]",
    ]


def test_export_json_summary_counts_refusals(xmcam: Run, tmp_path: Path) -> None:
    path = tmp_path / "backup.json"
    result = xmcam("--json", "config", "export", str(path), "--names", "General.*,No.Such")
    assert result.code == ExitCode.SUCCESS, result.err
    assert json.loads(result.out) == {
        "file": str(path),
        "names": ["General.General", "General.Location", "General.AutoMaintain"],
        "refused": {"General.PwdSafety": 607, "No.Such": 607},
        "requests": 5,
    }


def test_export_of_nothing_fails_and_writes_nothing(xmcam: Run, tmp_path: Path) -> None:
    path = tmp_path / "backup.json"
    result = xmcam("config", "export", str(path), "--name", "No.Such")
    assert result.code == ExitCode.DEVICE
    assert result.err.startswith("xmcam: nothing to export: 0 of 1 names answered")
    assert not path.exists()
    unknown = xmcam("config", "export", str(path), "--names", "Nothing.*")
    assert unknown.code == ExitCode.USAGE
    assert "no known config name matches 'Nothing.*'" in unknown.err


def test_names_lists_what_the_camera_has(xmcam: Run, sim: SimulatorThread) -> None:
    result = xmcam("config", "names")
    assert result.code == ExitCode.SUCCESS, result.err
    names = result.out.splitlines()
    assert names[0] == "General.General"
    assert "Camera.Param.[0]" in names
    assert "AVEnc.Encode" not in names  # the simulated camera refuses it
    assert result.err.startswith(f"xmcam: {len(names)} of ")
    assert " refused (Ret 607: " in result.err
    as_json = xmcam("--json", "config", "names", "--names", "NetWork.NetCommon,No.Such")
    assert json.loads(as_json.out) == [
        {"name": "NetWork.NetCommon", "ok": True},
        {"name": "No.Such", "ok": False, "ret": 607, "error": "config does not exist"},
    ]


def test_export_text_redacts_secrets_and_password_reset_answers() -> None:
    tree = {
        "General.PwdSafety": {"PwdReset": [{"QuestionAnswer": "Rex", "QuestionIndex": 2}]},
        "NetWork.Wifi": {"Keys": "wifi-secret", "SSID": "home"},
    }
    text = export_text(tree)
    assert "Rex" not in text
    assert "wifi-secret" not in text
    assert json.loads(text) == {
        "General.PwdSafety": {"PwdReset": [{"QuestionAnswer": "<redacted>", "QuestionIndex": 2}]},
        "NetWork.Wifi": {"Keys": "<redacted>", "SSID": "home"},
    }


def test_export_to_a_missing_directory_fails_in_one_line(xmcam: Run, tmp_path: Path) -> None:
    result = xmcam("config", "export", str(tmp_path / "missing" / "backup.json"))
    assert result.code == ExitCode.FAILURE
    assert result.err.startswith("xmcam: cannot write ")
    assert result.err.count("\n") == 1


def test_import_writes_what_changed_and_reports_each_name(
    xmcam: Run, sim: SimulatorThread, tmp_path: Path, written: Written
) -> None:
    path = tmp_path / "backup.json"
    assert xmcam("config", "export", str(path)).code == ExitCode.SUCCESS
    tree = json.loads(path.read_text(encoding="utf-8"))
    tree["General.General"]["MachineName"] = "restored"
    path.write_text(json.dumps(tree), encoding="utf-8")
    result = xmcam("config", "import", str(path))
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out.splitlines() == [
        f"{name}: {'ok' if name == 'General.General' else 'unchanged'}" for name in tree
    ]
    assert _machine_name(sim) == "restored"
    assert [name for name, _ in written] == ["General.General"]


def test_import_dry_run_shows_the_changes_and_writes_nothing(
    xmcam: Run, sim: SimulatorThread, tmp_path: Path, written: Written
) -> None:
    general = dict(sim.state.get_config("General.General"), MachineName="elsewhere")
    tree = {"General.General": general, "System.TimeZone": sim.state.get_config("System.TimeZone")}
    path = tmp_path / "backup.json"
    path.write_text(json.dumps(tree), encoding="utf-8")
    result = xmcam("config", "import", str(path), "--dry-run")
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out.splitlines() == [
        "General.General: would change",
        '  MachineName: "LocalHost" → "elsewhere"',
        "System.TimeZone: unchanged",
        "dry run: 1 of 2 config names would change; nothing written",
    ]
    assert written == []


def test_import_never_takes_another_cameras_identity_unless_asked(
    xmcam: Run, sim: SimulatorThread, tmp_path: Path, written: Written
) -> None:
    ours = sim.state.get_config("NetWork.NetCommon")
    theirs = dict(ours, HostIP="0x0B01A8C0", MAC="00:12:31:00:00:01", SN="0123", HttpPort=81)
    path = tmp_path / "other-camera.json"
    path.write_text(json.dumps({"NetWork.NetCommon": theirs}), encoding="utf-8")
    result = xmcam("config", "import", str(path))
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out == (
        "NetWork.NetCommon: ok (this camera's HostIP, MAC, SN kept; "
        "--include-identity writes them)\n"
    )
    assert written == [("NetWork.NetCommon", dict(ours, HttpPort=81))]
    assert xmcam("config", "import", str(path), "--include-identity").code == ExitCode.SUCCESS
    assert written[1] == ("NetWork.NetCommon", theirs)


def test_import_goes_on_past_a_failing_name_and_says_which(
    xmcam: Run, sim: SimulatorThread, tmp_path: Path
) -> None:
    general = dict(sim.state.get_config("General.General"), MachineName="after")
    tree = {
        "No.Such.Config": {},
        "Alarm.AlarmOut": {"AlarmOutType": "AUTO"},
        "General.General": general,
    }
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(tree), encoding="utf-8")
    result = xmcam("--json", "config", "import", str(path))
    assert result.code == ExitCode.DEVICE
    first, second, third = (json.loads(line) for line in result.out.splitlines())
    assert first["name"] == "No.Such.Config"
    assert first["ok"] is False
    assert first["ret"] == 607
    assert second["name"] == "Alarm.AlarmOut"
    assert second["ok"] is False
    assert "ret" not in second
    assert "give the whole array" in second["error"]
    assert third == {
        "name": "General.General",
        "ok": True,
        "written": True,
        "changes": [
            {"member": "MachineName", "kind": "changed", "old": "LocalHost", "new": "after"}
        ],
        "identity_kept": [],
    }
    assert _machine_name(sim) == "after"
    assert result.err == (
        "xmcam: 2 of 3 config names not imported: No.Such.Config, Alarm.AlarmOut\n"
    )


def test_import_refuses_a_file_that_is_not_an_export(xmcam: Run, tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2]", encoding="utf-8")
    result = xmcam("config", "import", str(path))
    assert result.code == ExitCode.USAGE
    assert "not a config export" in result.err


def test_write_atomically_replaces_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "file.json"
    path.write_text("x" * 1000, encoding="utf-8")
    write_atomically(str(path), "{}\n")
    assert path.read_text(encoding="utf-8") == "{}\n"
    assert list(tmp_path.iterdir()) == [path]


def _ntp_server_password(sim: SimulatorThread) -> str:
    return str(sim.state.get_config("NetWork.NetNTP")["Server"]["Password"])


def test_secrets_never_show_and_survive_export_and_import(
    xmcam: Run, sim: SimulatorThread, tmp_path: Path
) -> None:
    value = {"Server": {"Password": "hunter2"}}
    assert xmcam("config", "set", "NetWork.NetNTP", "-", stdin=json.dumps(value)).code == 0
    assert _ntp_server_password(sim) == "hunter2"
    shown = xmcam("config", "get", "NetWork.NetNTP")
    assert '"Password": "<redacted>"' in shown.out
    assert "hunter2" not in shown.out
    path = tmp_path / "backup.json"
    assert xmcam("config", "export", str(path), "--name", "NetWork.NetNTP").code == 0
    text = path.read_text(encoding="utf-8")
    assert "hunter2" not in text
    tree = json.loads(text)
    tree["NetWork.NetNTP"]["Server"]["Port"] = 124
    path.write_text(json.dumps(tree), encoding="utf-8")
    assert xmcam("config", "import", str(path)).code == ExitCode.SUCCESS
    assert _ntp_server_password(sim) == "hunter2"
    assert sim.state.get_config("NetWork.NetNTP")["Server"]["Port"] == 124


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


# ------------------------------------------------------------------------ config diff


def _write(path: Path, tree: dict[str, Any]) -> str:
    path.write_text(json.dumps(tree), encoding="utf-8")
    return str(path)


def test_diff_of_a_fresh_backup_against_the_camera_is_empty_and_exits_0(
    xmcam: Run, sim: SimulatorThread, tmp_path: Path
) -> None:
    backup = str(tmp_path / "backup.json")
    assert xmcam("config", "export", backup).code == ExitCode.SUCCESS
    result = xmcam("config", "diff", backup)
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out == ""
    assert result.err.startswith(f"{backup} → the camera at 127.0.0.1:{sim.port}: no differences")
    sim.call(sim.state.config["General.General"].update, MachineName="porch")
    changed = xmcam("config", "diff", backup)
    assert changed.code == 1  # as diff: different
    assert changed.out == 'General.General.MachineName: "LocalHost" → "porch"\n'
    assert "1 of " in changed.err


def test_diff_against_the_camera_asks_only_the_backups_names(
    xmcam: Run, sim: SimulatorThread, tmp_path: Path
) -> None:
    param = sim.state.get_config("Camera.Param.[0]")
    backup = _write(
        tmp_path / "b.json",
        {"Camera.Param.[0]": dict(param, DncThr=31), "No.Such.Name": {"A": 1}},
    )
    result = xmcam("--json", "config", "diff", backup)
    assert result.code == 1, result.err
    document = json.loads(result.out)
    assert document["same"] is False
    assert document["names"] == 2
    assert [(item["place"], item["kind"]) for item in document["changes"]] == [
        ("Camera.Param.[0].DncThr", "changed"),
        ("No.Such.Name", "removed"),  # the camera refuses it
    ]
    assert (document["changes"][0]["old"], document["changes"][0]["new"]) == (31, 30)


def test_diff_of_two_backups_needs_no_camera(run_cli: Run, tmp_path: Path) -> None:
    old = {
        "Camera.Param.[0]": {"Style": "type1", "Exposure": [1, 2]},
        "General.General": {"MachineName": "a", "AutoLogout": 0},
        "Gone.Name": {"X": 1},
    }
    new = {
        "Camera.Param.[0]": {"Style": "type2", "Exposure": [1, 3]},
        "General.General": {"MachineName": "a", "NewMember": True},
        "Added.Name": 7,
    }
    first, second = _write(tmp_path / "1.json", old), _write(tmp_path / "2.json", new)
    result = run_cli("config", "diff", first, second)  # no -H: no camera asked
    assert result.code == 1, result.err
    assert result.out.splitlines() == [
        'Camera.Param.[0].Style: "type1" → "type2"',
        "Camera.Param.[0].Exposure.[1]: 2 → 3",
        "General.General.AutoLogout: removed (was 0)",
        "General.General.NewMember: added true",
        'Gone.Name: removed (was {"X": 1})',
        "Added.Name: added 7",
    ]
    assert result.err == f"{first} → {second}: 4 of 4 config names differ (6 values)\n"
    same = run_cli("--json", "config", "diff", first, first)
    assert same.code == ExitCode.SUCCESS
    assert json.loads(same.out) == {
        "old": first,
        "new": first,
        "same": True,
        "names": 3,
        "names_differing": 0,
        "changes": [],
    }


def test_diff_never_shows_a_secret_and_a_redacted_one_is_no_difference(
    xmcam: Run, sim: SimulatorThread, tmp_path: Path
) -> None:
    ntp = sim.state.get_config("NetWork.NetNTP")
    sim.call(ntp["Server"].update, Password="hunter2")
    backup = _write(
        tmp_path / "b.json",
        {"NetWork.NetNTP": dict(ntp, Server=dict(ntp["Server"], Password="<redacted>"))},
    )
    assert xmcam("config", "diff", backup).code == ExitCode.SUCCESS
    other = _write(
        tmp_path / "c.json",
        {"NetWork.NetNTP": dict(ntp, Server=dict(ntp["Server"], Password="s3cret"))},
    )
    result = xmcam("--json", "config", "diff", backup, other)
    assert result.code == ExitCode.SUCCESS
    assert "s3cret" not in result.out + result.err


def test_diff_of_a_file_that_is_not_an_export_is_a_usage_error(
    run_cli: Run, tmp_path: Path
) -> None:
    bad = _write(tmp_path / "bad.json", [1, 2])  # type: ignore[arg-type]
    result = run_cli("config", "diff", bad, bad)
    assert result.code == ExitCode.USAGE
    assert result.err == f"xmcam: {bad} is not a config export (a JSON object of names)\n"
