"""The admin and the API docs in a real browser: Debian's chromium and chromedriver (`make browser`), headless.

A daphne on the test database serves them with its static files collected, as `make run` does. The browser
reaches nothing but that server (every other host name resolves to nothing). Screenshots go to the folder
named by BROWSER_SCREENSHOTS (default: the test's own tmp folder); their paths are printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as shown
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from accounts.services.staff import staff_grant
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from collab.tests.conftest import DaphneProcess, database_url_of_tests

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
WAIT_SECONDS = 20
SUPPORT_EMAIL = "support.browser@example.com"


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    """daphne on the test database (production settings), its static files collected."""
    with django_db_blocker.unblock():
        database_url = database_url_of_tests()
    var_dir = tmp_path_factory.mktemp("browser-server")
    # Production's Secure cookies as they are: browsers accept them from http://127.0.0.1 (a secure context).
    env = dict(os.environ, DATABASE_URL=database_url, MDCREATOR_VAR_DIR=str(var_dir))
    collect = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert collect.returncode == 0, collect.stderr
    process = DaphneProcess(env).start()
    try:
        yield process.http
    finally:
        process.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), "chromium and chromium-driver are missing: run `make browser`"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--no-first-run", "--disable-extensions",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
                     # No network beyond the server: every host name but 127.0.0.1 resolves to nothing.
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(WAIT_SECONDS)
    yield driver
    driver.quit()


@pytest.fixture
def screenshots(tmp_path):
    folder = Path(os.environ.get("BROWSER_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shoot(driver, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")


def _wait(driver):
    return WebDriverWait(driver, WAIT_SECONDS)


def _responses(driver) -> dict[str, int]:
    """URL -> status of every response the browser received since the last call (the performance log)."""
    found = {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.responseReceived":
            response = message["params"]["response"]
            found[response["url"]] = response["status"]
    return found


def _requested(driver) -> list[str]:
    """Every URL the browser asked for since the last call."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _support_and_target():
    support = UserFactory(email=SUPPORT_EMAIL, display_name="Support Browser")
    staff_grant(user=support)
    target = UserFactory(email="needs.verifying@example.com", unverified=True)
    UserFactory(email="someone.else@example.com", unverified=True)
    return support, target


def test_browser_admin_support_signs_in_searches_and_marks_verified(server, browser, screenshots):
    support, target = _support_and_target()
    browser.get_log("performance")
    browser.get(f"{server}/admin/login/")
    browser.find_element(By.ID, "id_username").send_keys(support.email)
    browser.find_element(By.ID, "id_password").send_keys(DEFAULT_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()
    _wait(browser).until(shown.presence_of_element_located((By.ID, "user-tools")))
    assert browser.current_url == f"{server}/admin/"
    # Styled: the admin's stylesheets arrived, and the header wears their colours, not the browser's defaults.
    stylesheets = {url: status for url, status in _responses(browser).items() if url.endswith(".css")}
    assert any("/static/admin/css/base." in url for url in stylesheets), stylesheets
    assert set(stylesheets.values()) == {200}, stylesheets
    header = browser.find_element(By.ID, "header")
    assert header.value_of_css_property("background-color") not in ("rgba(0, 0, 0, 0)", "transparent")
    assert header.value_of_css_property("display") == "flex"
    _shoot(browser, screenshots, "admin-index")

    browser.get(f"{server}/admin/accounts/user/")
    search = browser.find_element(By.ID, "searchbar")
    search.send_keys("needs.verifying")
    search.submit()
    _wait(browser).until(shown.url_contains("q=needs.verifying"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 1 and target.email in rows[0].text
    _shoot(browser, screenshots, "admin-user-search")

    rows[0].find_element(By.CSS_SELECTOR, "input.action-select").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("mark_verified")
    browser.find_element(By.CSS_SELECTOR, "#changelist-form button[name=index]").click()
    message = _wait(browser).until(shown.presence_of_element_located((By.CSS_SELECTOR, ".messagelist .success")))
    assert message.text == "Marked 1 account(s) verified."
    verified = browser.find_element(By.CSS_SELECTOR, "#result_list tbody tr td.field-email_verified img")
    assert verified.get_attribute("alt") == "True"
    _shoot(browser, screenshots, "admin-marked-verified")
    target.refresh_from_db()
    assert target.email_verified is True


def test_browser_swagger_ui_renders_offline_and_tries_auth_me(server, browser, screenshots):
    support, _ = _support_and_target()
    token = httpx.post(f"{server}/api/v1/auth/login", json={"email": support.email, "password": DEFAULT_PASSWORD})
    assert token.status_code == 200, token.text
    browser.get_log("performance")
    browser.get_log("browser")
    browser.get(f"{server}/api/v1/docs/")
    title = _wait(browser).until(shown.visibility_of_element_located((By.CSS_SELECTOR, ".swagger-ui .info .title")))
    assert title.text.startswith("MD Creator API")
    operation = _wait(browser).until(shown.presence_of_element_located((By.ID, "operations-auth-auth_me_retrieve")))
    _shoot(browser, screenshots, "swagger-ui")

    browser.find_element(By.CSS_SELECTOR, ".swagger-ui .auth-wrapper button.authorize").click()
    modal = _wait(browser).until(shown.visibility_of_element_located((By.CSS_SELECTOR, ".swagger-ui .modal-ux")))
    modal.find_element(By.CSS_SELECTOR, "input[type=text]").send_keys(token.json()["access_token"])
    modal.find_element(By.CSS_SELECTOR, "button.authorize").click()
    modal.find_element(By.CSS_SELECTOR, "button.btn-done").click()

    operation.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    _wait(browser).until(lambda _: operation.find_elements(By.CSS_SELECTOR, ".try-out__btn"))[0].click()
    _wait(browser).until(lambda _: operation.find_elements(By.CSS_SELECTOR, "button.execute"))[0].click()
    status = _wait(browser).until(
        lambda _: operation.find_elements(By.CSS_SELECTOR, ".live-responses-table .response .response-col_status")
    )[0]
    body = operation.find_element(By.CSS_SELECTOR, ".live-responses-table .response-col_description pre").text
    browser.execute_script("arguments[0].scrollIntoView()", status)
    _shoot(browser, screenshots, "swagger-try-auth-me")
    assert status.text.startswith("200"), body
    assert json.loads(body)["email"] == SUPPORT_EMAIL

    requested = _requested(browser)
    assert any("/api/v1/schema/" in url for url in requested) and any("/api/v1/auth/me" in url for url in requested)
    elsewhere = [url for url in requested if not url.startswith((f"{server}/", "data:", "blob:"))]
    assert elsewhere == [], "the docs page reached beyond the server"
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []

