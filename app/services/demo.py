"""Demo township generator: a realistic, reproducible 乡镇 with villages, enterprises, units, contacts, a
隐患排查治理台账 whose hazards are in every state of their lifecycle, each with its full event trail, and
this year's 安全生产目标责任书 in every state with a few accidents (``demo_letters``)."""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from itertools import accumulate, chain, count
from typing import Any

from sqlalchemy import JSON, Date, func, insert, select
from sqlalchemy.orm import Session

from app.errors import ValidationError, XiangAnError
from app.localtime import CHINA_TZ
from app.models import (
    Contact,
    Enterprise,
    Hazard,
    HazardAction,
    HazardEvent,
    HazardStatus,
    Township,
    TownshipUnit,
    Village,
    new_id,
    utcnow,
)
from app.models.audit import record_event
from app.models.base import CLOCK, SyncedMixin, UTCDateTime
from app.models.config_data import Sector
from app.models.deadlines import DeadlineRule, DeadlineRules
from app.models.hazards import MAJOR, TRANSITIONS
from app.models.validation import USCC_CHARSET, uscc_check_char
from app.services.context import SYSTEM_ACTOR, Actor, Scope
from app.services.demo_letters import add_demo_letters
from app.services.demo_readiness import add_demo_readiness
from app.services.fields import display, normalise
from app.services.hazards import load_deadline_rules
from app.services.organisation import TOWNSHIP_FIELDS, load_sectors
from app.storage import Database

# Village codes are township code + 3 digits: communities use 001–199 and villages 201–999, as in the
# statistical division codes; beyond this scale those ranges run out.
MAX_SCALE = 60
CHUNK = 1000  # rows per flush: keeps the flush hook's per-flush work small without many round trips
BULK_CHUNK = 5000  # hazards per bulk insert (with their events) in generate_hazards
MAX_BULK_HAZARDS = 1_000_000

Progress = Callable[[int, int, str], None]  # (rows written, rows in total, what is being written)

# -- name material ---------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    """Space-separated word lists stay readable (and diffable) as Chinese prose-like blocks."""
    return tuple(text.split())


# Surname shares in ‰, roughly the 2020 census ranking, so the directory looks like a real one.
_SURNAME_TABLE = _words(
    "王71 李70 张64 刘53 陈45 杨31 黄25 赵23 吴20 周19 徐13 孙13 马12 朱12 胡11 郭11 何10 林10 高10 罗9 "
    "郑9 梁8 谢7 宋6 唐6 许6 韩6 冯5 邓5 曹5 彭5 曾5 肖5 田4 董4 袁4 潘4 于4 蒋4 蔡4 余4 杜3 叶3 程3 "
    "苏3 魏3 吕3 丁3 任3 沈3 姚3 卢3 姜3 崔2 钟2 谭2 陆2 汪2 范2 金2 石2 廖2 贾2 夏2 韦2 付2 方2 白2 "
    "邹2 孟2 熊2 秦2 邱2 江2 尹2 薛2 闫2 段2 雷2 侯2 龙2 史2 陶1 黎1 贺1 顾1 毛1 郝1 龚1 邵1 万1 钱1 "
    "严1 赖1 覃1 洪1 武1 戴1 莫1 孔1"
)
_SURNAMES = tuple(item[0] for item in _SURNAME_TABLE)
_SURNAME_CUM = tuple(accumulate(int(item[1:]) for item in _SURNAME_TABLE))
_MALE = tuple(dict.fromkeys("伟强军勇杰涛明超刚平辉华建国志文斌鹏俊林峰磊波宇浩海亮成龙东春永忠德荣新学光金福生兵健庆胜云祥清晨凯锋毅远宏昌贵发松武彬振兴家"))
_FEMALE = tuple(dict.fromkeys("芳娟敏静丽艳霞燕玲红梅琴萍英兰秀莉婷雪慧云洁佳颖倩丹凤月桂翠欣悦琳晶华玉珍春美"))
# Characters that also work alone as a given name (王家 or 黄国 would read as something else).
_MALE_SINGLE = tuple("伟强军勇杰涛明超刚平辉华斌鹏俊林峰磊波宇浩海亮成龙东健庆胜凯锋毅宏彬")
_FEMALE_SINGLE = tuple("芳娟敏静丽艳霞燕玲红梅琴萍英兰秀莉婷雪慧洁佳颖倩丹凤琳晶")
# Homophone jokes and national leaders' names would look careless in a government office's demo.
_AVOID_NAMES = frozenset(_words(
    "杨伟 范建 范剑 胡丽晶 胡丽静 胡莉晶 史珍香 范统 秦寿生 沈晶冰 庞光 夏建仁 杜子腾 "
    "李鹏 李强 王毅 王勇 王晨 胡春华 孙春兰 张国清 陈文清 尹力 袁家军"
))
_MOBILE_PREFIXES = _words(
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 "
    "173 176 177 178 180 181 182 183 184 185 186 187 188 189 191 198 199"
)


@dataclass(frozen=True)
class _County:
    name: str
    code: str
    area_code: str


# Real counties with their real division and telephone area codes; the townships are made up.
_COUNTIES = (
    _County("安远县", "360726", "0797"),
    _County("修水县", "360424", "0792"),
    _County("平江县", "430626", "0730"),
    _County("苍溪县", "510824", "0839"),
    _County("开化县", "330824", "0570"),
    _County("湄潭县", "520328", "0851"),
    _County("罗田县", "421123", "0713"),
    _County("霍山县", "341525", "0564"),
)
_TOWN_STEMS = ("青山", "龙泉", "石门", "桃源", "白沙", "新田", "凤凰", "长岭", "清水", "黄坪", "永和", "大塘",
               "双溪", "高桥", "梅林", "云台")
_COMMUNITY_STEMS = ("城东", "城西", "城南", "城北", "新街", "老街", "滨河", "河东", "河西", "朝阳", "和平",
                    "解放", "人民", "建设", "幸福", "新华", "东风", "胜利", "文化", "向阳", "团结", "光明",
                    "振兴", "民主", "繁荣", "花园", "府前", "沿江", "工业园", "锦绣")
_CURATED_PLACES = _words(
    "石桥 枫树坪 黄泥塘 杨梅坑 桃源 白沙 新田 高岭 长岭 龙口 上湾 下屋 大坪 小溪 竹山 茶园 松林 樟树 柏树 "
    "桂花 梅林 荷塘 莲塘 杉木 油茶 板栗 龙潭 凤岭 鹤山 虎形 马鞍 狮子岩 牛角湾 羊角 金竹 银坑 铜锣 铁炉 "
    "水口 河背 塘头 坝上 圳下 岭背 坑口 坳上 田心 洲头 沙坝 石角 石陂 石壁 山塘 湖田 湖洋 溪头 溪背 潭头 "
    "泉水 横江 车头 车田 东坑 西坑 南坑 北坑 中坪 上坪 下坪 上营 下营 前岭 后岭 新屋 老屋 新塘 老圩 罗坑 "
    "黄坑 蕉坑 杉坑 芦溪 桐木 竹林 梨树 杏花 桃花 柳塘 莲花 丰田 富田 良田 新丰 永丰 太平 安和 长塘 高田 "
    "碧溪 青龙 白鹤 黄竹 红岩 乌石 赤水 大岭 小岭 大湾 小湾 龙头 凤山 金鸡 银杏 仙人桥 观音岩"
)
_GENERATED_PLACES = tuple(
    name
    for name in [f"{s}家{t}" for s in "陈李王刘张黄杨吴周徐朱胡郭何罗谢曾彭邓肖林高梁宋唐许韩冯曹袁潘蒋蔡余叶程钟廖邹"
                 for t in "坊湾岭冲垄坪山寨屋桥"]
    + [f"{d}{t}" for d in "上下东西南北前后中" for t in "坪塘岭坑湾坝洲田陂垄源"]
    if name not in _CURATED_PLACES  # a name in both lists would come out as 石桥村 and 石桥一村
)
_STREETS = ("人民路", "解放路", "建设路", "新华街", "中山路", "文化路", "胜利路", "工业大道", "滨河路",
            "府前路", "沿江路", "兴业路", "商贸街", "老街")
