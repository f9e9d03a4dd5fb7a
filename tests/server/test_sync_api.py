"""The sync API in process (FastAPI TestClient): the protocol, and every fault of the issue on the server
side — each refused with its code and a Chinese message, none losing or duplicating data."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.models import Village
from app.models.base import utcnow
from app.models.sync_state import SyncIdentity, SyncLedger, SyncPeer
from app.server.app import ServerSettings, create_app
from app.storage.database import Database
from app.sync.county import CountyStore
from app.sync.http_auth import sign_request
from app.sync.keys import KeyPair
from tests.server.conftest import NetWorld, Signer, credentials, sync_once
from tests.sync.sync_world import digest
from tests.sync.test_faults import _forge, _village_row

TIME_HEADER = "x-xiangan-server-time"


def _client(world: NetWorld, **settings) -> TestClient:
    return TestClient(create_app(world.county, ServerSettings(**settings)))


@pytest.fixture
def api(world: NetWorld) -> Iterator[TestClient]:
    with _client(world) as client:
        yield client


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert TIME_HEADER in response.headers
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


def test_health_needs_no_signature_and_says_the_time(api: TestClient):
    response = api.get("/api/v1/health")
    body = response.json()
    assert response.status_code == 200 and body["ok"] is True and body["version"]
    assert abs(body["server_time"] - time.time()) < 5
    assert int(response.headers[TIME_HEADER]) == body["server_time"]


def test_a_new_pc_is_pending_until_its_first_bundle_is_applied(world: NetWorld, api: TestClient):
    pc = world.township_pc()
    signer = Signer.for_pc(api, pc)
    state = signer.get("/api/v1/state").json()
    assert state["node_status"] == "pending" and state["county_name"] == "安远县应急管理局"
    assert (state["upstream_acked"], state["downstream_top"], state["uploads"]) == (0, 0, [])

    answer = sync_once(signer, pc, world.root / "net")

    assert (answer["applied"], answer["replay"], answer["ack"]["upstream"]) == (2, False, 2)
    assert answer["imported"].acknowledged_to == 2 and pc.sync.status().pending_records == 0
    state = signer.get("/api/v1/state").json()
    assert state["node_status"] == "active" and state["township_id"] == pc.sv().scope.township_id
    assert state["upstream_acked"] == 2 and state["downstream_acked"] == state["downstream_top"]
    assert world.county.status()[0].records == {"乡镇信息": 1, "村/社区": 1}


def test_the_no_op_state_call_is_small(world: NetWorld, api: TestClient):
    pc = world.township_pc()
    signer = Signer.for_pc(api, pc)
    sync_once(signer, pc, world.root / "net")
    response = signer.get("/api/v1/state")
    request_bytes = sum(len(k) + len(v) for k, v in response.request.headers.items())
    assert response.status_code == 200
    assert len(response.content) + sum(len(k) + len(v) for k, v in response.headers.items()) <= 2048
    assert request_bytes <= 2048


def test_a_pc_reaching_the_server_counts_as_contact_even_with_nothing_to_send(world: NetWorld, api: TestClient):
    pc = world.township_pc()
    signer = Signer.for_pc(api, pc)
    sync_once(signer, pc, world.root / "net")
    with world.county.db.session(audit=False) as session:
        session.execute(update(SyncPeer).values(last_seen_at=None))
        session.execute(update(SyncLedger).values(at=utcnow() - timedelta(days=30)))
    [status] = world.county.status()
    assert status.last_contact_at is not None and utcnow() - status.last_contact_at > timedelta(days=29)

    # within the minute this server already wrote the contact: the no-op call takes no write lock
    assert signer.get("/api/v1/state").status_code == 200
    assert world.county.status()[0].to_dict()["pcs"][0]["last_seen_at"] is None

    with _client(world) as later:  # a server that has not heard from the PC this minute
        assert Signer.for_pc(later, pc).get("/api/v1/state").status_code == 200

    [status] = world.county.status()
    assert utcnow() - status.last_contact_at < timedelta(minutes=1)
    assert status.to_dict()["pcs"][0]["last_seen_at"] is not None


def test_county_changes_come_down_after_the_cursor_and_then_nothing(world: NetWorld, api: TestClient):
    pc = world.township_pc()
    signer = Signer.for_pc(api, pc)
    sync_once(signer, pc, world.root / "net")
    assert signer.post("/api/v1/downstream").json() == {"return": None}

    world.county.send_document("standard", _standard(world.root))
    state = signer.get("/api/v1/state").json()
    assert state["downstream_top"] > state["downstream_acked"]

    returned = signer.post("/api/v1/downstream").json()["return"]
    path = signer.download(returned["return_id"], world.root / "net")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == returned["sha256"] and path.stat().st_size == returned["size"]
    imported = pc.sync.import_return(path)
    assert sum(imported.received.values()) == 1
    acked = signer.post("/api/v1/ack", {"downstream": pc.sync.status().downstream_seq}).json()
    assert acked == {"downstream_acked": state["downstream_top"]}
    state = signer.get("/api/v1/state").json()
    assert state["downstream_top"] == state["downstream_acked"]
    assert signer.post("/api/v1/downstream").json() == {"return": None}


def _standard(root: Path) -> Path:
    path = root / "standard.json"
    path.write_text('{"kind": "readiness_test", "version": "2026.1", "title": "测试标准", "items": []}', encoding="utf-8")
    return path


def test_ack_is_monotonic_and_never_beyond_what_exists(world: NetWorld, api: TestClient):
    pc = world.township_pc()
    signer = Signer.for_pc(api, pc)
    sync_once(signer, pc, world.root / "net")
    top = signer.get("/api/v1/state").json()["downstream_top"]
    assert signer.post("/api/v1/ack", {"downstream": 10**9}).json() == {"downstream_acked": top}
    assert signer.post("/api/v1/ack", {"downstream": 0}).json() == {"downstream_acked": top}


# -- authentication -----------------------------------------------------------------------------------
def test_a_request_without_signature_is_unauthenticated(api: TestClient):
    error = _error(api.get("/api/v1/state"), 401, "unauthenticated")
    assert "X-XiangAn-Node" in error["message"]


def test_a_wrong_key_is_refused(world: NetWorld, api: TestClient):
    pc = world.township_pc()
    sync_once(Signer.for_pc(api, pc), pc, world.root / "net")
    impostor = Signer(api, KeyPair.generate(pc.sync.status().node_id))
    error = _error(impostor.get("/api/v1/state"), 401, "bad_signature")
    assert "签名无效" in error["message"]
    _error(Signer(api, KeyPair.generate("stranger")).get("/api/v1/state"), 401, "unknown_sender")


def test_a_pending_pc_with_a_wrong_enrolment_code_is_unknown(world: NetWorld, api: TestClient):
    pc = world.township_pc()
    keys, enrol = credentials(pc)
    _error(Signer(api, keys, {**enrol, "proof": "0" * 64}).get("/api/v1/state"), 401, "unknown_sender")


def test_a_replaced_pc_is_revoked(world: NetWorld, api: TestClient):
    pc = world.township_pc()
    old = Signer.for_pc(api, pc)
    sync_once(old, pc, world.root / "net")
    pc.sync.enrol(world.enrolment("360726100", "青山镇", "again"))  # re-enrolled: a new node id and keys
    sync_once(Signer.for_pc(api, pc), pc, world.root / "net2")
    error = _error(old.get("/api/v1/state"), 403, "revoked")
    assert "重新登记" in error["message"]


def test_a_replayed_request_is_refused(world: NetWorld, api: TestClient):
    pc = world.township_pc()
    first = Signer.for_pc(api, pc).get("/api/v1/state")
    assert first.status_code == 200
    again = api.get("/api/v1/state", headers=dict(first.request.headers))
    _error(again, 401, "replayed_request")


def test_clock_skew_is_refused_with_the_server_time_and_the_retry_succeeds(world: NetWorld, api: TestClient):
    pc = world.township_pc()
    signer = Signer.for_pc(api, pc, skew=-3 * 3600)  # the PC's clock is three hours behind
    error = _error(signer.get("/api/v1/state"), 401, "clock_skew")
    assert abs(error["server_time"] - time.time()) < 5 and "时钟" in error["message"]
    signer.skew = error["server_time"] - int(time.time())  # what the client does: sign with server time
    assert signer.get("/api/v1/state").status_code == 200


# -- uploads ------------------------------------------------------------------------------------------
def _bundle(world: NetWorld, villages: int = 0, name: str = "pc1"):
    pc = world.township_pc(name, villages=tuple(f"村{i:03d}" for i in range(villages)) or ("石桥村",))
    return pc, pc.export(world.root / f"out-{name}").path


def test_an_upload_resumes_from_the_committed_offset(world: NetWorld, api: TestClient):
    pc, bundle = _bundle(world, villages=40)
    signer = Signer.for_pc(api, pc)
    upload = signer.start_upload(bundle)
    committed = signer.send_pieces(upload, bundle, piece=1024, stop_after=2)
    assert committed == 2048
    again = signer.start_upload(bundle)  # the client lost its state: the same upload, same offset
    assert again["upload_id"] == upload["upload_id"] and again["committed"] == 2048
    assert signer.get(f"/api/v1/uploads/{upload['upload_id']}").json()["committed"] == 2048
    assert signer.get("/api/v1/state").json()["uploads"][0]["committed"] == 2048
    signer.send_pieces(again, bundle, piece=1024)
    answer = signer.complete(upload["upload_id"]).json()
    assert answer["applied"] == 41 and answer["ack"]["upstream"] == 41


def test_a_piece_out_of_order_is_refused_with_the_committed_offset(world: NetWorld, api: TestClient):
    pc, bundle = _bundle(world, villages=10)
    signer = Signer.for_pc(api, pc)
    upload = signer.start_upload(bundle)
    data = bundle.read_bytes()
    url = f"/api/v1/uploads/{upload['upload_id']}"
    assert signer.put(f"{url}?offset=0", data[:100]).json() == {"committed": 100}
    error = _error(signer.put(f"{url}?offset=300", data[300:400]), 409, "offset_mismatch")
    assert error["committed"] == 100
    error = _error(signer.put(f"{url}?offset=0", data[:100]), 409, "offset_mismatch")  # a duplicate piece
    assert error["committed"] == 100
    error = _error(signer.complete(upload["upload_id"]), 409, "offset_mismatch")  # not all bytes yet
    assert error["committed"] == 100 and "尚未完成" in error["message"]
    _error(signer.put(f"{url}?offset=100", data[100:] + b"extra"), 413, "too_large")
    assert signer.get(url).json()["committed"] == 100  # nothing of a refused piece was kept
    signer.send_pieces(signer.start_upload(bundle), bundle)
    assert signer.complete(upload["upload_id"]).status_code == 200


def test_bytes_that_do_not_match_the_declared_hash_are_discarded(world: NetWorld, api: TestClient):
    pc, bundle = _bundle(world)
    signer = Signer.for_pc(api, pc)
    upload = signer.start_upload(bundle)
    data = bytearray(bundle.read_bytes())
    data[10] ^= 0xFF
    signer.put(f"/api/v1/uploads/{upload['upload_id']}?offset=0", bytes(data))
    before = digest(world.county_path)
    error = _error(signer.complete(upload["upload_id"]), 422, "damaged")
    assert error["committed"] == 0 and digest(world.county_path) == before
    assert signer.get(f"/api/v1/uploads/{upload['upload_id']}").json()["committed"] == 0
    signer.send_pieces({**upload, "committed": 0}, bundle)
    assert signer.complete(upload["upload_id"]).status_code == 200


def test_complete_repeated_after_the_server_applied_changes_nothing(world: NetWorld, api: TestClient):
    pc, bundle = _bundle(world, villages=5)
    signer = Signer.for_pc(api, pc)
    first = signer.upload(bundle)  # the client never saw this answer (connection cut)
    before = digest(world.county_path)
    rows = world.county.row_count()

    again = signer.complete(signer.start_upload(bundle)["upload_id"])

    answer = again.json()
    assert again.status_code == 200 and answer["replay"] is True and answer["applied"] == 0
    assert answer["ack"] == first["ack"] and answer["return"]["return_id"] != first["return"]["return_id"]
    assert digest(world.county_path) == before and world.county.row_count() == rows
    imported = pc.sync.import_return(signer.download(answer["return"]["return_id"], world.root))
    assert imported.acknowledged_to == first["ack"]["upstream"] and pc.sync.status().pending_records == 0
    # even after the PC acknowledged (bytes dropped), a late duplicate answers from the stored ack
    signer.post("/api/v1/ack", {"downstream": pc.sync.status().downstream_seq})
    acknowledged = digest(world.county_path)
    late = signer.complete(signer.start_upload(bundle)["upload_id"]).json()
    assert late["replay"] is True and late["ack"] == first["ack"] and late["return"] is not None
    assert digest(world.county_path) == acknowledged


def test_a_bundle_already_imported_by_usb_is_reported_applied(world: NetWorld, api: TestClient):
    pc, bundle = _bundle(world)
    world.county.import_bundle(bundle, world.usb)
    signer = Signer.for_pc(api, pc)
    upload = signer.start_upload(bundle)
    assert upload["applied"] is True and upload["committed"] == upload["size"]
    answer = signer.complete(upload["upload_id"]).json()
    assert answer["replay"] is True and answer["ack"]["upstream"] == 2


def test_a_township_posting_another_townships_rows_is_refused(world: NetWorld, api: TestClient):
    pc1 = world.township_pc()
    pc2 = world.township_pc("other", township="白水镇", code="360726200", villages=("白水村",))
    signer = Signer.for_pc(api, pc1)
    sync_once(signer, pc1, world.root / "n1")
    sync_once(Signer.for_pc(api, pc2), pc2, world.root / "n2")
    before = digest(world.county_path)

    foreign = _forge(world, pc1, [_village_row(pc1, pc2.sv().scope.partition)], name="a.xab")
    error = _error(signer.complete(_uploaded(signer, foreign)), 422, "out_of_partition")
    assert "不属于发送方" in error["message"]
    claimed = _forge(world, pc1, [_village_row(pc1, pc2.sv().scope.partition)],
                     township=pc2.sv().scope.township_id, name="b.xab")
    error = _error(signer.complete(_uploaded(signer, claimed)), 422, "wrong_township")
    assert "青山镇" in error["message"]
    assert digest(world.county_path) == before


def test_a_pc_cannot_upload_another_pcs_bundle_or_touch_its_upload(world: NetWorld, api: TestClient):
    pc1, bundle1 = _bundle(world)
    pc2, _ = _bundle(world, name="pc2")
    one, two = Signer.for_pc(api, pc1), Signer.for_pc(api, pc2)
    upload = one.start_upload(bundle1)
    _error(two.get(f"/api/v1/uploads/{upload['upload_id']}"), 403, "forbidden")
    _error(two.put(f"/api/v1/uploads/{upload['upload_id']}?offset=0", b"x"), 403, "forbidden")
    before = digest(world.county_path)
    error = _error(two.complete(_uploaded(two, bundle1)), 403, "forbidden")  # pc1's file sent by pc2
    assert "不是本机导出" in error["message"] and digest(world.county_path) == before
    answer = one.upload(bundle1)
    _error(two.get(f"/api/v1/returns/{answer['return']['return_id']}"), 403, "forbidden")


def _uploaded(signer: Signer, bundle: Path) -> str:
    upload = signer.start_upload(bundle)
    signer.send_pieces(upload, bundle)
    return upload["upload_id"]


# -- bad input and limits ---------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "field"), [
    (b"{not json", ""), (b'{"bundle_id": "x", "size": 1, "sha256": "' + b"0" * 64 + b'"}', "bundle_id"),
    (b'{"bundle_id": "00000000-0000-0000-0000-000000000000", "sha256": "' + b"0" * 64 + b'"}', "size"),
    (b'{"bundle_id": "00000000-0000-0000-0000-000000000000", "size": "big", "sha256": "' + b"0" * 64 + b'"}', "size"),
    (b'{"bundle_id": "00000000-0000-0000-0000-000000000000", "size": 1, "sha256": "xyz"}', "sha256"),
    (b'{"bundle_id": "00000000-0000-0000-0000-000000000000", "size": "12", "sha256": "' + b"0" * 64 + b'"}', "size"),
    (b'{"bundle_id": "00000000-0000-0000-0000-000000000000", "size": true, "sha256": "' + b"0" * 64 + b'"}', "size"),
    (b"[1, 2]", ""),
])
def test_malformed_json_is_a_bad_request_naming_the_field(world: NetWorld, api: TestClient, body: bytes, field: str):
    pc = world.township_pc()
    signer = Signer.for_pc(api, pc)
    error = _error(signer.request("POST", "/api/v1/uploads", content=body,
                                  headers={"Content-Type": "application/json"}), 400, "bad_request")
    if field:
        assert error["field"] == field and f"「{field}」" in error["message"]
    else:
        assert "请求" in error["message"]


def test_bad_ids_and_unknown_paths_get_json_errors(world: NetWorld, api: TestClient):
    signer = Signer.for_pc(api, world.township_pc())
    error = _error(signer.get("/api/v1/uploads/NOT-AN-ID"), 400, "bad_request")
    assert error["field"] == "upload_id"
    _error(signer.get("/api/v1/uploads/..%2F..%2Fetc%2Fpasswd"), 404, "not_found")
    _error(signer.get("/api/v1/uploads/" + "a" * 32), 404, "not_found")
    _error(signer.get("/api/v1/returns/" + "a" * 32), 404, "not_found")
    _error(api.get("/api/v1/nothing-here"), 404, "not_found")
    _error(api.delete("/api/v1/health"), 405, "method_not_allowed")


def test_oversized_bodies_are_refused(world: NetWorld):
    pc, bundle = _bundle(world, villages=30)
    with _client(world, max_piece=1024, max_upload=10_000) as client:
        signer = Signer.for_pc(client, pc)
        upload = signer.start_upload(bundle)
        error = _error(signer.put(f"/api/v1/uploads/{upload['upload_id']}?offset=0", b"x" * 1025), 413, "too_large")
        assert error["limit"] == 1024
        _error(signer.post("/api/v1/ack", {"downstream": 1, "padding": "x" * 70_000}), 413, "too_large")
        error = _error(signer.post("/api/v1/uploads", {"bundle_id": "00000000-0000-0000-0000-000000000001",
                                                        "size": 10_001, "sha256": "0" * 64}), 413, "too_large")
        assert "10001" in error["message"]


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(world: NetWorld, api: TestClient):
    read = []

    def body():
        read.append(1)
        yield b"x" * 1024

    response = api.put("/api/v1/uploads/" + "a" * 32 + "?offset=0", content=body(),
                       headers={"Content-Length": str(100 * 1024 * 1024)})
    _error(response, 413, "too_large")
    assert read == []


def test_a_streamed_body_is_cut_off_at_the_limit(world: NetWorld):
    pc, bundle = _bundle(world, villages=30)
    with _client(world, max_piece=1024) as client:
        signer = Signer.for_pc(client, pc)
        upload = signer.start_upload(bundle)
        path = f"/api/v1/uploads/{upload['upload_id']}?offset=0"
        data = bundle.read_bytes()[:1500]
        headers = sign_request(signer.keys, "PUT", path, data, int(time.time()), signer.enrol)
        sent = []

        def chunked():  # no Content-Length: the limit must hold while reading
            for start in range(0, len(data), 500):
                sent.append(start)
                yield data[start:start + 500]

        error = _error(client.put(path, content=chunked(), headers=headers), 413, "too_large")
        assert error["limit"] == 1024 and len(sent) == 3
        assert signer.get(f"/api/v1/uploads/{upload['upload_id']}").json()["committed"] == 0


def test_requests_over_the_rate_are_refused_with_retry_after(world: NetWorld):
    pc = world.township_pc()
    with _client(world, rate_per_minute=60, rate_burst=3) as client:
        signer = Signer.for_pc(client, pc)
        assert [signer.get("/api/v1/state").status_code for _ in range(3)] == [200, 200, 200]
        response = signer.get("/api/v1/state")
        error = _error(response, 429, "rate_limited")
        assert response.headers["Retry-After"] == "1" and error["retry_after"] == 1
        other = Signer.for_pc(client, world.township_pc("pc2"))  # another PC has its own budget
        assert other.get("/api/v1/state").status_code == 200


def test_an_unreachable_county_database_answers_503(world: NetWorld, tmp_path: Path):
    pc = world.township_pc()
    with world.county.db.session() as session:
        identity = session.get(SyncIdentity, 1)
    gone = Database(tmp_path / "unplugged" / "county.sqlite3")  # the folder (a network drive) is gone
    store = CountyStore(gone, world.county.data_dir, identity)
    with TestClient(create_app(store, ServerSettings())) as client:
        response = Signer.for_pc(client, pc).get("/api/v1/state")
        error = _error(response, 503, "storage_unavailable")
        assert "数据库暂时无法访问" in error["message"] and "数据没有丢失" in error["message"]
        assert client.get("/api/v1/health").status_code == 200  # the process itself is fine


# -- returns ------------------------------------------------------------------------------------------
def test_a_cut_return_download_resumes_with_range(world: NetWorld, api: TestClient):
    pc, bundle = _bundle(world, villages=3)
    signer = Signer.for_pc(api, pc)
    returned = signer.upload(bundle)["return"]
    url = f"/api/v1/returns/{returned['return_id']}"
    head = signer.get(url, headers={"Range": "bytes=0-99"})
    assert head.status_code == 206 and len(head.content) == 100
    (world.root / f"{returned['return_id']}.xab").write_bytes(head.content)
    path = signer.download(returned["return_id"], world.root, start=100)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == returned["sha256"]
    assert pc.sync.import_return(path).acknowledged_to == 4
    error = _error(signer.get(url, headers={"Range": f"bytes={returned['size']}-"}), 416, "bad_request")
    assert "超出" in error["message"]


def test_the_openapi_schema_describes_the_api(api: TestClient):
    schema = api.get("/api/v1/openapi.json").json()
    assert {"/health", "/state", "/uploads", "/uploads/{upload_id}", "/uploads/{upload_id}/complete",
            "/downstream", "/returns/{return_id}", "/ack"} <= set(schema["paths"])
    assert "application/octet-stream" in schema["paths"]["/uploads/{upload_id}"]["put"]["requestBody"]["content"]


def test_villages_arrive_once_however_often_the_pc_syncs(world: NetWorld, api: TestClient):
    pc = world.township_pc()
    signer = Signer.for_pc(api, pc)
    for round_ in range(3):
        sync_once(signer, pc, world.root / f"r{round_}")
    pc.add_village("新华村")
    sync_once(signer, pc, world.root / "r4")
    with world.county.db.session() as session:
        names = sorted(session.scalars(select(Village.name)))
    assert names == ["新华村", "石桥村"]


def test_an_unexpected_failure_is_a_json_500_without_details(world: NetWorld, monkeypatch):
    pc = world.township_pc()

    def broken(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(world.county, "node_state", broken)
    with TestClient(create_app(world.county, ServerSettings()), raise_server_exceptions=False) as client:
        error = _error(Signer.for_pc(client, pc).get("/api/v1/state"), 500, "internal")
    assert "县级平台内部错误" in error["message"] and "secret internals" not in error["message"]


def test_two_racing_completes_apply_the_bundle_once(world: NetWorld, api: TestClient):
    pc, bundle = _bundle(world, villages=20)
    signer = Signer.for_pc(api, pc)
    upload_id = _uploaded(signer, bundle)
    with ThreadPoolExecutor(2) as pool:
        answers = [f.result().json() for f in [pool.submit(signer.complete, upload_id) for _ in range(2)]]
    assert sorted(a["replay"] for a in answers) == [False, True]
    assert sorted(a["applied"] for a in answers) == [0, 21]
    with world.county.db.session() as session:
        assert len(session.scalars(select(Village.name)).all()) == 20
    signer.post("/api/v1/ack", {"downstream": 0})  # bytes dropped: the stored answer is the first one's
    late = signer.complete(upload_id).json()
    assert late["ack"] == answers[0]["ack"] and late["applied"] == 21 and late["replay"] is True
