"""README.md is true: its walk-through runs, and what it names exists.

- The curl walk-through (the `sh` block under "Walk-through with curl") runs in bash against a
  real `authsvc serve`, started as `./scripts/serve` starts it without configuration. A comment
  at the end of a command (or alone on an indented line right below it) is what the command
  must print, `…` matching anything; a command without one must print nothing.
- Every `authsvc …` command in a code block or span is a real sub-command, and every `--flag`
  given with it appears in that sub-command's `--help`.
- The settings table names exactly the fields of `Settings`.
- Every repository path in code (a word whose first segment is a top-level entry of the
  repository, a Markdown link, the Layout tree) exists; `./scripts/…` commands are executable.
- Every `python -m MODULE` names an importable module.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import re
import shlex
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from authsvc import cli
from authsvc.settings import Settings
from tests.support.processes import ServerFactory, server_env

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
WALK_THROUGH = "Walk-through with curl"
README_PORT = "localhost:8000"
# Written by the test suites, not shipped.
GENERATED = {
    "tests/browser/artifacts/demo-signed-in.png",
    "tests/browser/artifacts/totp-enrolment.png",
}
SCRIPT_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Block:
    section: str
    language: str
    text: str


def blocks(markdown: str) -> list[Block]:
    """Every fenced code block with its language and the heading it sits under."""
    found, section = [], ""
    lines = iter(markdown.splitlines())
    for line in lines:
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        match = re.fullmatch(r"```(\w*)\s*", line)
        if match:
            body = []
            for inner in lines:
                if inner.startswith("```"):
                    break
                body.append(inner)
            found.append(Block(section, match.group(1), "\n".join(body)))
    return found


def code_spans(markdown: str) -> list[str]:
    """Inline `code` outside fenced blocks."""
    outside = re.sub(r"^```.*?^```", "", markdown, flags=re.S | re.M)
    return re.findall(r"`([^`\n]+)`", outside)


def strip_comment(line: str) -> tuple[str, str | None]:
    """A shell line and its trailing comment (None without one); quotes are respected."""
    for match in re.finditer(r"\s+#\s?", line):
        command = line[: match.start()]
        try:
            shlex.split(command)
        except ValueError:
            continue  # the `#` is inside quotes
        return command, line[match.end() :].strip()
    return line, None


@dataclass
class Command:
    text: str
    expected: str | None


def commands(script: str) -> list[Command]:
    """Shell commands (continuations joined) with the output their comment promises."""
    found: list[Command] = []
    pending = ""
    previous_was_command = False
    for raw in script.splitlines():
        stripped = raw.strip()
        if not stripped:
            previous_was_command = False
            continue
        if stripped.startswith("#"):
            # Alone on an indented line right below a command: that command's output.
            if raw[0].isspace() and previous_was_command and found[-1].expected is None:
                found[-1].expected = stripped.lstrip("#").strip()
            else:
                previous_was_command = False
            continue
        command, comment = strip_comment(raw)
        if command.rstrip().endswith("\\"):
            pending += command.rstrip()[:-1] + " "
            continue
        found.append(Command(text=pending + command.strip(), expected=comment))
        pending = ""
        previous_was_command = True
    assert not pending, "the block ends inside a line continuation"
    return found


def matches(expected: str, output: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("…"))
    return re.fullmatch(pattern, output, flags=re.S) is not None


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text(encoding="utf-8")


# --- the walk-through -------------------------------------------------------------------


@pytest.mark.requires("curl", "jq")
def test_the_curl_walk_through_prints_what_it_says(
    readme: str, servers: ServerFactory, tmp_path: Path
) -> None:
    (walk,) = (b for b in blocks(readme) if b.section == WALK_THROUGH and b.language == "sh")
    steps = commands(walk.text)
    assert len(steps) >= 5
    assert all(README_PORT in step.text for step in steps if "curl" in step.text)
    # As `./scripts/serve` runs without .env: development mode, throwaway secrets.
    env = server_env(
        tmp_path / "authsvc.db",
        ENVIRONMENT="development",
        ACCESS_TOKEN_SECRET=None,
        REFRESH_TOKEN_SECRET=None,
    )
    server = servers.start(env)
    address = f"localhost:{server.port}"

    marker = f"@@step-{uuid.uuid4().hex}@@"
    script = ["set -euo pipefail"]
    for n, step in enumerate(steps):
        script.append(f"printf '\\n{marker}{n}\\n'")
        script.append(step.text.replace(README_PORT, address))
    workdir = tmp_path / "walk"
    workdir.mkdir()
    result = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=workdir,
        env={k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields},
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    outputs = re.split(rf"\n{re.escape(marker)}\d+\n", "\n" + result.stdout)[1:]
    assert len(outputs) == len(steps), result.stdout
    for step, output in zip(steps, outputs, strict=True):
        printed = output.strip()
        if step.expected is None:
            assert printed == "", f"{step.text}\nprinted {printed!r} but the README shows nothing"
        else:
            assert matches(step.expected, printed), (
                f"{step.text}\nprinted {printed!r}\nREADME says {step.expected!r}"
            )


def test_walk_through_parsing() -> None:
    script = """# narrative
curl -s a \\
  -d 'x # not a comment'   # {"id":"…"}
