"""Settings of `make loadtest`: production settings plus the bare view (bench/urls.py).

gunicorn serves plain HTTP on loopback there (no nginx in front), so nothing
may redirect to HTTPS; everything else is what a deployment runs.
"""

import os

os.environ.setdefault("KEYWARD_HTTPS", "0")

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
STATIC_ROOT = BASE_DIR / "var" / "loadtest-static"  # noqa: F405
