"""docker/compose.yaml: schema-valid under every profile, and wired the way the docs say."""

from __future__ import annotations

import copy
import shutil
import subprocess

import pytest
import yaml

from scripts import compose_check


@pytest.fixture(scope="module")
def config() -> dict:
    return compose_check.load()


def test_compose_file_is_valid() -> None:
    assert compose_check.check() == []


def test_schema_rejects_a_broken_service(config: dict) -> None:
    broken = copy.deepcopy(config)
    broken["services"]["api"]["ports"] = 8000
    broken["services"]["api"]["restart_policy"] = "always"
    problems = compose_check.schema_problems(broken)
    wheres = {p.where for p in problems}
    assert "services.api.ports" in wheres
    assert any("restart_policy" in p.message for p in problems)


def test_references_catch_dangling_names(config: dict) -> None:
    broken = copy.deepcopy(config)
    broken["services"]["api"]["volumes"].append("missing:/data")
    broken["services"]["api-cpu"]["depends_on"] = ["nope"]
    broken["services"]["api-cpu"]["networks"] = ["elsewhere"]
    messages = {(p.where, p.message) for p in compose_check.reference_problems(broken)}
    assert ("services.api.volumes", "undeclared volume 'missing'") in messages
    assert ("services.api-cpu.depends_on", "unknown service 'nope'") in messages
    assert ("services.api-cpu.networks", "undeclared network 'elsewhere'") in messages


def test_paths_resolve_against_the_compose_folder(config: dict, tmp_path) -> None:
    assert compose_check.path_problems(config, compose_check.COMPOSE_FILE.parent) == []
    problems = compose_check.path_problems(config, tmp_path / "elsewhere")
    wheres = {p.where for p in problems}
    assert {"services.api.build", "services.locust-master.volumes"} <= wheres
    broken = copy.deepcopy(config)
    broken["services"]["api"]["build"]["dockerfile"] = "docker/Dockerfile.nope"
    (problem,) = compose_check.path_problems(broken, compose_check.COMPOSE_FILE.parent)
    assert problem.where == "services.api.build" and "Dockerfile.nope" in problem.message


def test_depends_on_a_service_outside_the_profile_is_caught(config: dict) -> None:
    broken = copy.deepcopy(config)
    broken["services"]["api-cpu"]["depends_on"] = {"milvus": {"condition": "service_healthy"}}
    problems = compose_check.reference_problems(broken)
    assert [p.where for p in problems] == ["services.api-cpu.depends_on"]


def test_default_profile_runs_only_the_gpu_api(config: dict) -> None:
    assert compose_check.services_for(config, set()) == {"api"}
    devices = config["services"]["api"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "1", "capabilities": ["gpu"]}]
    assert config["services"]["api"]["environment"]["SIMSERVE_MODELS__DEVICE"] == "cuda"


def test_profiles(config: dict) -> None:
    assert compose_check.profiles(config) == {"cpu", "milvus", "loadtest"}
    assert compose_check.services_for(config, {"cpu"}) == {"api", "api-cpu"}
    assert compose_check.services_for(config, {"milvus"}) == {
        "api",
        "api-milvus",
        "milvus",
        "etcd",
        "minio",
    }
    assert compose_check.services_for(config, {"loadtest"}) >= {"locust-master", "locust-worker"}


@pytest.mark.parametrize("name", ["api", "api-cpu", "api-milvus"])
def test_api_variants_are_production_shaped(config: dict, name: str) -> None:
    service = config["services"][name]
    assert service["restart"] == "unless-stopped"
    assert service["healthcheck"]["test"] == [
        "CMD",
        "python",
        "/opt/simserve/scripts/healthcheck.py",
    ]
    assert set(service["volumes"]) == {
        "models:/var/lib/simserve/models",
        "collections:/var/lib/simserve/collections",
    }
    # Published on loopback unless the operator opts in to another address.
    assert service["ports"] == ["127.0.0.1:8000:8000"]
    assert service["networks"]["default"]["aliases"] == ["simserve"]
    assert service["environment"]["SIMSERVE_SERVER__HOST"] == "0.0.0.0"
    expected_device = "cuda" if name == "api" else "cpu"
    assert service["environment"]["SIMSERVE_MODELS__DEVICE"] == expected_device


def test_milvus_profile_points_the_api_at_milvus(config: dict) -> None:
    env = config["services"]["api-milvus"]["environment"]
    assert env["SIMSERVE_COLLECTIONS__DEFAULT_BACKEND"] == "milvus"
    assert env["SIMSERVE_COLLECTIONS__MILVUS_URI"] == "http://milvus:19530"
    assert config["services"]["api-milvus"]["depends_on"]["milvus"] == {
        "condition": "service_healthy"
    }
    milvus_env = config["services"]["milvus"]["environment"]
    assert milvus_env["ETCD_ENDPOINTS"] == "etcd:2379"
    assert milvus_env["MINIO_ADDRESS"] == "minio:9000"


def test_environment_overrides_are_interpolated() -> None:
    env = {"SIMSERVE_HOST_PORT": "9000", "SIMSERVE_BIND": "0.0.0.0", "LOCUST_WORKERS": "4"}
    config = compose_check.load(env=env)
    assert config["services"]["api"]["ports"] == ["0.0.0.0:9000:8000"]
    assert config["services"]["locust-worker"]["deploy"]["replicas"] == 4
    assert "--expect-workers 4" in config["services"]["locust-master"]["command"]
    assert compose_check.schema_problems(config) == []


def test_loadtest_profile_mounts_the_locustfile(config: dict) -> None:
    master = config["services"]["locust-master"]
    assert "../loadtest:/mnt/loadtest:ro" in master["volumes"]
    assert "-f /mnt/loadtest/locustfile.py --master" in master["command"]
    assert "--host http://simserve:8000" in master["command"]
    assert (compose_check.ROOT / "loadtest" / "locustfile.py").is_file()


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A-d}", {"A": ""}, ""),
        ("${A-d}", {}, "d"),
        ("$A/$${B}", {"A": "1"}, "1/${B}"),
        ("pre-${MISSING}-post", {}, "pre--post"),
    ],
)
def test_interpolate(text: str, env: dict, expected: str) -> None:
    assert compose_check.interpolate(text, env) == expected


def test_interpolate_required_variable() -> None:
    with pytest.raises(compose_check.InterpolationError, match="TOKEN: set it"):
        compose_check.interpolate("${TOKEN:?set it}", {})


def test_load_rejects_a_non_mapping(tmp_path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(["a", "b"]))
    with pytest.raises(ValueError, match="expected a mapping"):
        compose_check.load(path)


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
@pytest.mark.parametrize("profile", [None, "cpu", "milvus", "loadtest"])
def test_docker_compose_config_accepts_every_profile(profile: str | None) -> None:
    cmd = ["docker-compose", "-f", str(compose_check.COMPOSE_FILE)]
    cmd += ["--profile", profile] if profile else []
    proc = subprocess.run([*cmd, "config", "-q"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
