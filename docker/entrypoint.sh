#!/bin/sh
# Runs before every process of the image (web, worker, beat, migrate), then becomes it.
set -eu

# Prometheus multiprocess mode: every gunicorn worker writes its samples into this directory,
# so files left by an earlier run of the container would be counted again.
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -maxdepth 1 -name '*.db' -delete
fi

exec "$@"
