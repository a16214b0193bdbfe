"""Drive the real app in Chromium: a Streamlit server in a subprocess + Playwright.

Used by the browser test and the browser benchmark. Debian's chromium is launched through
Playwright's `executable_path` (never `playwright install`), with flags that work in containers.

    with streamlit_server("streamlit_app.py") as url, chromium() as browser:
        page = browser.new_page(); page.goto(url)
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = os.environ.get("LATENT_EXPLORER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
ROOT = Path(__file__).resolve().parents[2]
IMG = '[data-testid="stImage"] img, [data-testid="stImageContainer"] img'


def chromium_available() -> str | None:
    """None when the browser tests can run, else why not."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "python playwright is not installed"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def streamlit_server(script: str | os.PathLike, env: dict[str, str] | None = None, timeout: float = 60.0,
                     cwd: str | os.PathLike = ROOT) -> Iterator[tuple[str, subprocess.Popen]]:
    """(url, process) of `streamlit run script` on a free local port; stopped on exit."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless=true",
           f"--server.port={port}", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false",
           "--server.fileWatcherType=none", "--server.runOnSave=false"]
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"streamlit-{port}.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError(f"streamlit did not start; see {log.name}")
            time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextlib.contextmanager
def chromium(headless: bool = True):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=headless)
        try:
            yield browser
        finally:
            browser.close()


def wait_idle(page, timeout: float = 60.0) -> None:
    """Wait until Streamlit has finished running the script (no 'running' status widget)."""
    page.wait_for_timeout(150)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout * 1000)


def image_src(page, index: int = 0) -> str:
    return page.eval_on_selector_all(IMG, f"els => els[{index}] ? els[{index}].src : ''")


def timed_change(page, action, index: int = 0, timeout_ms: float = 20_000) -> float:
    """Milliseconds from just before `action()` until image `index` shows a new, loaded picture."""
    page.evaluate(f"""() => {{
        const el = document.querySelectorAll('{IMG}')[{index}];
        window.__old = el ? el.src : ''; window.__t0 = performance.now(); }}""")
    action()
    return page.evaluate(f"""() => new Promise((resolve, reject) => {{
        const limit = performance.now() + {timeout_ms};
        const check = () => {{
            const el = document.querySelectorAll('{IMG}')[{index}];
            if (el && el.src !== window.__old && el.complete && el.naturalWidth > 0)
                return resolve(performance.now() - window.__t0);
            if (performance.now() > limit) return reject(new Error('image did not change'));
            requestAnimationFrame(check);
        }};
        check();
    }})""")
