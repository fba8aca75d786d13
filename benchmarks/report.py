"""Write one benchmark's section into BENCHMARKS.md, between its own markers."""

from __future__ import annotations

import platform
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def machine() -> str:
    try:
        cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        name = re.search(r"Model name:\s*(.+)", cpu)
        cpu_name = name.group(1).strip() if name else platform.processor()
    except OSError:
        cpu_name = platform.processor()
    import os

    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    return f"{cpu_name}, {os.cpu_count()} cores{mem}, no GPU, Python {platform.python_version()}"


def write_section(key: str, title: str, body: str, command: str) -> None:
    """Replace (or append) the section `key` of BENCHMARKS.md."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = (
        f"<!-- {key}:start -->\n## {title}\n\n"
        f"Command: `{command}`  \nMachine: {machine()}  \nRun: {stamp}\n\n{body.rstrip()}\n"
        f"<!-- {key}:end -->"
    )
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n\n"
    pattern = re.compile(rf"<!-- {re.escape(key)}:start -->.*?<!-- {re.escape(key)}:end -->", re.S)
    text = (
        pattern.sub(lambda _: block, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + block + "\n"
    )
    BENCHMARKS.write_text(text)


def table(header: list[str], rows: list[list]) -> str:
    def fmt(v):
        return f"{v:.1f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
