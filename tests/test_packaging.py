"""Static checks of the container and service files (no Docker needed): what would break a deploy."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            word, _, rest = full.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (word, _) in enumerate(instructions) if word == "FROM"]
    assert starts, "Dockerfile has no FROM"
    return instructions[starts[-1]:]


def command_words(args: str) -> list[str]:
    """The words of an exec-form (JSON) or shell-form CMD/ENTRYPOINT/HEALTHCHECK CMD."""
    args = args.strip()
    if args.startswith("["):
        return json.loads(args)
    return shlex.split(args)


def test_dockerfile_runs_the_daemon_as_a_non_root_user_with_a_healthcheck() -> None:
    stage = final_stage(dockerfile_instructions(ROOT / "Dockerfile"))
    users = [args for word, args in stage if word == "USER"]
    assert users, "the final stage sets no USER: the daemon would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), users

    healthchecks = [args for word, args in stage if word == "HEALTHCHECK"]
    assert healthchecks and not healthchecks[-1].upper().startswith("NONE"), "no HEALTHCHECK in the final stage"
    check = healthchecks[-1]
    assert " CMD " in f" {check} ", check
    assert "/healthz" in check, "the HEALTHCHECK should ask the daemon's /healthz"

    cmds = [args for word, args in stage if word == "CMD"]
    entry = [args for word, args in stage if word == "ENTRYPOINT"]
    words = (command_words(entry[-1]) if entry else []) + command_words(cmds[-1])
    assert words[0] == "soe-monitor" and words[-1] == "run", words


def test_every_copy_source_exists_and_is_not_dockerignored() -> None:
    ignored = [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines()
               if l.strip() and not l.startswith("#")] if (ROOT / ".dockerignore").exists() else []
    copies = 0
    for word, args in dockerfile_instructions(ROOT / "Dockerfile"):
        if word not in ("COPY", "ADD"):
            continue
        parts = [p for p in shlex.split(args) if not p.startswith("--")]
        if any(p.startswith("--from") for p in shlex.split(args)):
            continue  # copied from another stage
        *sources, _dest = json.loads(args) if args.startswith("[") else parts
        for source in sources:
            copies += 1
            assert (ROOT / source).exists(), f"Dockerfile copies {source!r}, which is not in the repository"
            top = source.rstrip("/").split("/")[0]
            assert top not in ignored, f"{source!r} is copied but excluded by .dockerignore"
    assert copies >= 3


def test_dockerfile_config_edits_match_the_shipped_config() -> None:
    """The image rewrites paths in config.toml with sed: each pattern must still match a line."""
    text = (ROOT / "Dockerfile").read_text()
    config_lines = (ROOT / "config.toml").read_text().splitlines()
    patterns = re.findall(r"s#(\^[^#]+)#", text)
    for pattern in patterns:
        regex = re.compile(pattern)  # sed's basic regex here is also a Python regex
        assert any(regex.search(line) for line in config_lines), f"sed pattern {pattern!r} matches nothing in config.toml"


def test_compose_file_builds_this_image() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    built = {name: svc["build"] for name, svc in services.items() if "build" in svc}
    assert built, "no service builds the image"
    for name, build in built.items():
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        assert (ROOT / context / dockerfile).is_file(), f"service {name}: {context}/{dockerfile} does not exist"
        for volume in services[name].get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"service {name} mounts {source}, which is not in the repository"


def test_systemd_unit_runs_the_daemon() -> None:
    unit = (ROOT / "contrib" / "soe-monitor.service").read_text()
    exec_start = [l.split("=", 1)[1].strip() for l in unit.splitlines() if l.strip().startswith("ExecStart=")]
    assert len(exec_start) == 1, exec_start
    words = shlex.split(exec_start[0])
    assert words[0].endswith("soe-monitor") and words[-1] == "run", words
    assert "[Install]" in unit and re.search(r"^User=(?!root$)\S+", unit, re.M), "the unit should not run as root"


def test_the_daemon_does_not_load_httpx_command_line_tool() -> None:
    """httpx would import rich and pygments for its CLI (~6 MB of the daemon's memory budget)."""
    code = ("import sys, monitor.runtime, monitor.poll, httpx\n"
            "assert httpx.Client and 'rich' not in sys.modules and 'pygments' not in sys.modules, sorted(sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
