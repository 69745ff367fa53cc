"""Where the signing keys come from (SPEC §0.1, decision 41).

No key written in the code signs anything. Production (PostgreSQL) takes both keys from the
environment and refuses to start without them. The embedded default generates a random secret on
its first start and keeps it under `var/` with mode 0600; its JWT key is derived from that secret,
so the two never coincide.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

KEY_FILE_NAME = "secret_key"
REQUIRED_IN_PRODUCTION = ("DJANGO_SECRET_KEY", "JWT_SIGNING_KEY")
_JWT_DERIVATION_LABEL = b"mdcreator.jwt-signing-key"


def missing_keys(environ: dict[str, str]) -> list[str]:
    """The key variables that are unset or blank, in SPEC order."""
    return [name for name in REQUIRED_IN_PRODUCTION if not environ.get(name, "").strip()]


def require_production_keys(environ: dict[str, str]) -> None:
    """Refuse to start a production deployment that would sign with a key nobody chose."""
    missing = missing_keys(environ)
    if missing:
        raise ImproperlyConfigured(
            f"Production settings (DATABASE_URL on PostgreSQL) need explicit signing keys: set {', '.join(missing)} "
            "to long random values (for example `python -c 'import secrets; print(secrets.token_urlsafe(50))'`)."
        )


def embedded_secret(var_dir: Path) -> str:
    """The embedded default's secret: read from `var/secret_key`, created at random the first time.

    The file appears complete or not at all (written aside, then linked into place), so a second process
    starting at the same moment reads the secret the first one chose.
    """
    path = Path(var_dir) / KEY_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd, draft = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_urlsafe(50) + "\n")
            with contextlib.suppress(FileExistsError):  # another process was first: its secret stands
                os.link(draft, path)
        finally:
            os.unlink(draft)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        os.chmod(path, 0o600)
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < 32:
        raise ImproperlyConfigured(f"{path} holds no usable secret; delete it to generate a new one.")
    return secret


def derived_jwt_key(secret_key: str) -> str:
    """A JWT signing key derived from the secret key (HMAC-SHA256), never equal to it."""
    return hmac.new(secret_key.encode(), _JWT_DERIVATION_LABEL, hashlib.sha256).hexdigest()
