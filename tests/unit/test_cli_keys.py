"""`authsvc keys generate`: a fresh private key, mode 0600, never over an existing file."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from authsvc.keys import key_id, load_private_key, load_public_keys, public_pem
from tests.support.processes import run_to_end


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # A clean environment: nothing from the developer's shell or .env reaches the command.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd)}
    return run_to_end([sys.executable, "-m", "authsvc", *args], cwd=cwd, env=env, timeout=60)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_generate_writes_a_private_key_and_its_public_key(tmp_path: Path, algorithm: str) -> None:
    out = tmp_path / "signing.pem"

    result = run_cli(["keys", "generate", "--algorithm", algorithm, "--out", str(out)], tmp_path)

    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    private = load_private_key(out.read_text(encoding="utf-8"), algorithm)
    pub = tmp_path / "signing.pem.pub"
    (public,) = load_public_keys(pub.read_text(encoding="utf-8"), algorithm)
    assert public_pem(public) == public_pem(private.public_key())
    assert f"kid {key_id(public)}" in result.stdout
    # RFC 7638: the whole SHA-256 thumbprint, as every JWKS consumer can compute it.
    assert re.search(r"^kid [A-Za-z0-9_-]{43}$", result.stdout, re.MULTILINE), result.stdout
    assert str(pub) in result.stdout
    # The private key never reaches the output.
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    assert pem.splitlines()[1] not in result.stdout + result.stderr


@pytest.mark.parametrize("existing", ["signing.pem", "signing.pem.pub"])
def test_generate_refuses_to_overwrite(tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).write_text("keep me", encoding="utf-8")

    result = run_cli(
        ["keys", "generate", "--algorithm", "ES256", "--out", str(tmp_path / "signing.pem")],
        tmp_path,
    )

    assert result.returncode == 2
    assert "refusing to overwrite" in result.stderr
    assert (tmp_path / existing).read_text(encoding="utf-8") == "keep me"
    assert "Traceback" not in result.stderr


def test_generate_rejects_an_hmac_algorithm(tmp_path: Path) -> None:
    result = run_cli(
        ["keys", "generate", "--algorithm", "HS256", "--out", str(tmp_path / "k.pem")], tmp_path
    )
    assert result.returncode != 0
    assert not (tmp_path / "k.pem").exists()
