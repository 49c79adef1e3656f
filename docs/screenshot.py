"""Take the README's screenshot: the sample site as `make run` serves it, in real Chromium.

make screenshot   # writes docs/sample-page.png

No trace comes in: the server starts one with the demo DSN, and the browser SDK continues it.
The picture is taken once the page's panel says so and the pageload transaction went out.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.browser.conftest import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The sample site's defaults, whatever this shell has set.
    defaults = ("SENTRY_DSN", "SENTRY_RELEASE", "METATRACE_SOURCE", "METATRACE_W3C")
    env = {name: value for name, value in os.environ.items() if name not in defaults}
    env["DJANGO_SETTINGS_MODULE"] = "sample_site.settings"
    server = subprocess.Popen(
        [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            # The idle pageload ends by itself about a second after the page settles.
            page.wait_for_function(
                "() => document.documentElement.dataset.browserTraceId", timeout=30_000
            )
            continues = page.get_attribute("#browser-trace", "data-continues")
            if continues != "true":
                sys.exit(f"the browser did not continue the page's trace: {continues!r}")
            page.screenshot(path=str(ROOT / "docs" / "sample-page.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