_BRANDS = _words(
    "鑫源 宏达 恒通 兴旺 金盛 华鑫 永盛 顺发 福源 瑞丰 润泽 宏图 嘉禾 利民 诚信 盛世 天和 康达 万家 佳乐 "
    "红星 新华 东方 昌盛 泰和 祥和 惠民 金叶 绿源 青松 富民 同心 启航 远航 振兴 腾飞 联创 众诚 华泰 隆兴 "
    "丰收 广源 聚福 和顺 安达 安泰 鸿运 金鹏 银河 长青 四季 春晖 百佳 益民 兴隆 恒丰 德胜 顺通 信达 汇通 "
    "金山 翠竹 云峰 锦程 宏远 龙腾 凤祥 新源 大地 阳光 星光 海天 宝丰 吉祥 如意 家乐 美佳 永安 天成"
)
# Auspicious characters real 字号 are made of; pairs of them take over when the curated brands are used up.
_BRAND_CHARS = "鑫源宏达恒通兴旺金盛华永顺福瑞丰润泽嘉禾利民诚信天和康佳乐昌泰祥惠绿青富同启航远振腾联创众隆广聚安鸿鹏长春晖益德锦云龙凤新宝吉美"
_NUMERALS = "一二三四五六七八九十"
_VILLAGE_REMARKS = ("", "", "", "", "辖区有地质灾害隐患点1处，汛期落实专人巡查", "临河，汛期为防汛重点村",
                    "有小型水库1座，汛期专人值守", "林区面积大，为森林防火重点村", "有危旧房屋，已建立台账",
                    "有山塘2口，已落实巡查责任人")
_COMMUNITY_REMARKS = ("", "", "", "镇区所在地，人员密集场所较多", "老旧小区较多，关注电动车充电隐患",
                      "辖区有农贸市场，节假日人流量大")

# (position, emergency roles, share of women, office phone: "duty" = the office's duty line)
_TOWNSHIP_POSTS = (
    ("镇党委书记", ("主要负责人",), 0.15, "own"),
    ("镇党委副书记、镇长", ("主要负责人",), 0.2, "own"),
    ("镇党委委员、分管应急管理副镇长", ("分管负责人",), 0.2, "own"),
    ("应急管理办公室主任", ("应急管理员", "应急联络员"), 0.3, "duty"),
    ("应急管理办公室工作人员", ("应急联络员", "信息员"), 0.5, "duty"),
    ("人武部部长", ("民兵",), 0.05, "own"),
    ("党政办主任", ("值班员",), 0.4, "own"),
    ("值班员", ("值班员",), 0.5, "duty"),
    ("值班员", ("值班员",), 0.5, "duty"),
)
# (name pattern, UNIT_KINDS entry, title of the head)
_UNITS = (
    ("{town}派出所", "派出所", "所长"),
    ("{town}卫生院", "卫生院", "院长"),
    ("{town}中心小学", "学校", "校长"),
    ("{town}中学", "学校", "校长"),
    ("{town}供电所", "供电所", "所长"),
    ("{town}水利站", "水利站", "站长"),
    ("{town}农业综合服务中心", "农业服务中心", "主任"),
    ("{town}林业站", "林业站", "站长"),
    ("{town}市场监督管理所", "市场监管所", "所长"),
    ("{town}自然资源所", "自然资源所", "所长"),
    ("{town}财政所", "财政所", "所长"),
    ("{town}综合行政执法队", "综合执法队", "队长"),
    ("{town}专职消防队", "消防站", "队长"),
    ("{town}敬老院", "养老机构", "院长"),
)


@dataclass(frozen=True)
class _Kind:
    """One kind of business: its sector, how many a 12-village township has, and how it is named.

    Patterns carry the 统一社会信用代码 type: 91 company, 92 个体工商户, 93 农民专业合作社,
    52 民办非企业单位, 12 事业单位.
    """

    sector: str  # code in the default 行业领域代码表
    sector_name: str  # matched too, in case the county renumbers the codes
    per_block: tuple[int, int]
    employees: tuple[int, int]
    patterns: tuple[tuple[str, str], ...]
    rural: bool = False  # only in 行政村 (quarries, fish farms)


_KINDS = (
    _Kind("crowded", "人员密集场所", (16, 22), (3, 40), (
        ("{town}{brand}超市", "92"), ("{town}{place}{brand}便利店", "92"), ("{town}{brand}宾馆", "92"),
        ("{county}{brand}酒店有限公司", "91"), ("{town}{surname}记饭店", "92"), ("{town}{place}农家乐", "92"),
        ("{town}{brand}网吧", "92"), ("{town}{brand}KTV", "92"), ("{town}{brand}大药房", "92"),
        ("{town}{brand}农贸市场", "91"))),
    _Kind("fire", "消防", (8, 11), (2, 30), (
        ("{town}{brand}五金店", "92"), ("{town}{brand}汽车修理厂", "92"), ("{town}{place}{brand}家具厂", "92"),
        ("{county}{brand}仓储有限公司", "91"), ("{town}{brand}电动车行", "92"), ("{town}{brand}建材店", "92"),
        ("{town}{place}棉被加工店", "92"))),
    _Kind("construction", "建筑施工", (6, 9), (10, 120), (
        ("{county}{brand}建筑工程有限公司", "91"), ("{county}{brand}建设工程有限公司", "91"),
        ("{county}{brand}装饰工程有限公司", "91"), ("{county}{brand}水利水电工程有限公司", "91"),
        ("{county}{brand}路桥工程有限公司", "91"))),
    _Kind("industry_trade", "工贸", (12, 16), (8, 150), (
        ("{county}{town}{place}建材有限公司", "91"), ("{county}{brand}木业有限公司", "91"),
        ("{county}{brand}竹业有限公司", "91"), ("{county}{brand}食品有限公司", "91"),
        ("{county}{brand}机械制造有限公司", "91"), ("{county}{brand}纺织有限公司", "91"),
        ("{county}{brand}米业有限公司", "91"), ("{county}{brand}茶业有限公司", "91"),
        ("{county}{brand}新型墙体材料有限公司", "91"), ("{county}{brand}服装有限公司", "91"),
        ("{county}{brand}电子有限公司", "91"), ("{town}{place}砖厂", "92"))),
    _Kind("road", "道路交通", (6, 9), (5, 80), (
        ("{county}{brand}运输有限公司", "91"), ("{county}{brand}物流有限公司", "91"),
        ("{county}{brand}客运有限公司", "91"), ("{county}{brand}货运有限公司", "91"),
        ("{county}{brand}机动车驾驶员培训有限公司", "91"))),
    _Kind("hazchem", "危险化学品", (2, 4), (3, 20), (
        ("{town}{place}加油站", "91"), ("{town}{place}加油站", "91"), ("{town}{brand}加油站", "91"),
        ("{town}{brand}农资店", "92"), ("{county}{brand}化工有限公司", "91"))),
    _Kind("fireworks", "烟花爆竹", (2, 3), (1, 3), (
        ("{town}{brand}烟花爆竹零售点", "92"), ("{town}{place}烟花爆竹零售点", "92"))),
    _Kind("mining", "矿山", (1, 2), (10, 60), (
        ("{county}{town}{place}采石场", "91"), ("{county}{brand}石料有限公司", "91"),
        ("{county}{brand}矿业有限公司", "91")), rural=True),
    _Kind("gas", "城镇燃气", (1, 1), (3, 12), (
        ("{town}{brand}液化气供应站", "91"), ("{town}{place}液化气供应站", "91"),
        ("{county}{brand}燃气有限公司", "91"))),
    _Kind("special_equipment", "特种设备", (1, 2), (3, 25), (
        ("{county}{brand}起重设备租赁有限公司", "91"), ("{county}{brand}锅炉安装有限公司", "91"),
        ("{town}{brand}电梯维保服务部", "92"))),
    _Kind("new_business", "新业态", (2, 4), (2, 15), (
        ("{town}{brand}快递服务站", "92"), ("{town}{place}电商服务站", "92"), ("{town}{brand}外卖配送站", "92"))),
    _Kind("agri_machinery", "农业机械", (1, 3), (3, 20), (
        ("{town}{place}农机专业合作社", "93"), ("{town}{brand}农机服务专业合作社", "93")), rural=True),
    _Kind("fishing", "渔业船舶", (0, 1), (3, 15), (("{town}{place}水产养殖专业合作社", "93"),), rural=True),
    _Kind("self_built_housing", "经营性自建房", (2, 4), (1, 8), (
        ("{town}{place}{brand}民宿", "92"), ("{town}{brand}公寓", "92"), ("{town}{surname}氏出租屋", "92"))),
    _Kind("tourism", "旅游景区", (0, 1), (5, 40), (
        ("{county}{brand}旅游开发有限公司", "91"), ("{county}{place}生态旅游有限公司", "91"))),
    _Kind("education", "学校幼儿园", (2, 3), (5, 40), (
        ("{town}中心幼儿园", "12"), ("{town}{brand}幼儿园", "52"), ("{town}{place}幼儿园", "52"),
        ("{town}{brand}培训学校", "52"))),
    _Kind("medical", "医疗养老机构", (2, 3), (3, 30), (
        ("{town}{brand}诊所", "92"), ("{town}{surname}氏诊所", "92"), ("{town}{brand}养老院", "52"))),
    _Kind("other", "其他", (1, 2), (1, 6), (
        ("{town}{brand}理发店", "92"), ("{town}{brand}废品回收站", "92"), ("{town}{brand}洗车场", "92"))),
)
_NAME_ATTEMPTS = 40
_ORG_CODE_CHARS = USCC_CHARSET  # digits and the letters a credit code may contain
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


