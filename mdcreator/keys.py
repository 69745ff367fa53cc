"""Where the signing keys come from (SPEC §0.1, decision 41).

No key written in the code signs anything. Production (PostgreSQL) takes both keys from the
environment and refuses to start without them. The embedded default generates a random secret on
its first start and keeps it under `var/` with mode 0600; its JWT key is derived from that secret,
so the two never coincide.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
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
    """The embedded default's secret: read from `var/secret_key`, created at random the first time."""
    path = Path(var_dir) / KEY_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        secret = path.read_text(encoding="ascii").strip()
        if len(secret) < 32:
            raise ImproperlyConfigured(f"{path} holds no usable secret; delete it to generate a new one.") from None
        return secret
    secret = secrets.token_urlsafe(50)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
    return secret


def derived_jwt_key(secret_key: str) -> str:
    """A JWT signing key derived from the secret key (HMAC-SHA256), never equal to it."""
    return hmac.new(secret_key.encode(), _JWT_DERIVATION_LABEL, hashlib.sha256).hexdigest()
