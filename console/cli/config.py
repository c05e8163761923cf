"""`rtic-console config show`: every setting, its value in force and where it came from (default, machine or user file)."""

from __future__ import annotations

import json

from console.settings import DECLARED, load_settings_with_sources, machine_settings_path, user_settings_path

MASK = "********"


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("config", help="settings: show what is in force and where it came from",
                                   parents=[common])
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    show = actions.add_parser("show", parents=[common],
                              help="every setting with its value and its source (default, machine file, user file)")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(func=_show)


def settings_report() -> dict:
    """The settings in force with their sources, secrets masked (also used by `self-test`)."""
    machine, user = machine_settings_path(), user_settings_path()
    settings, sources = load_settings_with_sources(machine, user)
    kinds = {str(machine): "machine", str(user): "user"}
    rows = []
    for setting in DECLARED:
        value = getattr(settings, setting.key)
        if setting.secret and value:
            value = MASK
        source = sources[setting.key]
        rows.append({"key": setting.key, "title": setting.title, "value": value, "default": setting.default,
                     "source": kinds.get(source, "default"), "file": None if source == "default" else source})
    return {"machine_file": {"path": str(machine), "exists": machine.is_file()},
            "user_file": {"path": str(user), "exists": user.is_file()},
            "settings": rows}


def _show(args) -> int:
    report = settings_report()
    if args.json:
        print(json.dumps(report))
        return 0
    for kind in ("machine_file", "user_file"):
        entry = report[kind]
        print(f"{kind.replace('_', ' ') + ':':14}{entry['path']} ({'exists' if entry['exists'] else 'not there'})")
    print()
    width = max(len(row["key"]) for row in report["settings"])
    for row in report["settings"]:
        where = f"{row['source']} file {row['file']}" if row["file"] else "default"
        print(f"{row['key']:<{width}}  {json.dumps(row['value'], ensure_ascii=False):<40}  {where}")
    return 0
