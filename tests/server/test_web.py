"""The county staff's web pages in process (FastAPI TestClient over the whole county server app): log-in
and lock-out, sessions and CSRF, every page behind the log-in, 乡镇总览/详情, 督办, uploading a USB bundle
and downloading the return file, enrolling a township, and bad input on each form."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import county_cli
from app.models.audit import AuditEntry
from app.models.sync_state import SupervisionOrder
from app.server.app import ServerSettings, create_app
from app.server.overview import CountyOverview
from app.server.staff import add_staff, current_staff, log_in
from app.server.web.fonts import first_face
from app.sync.bundle import peek_envelope
from app.sync.township import TownshipSync
from tests.server.web_world import (
    ADMIN_LOGIN,
    SILENT_NAME,
    VIEWER_LOGIN,
    WebWorld,
    csrf_of,
    make_web_world,
    web_login,
)
from tests.sync.sync_world import World


@pytest.fixture(scope="module")
def ww(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebWorld]:
    world = make_web_world(tmp_path_factory.mktemp("web"))
    yield world
    world.close()


@pytest.fixture(scope="module")
def app(ww: WebWorld):
    return create_app(ww.county)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def admin(client: TestClient) -> TestClient:
    assert web_login(client, ADMIN_LOGIN).status_code == 200
    return client


@pytest.fixture
def viewer(client: TestClient) -> TestClient:
    assert web_login(client, VIEWER_LOGIN).status_code == 200
    return client


def first_open_hazard(ww: WebWorld) -> dict:
    return CountyOverview(ww.county).township(ww.code).hazards[0]


def text_of(html: str) -> str:
    """The page's visible text, tags removed (assertions read what a person reads)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def table(html: str, table_id: str) -> list[dict[str, str]]:
    """A data table as a person reads it: one dict per body row, header text → cell text."""
    body = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S).group(0)
    headers = [text_of(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", body.split("</thead>")[0], re.S)]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>")[1], re.S)
    return [dict(zip(headers, (text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)), strict=False))
            for row in rows]


# -- log-in, sessions, CSRF ---------------------------------------------------------------------------
STAFF_PAGES = ["/", "/townships/{code}", "/townships/{code}/supervise?hazard={hazard}", "/upload", "/enrol",
               "/files/returns/" + "0" * 32, "/files/enrolments/" + "0" * 32]


def test_every_page_sends_an_anonymous_visitor_to_the_login_page(ww: WebWorld, client: TestClient) -> None:
    hazard = first_open_hazard(ww)["number"]
    for pattern in STAFF_PAGES:
        path = pattern.format(code=ww.code, hazard=hazard)
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login"), path
        assert ww.name not in response.text
    for path in ("/upload", "/enrol", f"/townships/{ww.code}/supervise"):
        response = client.post(path, data={"csrf_token": "x"}, follow_redirects=False)
        assert (response.status_code, response.headers["location"].split("?")[0]) == (303, "/login"), path
    assert client.get("/password", follow_redirects=False).headers["location"].startswith("/login")


def test_login_comes_back_to_the_page_asked_for(ww: WebWorld, client: TestClient) -> None:
    first = client.get(f"/townships/{ww.code}", follow_redirects=False)
    assert first.headers["location"] == f"/login?next=/townships/{ww.code}"
    page = web_login(client, ADMIN_LOGIN, f"/townships/{ww.code}")
    assert page.url.path == f"/townships/{ww.code}"
    assert "七有/五有达标情况" in page.text and "张科长（管理员）" in page.text


def test_the_session_cookie_is_http_only_and_same_site(client: TestClient) -> None:
    response = client.get("/login")
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("xiangan_staff=") and "httponly" in cookie and "samesite=lax" in cookie
    assert "path=/" in cookie


def test_behind_https_the_session_cookie_is_never_sent_in_clear(ww: WebWorld) -> None:
    assert "secure" not in TestClient(create_app(ww.county)).get("/login").headers["set-cookie"].lower()
    secure = create_app(ww.county, ServerSettings(secure_cookies=True))
    with TestClient(secure, base_url="https://testserver") as https:
        assert "secure" in https.get("/login").headers["set-cookie"].lower()


def test_a_redirect_after_login_never_leaves_the_server(client: TestClient) -> None:
    response = web_login(client, ADMIN_LOGIN, "//evil.example.com/")
    assert response.url.host == "testserver" and response.url.path == "/"


