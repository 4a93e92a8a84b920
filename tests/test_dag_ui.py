"""The nightly DAG in a running Airflow: `airflow standalone` (scheduler, API server + UI, DAG
processor, triggerer) bound to 127.0.0.1 over the history of the end-to-end DAG tests, driven
by a real headless browser (Debian's Chromium through Selenium) and by the CLI:

- log in, check the runs succeeded, save a screenshot of the grid (var/screenshots/);
- the UI's Run Backfill over the finished days plus a new one runs only the new day;
- `airflow backfill create` over finished days plus a new one plans only the new day (a dry run:
  the UI's backfill ran one to the end); rerunning a finished night through it changes no
  table; a backfill of a day before the graph's history is refused.

Runs after tests/test_dag_e2e.py (file order): it extends that warehouse's history.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import BACKFILL_DAYS, DAG_DAYS, table_versions

from warehouse import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.spark]

SCREENSHOT = REPO_ROOT / "var" / "screenshots" / "airflow-grid.png"
REPORT_SCREENSHOT = SCREENSHOT.with_name("night-report.png")
DAG_ID = "user_interest_nightly"
NIGHT_TIMEOUT = 20 * 60  # a tiny night through the scheduler, one JVM per Spark step, 2 cores


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


class Airflow:
    """The running Airflow: its REST API (as admin) and its CLI, in the server's environment."""

    def __init__(self, url: str, password: str, env: dict[str, str], log: Path) -> None:
        self.url, self.password, self.env, self.log = url, password, env, log
        self._token = ""

    def api(self, path: str) -> dict:
        if not self._token:
            login = urllib.request.Request(
                f"{self.url}/auth/token",
                data=json.dumps({"username": "admin", "password": self.password}).encode(),
                headers={"Content-Type": "application/json"},
            )
            self._token = json.load(urllib.request.urlopen(login))["access_token"]
        request = urllib.request.Request(
            f"{self.url}/api/v2/{path}", headers={"Authorization": f"Bearer {self._token}"}
        )
        return json.load(urllib.request.urlopen(request))

    def runs(self) -> dict[str, dict]:
        """logical day -> the DAG's run on that day (REST API)."""
        runs = self.api(f"dags/{DAG_ID}/dagRuns?limit=100")["dag_runs"]
        return {r["logical_date"][:10]: r for r in runs}

    def task_states(self, run_id: str) -> dict[str, str]:
        tis = self.api(f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {ti["task_id"]: ti["state"] for ti in tis}

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        airflow = Path(sys.executable).parent / "airflow"
        return subprocess.run(
            [airflow, *args], env=self.env, capture_output=True, text=True, timeout=300
        )

    def backfill(self, first: date, last: date, reprocess: str, dry_run: bool = False) -> str:
        """Create a backfill as the README says (or only print the runs it would create)."""
        done = self.cli(
            "backfill", "create", "--dag-id", DAG_ID, "--from-date", first.isoformat(),
            "--to-date", last.isoformat(), "--reprocess-behavior", reprocess,
            "--max-active-runs", "1", *(["--dry-run"] if dry_run else []),
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def wait_for_backfills(self, timeout: float) -> list[dict]:
        """The DAG's backfills, once every one has completed."""

        def completed():
            backfills = self.api(f"backfills?dag_id={DAG_ID}")["backfills"]
            return all(b["completed_at"] for b in backfills) and backfills

        try:
            return wait_for(completed, timeout, "the backfills")
        except TimeoutError:
            raise AssertionError(self.log.read_text()[-3000:]) from None


@pytest.fixture(scope="module")
def airflow(dag_nights, airflow_home: Path) -> Iterator[Airflow]:
    """A running `airflow standalone` over the test Airflow home and warehouse."""
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
        yield Airflow(url, json.loads(passwords.read_text())["admin"], env, log_path)
    except TimeoutError:
        raise AssertionError(log_path.read_text()[-3000:]) from None
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser(airflow: Airflow) -> Iterator:
    """Headless Chromium, logged in to the Airflow UI as admin."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "install Debian's chromium and chromium-driver (scripts/test.sh)"
    options = Options()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument("--window-size=1600,1000")
    session = webdriver.Chrome(service=Service(driver), options=options)
    session.implicitly_wait(0)
    try:
        session.get(f"{airflow.url}/")
        wait = WebDriverWait(session, 60)
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[type=password]")))
        user, secret = session.find_elements(By.CSS_SELECTOR, "input")[:2]
        user.send_keys("admin")
        secret.send_keys(airflow.password)
        session.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda b: "/login" not in b.current_url)
        yield session
    finally:
        session.quit()


def ui_wait(browser):
    """A 60 s wait that tries again where the React UI re-rendered meanwhile: an element found
    a moment ago is gone (stale) or covered, or a dialog is not there yet (StopIteration)."""
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        StaleElementReferenceException,
    )
    from selenium.webdriver.support.ui import WebDriverWait

    retried = [StaleElementReferenceException, ElementClickInterceptedException, StopIteration]
    return WebDriverWait(browser, 60, ignored_exceptions=retried)


def published_days(settings) -> list[date]:
    from warehouse.lake import read_arrow
    from warehouse.tables import OPS_PUBLICATIONS

    rows = read_arrow(settings, OPS_PUBLICATIONS, ["ds", "decision"]).to_pylist()
    return sorted(r["ds"] for r in rows if r["decision"] == "published")


def test_ui_shows_the_successful_nights(airflow, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    wait = ui_wait(browser)
    browser.get(f"{airflow.url}/dags/{DAG_ID}/runs")

    def run_states() -> list[str]:
        # one badge per run with its state's name (the page's other badges show an icon only)
        badges = browser.find_elements(By.CSS_SELECTOR, "[data-testid=state-badge]")
        return sorted(text for badge in badges if (text := badge.text.strip().lower()))

    shown = wait.until(lambda b: len(states := run_states()) >= len(DAG_DAYS) and states)
    assert shown == ["success"] * len(DAG_DAYS)
    runs = airflow.runs()
    assert {day: run["state"] for day, run in runs.items()} == {
        d.isoformat(): "success" for d in DAG_DAYS
    }
    for day, run in runs.items():  # dated when they ran, not at their logical dates
        took = datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])
        assert timedelta(0) < took < timedelta(hours=1), (day, run["start_date"], run["end_date"])

    browser.get(f"{airflow.url}/dags/{DAG_ID}")
    wait.until(ec.presence_of_element_located((By.XPATH, f"//*[contains(text(), '{DAG_ID}')]")))
    time.sleep(3)  # let the grid draw its bars
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))


REPORT_SECTIONS = ["decision", "reconciliation", "sessions", "graph", "training", "models", "gate",
                   "movement", "top-items"]  # fmt: skip
REPORT_PLOTS = ["rejected", "sessions", "graph-size", "ids", "graph-churn", "training", "ndcg",
                "gate", "movement"]  # fmt: skip


def test_each_night_has_a_report_that_opens_in_a_browser(browser, dag_nights) -> None:
    """The DAG's report task wrote one self-contained page per night and an index; the last
    night's shows every section and plot (the first night trained nothing: its page says so)."""
    from selenium.webdriver.common.by import By

    reports = dag_nights.settings.reports_dir
    pages = sorted(reports.glob("ds=*.html"))
    assert [p.name for p in pages] == [f"ds={d}.html" for d in DAG_DAYS]
    assert all(p.stat().st_size < 1_000_000 for p in pages)  # one night's axis drew 4.5 MB once
    browser.get((reports / "index.html").as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "#nights tr td:nth-child(2)")
    assert [r.text for r in rows] == ["published", "published", "no model"]

    browser.get((reports / f"ds={DAG_DAYS[-1]}.html").as_uri())
    assert browser.find_element(By.CSS_SELECTOR, ".banner").text.startswith("PUBLISHED: ")
    for section in REPORT_SECTIONS:
        assert browser.find_element(By.ID, section).is_displayed(), section
    for plot in REPORT_PLOTS:
        svg = browser.find_element(By.CSS_SELECTOR, f"#plot-{plot} svg")
        assert svg.size["height"] > 50 and svg.size["width"] > 100, plot
    assert not browser.find_elements(By.CSS_SELECTOR, "script, link, img[src^='http']")
    REPORT_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(REPORT_SCREENSHOT))

    browser.get((reports / f"ds={DAG_DAYS[0]}.html").as_uri())
    assert browser.find_element(By.CSS_SELECTOR, ".banner").text.startswith("NO MODEL: ")


def test_ui_run_backfill_runs_only_the_missing_day(airflow, browser, dag_nights) -> None:
    """Run Backfill over the finished days and the next one, reprocessing missing and errored
    runs (Airflow requires failed or completed with depends_on_past), unpausing the DAG."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    new_day = BACKFILL_DAYS[0]
    before = airflow.runs()
    wait = ui_wait(browser)

    def dialogs():
        return [
            d for d in browser.find_elements(By.CSS_SELECTOR, "[role=dialog]") if d.is_displayed()
        ]

    def backfill_form():
        return next(d for d in dialogs() if "Date Range" in d.text)

    def date_picker():
        hour = (By.CSS_SELECTOR, "[placeholder='HH:mm']")
        return next(d for d in reversed(dialogs()) if d.find_elements(*hour))

    def act(action) -> None:
        """Find an element and act on it, again if it changed under us."""
        wait.until(lambda b: action() or True)

    def click_in_form(xpath: str) -> None:
        act(lambda: backfill_form().find_element(By.XPATH, xpath).click())

    def type_in_date_picker(placeholder: str, *keys: str) -> None:
        field = (By.CSS_SELECTOR, f"[placeholder='{placeholder}']")
        act(lambda: date_picker().find_element(*field).send_keys(*keys))

    def form_shows(text: str) -> None:
        wait.until(lambda b: text in backfill_form().text)

    browser.get(f"{airflow.url}/dags/{DAG_ID}")
    act(lambda: browser.find_element(By.CSS_SELECTOR, "button[aria-label='Trigger Dag']").click())
    act(lambda: next(iter(dialogs())).find_element(By.XPATH, ".//*[text()='Backfill']").click())
    for label, day in (("From", DAG_DAYS[0]), ("To", new_day)):
        click_in_form(f".//label[text()='{label}']/..//*[@data-testid='datetime-input']")
        type_in_date_picker("YYYY/MM/DD", f"{day:%Y/%m/%d}")
        type_in_date_picker("HH:mm", "00:00", Keys.ESCAPE)
        form_shows(f"{day:%b %d, %Y}")
    click_in_form(".//*[text()='Missing and Errored Runs']")
    form_shows("1 run will be triggered.")
    form_shows("Unpause")  # checked by default: a backfill only runs once unpaused
    click_in_form(".//button[normalize-space()='Run Backfill']")

    [backfill] = airflow.wait_for_backfills(NIGHT_TIMEOUT)
    assert airflow.api(f"dags/{DAG_ID}")["is_paused"] is False
    assert backfill["reprocess_behavior"] == "failed"
    runs = airflow.runs()
    assert runs[new_day.isoformat()]["state"] == "success"
    assert runs[new_day.isoformat()]["run_type"] == "backfill"
    for day in DAG_DAYS:  # the finished nights were not run again
        assert runs[day.isoformat()]["dag_run_id"] == before[day.isoformat()]["dag_run_id"]
        assert runs[day.isoformat()]["end_date"] == before[day.isoformat()]["end_date"]
    assert published_days(dag_nights.settings)[-1] == new_day


def test_cli_backfills_plan_new_days_skip_finished_ones_refuse_earlier(airflow, dag_nights) -> None:
    """The README's CLI backfill over finished days and the next one plans the new day only (a
    dry run: the UI test above runs such a backfill to the end); over a finished night it runs
    and skips it before any write; before the graph's first day it fails, writing nothing."""
    settings = dag_nights.settings
    new_day, finished = BACKFILL_DAYS[1], [*DAG_DAYS, BACKFILL_DAYS[0]]

    # as the README says: Airflow 3 runs a backfill's tasks only while its DAG is unpaused
    unpaused = airflow.cli("dags", "unpause", DAG_ID)
    assert unpaused.returncode == 0, unpaused.stdout + unpaused.stderr
    planned = airflow.backfill(finished[0], new_day, reprocess="failed", dry_run=True)
    assert re.findall(r"\d{4}-\d{2}-\d{2}", planned.split("Runs to be attempted:")[1]) == [
        new_day.isoformat()
    ]

    # a finished night again: run, and skipped before any write
    versions = table_versions(settings)
    airflow.backfill(finished[-1], finished[-1], reprocess="completed")
    airflow.wait_for_backfills(NIGHT_TIMEOUT)
    run = airflow.runs()[finished[-1].isoformat()]
    assert run["state"] == "success", run
    tasks = airflow.task_states(run["dag_run_id"])
    assert tasks["check_day_order"] == "skipped" and tasks["report"] == "skipped", tasks
    assert table_versions(settings) == versions

    # a day before the graph's first: refused by check_day_order, no table written
    from jobs.synthetic import SyntheticSpec, generate

    earlier = DAG_DAYS[0] - timedelta(days=1)
    list(
        generate(SyntheticSpec(start=earlier, days=1, events_per_day=200, seed=5), settings.raw_dir)
    )
    airflow.backfill(earlier, earlier, reprocess="failed")
    airflow.wait_for_backfills(NIGHT_TIMEOUT)
    run = airflow.runs()[earlier.isoformat()]
    tasks = airflow.task_states(run["dag_run_id"])
    assert run["state"] == "failed" and tasks["check_day_order"] == "failed", tasks
    assert tasks["ingest"] == "upstream_failed"
    assert table_versions(settings) == versions
