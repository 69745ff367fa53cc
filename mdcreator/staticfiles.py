"""Static files (the admin's, the API docs'): served by the application itself through WhiteNoise."""

from __future__ import annotations

import logging

from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger(__name__)


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """`collectstatic` writes hashed, compressed copies that WhiteNoise serves with a one-year cache.

    A file that was never collected (a fresh checkout, a run before `collectstatic`) keeps its plain name
    instead of failing the page that links it; WhiteNoise then finds it in its app (WHITENOISE_USE_FINDERS)
    and serves it with a short cache.
    """

    _warned = False

    def stored_name(self, name):
        try:
            return super().stored_name(name)
        except ValueError:
            if not StaticFilesStorage._warned:
                StaticFilesStorage._warned = True
                logger.warning("static file %s is not collected: serving plain names; run `manage.py collectstatic`", name)
            return self.clean_name(name)
