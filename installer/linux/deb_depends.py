"""Print the Debian packages that own the system libraries a built app links against (its Depends), or fail.

    python installer/linux/deb_depends.py APP_DIR

Every ELF file in APP_DIR goes through ldd; a library resolved outside APP_DIR must belong to an installed package
(dpkg -S), and none may be missing. Needs a Debian or Ubuntu build machine with the run-time libraries installed.
"""

import os
import subprocess
import sys
from pathlib import Path


def elf_files(folder: Path) -> list[Path]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def system_libraries(folder: Path) -> tuple[set[str], set[str]]:
    """(libraries resolved outside `folder`, sonames not found at all)."""
    outside, missing = set(), set()
    files = [str(p) for p in elf_files(folder)]
    # As at run time: PyInstaller's bootloader puts the bundle's library folder first on the search path.
    env = {**os.environ, "LD_LIBRARY_PATH": str(folder / "_internal")}
    for start in range(0, len(files), 200):
        out = subprocess.run(["ldd", *files[start:start + 200]], capture_output=True, text=True, env=env).stdout
        for line in out.splitlines():
            parts = line.split()
            if "=>" in parts and "not found" in line:
                missing.add(parts[0])
            elif len(parts) >= 3 and parts[1] == "=>" and parts[2].startswith("/"):
                if not parts[2].startswith(str(folder) + os.sep):
                    outside.add(parts[2])
    return outside, missing


def owners(paths: set[str]) -> dict[str, str]:
    """path -> owning package, trying each spelling dpkg may have registered (merged /usr or not)."""
    result = {}
    for path in sorted(paths):
        real = os.path.realpath(path)
        for candidate in dict.fromkeys([path, real, "/usr" + path, real.removeprefix("/usr")]):
            done = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if done.returncode == 0:
                result[path] = done.stdout.split(":")[0].strip()
                break
    return result


def main(folder: Path) -> int:
    outside, missing = system_libraries(folder.resolve())
    if missing:
        print(f"deb_depends: not found on this machine: {', '.join(sorted(missing))}", file=sys.stderr)
        return 1
    found = owners(outside)
    unowned = sorted(outside - set(found))
    if unowned:
        print(f"deb_depends: no Debian package owns: {', '.join(unowned)}", file=sys.stderr)
        return 1
    print("\n".join(sorted(set(found.values()))))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
