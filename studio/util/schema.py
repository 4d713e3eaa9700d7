"""A schema version stamp in the data dir, so an old or newer studio never misreads stored data."""

from __future__ import annotations

from studio.settings import Settings, SettingsError
from studio.util.io import atomic_write_text

SCHEMA_VERSION = 1
STAMP = "SCHEMA_VERSION"


def check_schema(settings: Settings) -> int:
    """Stamp a new data dir; refuse one written by an incompatible version with a clear message."""
    settings.ensure_data_dir()
    stamp = settings.data_dir / STAMP
    if not stamp.exists():
        atomic_write_text(stamp, f"{SCHEMA_VERSION}\n")
        return SCHEMA_VERSION
    raw = stamp.read_text().strip()
    try:
        found = int(raw)
    except ValueError:
        raise SettingsError(f"{stamp} is unreadable ({raw!r}). Restore it or point STUDIO_DATA_DIR elsewhere.") from None
    if found != SCHEMA_VERSION:
        newer = "a newer" if found > SCHEMA_VERSION else "an older"
        raise SettingsError(
            f"The data dir {settings.data_dir} was written by {newer} Companion Studio (schema {found}, this one "
            f"reads schema {SCHEMA_VERSION}). Use a matching version or set STUDIO_DATA_DIR to another folder."
        )
    return found
