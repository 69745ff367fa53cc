"""The live tests' wait for idle servers fails loudly: a test never goes on while a server is still writing."""

import psycopg
import pytest

from collab.tests.conftest import database_url_of_tests
from collab.tests.live import wait_servers_idle

pytestmark = pytest.mark.django_db


def test_durability_helpers_wait_servers_idle_names_the_busy_session():
    with psycopg.connect(database_url_of_tests()) as busy:
        busy.execute("SELECT 1")  # a transaction left open: what a server in the middle of a job looks like
        with pytest.raises(AssertionError, match=rf"pid {busy.info.backend_pid} idle in transaction"):
            wait_servers_idle(timeout=0.5)
        busy.rollback()
    wait_servers_idle(timeout=30)
