#!/usr/bin/env bash
# `make serve`: Keyward with production settings in the foreground: migrate, collectstatic,
# then gunicorn (config/gunicorn.py) and the task worker side by side. Ctrl-C (or TERM)
# stops both; if either exits, the other is stopped too. SQLite unless DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${SECRET_KEY:-}" ]; then
  cat >&2 <<'MESSAGE'
make serve runs Keyward with production settings (DEBUG off) and needs a SECRET_KEY,
as Django's deployment checklist says. Set a long random one, for example:

  export SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"

then run make serve again. (make run serves the development demo without one.)
MESSAGE
  exit 2
fi

host=${HOST:-127.0.0.1}
port=${PORT:-8000}
export DEBUG=0
export KEYWARD_TASKS=${KEYWARD_TASKS:-database}
export GUNICORN_BIND=${GUNICORN_BIND:-$host:$port}
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-$host,localhost}
# prometheus-client's per-worker files: a fresh folder for every start.
metrics=$(mktemp -d "${TMPDIR:-/tmp}/keyward-metrics.XXXXXX")
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$metrics}

# One interpreter for every step; signals then reach gunicorn and the worker themselves.
python=${PYTHON:-$(uv run --no-dev python -c 'import sys; print(sys.executable)')}
"$python" manage.py migrate --noinput
"$python" manage.py collectstatic --noinput --verbosity 0

pids=()
stop() {
  trap - INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  rm -rf "$metrics"
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

"$python" -m gunicorn -c config/gunicorn.py &
pids+=($!)
"$python" manage.py run_worker &
pids+=($!)
echo "Serving Keyward at http://$GUNICORN_BIND/ with its task worker (Ctrl-C stops both)."
if [ "${KEYWARD_HTTPS:-1}" != "0" ]; then
  echo "HTTPS is assumed (KEYWARD_HTTPS): put a TLS proxy in front (deploy/nginx, docs/deploy.md)," \
    "or set KEYWARD_HTTPS=0 to try it over plain HTTP on loopback."
fi
status=0
wait -n "${pids[@]}" || status=$?
echo "A Keyward process exited (status $status); stopping the other." >&2
stop
exit "$status"
