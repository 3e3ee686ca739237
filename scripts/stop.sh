#!/usr/bin/env bash
# Stop the web server and the worker that `make demo` started (their PIDs are in var/run/).
cd "$(dirname "$0")/.."
for name in web worker; do
  pidfile="var/run/$name.pid"
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  # Only a process that is still ours: its command line names manage.py or celery.
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qE "manage.py|celery"; then
    # Each was started in its own session: signal the whole group (worker children, beat).
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "stopped $name ($pid)"
  fi
  rm -f "$pidfile"
done
