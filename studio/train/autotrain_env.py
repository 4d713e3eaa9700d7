"""AutoTrain Advanced's isolated virtual environment, built on first use under the cache dir.

AutoTrain 0.8.36 pins transformers 4.48, trl 0.13, peft 0.14 and huggingface-hub 0.27, which
conflict with the studio's stack, so it lives in its own venv (`<cache>/autotrain-venv`).

Why it is built in place (not in a temp dir and renamed): a venv is not relocatable, its scripts
carry absolute shebangs. Instead the build runs under a file lock and writes a completion stamp
last; a venv without a matching stamp (a crash, Ctrl-C, a half-finished build) is deleted and
rebuilt. A venv with a stamp is reused after a quick import check; if that fails it is rebuilt.

On a CPU-only torch build PyPI's torchvision does not import, and `accelerate launch` (which
AutoTrain uses) imports timm, which imports torchvision. AutoTrain's LLM trainer needs neither,
so both are uninstalled after the install (docs/MEASURED.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from studio.settings import Settings

# torch pinned like the studio's: here it resolves to the local CPU wheel, on a Space to CUDA.
TORCH_SPEC = "torch==2.13.0"
AUTOTRAIN_SPEC = "autotrain-advanced==0.8.36"
REMOVE_AFTER_INSTALL = ("torchvision", "timm")
# Bumped when the recipe changes, so an old venv is rebuilt rather than trusted.
RECIPE = {"version": 1, "install": [TORCH_SPEC, AUTOTRAIN_SPEC], "remove": list(REMOVE_AFTER_INSTALL)}
STAMP = ".studio-complete.json"
LOCK_TIMEOUT_S = 45 * 60

# Imported by the health check; prints the versions it found, one JSON line.
_CHECK = "\n".join([
    "import importlib.util, json",
    "import autotrain, transformers, trl, peft, torch, accelerate",
    f"bad = [m for m in {REMOVE_AFTER_INSTALL!r} if importlib.util.find_spec(m) is not None]",
    "print(json.dumps({'autotrain': autotrain.__version__, 'transformers': transformers.__version__,"
    " 'trl': trl.__version__, 'peft': peft.__version__, 'torch': torch.__version__, 'present': bad}))",
])

Progress = Callable[[str], None]
# venv path -> stamp mtime that passed the import check in this process (the check costs ~5 s).
_checked: dict[str, float] = {}


class AutoTrainEnvError(RuntimeError):
    """The environment could not be built or is unusable; the message says what to do."""


def venv_dir(settings: Settings) -> Path:
    return settings.cache_dir / "autotrain-venv"


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def autotrain_exe(venv: Path) -> Path:
    return venv / ("Scripts/autotrain.exe" if os.name == "nt" else "bin/autotrain")


def _lock_path(settings: Settings) -> Path:
    return settings.cache_dir / "autotrain-venv.lock"


def read_stamp(venv: Path) -> dict | None:
    try:
        data = json.loads((venv / STAMP).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("recipe") == RECIPE else None


def check_health(venv: Path, timeout_s: float = 180) -> tuple[bool, dict | str]:
    """Import AutoTrain and its stack in the venv: (True, versions) or (False, reason)."""
    python = venv_python(venv)
    if not python.is_file() or not autotrain_exe(venv).is_file():
        return False, "interpreter or autotrain script missing"
    try:
        proc = subprocess.run(
            [str(python), "-c", _CHECK], capture_output=True, text=True, timeout=timeout_s, env=_clean_env()
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"import check did not finish: {exc}"
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return False, f"import check failed: {tail}"
    try:
        versions = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return False, f"import check printed no versions: {proc.stdout[-200:]!r}"
    if versions.get("present"):
        return False, f"{', '.join(versions['present'])} present (breaks accelerate on CPU torch)"
    return True, versions


def environment_status(settings: Settings, check: bool = False) -> dict:
    """What the Train tab and CLI show: path, whether it is built, versions, size.

    ``check=True`` also runs the import check (a few seconds); otherwise the stamp is trusted.
    """
    venv = venv_dir(settings)
    stamp = read_stamp(venv)
    status = {
        "path": str(venv),
        "ready": stamp is not None,
        "building": _lock_is_held(settings),
        "versions": (stamp or {}).get("versions", {}),
        "built_at": (stamp or {}).get("built_at"),
        "build_seconds": (stamp or {}).get("build_seconds"),
        "size_mb": (stamp or {}).get("size_mb"),
        "install": RECIPE["install"],
    }
    if check and stamp is not None:
        ok, detail = check_health(venv)
        status["ready"] = ok
        if not ok:
            status["problem"] = detail
    return status


def ensure_environment(settings: Settings, progress: Progress | None = None, force: bool = False) -> Path:
    """Return the venv path, building (or rebuilding a broken one) first if needed.

    Safe against concurrent callers: the second waits on the lock and then reuses the result.
    """
    say = progress or (lambda _msg: None)
    venv = venv_dir(settings)
    if not force and _known_healthy(venv):
        return venv
    from filelock import FileLock, Timeout

    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(_lock_path(settings)))
    if _lock_is_held(settings):
        say("Another process is building the AutoTrain environment; waiting for it to finish…")
    try:
        lock.acquire(timeout=LOCK_TIMEOUT_S)
    except Timeout:
        raise AutoTrainEnvError(f"Timed out waiting for the AutoTrain environment lock {_lock_path(settings)}.") from None
    try:
        if read_stamp(venv) is not None and not force:
            if _known_healthy(venv):
                say("AutoTrain environment is ready (built by another process).")
                return venv
            say(f"AutoTrain environment at {venv} does not import; rebuilding it.")
        _checked.pop(str(venv), None)
        _build(venv, say)
    finally:
        lock.release()
    return venv


def _known_healthy(venv: Path) -> bool:
    """Stamp present and import check passed (once per process and stamp)."""
    if read_stamp(venv) is None:
        return False
    mtime = (venv / STAMP).stat().st_mtime
    if _checked.get(str(venv)) == mtime:
        return True
    if check_health(venv)[0]:
        _checked[str(venv)] = mtime
        return True
    return False


def _lock_is_held(settings: Settings) -> bool:
    from filelock import FileLock, Timeout

    path = _lock_path(settings)
    if not path.exists():
        return False
    probe = FileLock(str(path))
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    probe.release()
    return False


def _build(venv: Path, say: Progress) -> None:
    started = time.monotonic()
    if venv.exists():
        say(f"Removing the incomplete environment at {venv}…")
        shutil.rmtree(venv)
    say(f"Building the AutoTrain environment in {venv} (first use only: about 4 minutes and 3 GB)…")
    base_python = getattr(sys, "_base_executable", None) or sys.executable
    _run([base_python, "-m", "venv", str(venv)], say, "create the virtual environment")
    pip = [str(venv_python(venv)), "-m", "pip", "--disable-pip-version-check"]
    say(f"Installing {TORCH_SPEC} and {AUTOTRAIN_SPEC} (downloads about 1 GB)…")
    _run([*pip, "install", "--progress-bar", "off", TORCH_SPEC, AUTOTRAIN_SPEC], say, "install AutoTrain", stream=True)
    say("Removing torchvision and timm (they break `accelerate launch` on a CPU-only torch)…")
    _run([*pip, "uninstall", "-y", *REMOVE_AFTER_INSTALL], say, "uninstall torchvision/timm")
    say("Checking that AutoTrain imports…")
    ok, detail = check_health(venv)
    if not ok:
        raise AutoTrainEnvError(f"The AutoTrain environment was installed but does not work: {detail}")
    seconds = round(time.monotonic() - started, 1)
    size_mb = round(_dir_size(venv) / 2**20)
    versions = {k: v for k, v in detail.items() if k != "present"}
    stamp = {"recipe": RECIPE, "versions": versions, "built_at": time.time(), "build_seconds": seconds, "size_mb": size_mb}
    from studio.util.io import atomic_write_json

    atomic_write_json(venv / STAMP, stamp)  # last: only a complete build carries the stamp
    say(f"AutoTrain environment ready in {seconds:.0f} s ({size_mb} MB): {versions}")


def _run(cmd: list[str], say: Progress, what: str, stream: bool = False) -> None:
    """Run a build step; stream pip's 'Collecting'/'Installing' lines as progress."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_clean_env())
    tail: list[str] = []
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            line = line.rstrip()
            tail = (tail + [line])[-15:]
            if stream and line.startswith(("Collecting ", "Installing collected", "Successfully installed")):
                say(line[:200])
    except BaseException:  # the caller gave up (stop requested, Ctrl-C): leave no pip running; no stamp is written
        proc.kill()
        proc.wait()
        raise
    if proc.wait() != 0:
        raise AutoTrainEnvError(f"Could not {what} (exit {proc.returncode}):\n" + "\n".join(tail))


def _clean_env() -> dict[str, str]:
    """The studio's env minus anything that would make the venv see the studio's packages."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total
