"""Named, versioned datasets under ``settings.datasets_dir``.

Layout: ``<datasets_dir>/<name>/v0001.jsonl, v0002.jsonl, ...`` plus ``versions.json`` (count,
time, note, author per version). Every save writes a new version file atomically under a file
lock; nothing is overwritten. ``save(..., expected_version=v)`` refuses with ``VersionConflict``
when someone else saved since ``v``, so a second editor never silently replaces the first.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from studio.data.files import DEFAULT_LIMIT_BYTES, physical_lines
from studio.data.formats import load_conversations
from studio.data.schema import DataError, to_jsonl
from studio.settings import Settings
from studio.util.io import atomic_write_json, atomic_write_text, read_json

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_VERSION_RE = re.compile(r"^v(\d{4,})\.jsonl$")
STARTER_NAME = "companion-starter"
STARTER_FILE = Path(__file__).resolve().parents[2] / "examples" / "dataset" / "companion-starter.jsonl"


class DatasetNotFound(DataError):
    pass


class VersionConflict(DataError):
    """The dataset moved on since the caller loaded it; nothing was written."""

    def __init__(self, name: str, expected: int, latest: int):
        self.name, self.expected, self.latest = name, expected, latest
        super().__init__(
            f"Dataset '{name}' is now at version {latest}, but you started from version {expected}: someone else "
            f"saved in between. Nothing was overwritten. Save your edits as a new version (v{latest + 1}) to keep both, "
            "or reload to see theirs."
        )


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    version: int
    examples: int
    updated_at: str


@dataclass(frozen=True)
class VersionInfo:
    version: int
    examples: int
    created_at: str
    note: str = ""
    author: str = ""
    source: str = ""


@dataclass(frozen=True)
class ImportedVersion:
    version: int
    examples: int
    format: str
    notes: list[str]


class DatasetStore:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.root = Path(settings.datasets_dir)

    # ---- reading -------------------------------------------------------------------------
    def list(self) -> list[DatasetInfo]:
        if not self.root.is_dir():
            return []
        out = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir() and NAME_RE.match(p.name)):
            versions = self._version_numbers(folder)
            if versions:
                info = self._info(folder.name, versions[-1])
                out.append(DatasetInfo(folder.name, info.version, info.examples, info.created_at))
        return out

    def exists(self, name: str) -> bool:
        return bool(self._version_numbers(self._dir(name)))

    def latest(self, name: str) -> int:
        """The newest version number, 0 when the dataset does not exist yet."""
        versions = self._version_numbers(self._dir(name))
        return versions[-1] if versions else 0

    def versions(self, name: str) -> list[VersionInfo]:
        numbers = self._version_numbers(self._dir(name))
        if not numbers:
            raise DatasetNotFound(f"No dataset named '{name}'.")
        return [self._info(name, v) for v in numbers]

    def path(self, name: str, version: int | None = None) -> Path:
        folder = self._dir(name)
        version = self.latest(name) if version is None else version  # version 0 is an error, not "latest"
        file = folder / f"v{version:04d}.jsonl"
        if not version or not file.is_file():
            known = self._version_numbers(folder)
            if not known:
                raise DatasetNotFound(f"No dataset named '{name}'.")
            raise DatasetNotFound(f"Dataset '{name}' has no version {version} (versions: {known[0]}..{known[-1]}).")
        return file

    def load(self, name: str, version: int | None = None) -> list[dict]:
        text = self.path(name, version).read_text(encoding="utf-8")
        return [json.loads(line) for line in physical_lines(text) if line.strip()]

    def diff(self, name: str, old: int, new: int | None = None) -> dict:
        """Counts between two versions: examples in each, added, removed and unchanged (by content)."""
        new = new or self.latest(name)
        a = Counter(_key(c) for c in self.load(name, old))
        b = Counter(_key(c) for c in self.load(name, new))
        unchanged = sum((a & b).values())
        return {"from": old, "to": new, "from_examples": sum(a.values()), "to_examples": sum(b.values()),
                "added": sum(b.values()) - unchanged, "removed": sum(a.values()) - unchanged, "unchanged": unchanged}

    # ---- writing -------------------------------------------------------------------------
    def save(self, name: str, conversations: list[dict], expected_version: int | None = None,
             note: str = "", author: str = "", source: str = "", append: bool = False) -> int:
        """Write a new version; returns its number. ``expected_version=0`` means "must be new".

        With ``append`` the new version is the latest one plus ``conversations``, read under the same
        lock as the write: two appends at once both land (one after the other), none is lost.
        """
        if not isinstance(conversations, list) or not all(isinstance(c, dict) for c in conversations):
            raise DataError("A dataset is a list of conversation objects.")
        text = to_jsonl(conversations)
        folder = self._dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        with self._locked(folder):
            latest = self.latest(name)
            if expected_version is not None and int(expected_version) != latest:
                raise VersionConflict(name, int(expected_version), latest)
            if append and latest:
                conversations = self.load(name, latest) + conversations
                text = to_jsonl(conversations)
            version = latest + 1
            atomic_write_text(folder / f"v{version:04d}.jsonl", text)
            meta = self._meta(folder)
            meta["versions"][str(version)] = asdict(VersionInfo(version, len(conversations), _now(), note, author, source))
            atomic_write_json(folder / "versions.json", meta)
        return version

    def restore(self, name: str, version: int, expected_version: int | None = None, author: str = "") -> int:
        """Copy an old version forward as the newest one; history is kept."""
        conversations = self.load(name, version)
        return self.save(name, conversations, expected_version, note=f"restored from v{version}", author=author, source=f"v{version}")

    def import_file(self, name: str, path: Path | str, fmt: str = "auto", append: bool = False,
                    expected_version: int | None = None, author: str = "", real: bool = False) -> ImportedVersion:
        """Convert a file and save it as a new version (appended to the latest with ``append``).

        Everything is read, converted (and, for ``real`` conversations, de-identified) before anything is
        written, so a failure leaves the stored dataset exactly as it was.
        """
        self._dir(name)  # validate the name before the (possibly slow) read
        limit = getattr(self.settings, "upload_limit_bytes", DEFAULT_LIMIT_BYTES)
        result = load_conversations(path, fmt, limit_bytes=limit)
        conversations, notes = result.conversations, list(result.notes)
        if real:
            from studio.data.deid import deidentify_rows

            conversations, report = deidentify_rows(conversations)
            notes.append(f"de-identified {report['replaced']} detail(s)")
        source = Path(str(path)).name
        note = f"{'appended' if append else 'imported'} {len(conversations)} from {source} ({result.format})"
        version = self.save(name, conversations, expected_version, note=note + (", de-identified" if real else ""),
                            author=author, source=source, append=append)
        return ImportedVersion(version, self._info(name, version).examples, result.format, notes)

    def seed_starter(self) -> bool:
        """On first start (an empty store, never seeded before) add the starter dataset."""
        marker = self.root / ".seeded"
        if marker.exists() or self.list() or not STARTER_FILE.is_file():
            return False
        self.import_file(STARTER_NAME, STARTER_FILE, "native", author="studio")
        atomic_write_text(marker, _now() + "\n")
        return True

    # ---- internals -----------------------------------------------------------------------
    def _dir(self, name: str) -> Path:
        if not isinstance(name, str) or not NAME_RE.match(name):
            shown = repr(name[:64] + "…") if isinstance(name, str) and len(name) > 64 else repr(name)[:80]
            raise DataError(
                f"Dataset name {shown} is not allowed: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit."
            )
        return self.root / name

    @staticmethod
    def _version_numbers(folder: Path) -> list[int]:
        if not folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in folder.iterdir() if (m := _VERSION_RE.match(p.name)))

    def _meta(self, folder: Path) -> dict:
        meta = read_json(folder / "versions.json", None) or {}
        meta.setdefault("name", folder.name)
        meta.setdefault("versions", {})
        return meta

    def _info(self, name: str, version: int) -> VersionInfo:
        folder = self._dir(name)
        entry = self._meta(folder)["versions"].get(str(version))
        if entry:
            return VersionInfo(**entry)
        # A version file without metadata (e.g. copied in by hand): count its lines.
        file = folder / f"v{version:04d}.jsonl"
        count = sum(1 for line in physical_lines(file.read_text(encoding="utf-8")) if line.strip())
        stamp = datetime.fromtimestamp(file.stat().st_mtime, UTC).isoformat(timespec="seconds")
        return VersionInfo(version, count, stamp)

    @contextlib.contextmanager
    def _locked(self, folder: Path, timeout: float = 30.0):
        """An exclusive lock per dataset (processes and threads alike), so version numbers never collide."""
        import fcntl

        with (folder / ".lock").open("a") as handle:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise DataError(f"Dataset '{folder.name}' is busy (another save is in progress); try again.") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _key(conv: dict) -> str:
    return json.dumps(conv, sort_keys=True, ensure_ascii=False)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
