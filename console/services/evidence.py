"""Evidence files on disk: copied while hashed, checked after the copy, packaged with a manifest, verified later.

A package is a folder or a .zip holding `files/...`, `manifest.json` (every file's SHA-256, size, camera,
owner id, request, who received it and when; never a contact) and `manifest.sha256`, the manifest's own
hash in `sha256sum` form. `verify_package` needs no database: a court or a defence expert can run it on a copy.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from console.errors import UserError

CHUNK = 1 << 20  # 1 MiB: big video files are streamed, never read whole
MANIFEST = "manifest.json"
MANIFEST_HASH = "manifest.sha256"
FILES_DIR = "files"
FORMAT = "rtic-evidence-package/1"


class UnusablePackage(UserError):
    """Not something that can be checked at all (exit status 2)."""


def sha256_of(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def safe_name(name: str) -> str:
    """A file name that is the same on Windows and Linux: no folders, no odd characters."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._") or "file"
    return stem[:150]


def copy_hashed(source: Path, target: Path) -> tuple[str, int]:
    """Copy `source` to the new file `target`, hashing as it goes, then re-read the copy and compare.

    Returns (sha256, size). UserError, with nothing left behind at `target`, when the source cannot be read,
    the target cannot be written or the copy on disk differs from what was read.
    """
    source = Path(source)
    if not source.is_file():
        raise UserError(f"{source} is not a file that can be attached (missing, or a folder)")
    part = target.with_name(target.name + ".part")
    digest, size = hashlib.sha256(), 0
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(source, "rb") as src, open(part, "xb") as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        copied, copied_size = sha256_of(part)
        if (copied, copied_size) != (digest.hexdigest(), size):
            raise UserError(f"the copy of {source.name} in the evidence folder differs from the file read "
                            "(a disk or network fault): nothing was attached; try again")
        if target.exists():
            raise UserError(f"{target} already exists in the evidence folder: nothing was overwritten")
        os.replace(part, target)
    except OSError as exc:
        raise UserError(f"cannot copy {source.name} into the evidence folder {target.parent}: "
                        f"{exc.strerror or exc}") from None
    finally:
        part.unlink(missing_ok=True)
    return digest.hexdigest(), size


# --- packages ----------------------------------------------------------------------------------------


def manifest_bytes(manifest: dict) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def write_package(out: Path, manifest: dict, sources: list[tuple[Path, str]]) -> str:
    """Write `sources` (stored path or bytes, name in the package) and the manifest to a folder or, for *.zip, a zip.

    Each file is re-hashed as it is written and must still match the manifest (an evidence file changed on
    disk since it was received is refused, not packaged). Returns the manifest's SHA-256.
    """
    expected = {f["name"]: f["sha256"] for f in manifest["files"]}
    body = manifest_bytes(manifest)
    digest = hashlib.sha256(body).hexdigest()
    sidecar = f"{digest}  {MANIFEST}\n".encode("ascii")
    out = Path(out)
    if out.exists() and (out.is_file() or any(out.iterdir())):
        raise UserError(f"{out} already exists: give a new folder or .zip name")
    try:
        _write(out, body, sidecar, sources, expected)
    except BaseException:
        remove_package(out)  # half a package is worse than none: it would not verify
        raise
    return digest


def remove_package(out: Path) -> None:
    if out.is_dir():
        shutil.rmtree(out, ignore_errors=True)
    else:
        out.unlink(missing_ok=True)


def _open(stored):
    """A stored evidence file, or bytes held in the database (a bulletin's snapshot), to read from."""
    return io.BytesIO(stored) if isinstance(stored, bytes) else open(stored, "rb")


