"""SyncError: every expected sync failure, with a stable code for programs and a Chinese message for people."""

from __future__ import annotations

from app.errors import XiangAnError

# code → (what happened, what the user can do). Codes are stable: the database side, the CLI's --json
# output and the tests match on them; the wording may improve.
MESSAGES: dict[str, tuple[str, str]] = {
    "unreadable": ("无法读取同步文件", "请确认U盘已插好、文件仍在原处，然后重试"),
    "truncated": ("同步文件不完整，可能没有复制完或被截断", "请重新复制该文件，或在导出端重新导出"),
    "damaged": ("同步文件已损坏，内容与导出时不一致", "请换一个U盘重新复制，或在导出端重新导出"),
    "too_large": ("同步文件超出安全限制，已拒绝打开", "该文件可能不是本系统导出的，请向导出方核实"),
    "unsafe_name": ("同步文件含有不安全或不认识的条目名", "该文件可能不是本系统导出的，请向导出方核实"),
    "bad_signature": ("同步文件的签名无效，文件可能被篡改", "请不要导入该文件，并向导出方核实"),
    "unknown_sender": ("同步文件来自未登记的单位或电脑", "请先完成登记（注册），或向导出方核实"),
    "wrong_recipient": ("该同步文件不是发给本单位（本机）的", "请确认文件来源，导入发给本单位的文件"),
    "format_too_old": ("同步文件的格式版本过旧，本软件已不再支持", "请让导出方升级软件后重新导出"),
    "format_too_new": ("同步文件的格式版本比本软件新", "请先升级本软件，再导入该文件"),
    "hash_mismatch": ("同步文件中的数据与签名清单不一致，文件可能被篡改", "请不要导入该文件，并向导出方核实"),
    "decrypt_failed": ("同步文件无法解密", "该文件可能不是发给本机的，或本机密钥已更换；请向导出方核实"),
    "bad_key": ("密钥数据无效或已损坏", "请从备份恢复密钥，或重新登记"),
    "write_failed": ("同步文件写入失败", "请检查U盘是否已插好、空间是否足够，然后重试"),
    "cancelled": ("已取消，未生成同步文件", "需要时请重新操作"),
    "replay": ("该同步文件已经导入过", "无需重复导入，数据没有变化"),
    "wrong_township": ("该同步文件属于其他乡镇", "请导入本乡镇的文件"),
    "fork": ("检测到数据库从旧备份恢复，同步序号出现分叉", "请重新登记本机，数据不会丢失"),
    "out_of_partition": ("同步文件试图修改不属于发送方的数据", "已拒绝导入，请向导出方核实"),
    # network sync (the county server's error codes; see app/server/errors.py for their HTTP status)
    "bad_request": ("请求格式错误", "请升级本软件后重试；如仍出现，请把这条信息告诉技术支持人员"),
    "unauthenticated": ("请求缺少身份验证信息", "请确认本机已登记，然后重试"),
    "clock_skew": ("本机时钟与县级平台相差过大", "将按平台时间自动重试；如反复出现，请校准本机时间"),
    "replayed_request": ("同一请求被重复发送", "将自动重试"),
    "revoked": ("本机的登记已被取代（该乡镇已用新的登记文件重新登记过本机或其他电脑）", "请向县应急管理局申请新的登记文件后重新登记"),
    "forbidden": ("无权访问其他电脑的上传或回执", "请确认本机登记信息；如仍出现，请把这条信息告诉技术支持人员"),
    "not_found": ("县级平台上没有找到该内容（可能已过期清理）", "将重新开始本次同步"),
    "offset_mismatch": ("上传进度与县级平台记录不一致", "将从平台记录的位置继续上传"),
    "rate_limited": ("同步请求过于频繁", "请稍后自动重试"),
    "storage_unavailable": ("县级平台的数据库暂时无法访问", "数据没有丢失，请稍后重试；如持续出现，请联系县应急管理局"),
    "internal": ("县级平台内部错误", "请稍后重试，并把这条信息告诉县应急管理局"),
    # network sync, township client side (app/sync/http_client.py)
    "offline": ("无法连接县级平台（网络不通）", "将自动重试"),
    "certificate": ("县级平台的 HTTPS 证书无法验证（证书不受信任、已过期或与地址不符）",
                    "请核对县级平台地址；县里使用自签名证书时，请向县应急管理局索取证书文件，并设置环境变量 SSL_CERT_FILE 指向它"),
    "interrupted": ("与县级平台的连接中断", "已传送的部分会保留，将自动重试并从中断处继续"),
    "stalled": ("与县级平台的传输停滞", "已中止本次同步，将自动重试并从中断处继续"),
    "unavailable": ("县级平台暂时无法访问", "将自动重试；如持续出现，请联系县应急管理局"),
    "protocol": ("县级平台的应答无法识别", "请确认县级平台地址是否正确，或升级本软件"),
    "no_server": ("尚未设置县级平台地址", "请填写县应急管理局提供的地址（如 xiangan sync --server http://192.168.1.10:8750）"),
    "not_enrolled": ("本机尚未登记到县级平台", "请先导入县应急管理局提供的登记文件（xiangan enrol 登记文件）"),
}


class SyncError(XiangAnError):
    """A bundle or key was refused or could not be written; ``code`` is stable, ``str()`` is for the user.

    ``detail`` names the specific problem (which entry, which limit) inside the standard sentence;
    ``message`` replaces the whole sentence for codes that need their own wording."""

    def __init__(self, code: str, detail: str = "", *, message: str | None = None) -> None:
        self.code = code
        self.detail = detail
        super().__init__(message or describe(code, detail))


GENERIC = ("同步操作失败", "请把这条信息告诉技术支持人员")


def describe(code: str, detail: str = "") -> str:
    """The standard Chinese sentence for ``code``; an unlisted code still yields a sentence (the real
    failure must not turn into a KeyError), and a test keeps every code raised in app/sync listed."""
    what, advice = MESSAGES.get(code, GENERIC)
    if detail:
        what = f"{what}（{detail}）"
    return f"{what}。{advice}。"
