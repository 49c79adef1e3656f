"""The Django setup under an ASGI server (uvicorn): the middleware runs in its async mode."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.setups.django_settings")

from django.core.asgi import get_asgi_application

application = get_asgi_application()