def _write(out: Path, body: bytes, sidecar: bytes, sources: list[tuple[Path, str]], expected: dict) -> None:
    try:
        if out.suffix.lower() == ".zip":
            out.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(out, "x", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
                for stored, name in sources:
                    with _open(stored) as src, zf.open(name, "w", force_zip64=True) as dst:
                        _copy_checked(src, dst, name, expected[name])
                zf.writestr(MANIFEST, body)
                zf.writestr(MANIFEST_HASH, sidecar)
        else:
            for stored, name in sources:
                (out / name).parent.mkdir(parents=True, exist_ok=True)
                with _open(stored) as src, open(out / name, "xb") as dst:
                    _copy_checked(src, dst, name, expected[name])
            (out / MANIFEST).write_bytes(body)
            (out / MANIFEST_HASH).write_bytes(sidecar)
    except OSError as exc:
        raise UserError(f"cannot write the evidence package {out}: {exc.strerror or exc}") from None
    except _Changed as exc:
        raise UserError(str(exc)) from None


class _Changed(Exception):
    pass


def _copy_checked(src, dst, name: str, sha256: str) -> None:
    digest = hashlib.sha256()
    while chunk := src.read(CHUNK):
        digest.update(chunk)
        dst.write(chunk)
    if digest.hexdigest() != sha256:
        raise _Changed(f"the stored evidence file {name} no longer matches the hash taken when it was received: "
                       "not exported; report it to the evidence custodian")


@dataclass
class PackageReport:
    """What `verify_package` found: every problem as a line a person can read aloud."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)
    package_id: str = ""

    @property
    def intact(self) -> bool:
        return not self.problems


class _Reader:
    """The entries of a folder or a zip, by their name in the package (forward slashes)."""

    def __init__(self, path: Path):
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        if path.is_dir():
            return
        if not path.exists():
            raise UnusablePackage(f"{path} does not exist: give an evidence package folder or .zip")
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise UnusablePackage(f"{path} is neither a folder nor a readable .zip ({exc})") from None

    def names(self) -> set[str]:
        if self.zip is not None:
            return {info.filename for info in self.zip.infolist() if not info.is_dir()}
        return {p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()}

    def chunks(self, name: str) -> Iterator[bytes]:
        stream = self.zip.open(name) if self.zip is not None else open(self.path / name, "rb")
        with stream:
            while chunk := stream.read(CHUNK):
                yield chunk

    def read(self, name: str) -> bytes:
        return b"".join(self.chunks(name))

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def verify_package(path: Path) -> PackageReport:
    """Re-hash the manifest and every file. UnusablePackage when `path` is not a package at all."""
    reader = _Reader(Path(path))
    try:
        return _verify(reader)
    except (OSError, zipfile.BadZipFile) as exc:
        raise UnusablePackage(f"cannot read {path}: {exc}") from None
    finally:
        reader.close()


def _verify(reader: _Reader) -> PackageReport:
    names = reader.names()
    if MANIFEST not in names:
        raise UnusablePackage(f"{reader.path} is not an evidence package: it has no {MANIFEST}")
    report = PackageReport()
    body = reader.read(MANIFEST)
    if MANIFEST_HASH not in names:
        report.problems.append(f"{MANIFEST_HASH} is missing: the manifest itself cannot be checked")
    else:
        recorded = reader.read(MANIFEST_HASH).decode("ascii", "replace").split()
        if not recorded or recorded[0].lower() != hashlib.sha256(body).hexdigest():
            report.problems.append(f"{MANIFEST} was changed: its SHA-256 differs from the one in {MANIFEST_HASH}")
    try:
        manifest = json.loads(body)
        listed = {f["name"]: f for f in manifest["files"]}
        report.package_id = str(manifest.get("package_id", ""))
    except (ValueError, KeyError, TypeError):
        report.problems.append(f"{MANIFEST} cannot be read as a manifest: the files cannot be checked")
        return report
    for name, entry in sorted(listed.items()):
        if name not in names:
            report.problems.append(f"MISSING {name}: listed in the manifest, not in the package")
            continue
        digest, size = hashlib.sha256(), 0
        for chunk in reader.chunks(name):
            digest.update(chunk)
            size += len(chunk)
        report.checked += 1
        if digest.hexdigest() != str(entry.get("sha256", "")).lower() or size != entry.get("size_bytes"):
            report.problems.append(f"CHANGED {name}: SHA-256 {digest.hexdigest()} ({size} bytes), the manifest "
                                   f"says {entry.get('sha256')} ({entry.get('size_bytes')} bytes)")
    for name in sorted(names - set(listed) - {MANIFEST, MANIFEST_HASH}):
        report.problems.append(f"EXTRA {name}: in the package but not in the manifest")
    return report
