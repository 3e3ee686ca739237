"""gunicorn settings for production, read from the working directory by ``gunicorn``
(Dockerfile, docker-compose.yml, bench/annotate_load.py). Flags on the command line win.

Sync workers: each request is taken by whichever process is free. With ``gthread``, an
annotator's keep-alive connection stays with the worker that accepted it, and under load
one worker ran at 100 % while the others idled (paced at 500 labels/s, 3 x 2 threads gave
a p99 of 147 ms and 2 s where 3 sync workers gave 17 and 108 ms).

One worker per CPU, and one more to use the cores while the others wait on PostgreSQL:
the processes share the cores with PostgreSQL, and each request runs on caches the others
left cold. On the 2-core development machine, paced at 500 labels/s
(``bench/annotate_load.py --seconds 40 --workers N``, runs alternated), 3 workers spent
1.83 and 1.71 ms of CPU per request against 2.12 and 2.02 ms for 5 (gunicorn's
(2 x CPUs) + 1), with as many labels/s when not paced (733 and 676 against 719 and 661);
8 workers gave 20 % less throughput and 12 gave 35 % less. ``WEB_CONCURRENCY`` overrides
the count: a deployment whose requests often wait (long exports, uploads) wants more.
"""

import os

worker_class = "sync"
# Each worker's heartbeat touches a file in this folder before every request it accepts;
# gunicorn's documentation warns that on a disk-backed /tmp (a container's overlay, an
# ext4 root) that call may block the worker. Memory-backed where the system has it.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
timeout = 60
