"""gunicorn settings for production, read from the working directory by ``gunicorn``
(Dockerfile, docker-compose.yml, bench/annotate_load.py). Flags on the command line win.

Sync workers: each request is taken by whichever process is free. With ``gthread``, an
annotator's keep-alive connection stays with the worker that accepted it, and under load
one worker ran at 100 % while the others idled. gunicorn's rule of thumb sets the count:
(2 x CPUs) + 1; ``WEB_CONCURRENCY`` overrides it. On the 2-core development machine 2-5
workers gave the same throughput in ``bench/annotate_load.py``, 8 gave 20 % less and 12
gave 35 % less (the processes then compete with PostgreSQL for the cores).
"""

import os

worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)
timeout = 60
