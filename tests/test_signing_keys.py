"""No key written in the code signs anything (SPEC §0.1, decision 41).

Settings are read in fresh processes, as a server would start, so each case sees exactly its environment.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEY_VARIABLES = ("DJANGO_SECRET_KEY", "JWT_SIGNING_KEY")
DROPPED = (*KEY_VARIABLES, "DATABASE_URL", "REDIS_URL", "AWS_STORAGE_BUCKET_NAME", "OIDC_ISSUER", "EMAIL_URL")
READ_KEYS = (
    "import django; django.setup(); from django.conf import settings as s; print(s.SECRET_KEY); print(s.JWT_SIGNING_KEY)"
)


def _env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in DROPPED}
    env.update(MDCREATOR_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="mdcreator.settings", **extra)
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _keys(env: dict[str, str]) -> tuple[str, str]:
    result = _run(env, "-c", READ_KEYS)
    assert result.returncode == 0, result.stderr
    secret, jwt_key = result.stdout.split()
    return secret, jwt_key


def test_signing_keys_embedded_default_generates_a_private_random_secret(tmp_path):
    first_dir, second_dir = tmp_path / "one", tmp_path / "two"
    secret, jwt_key = _keys(_env(first_dir))
    key_file = first_dir / "secret_key"
    assert key_file.read_text().strip() == secret
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(secret) >= 50 and jwt_key != secret and len(jwt_key) == 64
    assert _keys(_env(first_dir)) == (secret, jwt_key), "the secret survives restarts"
    other_secret, other_jwt = _keys(_env(second_dir))
    assert other_secret != secret and other_jwt != jwt_key, "every installation draws its own secret"


def test_signing_keys_processes_starting_together_agree_on_one_secret(tmp_path):
    env = _env(tmp_path)
    starting = [
        subprocess.Popen([sys.executable, "-c", READ_KEYS], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    outputs = {process.communicate(timeout=120)[0] for process in starting}
    assert all(process.returncode == 0 for process in starting)
    assert len(outputs) == 1 and outputs.pop().split()[0] == (tmp_path / "secret_key").read_text().strip()
    assert [path.name for path in tmp_path.iterdir()] == ["secret_key"], "no draft is left behind"


def test_signing_keys_embedded_default_tightens_a_readable_key_file(tmp_path):
    (tmp_path / "secret_key").write_text("k" * 60 + "\n")
    (tmp_path / "secret_key").chmod(0o644)
    assert _keys(_env(tmp_path))[0] == "k" * 60
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_signing_keys_embedded_default_refuses_an_empty_key_file(tmp_path):
    (tmp_path / "secret_key").write_text("\n")
    result = _run(_env(tmp_path), "-c", READ_KEYS)
    assert result.returncode != 0 and "holds no usable secret" in result.stderr


def test_signing_keys_explicit_keys_are_used_as_given(tmp_path):
    env = _env(tmp_path, DJANGO_SECRET_KEY="s" * 50, JWT_SIGNING_KEY="j" * 50)
    assert _keys(env) == ("s" * 50, "j" * 50)
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({}, ["DJANGO_SECRET_KEY", "JWT_SIGNING_KEY"]),
        ({"DJANGO_SECRET_KEY": "s" * 50}, ["JWT_SIGNING_KEY"]),
        ({"JWT_SIGNING_KEY": "j" * 50}, ["DJANGO_SECRET_KEY"]),
        ({"DJANGO_SECRET_KEY": "  ", "JWT_SIGNING_KEY": "j" * 50}, ["DJANGO_SECRET_KEY"]),
    ],
)
def test_signing_keys_production_refuses_to_start_without_explicit_keys(tmp_path, given, missing):
    env = _env(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/mdcreator", **given)
    for command in (["manage.py", "check", "--deploy"], ["-c", READ_KEYS]):
        result = _run(env, *command)
        assert result.returncode != 0
        named = result.stderr.splitlines()[-1]
        assert "ImproperlyConfigured" in named
        for name in KEY_VARIABLES:
            assert (name in named) == (name in missing), named
    assert not (tmp_path / "secret_key").exists()


def test_signing_keys_production_starts_with_explicit_keys(tmp_path):
    env = _env(
        tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/mdcreator", DJANGO_SECRET_KEY="s" * 50,
        JWT_SIGNING_KEY="j" * 50,
    )
    result = _run(env, "manage.py", "check", "--deploy")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified" in output and "accounts.W00" not in output


def test_signing_keys_deploy_check_names_the_generated_key(tmp_path):
    result = _run(_env(tmp_path), "manage.py", "check", "--deploy")
    output = result.stdout + result.stderr
    assert "accounts.W001" in output and "DJANGO_SECRET_KEY, JWT_SIGNING_KEY not set" in output


def test_signing_keys_deploy_check_refuses_one_key_for_both(tmp_path):
    env = _env(tmp_path, DJANGO_SECRET_KEY="same" * 13, JWT_SIGNING_KEY="same" * 13)
    result = _run(env, "manage.py", "check", "--deploy")
    output = result.stdout + result.stderr
    assert "accounts.W002" in output and "accounts.W001" not in output