# -- result ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoResult:
    township_name: str
    township_id: str
    counts: dict[str, int] = field(default_factory=dict)  # table name → rows created
    seconds: float = 0.0

    @property
    def contents(self) -> str:
        c = self.counts
        return (f"{c.get('village', 0)}个村/社区、{c.get('enterprise', 0)}家企业、"
                f"{c.get('township_unit', 0)}个站所、{c.get('contact', 0)}位联系人、{c.get('hazard', 0)}条隐患")

    @property
    def summary(self) -> str:
        return f"已生成演示乡镇「{self.township_name}」：{self.contents}。"


# -- generation ------------------------------------------------------------------------------------


def _org_code_check(body: str) -> str:
    """GB 11714 check character of an 8-character organisation code body (letters count A=10…)."""
    total = sum(int(ch, 36) * w for ch, w in zip(body, _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


class _People:
    """Names and phone numbers; every number handed out is unique within the township."""

    def __init__(self, rng: random.Random, area_code: str) -> None:
        self.rng = rng
        self.area_code = area_code
        # A township's landlines share an exchange prefix; local numbers never start with 0 or 1.
        self.exchange = f"{rng.randint(2, 8)}{rng.randint(0, 9)}"
        self._numbers: set[str] = set()

    def name(self, female: float = 0.3) -> str:
        while True:
            surname = self.rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]
            is_female = self.rng.random() < female
            if self.rng.random() < 0.75:
                pool = _FEMALE if is_female else _MALE
                given = self.rng.choice(pool) + self.rng.choice(pool)
            else:
                given = self.rng.choice(_FEMALE_SINGLE if is_female else _MALE_SINGLE)
            doubled = len(given) == 2 and given[0] == given[1]  # 丽丽-style names read as nicknames
            if not doubled and surname + given not in _AVOID_NAMES:
                return surname + given

    def mobile(self) -> str:
        return self._unique(lambda: f"{self.rng.choice(_MOBILE_PREFIXES)}{self.rng.randrange(10**8):08d}")

    def landline(self) -> str:
        return self._unique(lambda: f"{self.area_code}-{self.exchange}{self.rng.randrange(10**5):05d}")

    def _unique(self, make: Callable[[], str]) -> str:
        while True:
            number = make()
            if number not in self._numbers:
                self._numbers.add(number)
                return number


@dataclass(frozen=True)
class _Place:
    village: Village
    stem: str  # 石桥 for 石桥村 / 石桥一村: what enterprises located there are named after


class _Builder:
    """Everything one demo township is made of, drawn from one seeded random stream in a fixed order."""

    def __init__(self, rng: random.Random, scale: int, sectors: Sequence[Sector], today: date,
                 rules: DeadlineRules, username: str) -> None:
        self.rng = rng
        self.scale = scale
        self.sectors = sectors
        self.today = today
        self.rules = rules
        self.username = username
        self.county = rng.choice(_COUNTIES)
        self.town_stem = rng.choice(_TOWN_STEMS)
        self.town = f"{self.town_stem}镇"
        self.town_code = f"{self.county.code}1{rng.randint(1, 20):02d}"  # 1xx: 镇 in division codes
        self.scope = Scope(new_id(), self.town)
        self.people = _People(rng, self.county.area_code)
        self.streets = (*_STREETS, f"{self.town_stem}大道")
        self.taken: set[str] = set()  # organisation names: contacts are matched to them by name
        self.credit_codes: set[str] = set()
        self.places: list[_Place] = []
        self.contacts: list[Contact] = []
        self._all: list[_Place] = []  # where businesses may be, filled once the villages exist
        self._all_cum: list[int] = []
        self._rural: list[_Place] = []

    def build(self) -> list[tuple[str, list[SyncedMixin]]]:
        township = self.township()
        villages = self.villages()
        units = self.units()
        enterprises = self.enterprises()
        hazards, events = self.hazards(enterprises)
        return [("乡镇信息", [township]), ("村/社区", villages), ("站所", units), ("企业", enterprises),
                ("联系人", self.contacts), ("隐患", hazards), ("隐患处理记录", events)]

    # -- helpers ---------------------------------------------------------------------------------
    def _owned(self) -> dict[str, str]:
        # Ids are minted up front so rows can reference each other before the flush.
        return {"id": new_id(), "township_id": self.scope.township_id, "partition": self.scope.partition}

    def _contact(self, name: str, mobile: str, position: str, roles: Sequence[str], org_kind: str = "township",
                 org_id: str | None = None, office_phone: str = "") -> None:
        self.contacts.append(Contact(
            **self._owned(), name=name, org_kind=org_kind, org_id=org_id, position=position, roles=list(roles),
            mobile=mobile, office_phone=office_phone, id_number="", remarks="",
        ))

    def _unique_name(self, stem: str, suffix: str) -> str:
        numbered = chain((f"{stem}{n}{suffix}" for n in _NUMERALS), (f"{stem}{k}{suffix}" for k in count(11)))
        for name in chain([f"{stem}{suffix}"], numbered):
            if name not in self.taken:
                self.taken.add(name)
                return name
        raise AssertionError("unreachable: the numbered names never run out")

    def _shuffled(self, items: Sequence[str]) -> list[str]:
        out = [x for x in dict.fromkeys(items) if x != self.town_stem and x not in _COMMUNITY_STEMS]
        self.rng.shuffle(out)
        return out

    def _street_address(self) -> str:
        return f"{self.county.name}{self.town}{self.rng.choice(self.streets)}{self.rng.randint(1, 300)}号"

    # -- the township ----------------------------------------------------------------------------
    def township(self) -> Township:
        duty = self.people.landline()
        leader = ("", "")
        for position, roles, female, phone in _TOWNSHIP_POSTS:
            name, mobile = self.people.name(female), self.people.mobile()
            self._contact(name, mobile, position, roles, office_phone=duty if phone == "duty" else self.people.landline())
            if "分管负责人" in roles:
                leader = (name, mobile)
        values = {
            "name": self.town, "code": self.town_code, "county_name": self.county.name,
            "county_code": self.county.code, "office_name": f"{self.town}应急管理办公室", "office_phone": duty,
            "leader_name": leader[0], "leader_phone": leader[1], "address": self._street_address(),
        }
        # The same normalisation as the 乡镇信息 form, so the row is what the UI would have written.
        clean, errors = normalise(TOWNSHIP_FIELDS, values)
        if errors:
            raise ValidationError(errors, TOWNSHIP_FIELDS.labels)
        return Township(id=self.scope.township_id, partition=self.scope.partition, **clean)

    # -- villages and communities ----------------------------------------------------------------
    def villages(self) -> list[Village]:
        communities = sum(self.rng.randint(2, 3) for _ in range(self.scale))
        places = self._shuffled(_CURATED_PLACES) + self._shuffled(_GENERATED_PLACES)
        # The town's seat community is usually named after the town; more communities take old village names
        # from the far end of the pool so they rarely clash with the villages.
        urban = [self.town_stem, *self._shuffled_communities(), *reversed(places)]
        rows = [self._village("社区", urban[i % len(urban)], f"{self.town_code}{i + 1:03d}")
                for i in range(communities)]
        rows += [self._village("行政村", places[i % len(places)], f"{self.town_code}{i + 201:03d}")
                 for i in range(12 * self.scale - communities)]
        return rows

    def _shuffled_communities(self) -> list[str]:
        out = list(_COMMUNITY_STEMS)
        self.rng.shuffle(out)
        return out

    def _village(self, kind: str, stem: str, code: str) -> Village:
        community = kind == "社区"
        name = self._unique_name(stem, "社区" if community else "村")
        population = self.rng.randint(2500, 4500) if community else self.rng.randint(800, 4200)
        grids = max(2, min(8, round(population / 550) + self.rng.randint(-1, 1)))
        head, mobile = self.people.name(0.15), self.people.mobile()
        village = Village(
            **self._owned(), name=name, kind=kind, code=code, population=population,
            households=round(population / 3.2 * self.rng.uniform(0.92, 1.08)), grid_count=grids,
            head_name=head, head_phone=mobile,
            remarks=self.rng.choice(_COMMUNITY_REMARKS if community else _VILLAGE_REMARKS),
        )
        self.places.append(_Place(village, stem))
        self._village_contacts(village, head, mobile)
        return village

    def _village_contacts(self, village: Village, head: str, mobile: str) -> None:
        community = village.kind == "社区"
        org = {"org_kind": "village", "org_id": village.id}
        self._contact(head, mobile, "社区党委书记、居委会主任" if community else "村党支部书记、村委会主任",
                      ("主要负责人",), **org)
        manager_informs = self.rng.random() < 0.5
        self._contact(self.people.name(0.4), self.people.mobile(), "社区居委会委员" if community else "村委会委员",
                      ("应急管理员", "信息员") if manager_informs else ("应急管理员",), **org)
        # Every grid has a 网格员; one person covers at most two grids, so a village has 3–6 contacts.
        grids = village.grid_count or 2
        workers = self.rng.randint((grids + 1) // 2, min(4, grids))
        numbers = iter(range(1, grids + 1))
        for w in range(workers):
            covered = [str(next(numbers)) for _ in range(grids // workers + (1 if w < grids % workers else 0))]
            last = w == workers - 1
            roles = ("网格员", "信息员") if last and not manager_informs else ("网格员",)
            self._contact(self.people.name(0.6), self.people.mobile(), f"第{'、'.join(covered)}网格网格员",
                          roles, **org)

    # -- township units --------------------------------------------------------------------------
    def units(self) -> list[TownshipUnit]:
        rows = []
        for pattern, kind, title in _UNITS:
            name = self._unique_name(pattern.format(town=self.town), "")
            head, mobile, phone = self.people.name(0.2), self.people.mobile(), self.people.landline()
            unit = TownshipUnit(**self._owned(), name=name, kind=kind, head_name=head, phone=phone,
                                address=self._street_address(), remarks="")
            self._contact(head, mobile, title, ("主要负责人",), "unit", unit.id, office_phone=phone)
            rows.append(unit)
        return rows

    # -- enterprises -----------------------------------------------------------------------------
    def enterprises(self) -> list[Enterprise]:
        # Businesses cluster in the town's communities (镇区); quarries and fish farms are out in the villages.
        self._all = self.places
        self._all_cum = list(accumulate(3 if p.village.kind == "社区" else 1 for p in self.places))
        self._rural = [p for p in self.places if p.village.kind == "行政村"]
        rows: list[Enterprise] = []
        for kind in _KINDS:
            sector = self._sector_code(kind)
            how_many = sum(self.rng.randint(*kind.per_block) for _ in range(self.scale))
            rows.extend(self._enterprise(kind, sector) for _ in range(how_many))
        return rows

    def _sector_code(self, kind: _Kind) -> str:
        by_code = next((s.code for s in self.sectors if s.code == kind.sector), None)
        by_name = next((s.code for s in self.sectors if s.name == kind.sector_name), None)
        return by_code or by_name or ""  # not in the county's list: left blank, as an import would

    def _pick_place(self, rural: bool) -> _Place:
        if rural:
            return self.rng.choice(self._rural)
        return self.rng.choices(self._all, cum_weights=self._all_cum)[0]

    def _enterprise_name(self, kind: _Kind) -> tuple[_Place, str, str]:
        for attempt in range(_NAME_ATTEMPTS):
            place = self._pick_place(kind.rural)
            pattern, type_code = self.rng.choice(kind.patterns)
            name = pattern.format(county=self.county.name, town=self.town, place=place.stem,
                                  brand=self._brand(attempt), surname=self.rng.choice(_SURNAMES))
            if name not in self.taken:
                self.taken.add(name)
                return place, name, type_code
        return place, self._unique_name(name, ""), type_code  # practically unreachable; keeps names unique

    def _brand(self, attempt: int) -> str:
        if attempt < 10:
            return self.rng.choice(_BRANDS)
        first, second = self.rng.sample(_BRAND_CHARS, 2)  # large townships exhaust the curated list
        return first + second

    def _credit_code(self, type_code: str) -> str:
        while True:
            if self.rng.random() < 0.6:  # registered since 2015: "MA" + 6 characters
                body = "MA" + "".join(self.rng.choice(_ORG_CODE_CHARS) for _ in range(6))
            else:  # older registrations kept their 8-digit organisation code
                body = f"{self.rng.randrange(10**8):08d}"
            first17 = f"{type_code}{self.county.code}{body}{_org_code_check(body)}"
            code = first17 + uscc_check_char(first17)
            if code not in self.credit_codes:
                self.credit_codes.add(code)
                return code

    def _address(self, place: _Place) -> str:
        if place.village.kind == "社区":
            return self._street_address()
        return f"{self.county.name}{self.town}{place.village.name}{self.rng.randint(1, 12)}组"

    def _enterprise(self, kind: _Kind, sector: str) -> Enterprise:
        place, name, type_code = self._enterprise_name(kind)
        small = type_code in ("92", "93")
        owner = self.people.name(0.3)
        owner_is_officer = small and self.rng.random() < 0.6  # a shopkeeper is their own safety officer
        officer = owner if owner_is_officer else self.people.name(0.35)
        mobile = self.people.mobile()
        landline = self.people.landline() if self.rng.random() < (0.1 if small else 0.4) else ""
        enterprise = Enterprise(
            **self._owned(), name=name, credit_code=self._credit_code(type_code), sector_code=sector,
            village_id=place.village.id, legal_rep=owner, safety_officer=officer, phone=landline or mobile,
            address=self._address(place), employees=self.rng.randint(*kind.employees), remarks="",
        )
        if owner_is_officer:
            position, roles = {"92": "经营者", "93": "理事长"}.get(type_code, "负责人"), ("主要负责人", "安全员")
        else:
            position, roles = "安全管理员", ("安全员",)
        self._contact(officer, mobile, position, roles, "enterprise", enterprise.id, office_phone=landline)
        return enterprise

    # -- hazards ---------------------------------------------------------------------------------
    def hazards(self, enterprises: list[Enterprise]) -> tuple[list[Hazard], list[HazardEvent]]:
        grids = {p.village.id: p.village.grid_count or 3 for p in self.places}
        staff = [c.name for c in self.contacts if c.org_kind == "township"]
        factory = _HazardFactory(self.rng, self.today, self.rules, self.town_stem, self.county.name,
                                 [_site(e, grids) for e in enterprises], staff, self.username)
        owned = {"township_id": self.scope.township_id, "partition": self.scope.partition}
        hazards: list[Hazard] = []
        events: list[HazardEvent] = []
        for made in factory.hazards(_demo_scenarios(self.scale), {}):
            hazards.append(Hazard(**made.hazard, **owned))
            events.extend(HazardEvent(**e, **owned) for e in made.events)
        return hazards, events


# -- hazards ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    description: str
    location: str
    measures: str
    category: str  # 人 / 物 / 管
    basis: str = ""  # for a 重大 hazard: the rule it was judged by


_CATEGORY = {"人": "人的不安全行为", "物": "物的不安全状态", "管": "管理缺陷"}


def _problems(text: str) -> tuple[_Problem, ...]:
    """One problem per line: description | location | measures | category (人/物/管) [| basis]."""
    return tuple(_Problem(*(part.strip() for part in line.split("|")))
                 for line in text.strip().splitlines())


# Everyday findings of township inspections, by sector code.
_PROBLEMS: dict[str, tuple[_Problem, ...]] = {
    "crowded": _problems("""
        灭火器压力不足，部分已过有效期 | 一楼营业大厅 | 更换合格灭火器，建立每月检查记录 | 物
        安全出口被货物堵塞，疏散通道宽度不足 | 后门安全出口 | 立即清理堆放货物，保持疏散通道畅通 | 物
        应急照明灯和疏散指示标志损坏 | 二楼走廊 | 维修更换应急照明灯和疏散指示标志 | 物
        厨房液化气瓶未固定，与灶具间距不足 | 后厨 | 气瓶加装固定链条，设置独立气瓶间并安装燃气泄漏报警器 | 物
        员工不会使用灭火器，未开展消防安全培训 | 营业场所 | 组织全员消防安全培训和疏散演练 | 人
    """),
    "fire": _problems("""
        电气线路私拉乱接，未穿管保护 | 仓库 | 由持证电工规范敷设线路并穿管保护 | 物
        电动车在室内楼道停放充电 | 一楼楼梯间 | 清理室内充电车辆，设置集中充电区 | 人
        仓库内可燃物堆放过高，距照明灯具过近 | 仓库 | 降低堆垛高度，与灯具保持0.5米以上距离 | 物
        未建立防火巡查记录 | 办公室 | 建立每日防火巡查制度并落实记录 | 管
    """),
    "construction": _problems("""
        脚手架未设置防护栏杆和挡脚板 | 3号楼外脚手架 | 按规范设置1.2米防护栏杆和挡脚板 | 物
        基坑边坡未按规定放坡，临边未设防护 | 基坑东侧 | 按专项方案放坡并设置临边防护栏杆 | 物
        作业人员高处作业未系安全带 | 2号楼5层 | 停止违规作业，开展安全教育，现场专人监督 | 人
        施工用电未做到“一机一闸一漏” | 施工现场配电箱 | 整改配电箱，落实三级配电两级保护 | 物
        塔吊司机无特种作业操作证上岗 | 1号塔吊 | 更换持证人员，核查全部特种作业人员证件 | 管
    """),
    "industry_trade": _problems("""
        砂轮机防护罩缺失 | 机加工车间 | 安装防护罩，作业时佩戴护目镜 | 物
        车间配电柜前堆放杂物 | 生产车间 | 清理杂物，配电柜前铺设绝缘垫并设置警示标识 | 物
        未开展新员工三级安全教育 | 办公室 | 补齐三级安全教育并建立培训档案 | 管
        木工机械传动部位无防护罩 | 木工车间 | 加装传动部位防护装置 | 物
        有限空间未设置安全警示标识 | 污水池 | 设置有限空间警示标识，建立有限空间管理台账 | 管
    """),
    "road": _problems("""
        营运车辆动态监控终端离线 | 停车场 | 修复监控终端，落实动态监控值守 | 物
        驾驶员超时驾驶，未按规定休息 | 运输车队 | 开展驾驶员警示教育，落实动态监控提醒 | 人
        临水临崖路段护栏缺失 | 县道X123线K5+200处 | 增设波形护栏和警示标志 | 物
    """),
    "hazchem": _problems("""
        卸油区静电接地报警装置损坏 | 卸油区 | 更换静电接地报警器并检测 | 物
        农药与化肥混存，未分区存放 | 仓库 | 分区分类存放，设置标识 | 管
        可燃气体报警器未定期检定 | 罐区 | 委托有资质单位检定 | 物
    """),
    "fireworks": _problems("""
        零售点超量储存烟花爆竹 | 店内 | 清理超量产品，按限量存放 | 管
        零售点与居住场所未有效分隔 | 店铺后部 | 设置防火分隔，严禁住人 | 物
    """),
    "mining": _problems("""
        边坡未按设计分台阶开采，坡面存在浮石 | 采场西侧边坡 | 暂停作业，清理浮石，按设计分台阶开采 | 物
        爆破作业后未检查盲炮 | 采场 | 完善爆破后检查制度，落实专人检查 | 管
    """),
    "gas": _problems("""
        液化气钢瓶超期未检验 | 储瓶间 | 超期钢瓶停止充装并送检 | 物
        储瓶间可燃气体报警器失效 | 储瓶间 | 更换报警器并与排风机联动 | 物
    """),
    "special_equipment": _problems("""
        起重机械限位装置失灵 | 设备停放场 | 维修限位装置，经检验合格后使用 | 物
        锅炉未按期定期检验 | 锅炉房 | 向特种设备检验机构申请检验 | 管
    """),
    "new_business": _problems("""
        分拣区电动车违规充电 | 分拣区 | 设置集中充电区，安装智能充电桩 | 人
        外卖骑手未佩戴安全头盔 | 站点 | 开展交通安全教育，配发安全头盔 | 人
    """),
    "agri_machinery": _problems("""
        拖拉机未年检，无牌行驶 | 合作社机库 | 办理登记和年检 | 管
    """),
    "fishing": _problems("""
        渔船救生衣配备不足 | 渔船 | 按核定人数配齐救生衣 | 物
    """),
    "self_built_housing": _problems("""
        经营性自建房擅自加层，未进行安全鉴定 | 三楼加层部分 | 暂停经营，委托有资质单位进行安全鉴定 | 管
        客房窗户设置防盗网未留逃生口 | 客房 | 改造防盗网，设置可开启逃生口 | 物
    """),
    "tourism": _problems("""
        游步道临崖段护栏松动 | 景区游步道 | 加固护栏，设置警示标志 | 物
    """),
    "education": _problems("""
        厨房燃气管道未安装泄漏报警装置 | 厨房 | 安装燃气泄漏报警和自动切断装置 | 物
        消防通道停放车辆 | 校园消防通道 | 清理车辆，施划禁停标线 | 管
    """),
    "medical": _problems("""
        夜间值班人员不足，未落实防火巡查 | 住养楼 | 增设夜间值班人员，落实每两小时巡查 | 管
        氧气瓶未固定，与明火距离不足 | 处置室 | 氧气瓶单独存放并固定 | 物
    """),
    "other": _problems("""
        可燃废品堆放杂乱，未配置消防器材 | 院内 | 分类堆放，配置灭火器 | 物
    """),
}
# 重大事故隐患 with the standard they were judged by.
_MAJOR_PROBLEMS: dict[str, tuple[_Problem, ...]] = {
    "industry_trade": _problems("""
        干式除尘系统未采取泄爆、惰化、抑爆等任一种爆炸防控措施 | 抛光车间除尘系统 | 停用除尘系统，委托设计单位增设泄爆装置，验收合格后恢复使用 | 物 | 《工贸企业重大事故隐患判定标准》（应急管理部令第10号）第十一条第（三）项
        有限空间作业未执行“先通风、再检测、后作业”，作业现场未设置监护人员 | 污水处理池 | 停止有限空间作业，配备检测仪器和通风设备，落实作业审批和监护 | 管 | 《工贸企业重大事故隐患判定标准》（应急管理部令第10号）第十三条第（二）项
    """),
    "crowded": _problems("""
        员工宿舍采用彩钢夹芯板搭建，芯材燃烧性能等级低于A级 | 后院员工宿舍 | 停止使用彩钢板宿舍，员工另行安置，拆除后按规范重建 | 物 | 《重大火灾隐患判定方法》（GB 35181—2017）第6.9条
    """),
    "fire": _problems("""
        仓库与员工住宿场所设置在同一建筑内，未采取防火分隔 | 仓库二楼 | 立即搬离住宿人员，按规范设置防火分隔 | 物 | 《重大火灾隐患判定方法》（GB 35181—2017）第6.10条
    """),
    "construction": _problems("""
        深基坑未按专项施工方案开挖，边坡未按规定放坡 | 基坑北侧 | 停止开挖，按专家论证的专项方案放坡支护并监测 | 物 | 《房屋市政工程生产安全重大事故隐患判定标准（2022版）》第六条
    """),
    "mining": _problems("""
        露天采场未按设计分台阶开采，形成高陡边坡 | 采场北侧边坡 | 停产整顿，按设计削坡分台阶，设置边坡监测 | 物 | 《金属非金属矿山重大事故隐患判定标准》（矿安〔2022〕88号）露天矿山第（四）项
    """),
}
_UTC_OFFSET_HOURS = CHINA_TZ.utcoffset(None) // timedelta(hours=1)  # 09:00 in the office is 01:00 UTC
_SOURCES_WEIGHTED = ("乡镇检查",) * 6 + ("自查", "自查", "部门抽查", "上级交办", "群众举报")
_OPINIONS = ("经现场复查，隐患已按要求整改到位，同意验收。", "整改措施已落实，现场核查合格，同意验收。",
             "经复查，整改到位，资料齐全，同意销号。")
_REJECTIONS = ("现场复查发现整改不彻底，责令继续整改。", "整改资料不全，部分措施未落实，验收不通过。")
_PLANS = ("已制定专项应急处置方案，明确现场负责人、疏散路线和处置措施", "整改期间落实专人值守，配备应急器材，发现异常立即撤人")
_TEMPORARY = ("设置警戒区域和警示标志，专人看守", "暂停相关作业，整改完成前不得恢复", "增配灭火器材，加强巡查")

# Scenarios: (name, how many at scale 1). Together they put a hazard in every state, some overdue,
# some due within days, major ones with their basis, supervised ones and one extended.
_SCENARIOS = (
    ("registered", 4), ("assigned", 4), ("assigned_overdue", 2), ("rectifying", 6), ("due_soon", 4),
    ("rectifying_overdue", 4), ("requested", 5), ("rejected", 1), ("accepted", 5), ("closed", 20),
    ("major_supervised", 2), ("major_extended", 1), ("major_requested", 1), ("major_closed", 1),
)
# For bulk generation: relative weights of the same scenarios (most of a year's hazards are closed).
_BULK_WEIGHTS = (6, 6, 2, 10, 4, 6, 7, 1, 7, 44, 2, 1, 2, 2)


@dataclass(frozen=True)
class _Site:
    """A place hazards are found: an enterprise with what a ledger row needs of it."""

    enterprise_id: str
    name: str
    credit_code: str
    sector: str
    village_id: str | None
    grids: int
    person: str
    phone: str


@dataclass
class _Made:
    hazard: dict[str, Any]
    events: list[dict[str, Any]]


class _HazardFactory:
    """Hazards with a full event trail whose dates are consistent with ``today`` and the county rules."""

    def __init__(self, rng: random.Random, today: date, rules: DeadlineRules, town_stem: str, county: str,
                 sites: Sequence[_Site], staff: Sequence[str], username: str,
                 ids: Callable[[], str] = new_id) -> None:
        self.rng, self.today, self.rules, self.new_id = rng, today, rules, ids
        self.town_stem, self.county = town_stem, county.removesuffix("县").removesuffix("区")
        self.sites = list(sites)
        self.by_sector: dict[str, list[_Site]] = {}
        for site in self.sites:
            self.by_sector.setdefault(site.sector, []).append(site)
        self.staff = list(staff) or ["张伟", "李娜", "王强"]
        self.username = username
        self.docs = count(rng.randint(3, 9))
        self._rectify: dict[str, DeadlineRule | None] = {}

    # -- dates -------------------------------------------------------------------------------
    def _due(self, level: str, found_on: date) -> date:
        if level not in self._rectify:
            self._rectify[level] = self.rules.rule("rectify", level)
        rule = self._rectify[level]
        if rule is None:
            return found_on + timedelta(days=15 if level == "一般" else 90)
        return self.rules.add(found_on, rule.days, rule.calendar)

    def _after(self, day: date, low: int, high: int) -> date:
        return min(day + timedelta(days=self.rng.randint(low, max(low, high))), self.today)

    def _found_on(self, scenario: str, level: str) -> date:
        today, rng = self.today, self.rng
        days = (self._due(level, today) - today).days
        if scenario == "registered":
            return today - timedelta(days=rng.randint(0, 6))
        if scenario in ("assigned", "rectifying", "major_supervised"):
            found = today - timedelta(days=rng.randint(2, max(2, days - 6)))
            while self._due(level, found) <= today + timedelta(days=3):
                found += timedelta(days=1)
            return found
        if scenario == "due_soon":
            found = today - timedelta(days=days - rng.randint(0, 3))
            while self._due(level, found) < today:
                found += timedelta(days=1)
            while self._due(level, found) > today + timedelta(days=3):
                found -= timedelta(days=1)
            return found
        if scenario.endswith("overdue"):
            found = today - timedelta(days=days + rng.randint(3, 60))
            while self._due(level, found) >= today:
                found -= timedelta(days=1)
            return found
        if scenario == "major_extended":
            return today - timedelta(days=days - rng.randint(12, 26))
        if scenario in ("requested", "rejected", "major_requested"):  # waiting for acceptance, within the deadline
            found = today - timedelta(days=rng.randint(6, max(6, days - 1)))
            while self._due(level, found) < today:
                found += timedelta(days=1)
            return found
        if scenario == "accepted":  # waiting to be closed
            return today - timedelta(days=rng.randint(10, 60))
        return today - timedelta(days=rng.randint(20, 300))  # closed: in the past ten months

    # -- hazards -----------------------------------------------------------------------------
    def hazards(self, scenarios: Sequence[str], taken: dict[int, int]) -> Iterator[_Made]:
        """One hazard per scenario, in order of discovery, numbered per year after ``taken`` (year → the
        highest seq already used). Discovery dates are drawn first, so the rest can be made and written
        a chunk at a time, and numbers follow the dates as they do in an office."""
        drafts = sorted((self._found_on(s, _level(s)), i, s) for i, s in enumerate(scenarios))
        next_seq = dict(taken)
        for found, _i, scenario in drafts:
            made = self.make(scenario, found)
            h = made.hazard
            h["seq"] = next_seq.get(h["year"], 0) + 1
            next_seq[h["year"]] = h["seq"]
            h["number"] = f"{h['year']}-{h['seq']:04d}"
            if h.get("notice_issued_on"):  # the notice's number follows its hazard's, so notices never collide
                h["notice_number"] = f"{self.town_stem}安监整改〔{h['year']}〕{h['seq']}号"
                assign = next(e for e in made.events if e["action"] == HazardAction.ASSIGN.value)
                assign["doc_number"] = assign["data"]["notice_number"] = h["notice_number"]
            yield made

    def make(self, scenario: str, found: date) -> _Made:
        rng = self.rng
        level = _level(scenario)
        major = level == MAJOR
        if major:
            sector = rng.choice([s for s in _MAJOR_PROBLEMS if self.by_sector.get(s)] or list(_MAJOR_PROBLEMS))
            problem = rng.choice(_MAJOR_PROBLEMS[sector])
            site = rng.choice(self.by_sector.get(sector) or self.sites)
        else:
            site = rng.choice(self.sites)
            problem = rng.choice(_PROBLEMS.get(site.sector) or _PROBLEMS["other"])
        deadline = self._due(level, found)
        h: dict[str, Any] = {
            "id": self.new_id(), "status": HazardStatus.REGISTERED.value, "found_on": found, "year": found.year,
            "source": rng.choice(_SOURCES_WEIGHTED), "inspectors": "、".join(rng.sample(self.staff, min(2, len(self.staff)))),
            "village_id": site.village_id, "grid": f"第{rng.randint(1, max(1, site.grids))}网格",
            "enterprise_id": site.enterprise_id, "unit_name": site.name, "credit_code": site.credit_code,
            "sector_code": site.sector, "location": problem.location, "description": problem.description,
            "category": _CATEGORY[problem.category], "level": level, "level_basis": problem.basis,
            "deadline": deadline, "deadline_overridden": False,
            "temporary_measures": rng.choice(_TEMPORARY) if major else "",
        }
        made = _Made(h, [])
        register = {"found_on": found, "unit_name": site.name, "location": problem.location,
                    "description": problem.description, "level": level, "level_basis": problem.basis, "deadline": deadline}
        self._step(made, HazardAction.REGISTER, found, register)
        if scenario == "registered":
            return made
        notice = self._after(found, 0, 2)
        h.update(notice_issued_on=notice, reported_upward_on=notice if major else None)
        self._step(made, HazardAction.ASSIGN, notice, {"notice_issued_on": notice})
        if scenario in ("assigned", "assigned_overdue"):
            return made
        start = self._after(notice, 0, 3)
        five = {"measures": problem.measures, "responsible_unit": site.name, "responsible_person": site.person,
                "responsible_phone": site.phone, "funds_fen": self._funds(major), "deadline": deadline,
                "emergency_plan": rng.choice(_PLANS) if major or rng.random() < 0.3 else "",
                "temporary_measures": h["temporary_measures"]}
        h.update(five)
        self._step(made, HazardAction.START, start, five)
        last = start
        if scenario in ("major_supervised", "major_extended") or (major and rng.random() < 0.5):
            last = self._supervise(made, start)
        if scenario == "major_extended":
            last = self._extend(made, last)
        if scenario in ("rectifying", "due_soon", "rectifying_overdue", "major_supervised", "major_extended"):
            return made
        room = max(1, (deadline - last).days)
        completed = self._after(last, 1, room)
        self._request(made, completed)
        if scenario == "rejected":
            reviewed = self._after(completed, 1, 5)
            self._review(made, HazardAction.REJECT, reviewed, rng.choice(_REJECTIONS))
            self._request(made, self._after(reviewed, 1, 10))
            return made
        if scenario in ("requested", "major_requested"):
            return made
        reviewed = self._after(completed, 1, 7)
        self._review(made, HazardAction.ACCEPT, reviewed, rng.choice(_OPINIONS))
        if scenario == "accepted":
            return made
        closed = self._after(reviewed, 0, 5)
        h["closed_on"] = closed
        self._step(made, HazardAction.CLOSE, closed, {"closed_on": closed})
        return made

    def _funds(self, major: bool) -> int:
        if major:
            return self.rng.randint(2, 30) * 10000 * 100
        return self.rng.choice((200, 300, 500, 800, 1200, 1500, 2000, 3000, 5000, 8000)) * 100

    def _supervise(self, made: _Made, after: date) -> date:
        day = self._after(after, 0, 5)
        level = self.rng.choice(("县级", "县级", "市级"))
        issuer = f"{self.county}县安委办" if level == "县级" else "市安委办"
        doc = f"{issuer}督〔{day.year}〕{next(self.docs)}号"
        made.hazard.update(supervised=True, supervision_level=level, supervision_doc=doc)
        self._step(made, HazardAction.SUPERVISE, day, {"supervision_level": level, "supervision_doc": doc}, doc=doc)
        return day

    def _extend(self, made: _Made, after: date) -> date:
        h = made.hazard
        notice = self.rules.rule("extension_notice", h["level"])
        latest = h["deadline"] if notice is None else (
            self.rules.subtract_working(h["deadline"], notice.days) if notice.calendar == "working"
            else h["deadline"] - timedelta(days=notice.days))
        asked = max(after, min(latest, self._after(after, 1, 10)))
        wanted = h["deadline"] + timedelta(days=self.rng.choice((30, 45, 60)))
        reason = "整改涉及设备采购和专业施工，工期较长，申请延期"
        h.update(extension_requested_on=asked, extension_reason=reason)
        self._step(made, HazardAction.REQUEST_EXTENSION, asked,
                   {"extension_requested_on": asked, "requested_deadline": wanted, "extension_reason": reason})
        approved = self._after(asked, 1, 5)
        doc = f"{self.town_stem}安监延〔{approved.year}〕{next(self.docs)}号"
        h.update(deadline=wanted, extended=True)
        self._step(made, HazardAction.APPROVE_EXTENSION, approved, {"new_deadline": wanted, "event_date": approved},
                   doc=doc)
        return approved

    def _request(self, made: _Made, day: date) -> None:
        made.hazard["completed_on"] = day
        self._step(made, HazardAction.REQUEST_ACCEPTANCE, day, {"completed_on": day})

    def _review(self, made: _Made, action: HazardAction, day: date, opinion: str) -> None:
        values = {"reviewer": self.rng.choice(self.staff), "reviewed_on": day, "review_opinion": opinion}
        made.hazard.update(values)
        if action is HazardAction.REJECT:
            made.hazard["completed_on"] = None
        self._step(made, action, day, values)

    def _step(self, made: _Made, action: HazardAction, day: date, values: dict[str, Any], doc: str = "") -> None:
        h = made.hazard
        before = "" if action is HazardAction.REGISTER else h["status"]
        target = TRANSITIONS[action][1] if action in TRANSITIONS else HazardStatus.REGISTERED
        if target is not None:
            h["status"] = target.value
        # Office hours of the day on the paper, later steps of one day later in the day: the trail sorts right.
        at = datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(
            hours=9 - _UTC_OFFSET_HOURS, minutes=25 * len(made.events) + self.rng.randint(0, 20))
        made.events.append({
            "id": self.new_id(), "hazard_id": h["id"], "at": at, "username": self.username,
            "action": action.value, "from_status": before, "to_status": h["status"], "event_date": day,
            "doc_number": doc, "note": "", "data": {k: display(x) for k, x in values.items() if x not in (None, "")},
        })


def _level(scenario: str) -> str:
    return MAJOR if scenario.startswith("major") else "一般"


def _site(e: Enterprise | Any, grids: dict[str, int]) -> _Site:
    return _Site(e.id, e.name, e.credit_code or "", e.sector_code, e.village_id, grids.get(e.village_id or "", 3),
                 e.safety_officer or e.legal_rep, e.phone)


def _demo_scenarios(scale: int) -> list[str]:
    return [name for name, per_scale in _SCENARIOS for _ in range(per_scale * scale)]


# -- writing ---------------------------------------------------------------------------------------


def _check_scale(scale: object) -> int:
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= MAX_SCALE:
        raise XiangAnError(f"演示数据规模应为1到{MAX_SCALE}之间的整数。")
    return scale


def _refuse_if_township(session: Session) -> None:
    existing = session.scalars(select(Township.name).where(Township.deleted.is_(False))).first()
    if existing is not None:
        raise XiangAnError(f"数据库中已有乡镇「{existing}」，演示数据只能在空数据库中生成。")


def _chunks(batches: list[tuple[str, list[SyncedMixin]]]) -> Iterator[tuple[str, list[SyncedMixin]]]:
    for label, rows in batches:
        for start in range(0, len(rows), CHUNK):
            yield label, rows[start : start + CHUNK]


def _insert(session: Session, batches: list[tuple[str, list[SyncedMixin]]], progress: Progress | None) -> None:
    """ORM inserts (not Core) so the flush hook stamps the sync columns; chunked to keep each flush small."""
    total = sum(len(rows) for _label, rows in batches)
    done = 0
    for label, chunk in _chunks(batches):
        session.add_all(chunk)
        session.flush()
        done += len(chunk)
        if progress is not None:
            progress(done, total, label)


def generate_demo(db: Database, seed: int = 2026, scale: int = 1, progress: Progress | None = None,
                  *, actor: Actor = SYSTEM_ACTOR, today: date | None = None) -> DemoResult:
    """Fill an empty database with a made-up township; the same seed and ``today`` always give the same one.

    ``scale`` multiplies villages, enterprises, their contacts and hazards (1 → 12 villages, ~80 enterprises,
    60 hazards found in the ten months before ``today``, default the real today).
    ``progress(done, total, label)`` is called after each chunk is written. All or nothing: one transaction.
    """
    actor.require_admin()
    _check_scale(scale)
    started = time.perf_counter()
    # Audit off: one summary event instead of thousands of per-row entries.
    with db.session(actor.username, audit=False) as session:
        _refuse_if_township(session)
        builder = _Builder(random.Random(seed), scale, load_sectors(session), today or date.today(),
                           load_deadline_rules(session), actor.username)
        batches = builder.build()
        _insert(session, batches, progress)
        counts = {rows[0].__tablename__: len(rows) for _label, rows in batches if rows}
        counts.update(add_demo_letters(session, db, actor, builder.scope, builder.today))
        counts.update(add_demo_readiness(session, db, builder.scope, [p.village for p in builder.places],
                                         builder.contacts, builder.rng, builder.people.name, builder.people.mobile,
                                         builder.today))
        if progress is not None:
            progress(sum(counts.values()), sum(counts.values()), "安全生产目标责任书")
        result = DemoResult(builder.town, builder.scope.township_id, counts)
        record_event(session, "system", f"生成演示乡镇「{builder.town}」：{result.contents}（随机种子{seed}，规模{scale}）",
                     entity="township", entity_id=builder.scope.township_id)
    return DemoResult(result.township_name, result.township_id, counts, time.perf_counter() - started)


# -- many hazards, fast (benchmarks) --------------------------------------------------------------


class _FastIds:
    """UUID4-shaped ids from a PRNG seeded by the OS: 10× cheaper than uuid4() for half a million rows."""

    def __init__(self) -> None:
        self._rng = random.Random(os.urandom(16))

    def __call__(self) -> str:
        x = self._rng.getrandbits(128)
        x = (x & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48)  # version 4, RFC variant
        h = f"{x:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _sqlite_datetime(value: datetime | str) -> str:
    """How SQLAlchemy's UTCDateTime stores a moment in SQLite: naive UTC with microseconds."""
    if isinstance(value, str):
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


class _BulkWriter:
    """Core ``insert()`` compiled once and run with executemany on plain tuples (SQLAlchemy's per-value
    processing would triple the time). No ORM objects, so the sync columns are filled here exactly as
    the flush hook would: version 1, this replica, a fresh HLC stamp, created/updated now."""

    def __init__(self, session: Session, scope: Scope, replica_id: str) -> None:
        self.session, self.scope, self.replica_id = session, scope, replica_id
        self.defaults = {c.name: (c.default.arg if c.default is not None and not callable(c.default.arg) else None)
                         for c in Hazard.__table__.columns}
        self.hazards: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.statements = {model: self._statement(session, model) for model in (Hazard, HazardEvent)}

    @staticmethod
    def _statement(session: Session, model: Any) -> tuple[str, list[str], list[tuple[int, Callable[[Any], Any]]]]:
        compiled = insert(model.__table__).compile(dialect=session.get_bind().dialect)
        names = list(compiled.positiontup or [])
        columns = model.__table__.columns
        convert: list[tuple[int, Callable[[Any], Any]]] = []
        for index, name in enumerate(names):
            kind = columns[name].type
            if isinstance(kind, UTCDateTime):
                convert.append((index, _sqlite_datetime))
            elif isinstance(kind, Date):
                convert.append((index, date.isoformat))
            elif isinstance(kind, JSON):
                convert.append((index, json.dumps))
        return str(compiled), names, convert

    def _row(self, model: Any, values: dict[str, Any]) -> tuple[Any, ...]:
        _sql, names, convert = self.statements[model]
        row = [values.get(name) for name in names]
        for index, fn in convert:
            if row[index] is not None:
                row[index] = fn(row[index])
        return tuple(row)

    def add(self, made: _Made) -> None:
        now = _sqlite_datetime(utcnow())
        sync = {"township_id": self.scope.township_id, "partition": self.scope.partition, "created_at": now,
                "updated_at": now, "version": 1, "version_replica": self.replica_id, "base_version": 0,
                "deleted": False}
        self.hazards.append(self._row(Hazard, {**self.defaults, **made.hazard, **sync,
                                               "hlc": CLOCK.stamp(self.replica_id)}))
        self.events.extend(self._row(HazardEvent, {**e, **sync, "hlc": CLOCK.stamp(self.replica_id)})
                           for e in made.events)

    def flush(self) -> None:
        connection = self.session.connection()
        for model, rows in ((Hazard, self.hazards), (HazardEvent, self.events)):
            if rows:
                connection.exec_driver_sql(self.statements[model][0], rows)
        self.hazards, self.events = [], []

    @contextmanager
    def big_cache(self) -> Iterator[None]:
        """A larger page cache while the indexes of a big table grow (per connection; restored after)."""
        connection = self.session.connection()
        before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        connection.exec_driver_sql("PRAGMA cache_size = -262144")  # 256 MB
        try:
            yield
        finally:
            connection.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")


def generate_hazards(db: Database, count: int, seed: int = 2026, today: date | None = None,
                     progress: Progress | None = None, *, actor: Actor = SYSTEM_ACTOR) -> int:
    """Add ``count`` demo hazards, each with its event trail, to the township already in ``db``.

    For benchmarks: rows go in by bulk insert, a chunk at a time, in one transaction; numbers continue
    each year's sequence. The same seed and ``today`` give the same hazards. Returns ``count``.
    """
    actor.require_admin()
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BULK_HAZARDS:
        raise XiangAnError(f"演示隐患数量应为1到{MAX_BULK_HAZARDS}之间的整数。")
    today = today or date.today()
    rng = random.Random(seed)
    started = time.perf_counter()
    with db.session(actor.username, audit=False) as session:
        township = session.scalars(select(Township).where(Township.deleted.is_(False))).first()
        if township is None:
            raise XiangAnError("数据库中还没有乡镇，请先生成演示乡镇（xiangan demo）。")
        scope = Scope(township.id, township.name)
        live = (Enterprise.township_id == township.id, Enterprise.deleted.is_(False))
        grids = {i: n or 3 for i, n in session.execute(select(Village.id, Village.grid_count).where(
            Village.township_id == township.id, Village.deleted.is_(False)))}
        columns = (Enterprise.id, Enterprise.name, Enterprise.credit_code, Enterprise.sector_code,
                   Enterprise.village_id, Enterprise.legal_rep, Enterprise.safety_officer, Enterprise.phone)
        sites = [_site(e, grids) for e in session.execute(select(*columns).where(*live).order_by(Enterprise.name))]
        if not sites:
            raise XiangAnError(f"乡镇「{township.name}」还没有企业，无法生成演示隐患。")
        staff = list(session.scalars(select(Contact.name).where(
            Contact.township_id == township.id, Contact.org_kind == "township", Contact.deleted.is_(False))
            .order_by(Contact.name)))
        taken = dict(session.execute(select(Hazard.year, func.max(Hazard.seq)).where(
            Hazard.township_id == township.id).group_by(Hazard.year)).all())
        stem = township.name.removesuffix("街道").removesuffix("镇").removesuffix("乡")
        factory = _HazardFactory(rng, today, load_deadline_rules(session), stem, township.county_name, sites, staff,
                                 actor.username, _FastIds())
        scenarios = rng.choices([name for name, _n in _SCENARIOS], weights=_BULK_WEIGHTS, k=count)
        writer = _BulkWriter(session, scope, db.replica_id)
        with writer.big_cache():
            for done, made in enumerate(factory.hazards(scenarios, taken), start=1):
                writer.add(made)
                if done % BULK_CHUNK == 0 or done == count:
                    writer.flush()
                    if progress is not None:
                        progress(done, count, "隐患")
        record_event(session, "system", f"生成演示隐患{count}条（随机种子{seed}，用时{time.perf_counter() - started:.1f}秒）",
                     entity="hazard")
    return count
