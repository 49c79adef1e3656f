"""Take the README's screenshot: the sample site continuing a trace, in real Chromium.

make screenshot   # writes docs/sample-page.png
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
HEADERS = {
    "sentry-trace": "771a43a4192642f0b136d5159a501700-b7ad6b7169203331-1",
    "baggage": (
        "sentry-trace_id=771a43a4192642f0b136d5159a501700,"
        "sentry-public_key=49d0f7386ad645858ae85020e393bef3,sentry-release=shop%401.4.2,"
        "sentry-environment=production,sentry-sample_rate=1,sentry-sampled=true"
    ),
}


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sample_site.settings"}
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
            page = browser.new_page(
                extra_http_headers=HEADERS, viewport={"width": 1100, "height": 900}
            )
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function(
                "() => window.__metatraceSample && window.__metatraceSample.ready"
            )
            page.evaluate("() => window.__metatraceSample.flush()")
            page.wait_for_function("() => document.documentElement.dataset.browserTraceId")
            page.screenshot(path=str(ROOT / "docs" / "sample-page.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
