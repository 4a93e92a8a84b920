"""The Airflow UI in a real headless browser (Debian's Chromium, driven by Selenium):
`airflow standalone` bound to 127.0.0.1 over the runs of the end-to-end DAG test; log in, open
the DAG's runs and grid, check the runs succeeded, save a screenshot (var/screenshots/)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.config import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.spark]

SCREENSHOT = REPO_ROOT / "var" / "screenshots" / "airflow-grid.png"
DAG_ID = "user_interest_nightly"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s")


@pytest.fixture(scope="module")
def airflow_ui(dag_nights, airflow_home: Path) -> Iterator[tuple[str, str]]:
    """(url, admin password) of a running `airflow standalone` over the test Airflow home."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "INTEREST_HOME": str(dag_nights.settings.home),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
    }
    log_path = airflow_home / "standalone.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [Path(sys.executable).parent / "airflow", "standalone"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        health = f"{url}/api/v2/monitor/health"
        wait_for(lambda: urllib.request.urlopen(health, timeout=5).status == 200, 240, health)
        passwords = airflow_home / "simple_auth_manager_passwords.json.generated"
        wait_for(passwords.exists, 60, str(passwords))
        yield url, json.loads(passwords.read_text())["admin"]
    except TimeoutError:
        raise AssertionError(log_path.read_text()[-3000:]) from None
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def api_runs(url: str, password: str) -> dict[str, str]:
    """logical day -> state of the DAG's runs, from the REST API."""
    token_request = urllib.request.Request(
        f"{url}/auth/token",
        data=json.dumps({"username": "admin", "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    token = json.load(urllib.request.urlopen(token_request))["access_token"]
    runs_request = urllib.request.Request(
        f"{url}/api/v2/dags/{DAG_ID}/dagRuns", headers={"Authorization": f"Bearer {token}"}
    )
    runs = json.load(urllib.request.urlopen(runs_request))["dag_runs"]
    return {r["logical_date"][:10]: r["state"] for r in runs}


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "install Debian's chromium and chromium-driver (scripts/test.sh)"
    options = Options()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument("--window-size=1600,1000")
    session = webdriver.Chrome(service=Service(driver), options=options)
    session.implicitly_wait(0)
    yield session
    session.quit()


def test_ui_shows_the_successful_nights(airflow_ui, browser, dag_nights) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url, password = airflow_ui
    wait = WebDriverWait(browser, 60)
    browser.get(f"{url}/")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[type=password]")))
    user, secret = browser.find_elements(By.CSS_SELECTOR, "input")[:2]
    user.send_keys("admin")
    secret.send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda b: "/login" not in b.current_url)

    browser.get(f"{url}/dags/{DAG_ID}/runs")
    badges = wait.until(
        lambda b: (
            (found := b.find_elements(By.CSS_SELECTOR, "[data-testid=state-badge]"))
            and len(found) >= len(dag_nights.days)
            and found
        )
    )
    # one badge per run with its state's name (the page's other badges show an icon only)
    shown = sorted(text for badge in badges if (text := badge.text.strip().lower()))
    assert shown == ["success"] * len(dag_nights.days)
    assert api_runs(url, password) == {d.isoformat(): "success" for d in dag_nights.days}

    browser.get(f"{url}/dags/{DAG_ID}")
    wait.until(ec.presence_of_element_located((By.XPATH, f"//*[contains(text(), '{DAG_ID}')]")))
    time.sleep(3)  # let the grid draw its bars
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
