"""Validate docker/compose.yaml without Docker: interpolation, JSON schema, references.

The schema is the Compose Specification as shipped with docker-compose 1.29
(tests/fixtures/compose/compose_spec.json). Interpolation follows the compose rules for
``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?err}`` and ``$$``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from jsonschema import Draft4Validator, FormatChecker

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker" / "compose.yaml"
SCHEMA_FILE = ROOT / "tests" / "fixtures" / "compose" / "compose_spec.json"

_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)
# Fields compose casts to integers after interpolation (compose/config/interpolation.py).
_INT_FIELDS = {("deploy", "replicas")}


class ComposeProblem(NamedTuple):
    """One finding: where in the file (dotted path) and what is wrong."""

    where: str
    message: str


class InterpolationError(ValueError):
    """A required variable (``${VAR:?message}``) is unset."""


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Substitute compose variables in one string, as docker compose does."""

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("named")
        op, arg = match.group("op"), match.group("arg") or ""
        present = name in env
        set_nonempty = present and env[name] != ""
        if op in (":-", "-"):
            use_default = not set_nonempty if op == ":-" else not present
            return arg if use_default else env[name]
        if op in (":?", "?"):
            missing = not set_nonempty if op == ":?" else not present
            if missing:
                raise InterpolationError(f"{name}: {arg or 'required variable is not set'}")
        return env.get(name, "")

    return _VAR.sub(replace, value)


def _walk(node: Any, env: Mapping[str, str], path: tuple[str, ...]) -> Any:
    if isinstance(node, dict):
        return {k: _walk(v, env, (*path, str(k))) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v, env, path) for v in node]
    if isinstance(node, str):
        text = interpolate(node, env)
        if path[-2:] in _INT_FIELDS and text.strip().lstrip("-").isdigit():
            return int(text)
        return text
    return node


def load(path: Path = COMPOSE_FILE, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parse the compose file (YAML merge keys resolved) and interpolate it with ``env``."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    return _walk(raw, env or {}, ())


def schema_problems(
    config: Mapping[str, Any], schema_file: Path = SCHEMA_FILE
) -> list[ComposeProblem]:
    """Every JSON-schema violation of ``config``, as docker-compose 1.29 would report it."""
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator = Draft4Validator(schema, format_checker=FormatChecker())
    return [
        ComposeProblem(".".join(str(p) for p in error.absolute_path) or "<root>", error.message)
        for error in sorted(
            validator.iter_errors(dict(config)), key=lambda e: list(e.absolute_path)
        )
    ]


def _named_volume(spec: Any) -> str | None:
    source = spec.get("source") if isinstance(spec, dict) else str(spec).split(":", 1)[0]
    if isinstance(spec, dict) and spec.get("type", "volume") != "volume":
        return None
    if not source or source.startswith((".", "/", "~", "$")):
        return None
    return source


def reference_problems(config: Mapping[str, Any]) -> list[ComposeProblem]:
    """Dangling references the schema cannot see: depends_on, named volumes, networks."""
    problems: list[ComposeProblem] = []
    services = config.get("services") or {}
    volumes = set(config.get("volumes") or {})
    networks = set(config.get("networks") or {}) | {"default"}
    for name, service in services.items():
        where = f"services.{name}"
        deps = service.get("depends_on") or []
        for dep in deps if isinstance(deps, list) else deps.keys():
            if dep not in services:
                problems.append(ComposeProblem(f"{where}.depends_on", f"unknown service {dep!r}"))
            elif not set(services[dep].get("profiles") or []) <= set(service.get("profiles") or []):
                if services[dep].get("profiles"):
                    problems.append(
                        ComposeProblem(
                            f"{where}.depends_on",
                            f"{dep!r} is only in profiles {services[dep]['profiles']}, "
                            f"which {name!r} does not enable",
                        )
                    )
        for spec in service.get("volumes") or []:
            volume = _named_volume(spec)
            if volume is not None and volume not in volumes:
                problems.append(ComposeProblem(f"{where}.volumes", f"undeclared volume {volume!r}"))
        service_networks = service.get("networks") or {}
        for net in service_networks if isinstance(service_networks, (list, dict)) else []:
            if net not in networks:
                problems.append(ComposeProblem(f"{where}.networks", f"undeclared network {net!r}"))
    return problems


def path_problems(config: Mapping[str, Any], base: Path) -> list[ComposeProblem]:
    """Build contexts, Dockerfiles and relative bind-mount sources that do not exist
    (paths resolve against ``base``, the compose file's folder, as compose does)."""
    problems: list[ComposeProblem] = []
    for name, service in (config.get("services") or {}).items():
        where = f"services.{name}"
        build = service.get("build")
        if build is not None:
            spec = {"context": build} if isinstance(build, str) else build
            context = base / spec.get("context", ".")
            dockerfile = spec.get("dockerfile", "Dockerfile")
            if not context.is_dir():
                problems.append(ComposeProblem(f"{where}.build", f"no context {context}"))
            elif not (context / dockerfile).is_file():
                problems.append(ComposeProblem(f"{where}.build", f"no {dockerfile} in {context}"))
        for volume in service.get("volumes") or []:
            source = volume.get("source", "") if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith(".") and not (base / source).exists():
                problems.append(ComposeProblem(f"{where}.volumes", f"no bind source {source}"))
    return problems


def check(path: Path = COMPOSE_FILE, env: Mapping[str, str] | None = None) -> list[ComposeProblem]:
    """Schema, reference and path problems of the compose file; empty when it is valid."""
    config = load(path, env)
    return schema_problems(config) + reference_problems(config) + path_problems(config, path.parent)


def profiles(config: Mapping[str, Any]) -> set[str]:
    """Every profile named by some service."""
    return {p for s in (config.get("services") or {}).values() for p in s.get("profiles") or []}


def services_for(config: Mapping[str, Any], active: set[str]) -> set[str]:
    """Services `docker compose --profile ... up` starts for the given active profiles."""
    return {
        name
        for name, s in (config.get("services") or {}).items()
        if not s.get("profiles") or set(s["profiles"]) & active
    }
