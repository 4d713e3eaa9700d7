"""Where llama.cpp's HF-to-GGUF converter lives, and how a fresh machine gets it.

The converter is not on PyPI as a package of its own. ``llama-cpp-python``'s source archive carries
llama.cpp's ``convert_hf_to_gguf.py`` with its ``conversion/`` package and the matching ``gguf-py``; the
archive is 77 MB and only ~3 MB of it is needed, and it is never built (building compiles llama.cpp for
minutes). ``python -m studio.train.gguf_converter`` (a Makefile step) downloads the pinned archive with
pip and extracts just those files, with llama.cpp's MIT licence, into the venv.

Why its own ``gguf-py`` and not the installed ``gguf`` package: the converter in this archive uses
``gguf.LazyChunkedTensor``, which the ``gguf`` 0.19.0 wheel on PyPI lacks (same version number, older
code). The converter puts its own copy first on ``sys.path`` by itself, in its own subprocess, so the
installed ``gguf`` (which transformers' GGUF loader and our tests use) is untouched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

LLAMA_CPP_PYTHON = "0.3.36"  # pinned: the converter and its gguf-py must come from the same archive
SCRIPT = "convert_hf_to_gguf.py"
# Only these parts of vendor/llama.cpp/ are extracted: the script, the modules it imports, the licence.
_KEEP = (SCRIPT, "conversion/", "gguf-py/", "LICENSE")
ENV_VAR = "STUDIO_GGUF_CONVERTER"


class ConverterMissing(RuntimeError):
    pass


def converter_dir() -> Path:
    """``$STUDIO_GGUF_CONVERTER`` if set, else ``<venv>/share/llama-cpp-convert-<version>``."""
    configured = os.environ.get(ENV_VAR, "").strip()
    if configured:
        return Path(configured)
    return Path(sys.prefix) / "share" / f"llama-cpp-convert-{LLAMA_CPP_PYTHON}"


def converter_script() -> Path:
    script = converter_dir() / SCRIPT
    if not script.is_file():
        raise ConverterMissing(
            f"The GGUF converter is not installed (looked for {script}). Install it once with "
            f"`make install` or `python -m studio.train.gguf_converter` (downloads llama-cpp-python=="
            f"{LLAMA_CPP_PYTHON}'s source archive from PyPI and keeps only llama.cpp's converter).")
    return script


def _wanted(name: str, prefix: str) -> str | None:
    """The path inside the converter folder for an archive member we keep, else None."""
    if not name.startswith(prefix):
        return None
    rel = name[len(prefix):]
    return rel if any(rel == k or (k.endswith("/") and rel.startswith(k)) for k in _KEEP) else None


def extract(archive: Path, dest: Path) -> Path:
    """Extract the converter from the sdist into ``dest`` (built beside it, swapped in when complete)."""
    prefix = f"llama_cpp_python-{LLAMA_CPP_PYTHON}/vendor/llama.cpp/"
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with tarfile.open(archive, "r:gz") as tar:
        members = []
        for member in tar.getmembers():
            rel = _wanted(member.name, prefix)
            if rel and (member.isfile() or member.isdir()):
                member.name = rel
                members.append(member)
        tar.extractall(partial, members=members, filter="data")  # "data" refuses links and absolute paths
    if not (partial / SCRIPT).is_file():
        raise ConverterMissing(f"{archive.name} has no vendor/llama.cpp/{SCRIPT}: wrong archive?")
    shutil.rmtree(dest, ignore_errors=True)
    partial.rename(dest)
    return dest


def install(dest: Path | None = None) -> Path:
    """Download the pinned sdist with pip (no build, no deps) and extract the converter."""
    dest = Path(dest) if dest else converter_dir()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        f"llama-cpp-python=={LLAMA_CPP_PYTHON}", "-d", tmp], check=True)
        archives = list(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
        if not archives:
            raise ConverterMissing("pip downloaded no llama-cpp-python source archive.")
        return extract(archives[0], dest)


if __name__ == "__main__":
    print(install())
