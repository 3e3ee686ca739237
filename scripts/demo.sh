#!/usr/bin/env bash
# Start Quarry on the embedded default: migrate, load the digits demo, run web + worker.
# Usage: scripts/demo.sh PYTHON HOST PORT   (make demo calls it; make stop stops it)
# PID files go to var/run/, logs to var/log/.
set -euo pipefail
PY=${1:-.venv/bin/python}
HOST=${2:-127.0.0.1}
PORT=${3:-8000}
cd "$(dirname "$0")/.."
mkdir -p var/log var/run
export PYTHONUNBUFFERED=1

bash scripts/stop.sh >/dev/null 2>&1 || true

echo "==> migrating the database"
"$PY" manage.py migrate --noinput -v0
echo "==> loading the demo project and accounts"
"$PY" manage.py demo_setup

echo "==> starting the web server on http://$HOST:$PORT/"
setsid nohup "$PY" manage.py runserver "$HOST:$PORT" --noreload >var/log/web.log 2>&1 </dev/null &
echo $! >var/run/web.pid
echo "==> starting a Celery worker (queues default,gpu; one task at a time; embedded beat)"
setsid nohup "$PY" -m celery -A workers worker -Q default,gpu --pool prefork --concurrency 1 \
  -B --scheduler django_celery_beat.schedulers:DatabaseScheduler -n "quarry-demo@%h" -l info \
  >var/log/worker.log 2>&1 </dev/null &
echo $! >var/run/worker.pid

for _ in $(seq 1 120); do
  if "$PY" - "$HOST" "$PORT" <<'PYEOF' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/healthz", timeout=2).read()
PYEOF
  if ! kill -0 "$(cat var/run/web.pid)" 2>/dev/null; then
    echo "the web server stopped; see var/log/web.log:" >&2; tail -20 var/log/web.log >&2; exit 1
  fi
  sleep 0.5
done
for _ in $(seq 1 240); do
  grep -q "ready\." var/log/worker.log 2>/dev/null && break
  if ! kill -0 "$(cat var/run/worker.pid)" 2>/dev/null; then
    echo "the worker stopped; see var/log/worker.log:" >&2; tail -20 var/log/worker.log >&2; exit 1
  fi
  sleep 0.5
done

cat <<MSG

Quarry is running.
  URL:        http://$HOST:$PORT/
  Admin:      http://$HOST:$PORT/admin/
  Engineer:   engineer / quarry-engineer   (owner of "Digits demo", admin access)
  Annotator:  annotator / quarry-annotator
  Logs:       var/log/web.log, var/log/worker.log   (PIDs in var/run/)
  Stop with:  make stop
MSG
