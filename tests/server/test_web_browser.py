"""The county web pages in a real headless browser (Debian's chromium driven by Playwright) against a real
``xiangan-county serve`` process: log in, see the township that synced, sort and filter, issue a 督办,
upload a USB bundle and download the return file, enrol a township. Screenshots of each page are saved
(to $XIANGAN_WEB_SCREENSHOTS if set, else the test's temp folder) for people to look at."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models.sync_state import SupervisionOrder
from app.server.overview import CountyOverview
from app.sync.bundle import peek_envelope
from tests.server.web_world import ADMIN_LOGIN, SILENT_NAME, WebWorld, make_web_world

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.slow


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e .[dev])")
    if not CHROMIUM.exists():
        print(f"SKIP reason: {CHROMIUM} is missing; `apt-get install chromium` to run the browser test")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN",
                                          accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Callable[[object, str], Path]:
    folder = Path(os.environ.get("XIANGAN_WEB_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)

    def shoot(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot


@pytest.fixture
def served(tmp_path: Path, live_county_factory) -> Iterator[tuple[WebWorld, str]]:
    """The demo township synced by USB into a county that a real server process serves."""
    ww = make_web_world(tmp_path / "world")
    live = live_county_factory(ww.world.root / "county")
    try:
        yield ww, live.url
    finally:
        ww.close()


def visible_rows(page, table_id: str) -> int:
    return page.locator(f"#{table_id} tbody tr:not(.is-hidden)").count()


def test_staff_work_through_the_pages_in_a_real_browser(served, browser_page, shots, tmp_path: Path) -> None:
    ww, url = served
    page = browser_page
    line = next(t for t in CountyOverview(ww.county).townships() if t.code == ww.code)

    # 登录: a wrong password first, then the right one
    page.goto(url + "/")
    assert page.url.startswith(url + "/login")
    shots(page, "01-login")
    page.fill("#username", ADMIN_LOGIN[0])
    page.fill("#password", "wrong-password-1")
    page.click("#login-button")
    assert "还可以再试4次" in page.inner_text("#login-error")
    page.fill("#password", ADMIN_LOGIN[1])
    page.click("#login-button")
    page.wait_for_url(url + "/")

    # 乡镇总览: the township that synced, sortable and filterable
    assert page.locator("h1").inner_text() == "乡镇总览"
    synced = page.locator("#township-table tbody tr", has_text=ww.name)
    assert synced.count() == 1 and f"{line.readiness.score:g}" in synced.inner_text()
    assert page.inner_text(".table-count[data-table=township-table]") == "共 2 行"
    page.evaluate("document.fonts.ready")
    # The bundled face is loaded only on PCs without a Chinese font; when it is, the browser must accept it.
    assert page.evaluate("Array.from(document.fonts).map(f => f.status)") in ([], ["unloaded"], ["loaded"])
    shots(page, "02-overview")
    page.click("#township-table th:has-text('记录数')")
    assert page.locator("#township-table tbody tr").first.inner_text().startswith(SILENT_NAME)
    page.click("#township-table th:has-text('记录数')")
    assert page.locator("#township-table tbody tr").first.inner_text().startswith(ww.name)
    page.select_option("#township-tag", "从未上报")
    assert visible_rows(page, "township-table") == 1
    assert page.inner_text(".table-count[data-table=township-table]") == "显示 1 / 2 行"
    page.select_option("#township-tag", "")
    page.fill("#township-filter", ww.code)
    assert visible_rows(page, "township-table") == 1
    page.fill("#township-filter", "")

    # 乡镇详情: readiness by item and village, hazards with a 督办 button each
    page.click(f"a.township-link:has-text('{ww.name}')")
    page.wait_for_url(f"{url}/townships/{ww.code}")
    assert visible_rows(page, "hazard-table") == line.hazards.open
    page.select_option("#hazard-tag", "逾期")
    assert visible_rows(page, "hazard-table") == line.hazards.overdue
    page.select_option("#hazard-tag", "")
    assert page.locator("#item-table tbody tr").count() == 7  # 七有
    shots(page, "03-township")

    # 督办: a missing title is named, the typed content kept; then issued
    first = page.locator("#hazard-table tbody tr").first
    number = first.locator("td").first.inner_text()
    first.locator("a:has-text('督办')").click()
    page.wait_for_url(f"{url}/townships/{ww.code}/supervise?hazard={number}")
    page.fill("#content", "请十日内整改到位。")
    page.click("#supervise-button")
    assert "督办标题：不能为空" in page.inner_text("#form-errors")
    assert page.input_value("#content") == "请十日内整改到位。"
    shots(page, "04-supervise-error")
    page.fill("#title", "浏览器下发的督办")
    page.fill("#deadline", (date.today() + timedelta(days=10)).isoformat())
    page.click("#supervise-button")
    page.wait_for_url(f"{url}/townships/{ww.code}#hazards")
    assert "已下发督办「浏览器下发的督办」" in page.inner_text(".notice-ok")
    assert "浏览器下发的督办" in page.inner_text("#order-table")
    shots(page, "05-township-after-supervision")
    with ww.county.db.session() as session:
        order = session.scalars(select(SupervisionOrder).where(SupervisionOrder.title == "浏览器下发的督办")).one()
        assert order.hazard_number == number

    # 上传U盘文件 → result → download the return file, which the township imports
    ww.add_village("浏览器上传村")
    bundle = ww.pc.export(tmp_path / "usb").path
    page.click("nav a:has-text('上传U盘文件')")
    page.wait_for_url(url + "/upload")
    shots(page, "06-upload")
    page.set_input_files("#bundle", str(bundle))
    page.click("#upload-button")
    page.wait_for_url(url + "/upload")
    assert "导入成功" in page.inner_text("#import-summary")
    shots(page, "07-upload-result")
    with page.expect_download() as download_info:
        page.click("#return-download")
    returned = tmp_path / "return" / download_info.value.suggested_filename
    returned.parent.mkdir()
    download_info.value.save_as(str(returned))
    assert returned.suffix == ".xab" and peek_envelope(returned).kind == "return"
    ww.pc.sync.import_return(returned)
    assert ww.pc.sync.status().pending_records == 0
    with ww.pc.db.session() as session:  # the 督办 came down with the return file
        assert session.scalars(select(SupervisionOrder).where(SupervisionOrder.title == "浏览器下发的督办")).one()

    # 登记乡镇 → the enrolment file
    page.click("nav a:has-text('登记乡镇')")
    page.fill("#code", "360 726")
    page.fill("#name", "浏览器登记镇")
    page.click("#enrol-button")
    assert "乡镇代码：应为1到32位字母、数字、下划线或横线" in page.inner_text("#form-errors")
    assert page.input_value("#name") == "浏览器登记镇"
    shots(page, "08-enrol-error")
    page.fill("#code", "360726500")
    page.fill("#name", "浏览器登记镇")
    page.click("#enrol-button")
    assert "浏览器登记镇" in page.inner_text("#enrol-summary")
    shots(page, "09-enrol-result")
    with page.expect_download() as download_info:
        page.click("#enrol-download")
    assert download_info.value.suggested_filename.endswith(".xae")

    # 退出
    page.click("#logout-button")
    page.wait_for_url(url + "/login")
    page.goto(url + f"/townships/{ww.code}")
    assert page.url.startswith(url + "/login")
