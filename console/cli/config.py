"""`rtic-console config show|set|template`: the settings in force and where each came from; writing a settings file.

`config set --machine` is what the Windows installer runs to write the machine file from its MSI properties.
"""

from __future__ import annotations

import json

from console.errors import UserError
from console.settings import (DECLARED, load_settings_explained, machine_baseline, machine_settings_path, parse_value,
                              settings_template, user_may_not_set, user_settings_path, write_settings)

MASK = "********"


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("config", help="settings: show what is in force and where it came from",
                                   parents=[common])
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    show = actions.add_parser("show", parents=[common],
                              help="every setting with its value and its source (default, machine file, user file)")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(func=_show)
    change = actions.add_parser("set", parents=[common],
                                help="set values in your settings file (or the machine's with --machine), keeping "
                                     "the other values it holds (comments are not kept)")
    change.add_argument("pairs", nargs="+", metavar="KEY=VALUE", help="for example idle_lock_minutes=15")
    change.add_argument("--machine", action="store_true", help="write the machine file (administrators)")
    change.add_argument("--skip-empty", action="store_true",
                        help="ignore KEY= with nothing after it (an installer property left unset)")
    change.set_defaults(func=_set)
    template = actions.add_parser("template", parents=[common],
                                  help="print a settings file with every setting commented out at its default")
    template.set_defaults(func=lambda _args: print(settings_template(), end="") or 0)


def settings_report() -> dict:
    """The settings in force with their sources, secrets masked (also used by `self-test`)."""
    machine, user = machine_settings_path(), user_settings_path()
    loaded = load_settings_explained(machine, user)
    kinds = {str(machine): "machine", str(user): "user"}
    rows = []
    for setting in DECLARED:
        value = getattr(loaded.settings, setting.key)
        if setting.secret and value:
            value = MASK
        source = loaded.sources[setting.key]
        rows.append({"key": setting.key, "title": setting.title, "value": value, "default": setting.default,
                     "source": kinds.get(source, "default"), "file": None if source == "default" else source,
                     "policy": setting.policy_rule or None, "locked": setting.key in loaded.locked,
                     "refused": loaded.refused.get(setting.key)})
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
        marks = [m for m in ("locked by the machine file" if row["locked"] else "",
                             f"policy: {row['policy']}" if row["policy"] else "") if m]
        if marks:
            where += f" ({'; '.join(marks)})"
        print(f"{row['key']:<{width}}  {json.dumps(row['value'], ensure_ascii=False):<40}  {where}")
        if row["refused"]:
            print(f"{'':<{width}}  refused from the user file: {row['refused']}")
    return 0


def _set(args) -> int:
    changes = {}
    for pair in args.pairs:
        key, sep, text = pair.partition("=")
        if not sep:
            raise UserError(f"{pair!r} is not KEY=VALUE, for example idle_lock_minutes=15")
        if text == "" and args.skip_empty:
            continue
        changes[key.strip()] = parse_value(key.strip(), text)
    path = machine_settings_path() if args.machine else user_settings_path()
    if not args.machine:
        # The user's file may not loosen policy or change what the machine file locks: say so now, not at start.
        baseline, locked = machine_baseline()
        for key, value in changes.items():
            why = user_may_not_set(key, value, getattr(baseline, key), locked)
            if why:
                raise UserError(f"not set: {why}")
    if changes:
        write_settings(path, changes)
    print(json.dumps({"file": str(path), "set": sorted(changes)}))
    return 0
