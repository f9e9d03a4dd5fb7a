"""Demo township generator: a realistic, reproducible 乡镇 with villages, enterprises, units and contacts."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, chain, count

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import ValidationError, XiangAnError
from app.models import Contact, Enterprise, Township, TownshipUnit, Village, new_id
from app.models.audit import record_event
from app.models.base import SyncedMixin
from app.models.config_data import Sector
from app.models.validation import USCC_CHARSET, uscc_check_char
from app.services.context import SYSTEM_ACTOR, Actor, Scope
from app.services.fields import normalise
from app.services.organisation import TOWNSHIP_FIELDS, load_sectors
from app.storage import Database

# Village codes are township code + 3 digits: communities use 001–199 and villages 201–999, as in the
# statistical division codes; beyond this scale those ranges run out.
MAX_SCALE = 60
CHUNK = 1000  # rows per flush: keeps the flush hook's per-flush work small without many round trips

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
                f"{c.get('township_unit', 0)}个站所、{c.get('contact', 0)}位联系人")

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

    def __init__(self, rng: random.Random, scale: int, sectors: Sequence[Sector]) -> None:
        self.rng = rng
        self.scale = scale
        self.sectors = sectors
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
        return [("乡镇信息", [township]), ("村/社区", villages), ("站所", units), ("企业", enterprises),
                ("联系人", self.contacts)]

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
                  *, actor: Actor = SYSTEM_ACTOR) -> DemoResult:
    """Fill an empty database with a made-up township; the same seed always gives the same township.

    ``scale`` multiplies villages, enterprises and their contacts (1 → 12 villages, ~80 enterprises).
    ``progress(done, total, label)`` is called after each chunk is written. All or nothing: one transaction.
    """
    actor.require_admin()
    _check_scale(scale)
    started = time.perf_counter()
    # Audit off: one summary event instead of thousands of per-row entries.
    with db.session(actor.username, audit=False) as session:
        _refuse_if_township(session)
        builder = _Builder(random.Random(seed), scale, load_sectors(session))
        batches = builder.build()
        _insert(session, batches, progress)
        counts = {rows[0].__tablename__: len(rows) for _label, rows in batches if rows}
        result = DemoResult(builder.town, builder.scope.township_id, counts)
        record_event(session, "system", f"生成演示乡镇「{builder.town}」：{result.contents}（随机种子{seed}，规模{scale}）",
                     entity="township", entity_id=builder.scope.township_id)
    return DemoResult(result.township_name, result.township_id, counts, time.perf_counter() - started)
