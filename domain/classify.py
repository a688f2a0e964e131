"""Keyword classification at intake: proposes category, type, tier and departments (docs/rules.md "Tiers").

The rules are data (the tables below) and `classify` is the one small function that applies them. It only
proposes; a person confirms in the staff UI. When in doubt it leans to the higher tier: a wrong "general"
for spoiled fresh goods or lost high-value goods is the failure to avoid (B §2.1), an over-cautious
"urgent" costs a supervisor one look.

Pure, no I/O: safe in the workflow sandbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from domain.models import Category, ComplaintType, Department, Tier

_TIER_RANK = {Tier.GENERAL: 0, Tier.IMPORTANT: 1, Tier.URGENT: 2}


@dataclass(frozen=True)
class CategoryRule:
    category: Category
    keywords: tuple[str, ...]
    tier: Tier  # the category's own tier (B §1.2), before escalators
    departments: tuple[Department, ...]


@dataclass(frozen=True)
class Escalator:
    """Words that raise the tier: `when` limits it to some categories (empty: any)."""

    name: str
    keywords: tuple[str, ...]
    tier: Tier
    when: frozenset[Category] = frozenset()


def _w(words: str) -> tuple[str, ...]:
    """Keywords written as one `|`-separated string, Chinese and English together."""
    return tuple(words.split("|"))


# Order matters only for the primary category when several match: the more serious first.
CATEGORY_RULES: tuple[CategoryRule, ...] = (
    CategoryRule(
        Category.SPOILED,
        _w(
            "变质|腐烂|腐坏|发臭|发霉|霉变|化冻|解冻|融化|坏掉了|臭了|spoiled|spoilt|rotten|rotted|gone bad|mouldy|moldy|thawed|melted|decayed"
        ),
        Tier.URGENT,
        (Department.WAREHOUSE, Department.TRANSPORT),
    ),
    CategoryRule(
        Category.LOST,
        _w(
            "丢失|丢件|遗失|丢了|找不到|不见了|少件|漏件|lost|missing|never arrived|never received|disappeared|cannot find|can't find"
        ),
        Tier.IMPORTANT,
        (Department.WAREHOUSE, Department.TRANSPORT, Department.DELIVERY),  # joint investigation (B §1.3)
    ),
    CategoryRule(
        Category.DAMAGED,
        _w(
            "破损|损坏|摔坏|压坏|碎了|破了|漏液|变形|划痕|damaged|damage|broken|crushed|cracked|smashed|dented|leaking|torn"
        ),
        Tier.IMPORTANT,
        (Department.WAREHOUSE, Department.TRANSPORT, Department.DELIVERY),
    ),
    CategoryRule(
        Category.MISDELIVERED,
        _w(
            "错发|发错|送错|错送|投错|寄错|串货|misdelivered|mis-delivered|wrong address|wrong item|wrong parcel|delivered to someone else"
        ),
        Tier.IMPORTANT,
        (Department.DELIVERY, Department.WAREHOUSE),
    ),
    CategoryRule(
        Category.DELAYED,
        _w(
            "延误|延迟|迟到|晚到|超时|太慢|还没到|没到|滞留|停滞|催件|没收到|未收到|收不到|delayed|not received|delay|late|overdue|still not arrived|not arrived|stuck|slow delivery"
        ),
        Tier.IMPORTANT,
        (Department.TRANSPORT, Department.DELIVERY),
    ),
    CategoryRule(
        Category.QUALITY,
        _w(
            "质量|故障|坏的|不能用|无法使用|瑕疵|次品|劣质|缺陷|quality|defect|defective|faulty|does not work|doesn't work|not working|malfunction"
        ),
        Tier.IMPORTANT,
        (Department.RND, Department.SALES),
    ),
    CategoryRule(
        Category.TECHNICAL,
        _w(
            "技术|安装|调试|报错|死机|系统错误|无法登录|软件|technical|install|installation|error code|crash|firmware|software|login"
        ),
        Tier.IMPORTANT,
        (Department.TECHNICAL,),
    ),
    CategoryRule(
        Category.ATTITUDE,
        _w(
            "态度|服务差|不耐烦|骂人|辱骂|粗鲁|恶劣|不理人|attitude|rude|impolite|unfriendly|shouted|insulted|unprofessional"
        ),
        Tier.IMPORTANT,
        (Department.CUSTOMER_SERVICE,),
    ),
    CategoryRule(
        Category.INVOICE,
        _w("发票|开票|税号|收据|invoice|receipt|tax number|billing"),
        Tier.GENERAL,
        (Department.FINANCE,),
    ),
    CategoryRule(
        Category.POLICY,
        _w(
            "政策|规定|退货政策|运费|收费标准|保修期|时效|policy|policies|terms|shipping fee|warranty period|return policy"
        ),
        Tier.GENERAL,
        (Department.CUSTOMER_SERVICE,),
    ),
)

ESCALATORS: tuple[Escalator, ...] = (
    # B §1.2: high-value goods lost are urgent; "保价" marks declared-value shipments.
    Escalator(
        "high_value",
        _w(
            "保价|贵重|高价值|价值高|名贵|珠宝|首饰|黄金|手表|名表|奢侈品|笔记本电脑|苹果手机|相机|iphone|ipad|macbook|high value|high-value|valuable|insured|declared value|jewelry|jewellery|gold|watch|laptop|luxury"
        ),
        Tier.URGENT,
        frozenset({Category.LOST, Category.MISDELIVERED}),
    ),
    # B §1.2: fresh goods spoiled are urgent; fresh goods delayed or damaged soon will be.
    Escalator(
        "fresh_goods",
        _w(
            "生鲜|鲜活|冷链|冷冻|冷藏|海鲜|水果|蔬菜|肉|鲜花|蛋糕|牛奶|疫苗|药品|fresh|perishable|cold chain|frozen|chilled|seafood|fruit|vegetable|meat|flowers|cake|milk|vaccine|medicine"
        ),
        Tier.URGENT,
        frozenset({Category.LOST, Category.DAMAGED, Category.DELAYED, Category.SPOILED}),
    ),
    # A §3.2: the customer's major event at risk.
    Escalator(
        "major_event",
        _w(
            "婚礼|展会|开业|发布会|庆典|重大活动|明天就要用|急用|停产|停工|生产线|wedding|exhibition|trade show|grand opening|launch event|production line|production stopped|urgently needed|needed tomorrow"
        ),
        Tier.URGENT,
    ),
    # A §3.2: serious product-quality failure (safety).
    Escalator(
        "safety",
        _w(
            "起火|着火|冒烟|爆炸|漏电|触电|受伤|烧伤|中毒|安全隐患|严重质量|fire|smoke|explode|exploded|explosion|electric shock|injured|injury|burned|poisoning|safety hazard"
        ),
        Tier.URGENT,
    ),
    # A §3.2: normal business affected, large amounts at stake.
    Escalator(
        "business_impact",
        _w(
            "影响业务|影响生产|影响销售|损失|大额|批量|整批|客户投诉我们|赔偿|business affected|affects our business|large amount|bulk order|whole batch|compensation|our customers"
        ),
        Tier.IMPORTANT,
    ),
)

# Type (A §3.1): a reported problem is a complaint even when phrased as a question.
SUGGESTION_WORDS = _w(
    "建议|希望能|希望你们|能不能改进|改进|提个意见|suggest|suggestion|it would be nice|please consider|recommend|feedback|improve"
)
CONSULTATION_WORDS = _w(
    "咨询|请问|问一下|想了解|如何|怎么|怎样|能否|是否|可以吗|多久|多少钱|吗？|吗?|how do|how can|how to|how long|how much|can i|could you tell|is it possible|question|i would like to know|enquiry|inquiry|what is"
)
COMPLAINT_WORDS = _w(
    "投诉|不满|太差|差评|气愤|要求赔偿|退款|complain|complaint|unacceptable|refund|angry|disappointed|terrible"
)
# Courier attitude is the delivery department's business, not only customer service's.
COURIER_WORDS = _w("快递员|快递小哥|配送员|司机|送货员|courier|driver|delivery man")

DEFAULT_DEPARTMENTS: tuple[Department, ...] = (Department.CUSTOMER_SERVICE,)


@dataclass(frozen=True)
class Classification:
    category: Category
    complaint_type: ComplaintType
    tier: Tier
    departments: tuple[Department, ...]
    reasons: tuple[str, ...] = field(default=())  # matched rules, for the staff UI ("lost: 丢件")


def _normalize(text: str) -> str:
    # Full-width ASCII (common in Chinese input methods) to half-width, then lower case.
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            ch = chr(code - 0xFEE0)
        elif code == 0x3000:
            ch = " "
        out.append(ch)
    return re.sub(r"\s+", " ", "".join(out)).lower()


def _hits(text: str, words: tuple[str, ...]) -> list[str]:
    found = []
    for w in words:
        w_norm = _normalize(w)
        if w_norm.isascii():
            # Whole English words, plural allowed ("invoices"); "late" must not match "template".
            if re.search(r"(?<![a-z])" + re.escape(w_norm) + r"(?:s|es)?(?![a-z])", text):
                found.append(w)
        elif w_norm in text:
            found.append(w)
    return found


def _max_tier(a: Tier, b: Tier) -> Tier:
    return a if _TIER_RANK[a] >= _TIER_RANK[b] else b


def classify(text: str, *, category: Category | None = None) -> Classification:
    """Propose category, type, tier and departments for a complaint's subject + description.

    `category`, when the intake system or a person already chose one, is kept; the text still raises the
    tier (a "damaged" report that mentions 生鲜 is urgent).
    """
    t = _normalize(text)
    reasons: list[str] = []

    matched = [(rule, _hits(t, rule.keywords)) for rule in CATEGORY_RULES]
    matched = [(rule, words) for rule, words in matched if words]
    for rule, words in matched:
        reasons.append(f"{rule.category.value}: {', '.join(words)}")

    rules_by_cat = {r.category: r for r in CATEGORY_RULES}
    if category is not None:
        primary = category
    elif matched:
        # Spoiled beats delayed beats other (rule order): "延误导致水果腐烂" is spoiled.
        primary = matched[0][0].category
    else:
        primary = Category.OTHER

    rule = rules_by_cat.get(primary)
    tier = rule.tier if rule else Tier.GENERAL
    departments: list[Department] = list(rule.departments if rule else DEFAULT_DEPARTMENTS)
    # Secondary problems (lost *and* delayed) keep the tier of the worst and add their departments.
    for other, _ in matched:
        if other.category != primary:
            tier = _max_tier(tier, other.tier if other.tier != Tier.URGENT else Tier.IMPORTANT)
            departments += [d for d in other.departments if d not in departments]
    problem_categories = {primary} | {r.category for r, _ in matched}

    for esc in ESCALATORS:
        if esc.when and not (esc.when & problem_categories):
            continue
        words = _hits(t, esc.keywords)
        if words:
            tier = _max_tier(tier, esc.tier)
            reasons.append(f"{esc.name}: {', '.join(words)}")

    if primary == Category.ATTITUDE and _hits(t, COURIER_WORDS) and Department.DELIVERY not in departments:
        departments.append(Department.DELIVERY)

    complaint_type = _propose_type(t, problem_categories, matched_any=bool(matched) or category is not None)
    if complaint_type != ComplaintType.COMPLAINT and tier != Tier.URGENT:
        # Consultations and suggestions are general (A §3.2), unless something urgent was said.
        tier = Tier.GENERAL

    return Classification(
        category=primary,
        complaint_type=complaint_type,
        tier=tier,
        departments=tuple(departments),
        reasons=tuple(reasons),
    )


_SERIOUS = frozenset(
    {
        Category.LOST,
        Category.DAMAGED,
        Category.DELAYED,
        Category.SPOILED,
        Category.MISDELIVERED,
        Category.QUALITY,
        Category.ATTITUDE,
        Category.TECHNICAL,
    }
)


def _propose_type(t: str, categories: set[Category], *, matched_any: bool) -> ComplaintType:
    if _hits(t, COMPLAINT_WORDS):
        return ComplaintType.COMPLAINT
    if categories & _SERIOUS:
        return ComplaintType.COMPLAINT  # "请问我的包裹丢了怎么办" reports a loss
    if _hits(t, SUGGESTION_WORDS):
        return ComplaintType.SUGGESTION
    if _hits(t, CONSULTATION_WORDS) or t.rstrip().endswith(("?", "？")):
        return ComplaintType.CONSULTATION
    if not matched_any:
        return ComplaintType.CONSULTATION if len(t) < 40 else ComplaintType.COMPLAINT
    return ComplaintType.COMPLAINT
