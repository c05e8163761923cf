"""The Windows MSI source, checked here where it cannot be built: the .wxs parses, references what the PyInstaller
spec produces, and its settings command line, run as the MSI would run it, writes the machine file it should."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from console.settings import DECLARED, load_settings

ROOT = Path(__file__).resolve().parents[2]
WXS = ROOT / "installer" / "windows" / "rtic-console.wxs"
NS = {"w": "http://wixtoolset.org/schemas/v4/wxs"}
PRESETS = ("DATABASE_URL", "TILE_URL", "GEOCODER_URL", "IDLE_LOCK_MINUTES")


def package():
    return ET.parse(WXS).getroot().find("w:Package", NS)


def test_the_wxs_is_a_per_machine_package_with_the_preset_properties():
    pkg = package()
    assert pkg is not None and pkg.get("Scope") == "perMachine"
    properties = {p.get("Id"): p for p in pkg.iter(f"{{{NS['w']}}}Property")}
    for name in PRESETS:
        assert properties[name].get("Secure") == "yes", name  # passed from the client to the server side
    assert pkg.find(".//w:StandardDirectory[@Id='ProgramFiles64Folder']/w:Directory", NS).get("Id") == "INSTALLFOLDER"
    shortcut = pkg.find(".//w:Component[@Directory='ProgramMenuFolder']/w:Shortcut", NS)
    assert shortcut is not None and shortcut.get("Target") == "[#RticConsoleExe]"
    environment = pkg.find(".//w:Environment", NS)
    assert (environment.get("Name"), environment.get("Value"), environment.get("System")) == (
        "RTIC_DATABASE_URL", "[DATABASE_URL]", "yes")


def test_the_wxs_takes_the_files_the_spec_builds_and_bundles_libvlc_with_its_plugins():
    spec = (ROOT / "installer" / "rtic-console.spec").read_text()
    name = re.search(r'EXE\([^)]*name="([^"]+)"', spec, re.S).group(1)
    assert re.search(rf'COLLECT\([^)]*name="{name}"', spec, re.S)
    exe = package().find(".//w:File[@Id='RticConsoleExe']", NS)
    assert exe.get("Source") == f"!(bindpath.App)\\{name}.exe"
    includes = [f.get("Include") for f in package().iter(f"{{{NS['w']}}}Files")]
    assert "!(bindpath.App)\\**" in includes
    assert {"!(bindpath.Vlc)\\libvlc.dll", "!(bindpath.Vlc)\\libvlccore.dll", "!(bindpath.Vlc)\\plugins\\**"} <= set(includes)
    entry = (ROOT / "installer" / "entry.py").read_text()
    assert '"vlc"' in entry and "PYTHON_VLC_MODULE_PATH" in entry  # the app finds the bundled libVLC
    assert 'Name="vlc"' in WXS.read_text()


def _msi_command(values: dict[str, str]) -> list[str]:
    """The custom action's command line with the properties filled in as Windows Installer would."""
    command = package().find("w:SetProperty[@Id='WriteMachineSettings']", NS).get("Value")
    command = command.replace("[#RticConsoleExe]", "RTIC_CONSOLE")
    command = re.sub(r"\[([A-Z_]+)\]", lambda m: values.get(m.group(1), ""), command)
    args = shlex.split(command)
    assert args[0] == "RTIC_CONSOLE"
    return [sys.executable, "-m", "console", *args[1:]]


def test_the_settings_properties_name_declared_settings():
    command = package().find("w:SetProperty[@Id='WriteMachineSettings']", NS).get("Value")
    declared = {s.key for s in DECLARED}
    pairs = dict(re.findall(r"([a-z_]+)=\[([A-Z_]+)\]", command))
    assert set(pairs) <= declared
    assert {v for v in pairs.values()} == set(PRESETS) - {"DATABASE_URL"}  # that one is an environment variable
    condition = package().find(".//w:Custom[@Action='WriteMachineSettings']", NS).get("Condition")
    assert all(name in condition for name in pairs.values())


def test_the_msi_command_writes_the_machine_file(tmp_path):
    machine = tmp_path / "ProgramData" / "settings.toml"
    env = {**os.environ, "RTIC_MACHINE_SETTINGS": str(machine)}
    done = subprocess.run(_msi_command({"TILE_URL": "https://tiles.example.gov/{z}/{x}/{y}.png",
                                        "IDLE_LOCK_MINUTES": "5"}), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    settings = load_settings(machine, tmp_path / "none.toml")
    assert settings.tile_url == "https://tiles.example.gov/{z}/{x}/{y}.png"
    assert settings.idle_lock_minutes == 5 and settings.geocoder_url == ""  # an unset property changes nothing
    # A second install with another property keeps what the first wrote.
    done = subprocess.run(_msi_command({"GEOCODER_URL": "https://nominatim.example.gov"}), env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    settings = load_settings(machine, tmp_path / "none.toml")
    assert (settings.geocoder_url, settings.idle_lock_minutes) == ("https://nominatim.example.gov", 5)


def test_a_bad_preset_fails_the_install_step_with_one_line(tmp_path):
    machine = tmp_path / "settings.toml"
    done = subprocess.run(_msi_command({"IDLE_LOCK_MINUTES": "soon"}), capture_output=True, text=True, timeout=60,
                          env={**os.environ, "RTIC_MACHINE_SETTINGS": str(machine)})
    assert done.returncode == 2 and "idle_lock_minutes" in done.stderr and "Traceback" not in done.stderr
    assert not machine.exists()