def test_the_login_form_needs_its_csrf_token(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": ADMIN_LOGIN[0], "password": ADMIN_LOGIN[1]},
                           follow_redirects=False)
    assert response.status_code == 403 and "安全校验未通过" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303  # not logged in


def test_wrong_passwords_count_down_then_lock_the_account(ww: WebWorld, client: TestClient) -> None:
    add_staff(ww.county.db, "wang", "Wang2026ok", role="admin")
    token = csrf_of(client.get("/login").text)
    messages = []
    for _ in range(5):
        page = client.post("/login", data={"username": "wang", "password": "wrong-1", "csrf_token": token})
        messages.append(re.search(r'id="login-error">([^<]+)<', page.text).group(1))
    assert messages[0] == "用户名或密码错误，还可以再试4次。"
    assert messages[-1] == "密码错误次数过多，账号已锁定15分钟。"
    page = client.post("/login", data={"username": "wang", "password": "Wang2026ok", "csrf_token": token})
    assert "账号已锁定" in page.text and page.url.path == "/login"
    assert 'value="wang"' in page.text  # the user name is kept in the form
    assert client.get("/", follow_redirects=False).status_code == 303


def test_empty_login_says_what_is_missing(client: TestClient) -> None:
    token = csrf_of(client.get("/login").text)
    page = client.post("/login", data={"username": "", "password": "", "csrf_token": token})
    assert "请输入用户名和密码。" in page.text


def test_logout_ends_the_session_and_needs_the_token(admin: TestClient) -> None:
    assert admin.post("/logout", data={}, follow_redirects=False).status_code == 403
    assert admin.get("/", follow_redirects=False).status_code == 200
    token = csrf_of(admin.get("/").text)
    page = admin.post("/logout", data={"csrf_token": token})
    assert page.url.path == "/login" and "已退出登录。" in page.text
    assert admin.get("/", follow_redirects=False).status_code == 303


def test_a_new_account_must_set_its_own_password_first(ww: WebWorld, client: TestClient) -> None:
    staff = add_staff(ww.county.db, "zhao", "Zhao2026first", role="viewer")
    assert staff.must_change_password
    page = web_login(client, ("zhao", "Zhao2026first"))
    assert page.url.path == "/password" and "请先设置自己的密码" in page.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/password"
    token = csrf_of(page.text)
    form = {"old_password": "Zhao2026first", "new_password": "Zhao2026new", "csrf_token": token}
    page = client.post("/password", data={**form, "confirm": "Zhao2026other"})
    assert "确认新密码：与新密码不一致" in page.text
    page = client.post("/password", data={**form, "new_password": "short", "confirm": "short"})
    assert "新密码：密码至少8位" in page.text
    page = client.post("/password", data={**form, "old_password": "nope", "confirm": "Zhao2026new"})
    assert "原密码：原密码不正确" in page.text
    page = client.post("/password", data={**form, "confirm": "Zhao2026new"})
    assert page.url.path == "/" and "密码已修改。" in page.text
    assert not current_staff(ww.county.db, staff.user_id).must_change_password


