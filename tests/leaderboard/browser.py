"""Headless Chromium driven by Selenium, for the site's browser test and its screenshots.

``python -m tests.leaderboard.browser SITE_DIR OUT_DIR`` saves screenshots of the main page, the
first model page and the first task page (``make screenshots`` writes docs/images).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
DRIVER = "chromedriver"
#: Chromium as root on a machine whose only network is its package registries.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


def missing() -> str | None:
    """Why the browser cannot be driven here, or ``None`` when it can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed (pip install selenium)"
    if not any(shutil.which(name) for name in CHROMIUM):
        return "no Chromium on PATH (apt-get install chromium chromium-driver)"
    if not shutil.which(DRIVER):
        return "no chromedriver on PATH (apt-get install chromium-driver)"
    return None


@contextmanager
def chromium(width: int = 1400, height: int = 900) -> Iterator[object]:
    """A headless Chromium session with a fresh, empty profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="wmbench-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = next(shutil.which(n) for n in CHROMIUM if shutil.which(n))
        for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(shutil.which(DRIVER)))
        try:
            yield driver
        finally:
            driver.quit()


def full_page_screenshot(driver, path: Path, width: int = 1400, max_height: int = 2400) -> Path:
    """The page down to ``max_height`` pixels, as a PNG."""
    height = min(max_height, driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(width, max(height, 400))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path


def screenshots(site: Path, out: Path) -> list[Path]:
    """Screenshots of the main page, the first model page and the first task page."""
    model = sorted((site / "models").glob("*.html"))[0]
    task = sorted((site / "tasks").glob("*.html"))[0]
    pages = {"site-main.png": site / "index.html", "site-model.png": model, "site-task.png": task}
    saved = []
    with chromium() as driver:
        for name, page in pages.items():
            driver.get(page.resolve().as_uri())
            saved.append(full_page_screenshot(driver, out / name))
    return saved


if __name__ == "__main__":
    reason = missing()
    if reason:
        sys.exit(f"cannot take screenshots: {reason}")
    for path in screenshots(Path(sys.argv[1]), Path(sys.argv[2])):
        print(path)
