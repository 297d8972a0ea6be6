"""Headless Chromium through Selenium, for the attention explorer's page tests and screenshots.

Debian's ``chromium`` and ``chromium-driver`` packages (``.ci/run`` installs them); Selenium
is given the system chromedriver, since its own driver download cannot work offline.
"""

import shutil
import tempfile

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def missing_browser():
    """Why a headless Chromium cannot be started here, or None when it can."""
    for program in ("chromium", "chromedriver"):
        if shutil.which(program) is None:
            return f"{program} not found: apt-get install -y chromium chromium-driver"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return 'selenium not installed: pip install -e ".[dev]"'
    return None


def chromium(width=1300, height=2000):
    """A headless Chromium WebDriver with a fresh profile that records the browser console."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-profile-')}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def open_explorer(driver, path, timeout=60):
    """Load the explorer page at ``path`` and wait until its three views are drawn.

    Returns:
        the browser console messages logged while loading (selenium's ``browser`` log).
    """
    from pathlib import Path

    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(Path(path).resolve().as_uri())
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return Boolean(window.attentionExplorer && window.attentionExplorer.ready)")
    )
    return driver.get_log("browser")