def test_a_deactivated_account_is_out_at_once(ww: WebWorld, client: TestClient) -> None:
    from app.models.accounts import User

    add_staff(ww.county.db, "sun", "Sun2026ok", role="admin")
    assert web_login(client, ("sun", "Sun2026ok")).url.path == "/password"  # logged in, must change it
    with ww.county.db.session() as session:
        session.scalar(select(User).where(User.username == "sun")).active = False
    response = client.get("/password", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=/password")


def test_staff_stay_logged_in_across_a_server_restart(ww: WebWorld, admin: TestClient) -> None:
    """The session key is kept in the county data folder, so a restarted server accepts the cookie."""
    with TestClient(create_app(ww.county)) as restarted:
        restarted.cookies.update(admin.cookies)
        assert restarted.get("/", follow_redirects=False).status_code == 200
    with TestClient(create_app(ww.county, ServerSettings(secret_key="another-key-" * 4))) as other:
        other.cookies.update(admin.cookies)
        assert other.get("/", follow_redirects=False).status_code == 303


def test_pages_carry_security_headers_and_load_nothing_from_elsewhere(admin: TestClient, ww: WebWorld) -> None:
    for path in ("/", f"/townships/{ww.code}", "/upload", "/enrol", "/login"):
        response = admin.get(path)
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        assert not re.search(r'(src|href)="(https?:)?//', response.text), path
    css = admin.get("/static/xiangan.css")
    assert css.status_code == 200 and "Microsoft YaHei" in css.text and "WenQuanYi Micro Hei" in css.text
    assert not re.search(r"url\((['\"])?(https?:)?//", css.text)
    assert admin.get("/static/tables.js").status_code == 200


def test_the_bundled_font_is_served_as_a_plain_truetype_file(client: TestClient) -> None:
    response = client.get("/fonts/wqy-microhei.ttf")
    assert response.status_code == 200 and response.headers["content-type"] == "font/ttf"
    font = response.content
    assert font[:4] == b"\x00\x01\x00\x00"
    count = int.from_bytes(font[4:6], "big")
    offsets = [int.from_bytes(font[12 + 16 * i + 8:12 + 16 * i + 12], "big") for i in range(count)]
    assert all(offset % 4 == 0 for offset in offsets)  # what the browser's font sanitizer insists on
    with pytest.raises(ValueError):
        first_face(font)


def test_unknown_pages_answer_in_chinese(admin: TestClient) -> None:
    response = admin.get("/no-such-page")
    assert response.status_code == 404 and "页面不存在。" in response.text
    response = admin.get("/townships/360999999")
    assert response.status_code == 404 and "乡镇代码「360999999」没有登记。" in response.text


# -- 乡镇总览 and 乡镇详情 ----------------------------------------------------------------------------------
def test_overview_shows_every_township_with_its_figures(ww: WebWorld, admin: TestClient) -> None:
    line = next(t for t in CountyOverview(ww.county).townships() if t.code == ww.code)
    page = admin.get("/")
    assert page.status_code == 200
    rows = {row["乡镇"]: row for row in table(page.text, "township-table")}
    assert set(rows) == {ww.name, SILENT_NAME}
    synced = rows[ww.name]
    assert (synced["代码"], synced["七有得分"], synced["七有"]) == (
        ww.code, f"{line.readiness.score:g}", "达标" if line.readiness.passed else "未达标")
    assert synced["五有达标村"] == f"{line.readiness.villages_passed} / {line.readiness.villages_total}"
    assert [int(synced[c]) for c in ("未销号隐患", "逾期", "重大", "挂牌督办", "县级督办", "记录数", "冲突")] == [
        line.hazards.open, line.hazards.overdue, line.hazards.major_open, line.hazards.supervised_open,
        line.orders, line.records, line.conflicts]
    assert synced["责任书签订"].replace(" ", "") == f"{line.letters.signed}/{line.letters.total}（{line.letters.percent}%）"
    assert synced["上次联系"].startswith(date.today().isoformat()[:4])
    silent = rows[SILENT_NAME]
    assert (silent["上次联系"], silent["七有"], silent["未销号隐患"]) == ("从未联系", "尚未收到数据", "—")
    assert f'href="/townships/{ww.code}"' in page.text
    assert "七有达标乡镇" in page.text and "逾期隐患" in page.text


def test_township_detail_shows_readiness_hazards_letters_and_history(ww: WebWorld, admin: TestClient) -> None:
    detail = CountyOverview(ww.county).township(ww.code)
    page = admin.get(f"/townships/{ww.code}")
    text = text_of(page.text)
    for heading in ("七有/五有达标情况", f"未销号隐患（{detail.hazards_open_total} 项）", "县级督办",
                    "年度安全生产目标责任书", "同步记录", "修改冲突（0 条）", "已有记录", "乡镇电脑"):
        assert heading in text
    for item in detail.readiness.township.items:
        assert item.name in text
    for village in detail.readiness.villages:
        assert village.name in text
    hazard_rows = re.findall(r"<tr data-tags=\"[^\"]*\" class=\"[^\"]*\">.*?</tr>", page.text, re.S)
    assert len(hazard_rows) == len(detail.hazards)
    assert page.text.count(">督办</a>") == len(detail.hazards)
    overdue = [r for r in hazard_rows if "逾期" in r.split(">")[0]]
    assert len(overdue) == detail.line.hazards.overdue
    assert ww.imported.return_path.name.split("-回执")[0] in text  # the bundle file in the history
    assert "电脑1 已启用" in text


def test_a_viewer_sees_everything_but_cannot_act(ww: WebWorld, viewer: TestClient) -> None:
    page = viewer.get(f"/townships/{ww.code}")
    assert page.status_code == 200 and ">督办</a>" not in page.text
    home = viewer.get("/")
    assert "上传U盘文件" not in home.text and "李干事（只读）" in home.text
    hazard = first_open_hazard(ww)["number"]
    for path in ("/upload", "/enrol", f"/townships/{ww.code}/supervise?hazard={hazard}",
                 "/files/returns/" + "0" * 32):
        response = viewer.get(path)
        assert response.status_code == 403 and "只读账号" in response.text, path
    token = csrf_of(home.text)
    response = viewer.post(f"/townships/{ww.code}/supervise", data={"csrf_token": token, "hazard": hazard,
                                                                     "title": "只读账号的督办"})
    assert response.status_code == 403
    with ww.county.db.session() as session:
        assert session.scalars(select(SupervisionOrder).where(SupervisionOrder.title == "只读账号的督办")).first() is None


# -- 督办 -------------------------------------------------------------------------------------------------
def test_supervision_order_from_the_web_reaches_the_township(ww: WebWorld, admin: TestClient) -> None:
    hazard = first_open_hazard(ww)
    form_page = admin.get(f"/townships/{ww.code}/supervise?hazard={hazard['number']}")
    assert form_page.status_code == 200
    assert hazard["unit_name"] in form_page.text and hazard["description"] in form_page.text
    deadline = (date.today() + timedelta(days=10)).isoformat()
    page = admin.post(f"/townships/{ww.code}/supervise", data={
        "csrf_token": csrf_of(form_page.text), "hazard": hazard["number"], "title": "关于限期整改的督办",
        "content": "请于十日内整改到位并报送整改情况。", "deadline": deadline})
    assert page.url.path == f"/townships/{ww.code}"
    assert f"已下发督办「关于限期整改的督办」（隐患 {hazard['number']}），乡镇下次同步时收到。" in page.text
    assert "关于限期整改的督办" in text_of(page.text.split('id="orders"')[1])
    with ww.county.db.session() as session:
        order = session.scalars(select(SupervisionOrder).where(SupervisionOrder.title == "关于限期整改的督办")).one()
        assert (order.hazard_id, order.deadline.isoformat()) == (hazard["id"], deadline)
        audited = session.scalars(select(AuditEntry.username).where(AuditEntry.entity_id == order.id)).all()
        assert audited == [ADMIN_LOGIN[0]]  # the staff member who issued it, not just "the county"
    ww.world.round_trip(ww.pc)  # the township's next sync
    with ww.pc.db.session() as session:
        arrived = session.scalars(select(SupervisionOrder).where(SupervisionOrder.title == "关于限期整改的督办")).one()
        assert (arrived.hazard_number, arrived.content) == (hazard["number"], "请于十日内整改到位并报送整改情况。")


@pytest.mark.parametrize(("values", "message"), [
    ({"title": ""}, "督办标题：不能为空"),
    ({"title": "长" * 129}, "督办标题：不能超过128个字（现有129个）"),
    ({"deadline": "2026-13-45"}, "整改期限：「2026-13-45」不是有效日期"),
    ({"deadline": "下周五"}, "整改期限：「下周五」不是日期"),
    ({"deadline": "2020-01-01"}, "整改期限：2020-01-01 已经过去，不能早于今天"),
    ({"content": "很" * 2001}, "督办内容：不能超过2000个字（现有2001个）"),
])
def test_bad_supervision_input_is_named_and_the_form_keeps_what_was_typed(ww: WebWorld, admin: TestClient,
                                                                        values: dict, message: str) -> None:
    hazard = first_open_hazard(ww)["number"]
    form = {"title": "督办标题样例", "content": "督办内容样例", "deadline": "", **values}
    token = csrf_of(admin.get("/").text)
    page = admin.post(f"/townships/{ww.code}/supervise", data={"csrf_token": token, "hazard": hazard, **form})
    assert page.url.path == f"/townships/{ww.code}/supervise"
    assert message in page.text
    assert ">" + form["content"] + "</textarea>" in page.text
    assert f'value="{form["deadline"]}"' in page.text
    with ww.county.db.session() as session:
        assert session.scalars(select(SupervisionOrder).where(SupervisionOrder.title == form["title"])).first() is None


def test_supervision_of_an_unknown_hazard_is_refused(ww: WebWorld, admin: TestClient) -> None:
    assert admin.get(f"/townships/{ww.code}/supervise?hazard=1999-0001").status_code == 404
    token = csrf_of(admin.get("/").text)
    page = admin.post(f"/townships/{ww.code}/supervise", data={"csrf_token": token, "hazard": "1999-0001",
                                                               "title": "不存在的隐患"})
    assert page.status_code == 404 and "没有隐患「1999-0001」" in page.text


def test_supervision_without_the_csrf_token_is_refused(ww: WebWorld, admin: TestClient) -> None:
    hazard = first_open_hazard(ww)["number"]
    response = admin.post(f"/townships/{ww.code}/supervise", data={"hazard": hazard, "title": "伪造的督办",
                                                                    "csrf_token": "forged"})
    assert response.status_code == 403 and "安全校验未通过" in response.text
    with ww.county.db.session() as session:
        assert session.scalars(select(SupervisionOrder).where(SupervisionOrder.title == "伪造的督办")).first() is None


# -- upload, download -------------------------------------------------------------------------------------
def upload(client: TestClient, name: str, content: bytes, token: str | None = None):
    token = token or csrf_of(client.get("/upload").text)
    return client.post("/upload", data={"csrf_token": token},
                       files={"bundle": (name, io.BytesIO(content), "application/octet-stream")})


def test_upload_imports_like_the_cli_and_the_return_file_downloads(ww: WebWorld, admin: TestClient,
                                                                   tmp_path: Path) -> None:
    ww.add_village("网页上传村")
    exported = ww.pc.export(tmp_path)
    page = upload(admin, exported.path.name, exported.path.read_bytes())
    assert page.status_code == 200, page.text
    assert f"已导入「{ww.name}」的同步文件" in page.text and "导入成功：新增或更新" in page.text
    link = re.search(r'href="(/files/returns/[0-9a-f]{32})"', page.text).group(1)
    download = admin.get(link)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/octet-stream"
    assert "attachment" in download.headers["content-disposition"]
    assert ".xab" in download.headers["content-disposition"]
    returned = tmp_path / "return.xab"
    returned.write_bytes(download.content)
    assert peek_envelope(returned).kind == "return"
    result = ww.pc.sync.import_return(returned)
    assert ww.pc.sync.status().pending_records == 0, result
    again = upload(admin, exported.path.name, exported.path.read_bytes())
    assert "该文件已经导入过，数据没有变化" in again.text
    assert not any((ww.county.data_dir / "http" / "web" / "incoming").iterdir())


def test_a_return_file_is_only_for_logged_in_staff(ww: WebWorld, admin: TestClient, tmp_path: Path) -> None:
    exported = ww.pc.export(tmp_path)
    link = re.search(r'href="(/files/returns/[0-9a-f]{32})"', upload(admin, "x.xab", exported.path.read_bytes())
                     .text).group(1)
    with TestClient(admin.app) as stranger:
        response = stranger.get(link, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert admin.get("/files/returns/" + "f" * 32).status_code == 404
    assert admin.get("/files/returns/..%2F..%2Fsecret.key").status_code == 404
    assert admin.get("/files/other/" + "0" * 32).status_code == 404


@pytest.mark.parametrize(("name", "content", "message"), [
    ("乱码.xab", b"PK\x03\x04 this is not a bundle" * 10, "「乱码.xab」未能导入："),
    ("空文件.xab", b"", "文件「空文件.xab」是空的（0 字节）"),
    ("notes.txt", "会议纪要".encode(), "「notes.txt」未能导入："),
])
def test_a_bad_upload_is_refused_with_a_chinese_message(ww: WebWorld, admin: TestClient, name: str,
                                                        content: bytes, message: str) -> None:
    page = upload(admin, name, content)
    assert page.status_code == 200 and message in page.text
    assert 'id="upload-error"' in page.text and "/files/returns/" not in page.text
    assert not any((ww.county.data_dir / "http" / "web" / "incoming").iterdir())


def test_an_upload_without_a_file_or_token_is_refused(admin: TestClient) -> None:
    token = csrf_of(admin.get("/upload").text)
    page = admin.post("/upload", data={"csrf_token": token}, files={"other": ("a.txt", b"x")})
    assert "请选择要上传的U盘同步文件（.xab）。" in page.text
    response = upload(admin, "a.xab", b"x" * 100, token="forged")
    assert response.status_code == 403


def test_an_oversized_upload_is_refused_before_it_is_read(ww: WebWorld, tmp_path: Path) -> None:
    small = create_app(ww.county, ServerSettings(max_upload=4096, http_dir=tmp_path / "http"))
    with TestClient(small) as client:
        web_login(client, ADMIN_LOGIN)
        page = upload(client, "big.xab", b"x" * 200_000)
        assert page.status_code == 413 and "U盘同步文件不能超过" in page.text


# -- enrol ------------------------------------------------------------------------------------------------
def test_enrol_a_township_and_download_its_enrolment_file(ww: WebWorld, admin: TestClient, tmp_path: Path) -> None:
    page = admin.post("/enrol", data={"csrf_token": csrf_of(admin.get("/enrol").text), "code": "360726200",
                                      "name": "新登记镇", "server_url": "https://xiangan.example.gov.cn"})
    assert "已为「新登记镇」生成登记文件" in page.text and "https://xiangan.example.gov.cn" in page.text
    link = re.search(r'href="(/files/enrolments/[0-9a-f]{32})"', page.text).group(1)
    download = admin.get(link)
    assert download.status_code == 200 and ".xae" in download.headers["content-disposition"]
    enrolment = tmp_path / "enrol.xae"
    enrolment.write_bytes(download.content)
    pc = World.open_pc(ww.world, "web-enrolled")
    pc.sync.enrol(enrolment)
    assert isinstance(pc.sync, TownshipSync) and pc.sync.status().township_name == "新登记镇"
    assert "新登记镇" in admin.get("/").text


@pytest.mark.parametrize(("values", "message"), [
    ({"code": "36 07"}, "乡镇代码：应为1到32位字母、数字、下划线或横线"),
    ({"name": ""}, "乡镇名称：不能为空"),
    ({"server_url": "ftp://county"}, "县级平台地址：「ftp://county」无效"),
])
def test_bad_enrolment_input_is_named_and_kept(admin: TestClient, values: dict, message: str) -> None:
    form = {"code": "360726300", "name": "表单镇", "server_url": "", **values}
    page = admin.post("/enrol", data={"csrf_token": csrf_of(admin.get("/enrol").text), **form})
    assert message in page.text and "/files/enrolments/" not in page.text
    assert f'value="{form["code"]}"' in page.text and f'value="{form["name"]}"' in page.text


def test_enrolment_of_a_known_code_under_another_name_is_refused(ww: WebWorld, admin: TestClient) -> None:
    page = admin.post("/enrol", data={"csrf_token": csrf_of(admin.get("/enrol").text), "code": ww.code,
                                      "name": "别的镇"})
    assert f"乡镇名称：代码 {ww.code} 已登记为「{ww.name}」" in page.text


# -- xiangan-county staff add ---------------------------------------------------------------------------
def test_staff_add_from_the_command_line(ww: WebWorld, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    folder = str(ww.county.data_dir)
    monkeypatch.setattr("sys.stdin", io.StringIO("Qian2026ok\n"))
    assert county_cli.main(["staff", "add", "--data-dir", folder, "--username", "qian", "--role", "admin",
                            "--password-stdin"]) == 0
    assert "已创建县级平台账号「qian」（管理员）。首次登录网页时须修改密码。" in capsys.readouterr().out
    assert log_in(ww.county.db, "qian", "Qian2026ok").actor.role.value == "admin"
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert county_cli.main(["staff", "add", "--data-dir", folder, "--username", "zhou", "--password-stdin"]) == 1
    assert "密码至少8位" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("Zhou2026ok\n"))
    assert county_cli.main(["staff", "add", "--data-dir", folder, "--username", "qian", "--password-stdin"]) == 1
    assert "用户名「qian」已被使用" in capsys.readouterr().err


def test_the_first_administrator_keeps_the_password_typed(tmp_path: Path) -> None:
    from app.sync.county import CountyStore

    store = CountyStore.init(tmp_path / "county")
    try:
        first = add_staff(store.db, "admin1", "Admin2026ok", role="admin")
        later = add_staff(store.db, "admin2", "Admin2026ok", role="admin")
        assert (first.must_change_password, later.must_change_password) == (False, True)
        with pytest.raises(Exception, match="角色"):
            add_staff(store.db, "x1", "Admin2026ok", role="owner")
    finally:
        store.close()
