import json

from orbitlearn.cli.exit_codes import ExitCode


def test_info_json_lists_versions_and_offline_data(cli):
    code, out, err = cli("info", "--format", "json")
    assert code == ExitCode.OK, err
    report = json.loads(out)
    assert report["packages"]["orbitlearn"]
    assert report["packages"]["sgp4"]
    names = [entry["name"] for entry in report["offline_data"]]
    assert names == ["DE421", "space weather"]
    assert "1899-07-29" in report["offline_data"][0]["covers"]


def test_info_rejects_unknown_format(cli):
    code, _, err = cli("info", "--format", "xml")
    assert code == ExitCode.USAGE
    assert "Expected `--format` to be one of 'table', 'json', actual: 'xml'" in err
    assert "Traceback" not in err


def test_unknown_command_is_a_usage_error(cli):
    code, _, err = cli("no-such-command")
    assert code == ExitCode.USAGE
    assert "No such command" in err
