#!/usr/bin/env bash
# Keyward's periodic jobs, run hourly by deploy/systemd/keyward-periodic.timer (or cron).
# Each is idempotent. One failing does not stop the others; the script exits 1 if any
# failed, so the timer (or cron) reports it. PYTHON: the deployment's interpreter.
set -uo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
status=0
run() {
  echo "== manage.py $*"
  "$python" manage.py "$@" || { echo "manage.py $1 failed" >&2; status=1; }
}
# Emails tokens' people before expiry; erases expired tokens' stored copies.
run send_expiry_reminders
# Moves usage counted in Redis to the database and prunes it by retention (a catch-up:
# deploy/systemd/keyward-usage.timer runs it every minute, so charts lag a minute at most).
run flush_usage
# Deletes expired sessions (Django keeps them in the database).
run clearsessions
# Deletes finished task results older than a week (the database task queue).
if [ "${KEYWARD_TASKS:-}" = "database" ]; then
  run prune_db_task_results --min-age-days 7
  # Queues again the tasks of workers that died running them (each worker does it too).
  run requeue_abandoned_tasks
fi
exit $status
