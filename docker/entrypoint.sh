#!/bin/sh
# Container entry point: apply migrations when RUN_MIGRATIONS=1, then run the command (daphne by default).
set -eu

if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then
    python manage.py migrate --noinput
fi

exec "$@"
