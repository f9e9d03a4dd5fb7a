"""County side of network sync: the server address in enrolment files, ``xiangan-county serve`` and the
CountyStore calls the server makes (state, downstream, acknowledgement, keys)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import county_cli
from app.errors import ValidationError, XiangAnError
from app.sync.county import CountyStore
from app.sync.enrolment import check_server_url, read_enrolment
from app.sync.errors import SyncError
from app.sync.keys import KeyPair
from tests.server.conftest import NetWorld, credentials
from tests.sync.test_sync_cli import run_county


def test_enrolment_files_carry_the_server_address(tmp_path: Path):
    store = CountyStore.init(tmp_path / "c", server_url="https://xiangan.example.gov.cn/")
    try:
        assert store.server_url == "https://xiangan.example.gov.cn"
        default = read_enrolment(store.add_township("360726100", "青山镇", tmp_path / "a.xae"))
        assert default.server_url == "https://xiangan.example.gov.cn"
        own = store.add_township("360726100", "青山镇", tmp_path / "b.xae", server_url="http://10.0.0.5:8750")
        assert read_enrolment(own).server_url == "http://10.0.0.5:8750"
    finally:
        store.close()


def test_a_usb_only_county_writes_files_as_before(tmp_path: Path):
    store = CountyStore.init(tmp_path / "c")
    try:
        path = store.add_township("360726100", "青山镇", tmp_path / "a.xae")
    finally:
        store.close()
    assert "server_url" not in json.loads(path.read_text(encoding="utf-8"))
    assert read_enrolment(path).server_url == ""


def test_a_changed_server_address_breaks_the_countys_signature(tmp_path: Path):
    store = CountyStore.init(tmp_path / "c", server_url="https://xiangan.example.gov.cn")
    try:
        path = store.add_township("360726100", "青山镇", tmp_path / "a.xae")
    finally:
        store.close()
    data = json.loads(path.read_text(encoding="utf-8"))
    data["server_url"] = "https://attacker.example.com"  # a PC must not be sent to another server
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(XiangAnError, match="签名不符"):
        read_enrolment(path)


@pytest.mark.parametrize("url", ["ftp://x", "xiangan.gov.cn", "http://", "http://a b", "http://x?y=1", "http://x:99999",
                                 "https://" + "a" * 300])
def test_a_bad_server_address_is_refused_naming_the_field(url: str):
    with pytest.raises(ValidationError) as caught:
        check_server_url(url)
    assert "县级平台地址" in str(caught.value) and "应形如" in str(caught.value)


def test_the_county_command_line_sets_the_server_address(capsys, tmp_path: Path):
    county = tmp_path / "c"
    code, out, _ = run_county(capsys, "init", "--data-dir", county, "--server", "http://192.168.1.10:8750")
    assert code == 0 and "http://192.168.1.10:8750" in out
    code, out, _ = run_county(capsys, "township", "add", "--code", "360726100", "--name", "青山镇",
                              "--out", tmp_path / "a.xae", "--data-dir", county)
    assert code == 0 and "自动与县级平台同步：http://192.168.1.10:8750" in out
    code, out, _ = run_county(capsys, "township", "add", "--code", "360726100", "--name", "青山镇",
                              "--out", tmp_path / "b.xae", "--data-dir", county, "--server", "https://x.gov.cn")
    assert code == 0 and read_enrolment(tmp_path / "b.xae").server_url == "https://x.gov.cn"
    code, _, err = run_county(capsys, "township", "add", "--code", "360726100", "--name", "青山镇",
                              "--out", tmp_path / "c.xae", "--data-dir", county, "--server", "nonsense")
    assert code == 1 and err.startswith("错误：") and "县级平台地址" in err


@pytest.mark.parametrize(("args", "message"), [
    (("serve",), "--data-dir"),
    (("serve", "--data-dir", "{tmp}/none"), "xiangan-county init"),
    (("serve", "--data-dir", "{tmp}/c", "--port", "70000"), "端口"),
    (("serve", "--data-dir", "{tmp}/c", "--rate", "0"), "每分钟请求数"),
])
def test_serve_errors_are_one_chinese_line(capsys, tmp_path: Path, monkeypatch, args, message):
    monkeypatch.delenv(county_cli.ENV_HOME, raising=False)
    CountyStore.init(tmp_path / "c").close()
    code, _, err = run_county(capsys, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert code == 1 and err.startswith("错误：") and message in err and err.count("\n") == 1


def test_a_county_at_a_database_url_uses_the_same_sessions(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'county-by-url.sqlite3'}"
    store = CountyStore.init(tmp_path / "files", db_url=url)
    store.close()
    store = CountyStore.open(tmp_path / "files", db_url=url)
    try:
        assert store.name == "县应急管理局" and store.status() == []
    finally:
        store.close()


def test_county_state_calls_for_a_pending_then_active_pc(world: NetWorld):
    pc = world.township_pc()
    keys, enrol = credentials(pc)
    county = world.county
    with pytest.raises(SyncError) as caught:
        county.node_state(keys.node_id)  # without its enrol meta a pending PC is unknown
    assert caught.value.code == "unknown_sender"
    assert county.node_state(keys.node_id, enrol)["node_status"] == "pending"
    assert county.peer_keys(keys.node_id, enrol) == keys.public()
    assert county.write_downstream(keys.node_id, world.root / "down") is None
    assert county.acknowledge_downstream(keys.node_id, 5) == 0

    world.round_trip(pc)
    state = county.node_state(keys.node_id)
    assert state["node_status"] == "active" and state["upstream_acked"] == 2
    assert state["downstream_acked"] == 0 < state["downstream_top"]  # by USB the next bundle tells
    assert county.acknowledge_downstream(keys.node_id, pc.sync.status().downstream_seq) == state["downstream_top"]
    assert county.node_state(keys.node_id)["downstream_acked"] == state["downstream_top"]
    assert county.write_downstream(keys.node_id, world.root / "down") is None  # nothing new
    forced = county.write_downstream(keys.node_id, world.root / "down", force=True)
    assert forced is not None and pc.sync.import_return(forced).acknowledged_to == 2
    assert county.peer_keys(keys.node_id) == keys.public()
    with pytest.raises(SyncError) as caught:
        county.peer_keys(KeyPair.generate("stranger").node_id)
    assert caught.value.code == "unknown_sender"


def test_a_replaced_pc_is_revoked_for_every_county_call(world: NetWorld):
    pc = world.township_pc()
    world.round_trip(pc)
    old = credentials(pc)[0].node_id
    pc.sync.enrol(world.enrolment("360726100", "青山镇", "again"))
    world.round_trip(pc)
    for call in (lambda: world.county.peer_keys(old), lambda: world.county.node_state(old),
                 lambda: world.county.write_downstream(old, world.root), lambda: world.county.acknowledge_downstream(old, 1)):
        with pytest.raises(SyncError) as caught:
            call()
        assert caught.value.code == "revoked"