TOKEN=$(echo 1)
curl -s b
                 # 204

echo done  # done
"""
    assert [(c.text, c.expected) for c in commands(script)] == [
        ("curl -s a  -d 'x # not a comment'", '{"id":"…"}'),
        ("TOKEN=$(echo 1)", None),
        ("curl -s b", "204"),
        ("echo done", "done"),
    ]
    assert matches('{"id":"…","n":1}', '{"id":"abc","n":1}')
    assert not matches('{"id":"…","n":1}', '{"id":"abc","n":2}')


# --- what the README names --------------------------------------------------------------


def _code_lines(readme: str, *, comments: bool = False) -> Iterator[str]:
    """Every line of the shell blocks (or only their comments) and every inline code span."""
    for block in blocks(readme):
        if block.language == "sh":
            for line in block.text.splitlines():
                command, comment = strip_comment(line)
                if line.lstrip().startswith("#"):
                    command, comment = "", line.lstrip()[1:]
                yield (comment or "") if comments else command
    if not comments:
        yield from code_spans(readme)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-commands a parser offers (none for a leaf command)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _help(parser: argparse.ArgumentParser) -> str:
    """What `authsvc … --help` prints for this parser."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), pytest.raises(SystemExit) as exited:
        parser.parse_args(["--help"])
    assert exited.value.code == 0
    return printed.getvalue()


def test_every_authsvc_command_and_flag_named_exists(readme: str) -> None:
    invocations = set()
    command = r"authsvc((?:\s+[^\s|;&#)]+)*)"
    for line in _code_lines(readme):
        for match in re.finditer(rf"(?:^|[\s/]){command}", line):
            invocations.add(tuple(match.group(1).split()))
    # In a comment only what reads as a command: `.venv/bin/authsvc …`, `python -m authsvc …`.
    for line in _code_lines(readme, comments=True):
        for match in re.finditer(rf"(?:/|-m ){command}", line):
            invocations.add(tuple(match.group(1).split()))
    assert invocations, "the README names no authsvc command"
    for words in sorted(invocations):
        path: list[str] = []
        parser = cli.build_parser()
        for word in words:
            choices = _subcommands(parser)
            if not choices or word.startswith("-") or word.isupper():
                break
            assert word in choices, f"`authsvc {' '.join([*path, word])}`: no such command"
            path.append(word)
            parser = choices[word]
        help_text = _help(parser)
        for flag in (w.split("=")[0] for w in words if re.fullmatch(r"--[a-z][a-z-]*(=.*)?", w)):
            assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", help_text), (
                f"`authsvc {' '.join(path)}` has no {flag}"
            )


def test_the_settings_table_names_exactly_the_settings(readme: str) -> None:
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    named = set()
    for row in section.splitlines():
        if row.startswith("| `"):
            first_cell = row.split("|")[1]
            named.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", first_cell))
    fields = {name.upper() for name in Settings.model_fields}
    assert named - fields == set(), "in the README but not a setting"
    assert fields - named == set(), "a setting the README does not document"


def _repo_paths(readme: str) -> set[str]:
    top_level = {entry.name for entry in ROOT.iterdir()} - {".git", ".venv"}
    paths = set()
    for line in _code_lines(readme):
        for word in re.split(r"[\s=:,()\[\]\"']+", line):
            word = word.rstrip(".;")
            if "://" in word or any(c in word for c in "*$<>{}…"):
                continue
            relative = word.removeprefix("./")
            if relative.split("/", 1)[0] in top_level and relative != ".":
                paths.add(relative)
    paths.update(re.findall(r"\]\((?!https?:|#)([^)#\s]+)", readme))
    return paths


def test_every_repository_path_named_exists(readme: str) -> None:
    paths = _repo_paths(readme)
    assert {"scripts/serve", "scripts/test", ".env.example", "docker-compose.yml"} <= paths
    missing = sorted(p for p in paths - GENERATED if not (ROOT / p).exists())
    assert missing == []
    for line in _code_lines(readme):
        for script in re.findall(r"(?:^|\s)\./(scripts/[\w-]+)", line):
            assert os.access(ROOT / script, os.X_OK), f"{script} is not executable"


def test_the_layout_tree_matches_the_repository(readme: str) -> None:
    (layout,) = (b for b in blocks(readme) if b.section == "Layout")
    parent = ROOT
    checked = 0
    for line in layout.text.splitlines():
        if not line.strip():
            continue
        name = line.split()[0]
        if not line[0].isspace():
            assert (ROOT / name).exists(), name
            parent, checked = ROOT / name, checked + 1
        elif (
            line.startswith("  ")
            and not line.startswith("   ")
            and re.fullmatch(r"[\w.-]+/?", name)
        ):
            assert (parent / name).exists(), f"{parent.relative_to(ROOT)}/{name}"
            checked += 1
    assert checked >= 10


def test_every_python_module_run_with_dash_m_exists(readme: str) -> None:
    lines = [*_code_lines(readme), *_code_lines(readme, comments=True)]
    modules = {m for line in lines for m in re.findall(r"-m ([\w.]+)", line)}
    assert "authsvc" in modules
    for module in modules:
        assert importlib.util.find_spec(module) is not None, module
