"""Write one benchmark's figures into its own section of docs/benchmarks.md."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Figures printed by the scripts in `benchmarks/` (all of them: `bash benchmarks/run_all.sh`), each section "
    "rewritten by its script with the machine and date. Targets are stated beside the figures; a missed target is "
    "said plainly.\n"
)


def cpu_model() -> str:
    """The processor's model name (Linux ``/proc/cpuinfo``; else ``platform.processor()``), e.g. "AMD EPYC".

    Figures of the same code move by up to 2x between the machines a session is given, so every section names
    the one it ran on.
    """
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown processor"


def write_section(title: str, body: str, doc: Path = DOC) -> None:
    """Replace (or append) the section ``## title`` of ``doc`` with ``body``."""
    text = doc.read_text() if doc.exists() else HEADER
    block = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: block + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    doc.parent.mkdir(exist_ok=True)
    doc.write_text(text.rstrip("\n") + "\n")
