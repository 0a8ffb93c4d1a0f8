"""Deterministic synthetic corpora for tests and benchmarks.

``generate_corpus`` writes a realistic corpus as JSONL.gz shards, one folder per source
(web, wiki, books, email), in English, Chinese, German, French, Japanese, Russian and Spanish,
built from real sentences (``../shared/data`` when present, else a small built-in word list).
It plants exact and near duplicates, boilerplate lines, spam, PII and malformed records, and
writes their ground truth to ``truth.jsonl``. It streams (constant memory) and its bytes depend
only on the seed, the parameters and the vocabulary source.

``generate_hostile_corpus`` writes every kind of bad input (invalid UTF-8, NUL bytes, an
oversized document, wrong-typed and deeply nested JSON, truncated archives, zero-byte files,
binary junk, corrupt Parquet and WARC files, ...) and returns what the readers should make of each record.

    python -m pipeline.synthetic corpus OUT --docs 10000 --seed 1
    python -m pipeline.synthetic hostile OUT
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import unicodedata
import zlib
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import IO, Any, Iterable, Sequence, TypeVar

import zstandard

from pipeline.readers import doc_id

GENERATOR_VERSION = 1
T = TypeVar("T")
DEFAULT_SHARED_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
CJK_LANGS = {"zh", "ja"}
SHINGLE_SIZE = 5

# source -> (share of documents, language weights, paragraphs per doc, sentences per paragraph)
SOURCE_SPECS: dict[str, tuple[float, dict[str, float], tuple[int, int], tuple[int, int]]] = {
    "web": (0.45, {"en": 45, "zh": 15, "de": 12, "fr": 10, "ja": 6, "ru": 6, "es": 6}, (2, 7), (2, 5)),
    "wiki": (0.20, {"en": 40, "zh": 20, "de": 10, "fr": 10, "ja": 10, "ru": 10}, (3, 9), (3, 6)),
    "books": (0.10, {"en": 60, "zh": 40}, (8, 20), (4, 8)),
    "email": (0.25, {"en": 85, "de": 5, "fr": 5, "zh": 5}, (1, 3), (1, 4)),
}
LANGS = ("en", "zh", "de", "fr", "ja", "ru", "es")

# ---------------------------------------------------------------------------------------------
# Vocabulary: real sentences per language
# ---------------------------------------------------------------------------------------------

_BOOKS = {
    "en": ["austen-emma", "austen-persuasion", "melville-moby_dick", "chesterton-brown", "chesterton-thursday"],
    "zh": ["红楼梦", "西游记", "水浒传"],
}
_HANDBOOK = {"en": "en-US", "zh": "zh-CN", "de": "de-DE", "fr": "fr-FR", "ja": "ja-JP", "ru": "ru-RU", "es": "es-ES"}
_BOOK_CHARS = 200_000  # read at most this much of each book: enough variety, quick to load
_SENTENCE_END = re.compile(r"([.!?。！？．]+[”」』\"'’)]*)")
_UNSUITABLE = re.compile(r"://|www\.|@|\.\.\.|[#|{}\[\]<>_\\→$=*~^\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_SIX_DIGITS = re.compile(r"\d(?:\D*\d){5}")
_SCRIPT = {"zh": re.compile(r"[\u4e00-\u9fff]"), "ja": re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]"),
           "ru": re.compile(r"[\u0400-\u04ff]")}
_KANA = re.compile(r"[\u3040-\u30ff]")
# Untranslated English sentences hide in the handbook's translations: keep a Latin-script sentence
# only when it has more of its language's function words than of English ones.
_FUNCTION_WORDS = {
    "en": {"the", "and", "of", "to", "is", "that", "with", "for", "you", "this", "it", "are", "can", "be"},
    "de": {"der", "die", "und", "das", "ist", "nicht", "mit", "ein", "eine", "sie", "auf", "den", "zu", "sich", "von"},
    "fr": {"le", "la", "les", "et", "des", "est", "une", "un", "que", "pour", "dans", "pas", "du", "qui", "sur"},
    "es": {"el", "la", "los", "las", "y", "que", "es", "una", "un", "del", "por", "para", "con", "se", "en"},
}

_BUILTIN_WORDS = {
    "en": "the of and to in is was for that with as on by at from his her they were which this have had not "
          "are but be one all been their more when there can who some time people would other into only new "
          "year about after first many house water river garden letter morning evening city market village "
          "answer question reason family friend little great small long old young good right world",
    "de": "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an werden "
          "aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war haben nur "
          "oder aber vor zur bis mehr durch man Stadt Haus Wasser Garten Brief Morgen Abend Freund Familie",
    "fr": "de la le et les des en un du une que est pour qui dans par plus pas au sur ne se ce il sont mais "
          "avec comme ou son tout nous elle ont été aussi bien fait sans deux peut ces leur entre ville maison "
          "eau jardin lettre matin soir ami famille monde temps année question raison",
    "es": "de la que el en y a los se del las un por con no una su para es al lo como más o pero sus le ha "
          "me si sin sobre este ya entre cuando todo esta ser son dos también fue había era muy años ciudad "
          "casa agua jardín carta mañana tarde amigo familia mundo tiempo pregunta",
    "ru": "и в не на я быть он с что а по это она этот к но они мы как из у который то за свой весь год от "
          "так о для ты же все тот мочь вы человек такой его сказать только или еще бы себя один город дом "
          "вода сад письмо утро вечер друг семья мир время вопрос",
    "zh": "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可"
          "里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从",
    "ja": "のにはをたがでてとしれさあるいうもなっこれからまでよりなどかやにゃりょく日本人年大学時間会社電話"
          "東京先生友達家族水庭手紙朝夜町市場世界質問理由新聞仕事",
}


@dataclass(frozen=True)
class Vocabulary:
    """Sentences and single words (characters for Chinese/Japanese) per language."""

    sentences: dict[str, tuple[str, ...]]
    words: dict[str, tuple[str, ...]]
    origin: str  # "shared" or "builtin"


def _clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _split_sentences(text: str) -> list[str]:
    """Sentences that end with an end mark (a trailing fragment without one is dropped)."""
    pieces = _SENTENCE_END.split(text)
    return [(pieces[i] + pieces[i + 1]).strip() for i in range(0, len(pieces) - 1, 2)]


def _suitable(sentence: str, lang: str) -> bool:
    """Long enough, no URLs, markup, control characters or PII-like digit runs, in the right script."""
    limit = (12, 160) if lang in CJK_LANGS else (30, 300)
    if not limit[0] <= len(sentence) <= limit[1] or _UNSUITABLE.search(sentence):
        return False
    if _SIX_DIGITS.search(sentence):
        return False
    if lang in ("de", "fr", "es"):
        words = set(sentence.lower().split())
        return len(words & _FUNCTION_WORDS[lang]) > len(words & _FUNCTION_WORDS["en"])
    if lang == "ja" and not _KANA.search(sentence):
        return False
    script = _SCRIPT.get(lang)
    return script is None or len(script.findall(sentence)) * 3 >= len(sentence)


def _read_gz_text(path: Path, limit: int | None = None) -> str:
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
        return handle.read(limit) if limit else handle.read()


def _shared_sentences(shared: Path, lang: str) -> list[str]:
    found: list[str] = []
    lingua = shared / "lid" / "lingua-sentences" / f"{lang}.txt.gz"
    if lingua.exists():
        found += [_clean(line) for line in _read_gz_text(lingua).splitlines()]
    handbook = shared / "handbook" / f"{_HANDBOOK[lang]}.jsonl.gz"
    if handbook.exists():
        for line in _read_gz_text(handbook).splitlines():
            for paragraph in json.loads(line)["text"].split("\n"):
                found += _split_sentences(_clean(paragraph))
    for book in _BOOKS.get(lang, []):
        path = shared / "reference" / lang / f"{book}.txt.gz"
        if path.exists():
            text = _read_gz_text(path, _BOOK_CHARS).replace("\r\n", "\n")
            for paragraph in re.split(r"\n\s*\n", text):
                found += _split_sentences(_clean(paragraph.replace("\u3000", " ")))
    return list(dict.fromkeys(s for s in found if _suitable(s, lang)))


def _builtin_sentences(lang: str) -> list[str]:
    rng = random.Random(f"builtin-{lang}")
    words = _BUILTIN_WORDS[lang] if lang in CJK_LANGS else _BUILTIN_WORDS[lang].split()
    sentences = []
    for _ in range(3000):
        chosen = rng.choices(words, k=rng.randint(10, 22))
        if lang in CJK_LANGS:
            sentences.append("".join(chosen) + "。")
        else:
            sentences.append(" ".join(chosen).capitalize() + rng.choice(".....?!"))
    return list(dict.fromkeys(sentences))


def load_vocabulary(shared_dir: str | None = None) -> Vocabulary:
    """Sentences per language from ``shared_dir`` (default ../shared/data) or the built-in word list."""
    return _load_vocabulary(str(Path(shared_dir) if shared_dir else DEFAULT_SHARED_DIR))


@lru_cache(maxsize=4)
def _load_vocabulary(shared_dir: str) -> Vocabulary:
    shared = Path(shared_dir)
    use_shared = (shared / "lid" / "lingua-sentences").is_dir()
    sentences = {lang: tuple(_shared_sentences(shared, lang) if use_shared else _builtin_sentences(lang))
                 for lang in LANGS}
    for lang, pool in sentences.items():
        if len(pool) < 100:
            raise ValueError(f"vocabulary for {lang!r} has only {len(pool)} sentences (from {shared})")
    words = {lang: tuple(sorted(set(_units(" ".join(pool[:3000]), lang)) - {""}))[:20000]
             for lang, pool in sentences.items()}
    return Vocabulary(sentences, words, "shared" if use_shared else "builtin")


# ---------------------------------------------------------------------------------------------
# Boilerplate, spam and PII material
# ---------------------------------------------------------------------------------------------

BOILERPLATE = {
    "en": ["Home | About us | Products | Blog | Contact", "Skip to main content",
           "We use cookies to improve your experience. By continuing to browse you agree to our use of cookies. Accept",
           "Subscribe to our newsletter", "Share on Facebook Twitter LinkedIn Email",
           "© 2024 Example Media Ltd. All rights reserved.", "Privacy Policy | Terms of Use | Sitemap",
           "Posted in Uncategorized | Leave a comment", "Related posts", "Read more »"],
    "de": ["Startseite | Über uns | Produkte | Kontakt | Impressum", "Zum Inhalt springen",
           "Diese Website verwendet Cookies. Wenn Sie die Website weiter nutzen, stimmen Sie der Verwendung von Cookies zu. Akzeptieren",
           "Newsletter abonnieren", "© 2024 Beispiel GmbH. Alle Rechte vorbehalten.", "Datenschutz | AGB | Impressum",
           "Weiterlesen »", "Teilen auf Facebook Twitter WhatsApp"],
    "fr": ["Accueil | À propos | Produits | Contact", "Aller au contenu principal",
           "Ce site utilise des cookies. En poursuivant votre navigation, vous acceptez leur utilisation. J'accepte",
           "Inscrivez-vous à notre newsletter", "© 2024 Exemple SARL. Tous droits réservés.",
           "Mentions légales | Politique de confidentialité", "Lire la suite »", "Partager sur Facebook Twitter"],
    "es": ["Inicio | Quiénes somos | Productos | Contacto", "Saltar al contenido",
           "Utilizamos cookies para mejorar su experiencia. Si continúa navegando, acepta su uso. Aceptar",
           "Suscríbete a nuestro boletín", "© 2024 Ejemplo S.L. Todos los derechos reservados.",
           "Aviso legal | Política de privacidad", "Leer más »"],
    "ru": ["Главная | О нас | Продукты | Контакты", "Перейти к содержимому",
           "Мы используем файлы cookie. Продолжая пользоваться сайтом, вы соглашаетесь на их использование. Принять",
           "Подпишитесь на рассылку", "© 2024 ООО «Пример». Все права защищены.", "Политика конфиденциальности",
           "Читать далее »"],
    "zh": ["首页 | 关于我们 | 产品中心 | 新闻动态 | 联系我们", "跳到主要内容",
           "本网站使用Cookie以改善您的浏览体验。继续浏览即表示您同意我们使用Cookie。接受",
           "订阅我们的新闻通讯", "版权所有 © 2024 示例科技有限公司 保留所有权利", "隐私政策 | 使用条款 | 网站地图",
           "分享到：微信 微博 QQ空间", "阅读全文 »"],
    "ja": ["ホーム | 会社概要 | 製品情報 | お問い合わせ", "メインコンテンツへスキップ",
           "当サイトではクッキーを使用しています。サイトの閲覧を続けることで、クッキーの使用に同意したものとみなされます。同意する",
           "ニュースレターを購読する", "© 2024 サンプル株式会社 All Rights Reserved.", "プライバシーポリシー | 利用規約",
           "続きを読む »"],
}

SPAM_LINES = {
    "en": ["BUY CHEAP {item} NOW!!! BEST PRICE GUARANTEED!!!", "Click here >>> http://deals-{n}.example/{item_slug} <<<",
           "{item} {item} {item} discount discount discount", "100% FREE!!! LIMITED OFFER!!! ACT NOW!!!",
           "Make $5000 a week from home, no experience needed!!!", "WINNER WINNER: claim your prize today!!!"],
    "zh": ["免费领取{item}！！！限时优惠！！！", "点击链接 http://deals-{n}.example/{item_slug} 立即抢购",
           "{item}{item}{item} 特价 特价 特价", "加微信 领红包 日赚五千 不是梦！！！", "代开发票 代开发票 代开发票"],
}
SPAM_ITEMS = {"en": ["watches", "casino bonus", "weight loss pills", "crypto coins", "replica bags", "viagra"],
              "zh": ["手表", "减肥药", "游戏币", "名牌包", "彩票"]}

FIRST_NAMES = ["James", "Mary", "Wei", "Li", "Hans", "Sophie", "Pierre", "Olga", "Yuki", "Carlos", "Fatima", "Anna"]
LAST_NAMES = ["Smith", "Johnson", "Wang", "Zhang", "Müller", "Martin", "Dubois", "Ivanova", "Tanaka", "García",
              "Schmidt", "Brown"]
MAIL_DOMAINS = ["example.com", "mail.example.org", "post.example.net", "corp.example.de", "example.cn"]

PII_TEMPLATES = {
    "en": {"EMAIL_ADDRESS": ["Contact me at {} for details.", "Send your CV to {} before Friday."],
           "PHONE_NUMBER": ["Call us on {} during office hours.", "My phone number is {}."],
           "IP_ADDRESS": ["The request came from {} yesterday.", "Server address: {}."],
           "CREDIT_CARD": ["Please charge my card {} for the order.", "Card number: {}."]},
    "de": {"EMAIL_ADDRESS": ["Schreiben Sie an {} für weitere Informationen."],
           "PHONE_NUMBER": ["Rufen Sie uns an unter {}."], "IP_ADDRESS": ["Die Anfrage kam von {}."],
           "CREDIT_CARD": ["Meine Kartennummer ist {}."]},
    "fr": {"EMAIL_ADDRESS": ["Écrivez-nous à {} pour plus d'informations."],
           "PHONE_NUMBER": ["Appelez-nous au {}."], "IP_ADDRESS": ["La requête venait de {}."],
           "CREDIT_CARD": ["Mon numéro de carte est {}."]},
    "es": {"EMAIL_ADDRESS": ["Escríbanos a {} para más información."],
           "PHONE_NUMBER": ["Llámenos al {}."], "IP_ADDRESS": ["La solicitud vino de {}."],
           "CREDIT_CARD": ["Mi número de tarjeta es {}."]},
    "ru": {"EMAIL_ADDRESS": ["Пишите нам на {} по любым вопросам."],
           "PHONE_NUMBER": ["Звоните по телефону {}."], "IP_ADDRESS": ["Запрос пришёл с адреса {}."],
           "CREDIT_CARD": ["Номер моей карты {}."]},
    "zh": {"EMAIL_ADDRESS": ["请发送邮件至 {} 咨询详情。"], "PHONE_NUMBER": ["联系电话：{}。"],
           "IP_ADDRESS": ["服务器地址是 {}。"], "CREDIT_CARD": ["我的银行卡号是 {}。"]},
    "ja": {"EMAIL_ADDRESS": ["お問い合わせは {} までご連絡ください。"], "PHONE_NUMBER": ["電話番号は {} です。"],
           "IP_ADDRESS": ["アクセス元は {} でした。"], "CREDIT_CARD": ["カード番号は {} です。"]},
}
_PHONE_FORMATS = {"en": ["({a}) {b}-{c}", "+1 {a}-{b}-{c}"], "de": ["+49 30 {b}{c}"], "fr": ["+33 1 {p} {q} {r} {s}"],
                  "es": ["+34 91 {b} {c}"], "ru": ["+7 495 {b}-{p}-{q}"], "zh": ["1{a}{b}{c}", "+86 1{a} {b} {c}"],
                  "ja": ["03-{b}-{c}"]}

GREETINGS = {"en": ("Hi {},", "Best regards,"), "de": ("Hallo {},", "Viele Grüße"),
             "fr": ("Bonjour {},", "Cordialement,"), "zh": ("{}，你好：", "此致敬礼"),
             "es": ("Hola {},", "Saludos,"), "ru": ("Здравствуйте, {}!", "С уважением,"), "ja": ("{}様", "よろしくお願いします。")}
HEADINGS = {"en": "Chapter {}", "zh": "第{}回", "de": "Kapitel {}", "fr": "Chapitre {}", "es": "Capítulo {}",
            "ru": "Глава {}", "ja": "第{}章"}


def _between(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high]: ``randint`` with one call to ``random()`` (hot path)."""
    return low + int(rng.random() * (high - low + 1))


def _pick(rng: random.Random, items: Sequence[T]) -> T:
    """``rng.choice`` with one call to ``random()`` (hot path)."""
    return items[int(rng.random() * len(items))]


def _luhn_digit(digits: str) -> str:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return str((10 - total % 10) % 10)


def _pii_value(kind: str, lang: str, rng: random.Random) -> str:
    digits = lambda count: str(_between(rng, 0, 10 ** count - 1)).zfill(count)  # noqa: E731
    if kind == "EMAIL_ADDRESS":
        return f"{_pick(rng, FIRST_NAMES).lower()}.{_pick(rng, LAST_NAMES).lower()}{_between(rng, 1, 99)}" \
               f"@{_pick(rng, MAIL_DOMAINS)}".replace("ü", "ue")
    if kind == "PHONE_NUMBER":
        return _pick(rng, _PHONE_FORMATS[lang]).format(
            a=_between(rng, 201, 989), b=_between(rng, 200, 999), c=digits(4), p=digits(2), q=digits(2),
            r=digits(2), s=digits(2))
    if kind == "IP_ADDRESS":
        return f"{_between(rng, 11, 223)}.{_between(rng, 0, 255)}.{_between(rng, 0, 255)}.{_between(rng, 1, 254)}"
    body = "4" + digits(14)
    number = body + _luhn_digit(body)
    return " ".join(number[i:i + 4] for i in range(0, 16, 4)) if rng.random() < 0.5 else number


# ---------------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------------

@dataclass
class _Doc:
    lang: str
    lines: list[str]
    boilerplate: list[int] = field(default_factory=list)      # indexes of boilerplate lines
    pii: list[tuple[int, int, int, str, str]] = field(default_factory=list)  # line, start, end, type, value
    spam: bool = False

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def pii_spans(self) -> list[dict[str, Any]]:
        starts, offset = [], 0
        for line in self.lines:
            starts.append(offset)
            offset += len(line) + 1
        return [{"type": kind, "start": starts[i] + a, "end": starts[i] + b, "value": value}
                for i, a, b, kind, value in self.pii]


def _units(text: str, lang: str) -> list[str]:
    """Words, or characters for Chinese and Japanese (the unit of near-duplicate edits and shingles)."""
    return [c for c in text if not c.isspace()] if lang in CJK_LANGS else text.split()


def shingle_jaccard(a: str, b: str, lang: str, n: int = SHINGLE_SIZE) -> float:
    """Jaccard similarity of the sets of n-grams of units (words; characters for zh/ja)."""
    def shingles(text: str) -> set[tuple[str, ...]]:
        units = _units(text, lang)
        return set(zip(*(units[i:] for i in range(n)))) if len(units) >= n else {tuple(units)}

    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0


class _Composer:
    """Builds documents of each source from the vocabulary with one seeded RNG."""

    def __init__(self, vocab: Vocabulary, rng: random.Random, pii_rate: float, boilerplate_rate: float):
        self.vocab, self.rng = vocab, rng
        self.pii_rate, self.boilerplate_rate = pii_rate, boilerplate_rate

    def paragraph(self, lang: str, sentences: tuple[int, int]) -> str:
        picked = self.rng.choices(self.vocab.sentences[lang], k=_between(self.rng, *sentences))
        return ("" if lang in CJK_LANGS else " ").join(picked)

    def title(self, lang: str) -> str:
        sentence = _pick(self.rng, self.vocab.sentences[lang])
        if lang in CJK_LANGS:
            return sentence[:24].rstrip("。，,. ")
        return " ".join(sentence.split()[:8]).rstrip(" .,;:«(-—")

    def body(self, lang: str, source: str) -> list[str]:
        _, _, paragraphs, sentences = SOURCE_SPECS[source]
        return [self.paragraph(lang, sentences) for _ in range(_between(self.rng, *paragraphs))]

    def document(self, source: str, lang: str) -> _Doc:
        rng = self.rng
        if source == "email":
            return self.email(lang)
        doc = _Doc(lang, [])
        if source == "books":
            doc.lines = [HEADINGS[lang].format(rng.randint(1, 120)), *self.body(lang, source)]
        elif source == "wiki":
            doc.lines = [self.title(lang)]
            for index, paragraph in enumerate(self.body(lang, source)):
                if index and rng.random() < 0.25:
                    doc.lines.append(f"== {self.title(lang)} ==")
                doc.lines.append(paragraph)
        else:
            doc.lines = [self.title(lang), *self.body(lang, source)]
            if rng.random() < self.boilerplate_rate:
                self.add_boilerplate(doc)
        if rng.random() < self.pii_rate:
            content = [i for i in range(len(doc.lines)) if i not in doc.boilerplate][1:]  # not the title
            for _ in range(rng.randint(1, 3)):
                self.add_pii(doc, rng.choice(content), rng.choice(sorted(PII_TEMPLATES["en"])))
        return doc

    def add_boilerplate(self, doc: _Doc) -> None:
        head_size = self.rng.randint(1, 3)
        chosen = self.rng.sample(BOILERPLATE[doc.lang], head_size + self.rng.randint(1, 3))
        head, tail = chosen[:head_size], chosen[head_size:]
        doc.lines = head + doc.lines + tail
        doc.boilerplate = list(range(len(head))) + list(range(len(doc.lines) - len(tail), len(doc.lines)))

    def add_pii(self, doc: _Doc, line: int, kind: str, template: str | None = None,
                separator: str | None = None) -> None:
        """Append a sentence carrying a PII value to ``doc.lines[line]`` and record its span."""
        value = _pii_value(kind, doc.lang, self.rng)
        template = template or _pick(self.rng, PII_TEMPLATES[doc.lang][kind])
        if separator is None:
            separator = "" if doc.lang in CJK_LANGS or not doc.lines[line] else " "
        prefix = doc.lines[line] + separator + template[:template.index("{}")]
        doc.lines[line] = prefix + value + template[template.index("{}") + 2:]
        doc.pii.append((line, len(prefix), len(prefix) + len(value), kind, value))

    def email(self, lang: str) -> _Doc:
        rng = self.rng
        sender, recipient = (f"{_pick(rng, FIRST_NAMES)} {_pick(rng, LAST_NAMES)}" for _ in range(2))
        hello, bye = GREETINGS[lang]
        doc = _Doc(lang, ["From: " + sender, "To: " + recipient, "Subject: " + self.title(lang),
                          hello.format(recipient.split()[0]), *self.body(lang, "email"), bye, sender, ""])
        self.add_pii(doc, 0, "EMAIL_ADDRESS", "<{}>", separator=" ")
        self.add_pii(doc, 1, "EMAIL_ADDRESS", "<{}>", separator=" ")
        self.add_pii(doc, len(doc.lines) - 1, "PHONE_NUMBER", "Tel. {}")
        if rng.random() < self.pii_rate:
            self.add_pii(doc, rng.randrange(4, len(doc.lines) - 3), rng.choice(["CREDIT_CARD", "IP_ADDRESS"]))
        return doc

    def spam(self, lang: str) -> _Doc:
        rng = self.rng
        lang = lang if lang in SPAM_LINES else "en"
        lines = []
        for _ in range(rng.randint(6, 25)):
            item = rng.choice(SPAM_ITEMS[lang])
            lines.append(rng.choice(SPAM_LINES[lang]).format(item=item, item_slug=item.replace(" ", "-"),
                                                             n=rng.randint(1, 99)))
        if rng.random() < 0.5:
            lines.insert(rng.randrange(len(lines)), self.paragraph(lang, (1, 3)))
        return _Doc(lang, lines, spam=True)

    def near_duplicate(self, doc: _Doc, edit_rate: float) -> _Doc:
        """A copy with ``edit_rate`` of its units replaced, deleted or followed by an inserted unit."""
        rng, words = self.rng, self.vocab.words[doc.lang]
        lines = [_units(line, doc.lang) for line in doc.lines]
        positions = [(i, j) for i, units in enumerate(lines) for j in range(len(units))]
        for i, j in rng.sample(positions, max(1, round(edit_rate * len(positions)))):
            op = rng.random()
            if op < 0.6:
                lines[i][j] = rng.choice(words)
            elif op < 0.8:
                lines[i][j] = ""
            else:
                lines[i][j] += ("" if doc.lang in CJK_LANGS else " ") + rng.choice(words)
        joiner = "" if doc.lang in CJK_LANGS else " "
        edited = (joiner.join(u for u in units if u) for units in lines)
        return _Doc(doc.lang, [line for line in edited if line], spam=doc.spam)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

class _ShardWriter:
    """Deterministic JSONL.gz shards (gzip mtime 0, no file name) of ``per_shard`` records each."""

    def __init__(self, out_dir: Path, source: str, per_shard: int, compresslevel: int):
        self.dir, self.source, self.per_shard, self.level = out_dir / source, source, per_shard, compresslevel
        self.dir.mkdir(parents=True, exist_ok=True)
        self.shard, self.line, self.records = -1, 0, 0
        self.stream: IO[bytes] | None = None
        self.buffer: list[bytes] = []
        self.buffered = 0
        self.files: list[str] = []
        self.raw_bytes = 0

    def write(self, line: bytes) -> tuple[str, int]:
        """Append one record; returns (file name, line number from 1)."""
        if self.stream is None or self.line == self.per_shard:
            self._open_next()
        self.line += 1
        self.records += 1
        self.buffer.append(line)
        self.buffered += len(line)
        if self.buffered > 1 << 20:
            self._flush()
        return self.files[-1], self.line

    def _open_next(self) -> None:
        self.close()
        self.shard += 1
        name = f"{self.source}-{self.shard:05d}.jsonl.gz"
        self.files.append(name)
        self.stream = gzip.GzipFile(filename="", mode="wb", compresslevel=self.level,
                                    fileobj=open(self.dir / name, "wb"), mtime=0)
        self.line = 0

    def _flush(self) -> None:
        if self.buffer and self.stream is not None:
            data = b"".join(self.buffer)
            self.stream.write(data)
            self.raw_bytes += len(data)
        self.buffer, self.buffered = [], 0

    def close(self) -> None:
        if self.stream is not None:
            self._flush()
            fileobj = self.stream.fileobj
            self.stream.close()
            fileobj.close()
            self.stream = None


_MALFORMED = [("invalid_json", "ingest:invalid_json"), ("invalid_utf8", "ingest:invalid_utf8"),
              ("text_not_string", "ingest:text_not_string"), ("missing_text", "ingest:missing_text"),
              ("nul_bytes", "ingest:nul_bytes")]


def _malformed_line(kind: str, name: str, sentence: str) -> bytes:
    head = b'{"doc_id": "' + name.encode() + b'", '
    if kind == "invalid_json":
        return head + b'"text": "' + sentence.encode("utf-8") + b"\n"
    if kind == "invalid_utf8":
        return head + b'"text": "' + sentence[:20].encode("utf-8") + b"\xff\xfe" + b' tail"}\n'
    if kind == "text_not_string":
        return head + b'"text": 12345}\n'
    if kind == "missing_text":
        return head + b'"body": ' + json.dumps(sentence).encode() + b"}\n"
    return head + b'"text": ' + json.dumps(sentence + "\x00" + sentence).encode() + b"}\n"


def source_configs(out_dir: str | Path, meta_fields: Iterable[str] = ("doc_id", "lang")) -> list[dict[str, Any]]:
    """Pipeline `sources` entries for a generated corpus (ids in truth.jsonl assume these paths)."""
    out = Path(out_dir)
    return [{"name": source, "format": "jsonl", "paths": [str(out / source / "*.jsonl.gz")],
             "meta_fields": list(meta_fields)} for source in SOURCE_SPECS]


def generate_corpus(out_dir: str | Path, n_docs: int, seed: int = 0, *, docs_per_shard: int = 10_000,
                    exact_dup_rate: float = 0.04, near_dup_rate: float = 0.04,
                    near_dup_edit_rates: tuple[float, ...] = (0.01, 0.02, 0.04, 0.08),
                    boilerplate_rate: float = 0.4, spam_rate: float = 0.03, pii_rate: float = 0.1,
                    malformed_rate: float = 0.001, compresslevel: int = 1,
                    shared_dir: str | None = None) -> dict[str, Any]:
    """Write ``n_docs`` records (documents plus malformed ones) under ``out_dir``; return a summary.

    Layout: ``<source>/<source>-NNNNN.jsonl.gz`` (fields doc_id, lang, url, text), ``truth.jsonl``
    (one line per planted fact: exact_duplicate, near_duplicate, boilerplate, spam, pii, malformed;
    each names doc, file, line and the pipeline id under :func:`source_configs`) and
    ``manifest.json`` (this summary without ``sources``, the pipeline entries for the shards,
    so that it does not depend on ``out_dir``). PII spans are code-point offsets into ``text``; generated
    text is already NFC with single spaces, so the normalize stage keeps offsets valid.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vocab = load_vocabulary(shared_dir)
    rng = random.Random(seed)
    composer = _Composer(vocab, rng, pii_rate, boilerplate_rate)
    writers = {source: _ShardWriter(out, source, docs_per_shard, compresslevel) for source in SOURCE_SPECS}
    sources = list(SOURCE_SPECS)
    source_weights = list(accumulate(spec[0] for spec in SOURCE_SPECS.values()))
    lang_choices = {s: (list(spec[1]), list(accumulate(spec[1].values()))) for s, spec in SOURCE_SPECS.items()}
    recent: deque[tuple[str, _Doc]] = deque(maxlen=2000)  # plain documents that may be copied
    planted: Counter[str] = Counter()
    docs_by_source: Counter[str] = Counter()
    text_bytes = 0

    with open(out / "truth.jsonl", "w", encoding="utf-8") as truth:
        def note(kind: str, name: str | None, source: str, file: str, line: int, **facts: Any) -> None:
            planted[kind] += 1
            entry = {"kind": kind, "doc": name, "source": source, "file": f"{source}/{file}", "line": line,
                     "id": doc_id(source, file, line), **facts}
            truth.write(json.dumps(entry, ensure_ascii=False) + "\n")

        for index in range(n_docs):
            name = f"d{index:09d}"
            source = rng.choices(sources, cum_weights=source_weights)[0]
            langs, weights = lang_choices[source]
            lang = rng.choices(langs, cum_weights=weights)[0]
            roll = rng.random()
            if roll < malformed_rate:
                kind, reason = _MALFORMED[index % len(_MALFORMED)]
                file, line = writers[source].write(_malformed_line(kind, name, rng.choice(vocab.sentences[lang])))
                note("malformed", name, source, file, line, malformed=kind, reason=reason)
                continue
            roll -= malformed_rate
            copy_of, doc, edit_rate = None, None, None
            if recent and roll < exact_dup_rate:
                copy_of, doc = recent[rng.randrange(len(recent))]
            elif recent and roll < exact_dup_rate + near_dup_rate:
                copy_of, base = recent[rng.randrange(len(recent))]
                edit_rate = rng.choice(near_dup_edit_rates)
                doc = composer.near_duplicate(base, edit_rate)
            elif roll < exact_dup_rate + near_dup_rate + spam_rate:
                doc = composer.spam(lang)
            else:
                doc = composer.document(source, lang)
            text = doc.text
            url = None
            if source in ("web", "wiki"):
                url = f"https://{source}{_between(rng, 1, 500)}.example/{doc.lang}/{name}"
            record = json.dumps({"doc_id": name, "lang": doc.lang, "url": url, "text": text}, ensure_ascii=False)
            encoded = record.encode("utf-8") + b"\n"
            file, line = writers[source].write(encoded)
            docs_by_source[source] += 1
            text_bytes += len(text.encode("utf-8"))

            if edit_rate is not None:
                note("near_duplicate", name, source, file, line, of=copy_of, edit_rate=edit_rate,
                     jaccard=round(shingle_jaccard(base.text, text, doc.lang), 4))
            elif copy_of is not None:
                note("exact_duplicate", name, source, file, line, of=copy_of)
            if doc.spam:
                note("spam", name, source, file, line, lang=doc.lang)
            if doc.boilerplate:
                note("boilerplate", name, source, file, line, lines=doc.boilerplate,
                     text=[doc.lines[i] for i in doc.boilerplate])
            if doc.pii:
                note("pii", name, source, file, line, spans=doc.pii_spans())
            if edit_rate is None and not doc.pii and not doc.boilerplate:
                recent.append((copy_of or name, doc))

    for writer in writers.values():
        writer.close()
    summary = {
        "generator_version": GENERATOR_VERSION, "seed": seed, "records": n_docs,
        "documents": sum(docs_by_source.values()), "documents_by_source": dict(sorted(docs_by_source.items())),
        "text_bytes": text_bytes, "jsonl_bytes": sum(w.raw_bytes for w in writers.values()),
        "files": [f"{s}/{f}" for s, w in writers.items() for f in w.files],
        "file_bytes": sum((out / s / f).stat().st_size for s, w in writers.items() for f in w.files),
        "planted": dict(sorted(planted.items())), "vocabulary": vocab.origin,
        "params": {"docs_per_shard": docs_per_shard, "exact_dup_rate": exact_dup_rate, "near_dup_rate": near_dup_rate,
                   "near_dup_edit_rates": list(near_dup_edit_rates), "boilerplate_rate": boilerplate_rate,
                   "spam_rate": spam_rate, "pii_rate": pii_rate, "malformed_rate": malformed_rate,
                   "compresslevel": compresslevel, "shingle_size": SHINGLE_SIZE},
    }
    (out / "manifest.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return {**summary, "sources": source_configs(out)}


def read_truth(out_dir: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    """The truth entries of a generated corpus, optionally of one kind."""
    with open(Path(out_dir) / "truth.jsonl", encoding="utf-8") as handle:
        entries = [json.loads(line) for line in handle]
    return [e for e in entries if kind is None or e["kind"] == kind]


def exact_duplicate_clusters(out_dir: str | Path) -> list[set[str]]:
    """Groups of doc names with identical text (each original with all its exact copies)."""
    clusters: dict[str, set[str]] = {}
    for entry in read_truth(out_dir, "exact_duplicate"):
        clusters.setdefault(entry["of"], {entry["of"]}).add(entry["doc"])
    return sorted(clusters.values(), key=min)


# ---------------------------------------------------------------------------------------------
# The hostile corpus
# ---------------------------------------------------------------------------------------------

_GOOD_TEXTS = {
    "rtl_arabic": "هذا نص عربي طويل بما يكفي لاختبار الكتابة من اليمين إلى اليسار في خط المعالجة، مع أرقام ١٢٣ وعلامات ترقيم.",
    "rtl_hebrew": "זהו טקסט בעברית שנכתב מימין לשמאל, ובתוכו מילה באנגלית (pipeline) ומספר 42 כדי לבדוק כיווניות מעורבת.",
    "bidi_controls": "Mixed direction \u202bعربي\u202c and \u2067עברית\u2069 with explicit bidi controls in an English line.",
    "combining": "Cafe\u0301 re\u0301sume\u0301 nai\u0308ve Zoe\u0308: decomposed accents that NFC composes; "
                 "Z\u0351\u0352a\u0353l\u0354g\u0355o\u0356 text stacks combining marks on one base letter.",
    "emoji": "Family 👨\u200d👩\u200d👧\u200d👦, flags 🇨🇳🇩🇪🇫🇷, skin tones 👍🏽👍🏿, keycap 1\ufe0f\u20e3 and 😀 in one sentence.",
    "chinese": "这是一段用于测试的中文文本，包含全角标点符号、数字１２３和英文单词 Spark，应该被完整保留。",
}


def _hostile_sentences(rng: random.Random, count: int) -> list[str]:
    words = _BUILTIN_WORDS["en"].split()
    return [" ".join(rng.choices(words, k=rng.randint(8, 40))).capitalize() + f" (#{i})." for i in range(count)]


def _salvageable_lines(truncated: bytes, fmt: str) -> int:
    """Complete lines a streaming decompressor recovers from a truncated archive."""
    if fmt == "gz":
        data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(truncated)
    else:
        data = zstandard.ZstdDecompressor().decompressobj().decompress(truncated)
    return data.count(b"\n")


def generate_hostile_corpus(out_dir: str | Path, seed: int = 0, *, big_doc_bytes: int = 50_000_000,
                            max_doc_bytes: int = 10_000_000, long_line_chars: int = 200_000) -> dict[str, Any]:
    """Write a corpus with every kind of bad record; return what reading it should give.

    ``max_doc_bytes`` is the ``ingest.max_doc_bytes`` the corpus will be read with: the big
    document (``big_doc_bytes``) must exceed it and the long-line document must fit. The
    result lists every record as ``{"file", "line", "kind", "expect"}`` where ``expect`` is
    ``"document"`` or the quarantine reason; documents of kind ``empty_*`` normalise to empty
    text (``normalize:empty``). ``sources`` are the pipeline source entries; ``parser_breakers``
    the files whose records break a naive JSON reader (one kind per file). Text files are read
    whole, with line 0.
    """
    if not long_line_chars * 4 < max_doc_bytes < big_doc_bytes:
        raise ValueError("need long_line_chars * 4 < max_doc_bytes < big_doc_bytes")
    out = Path(out_dir)
    jsonl_dir, text_dir = out / "jsonl", out / "text"
    jsonl_dir.mkdir(parents=True, exist_ok=True)
    text_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []

    def expect(file: Path, line: int, kind: str, outcome: str) -> None:
        records.append({"file": str(file.relative_to(out)), "line": line, "kind": kind, "expect": outcome})

    def write_lines(path: Path, lines: list[tuple[str, bytes, str]]) -> None:
        with open(path, "wb") as handle:
            for number, (kind, raw, outcome) in enumerate(lines, start=1):
                handle.write(raw + b"\n")
                expect(path, number, kind, outcome)

    def obj(kind: str, **fields: Any) -> bytes:
        return json.dumps({"kind": kind, **fields}, ensure_ascii=False).encode("utf-8")

    sentences = _hostile_sentences(rng, 400)
    good = lambda i: " ".join(sentences[i:i + 3])  # noqa: E731
    nested = {"text": "unused"}
    for _ in range(200):
        nested = {"child": nested}
    at_limit_prefix = b'{"kind": "at_size_limit", "text": "'
    at_limit = at_limit_prefix + b"x" * (max_doc_bytes - len(at_limit_prefix) - 2) + b'"}'
    mixed = [
        ("plain", obj("plain", text=good(0), url="https://example.org/a"), "document"),
        *[(kind, obj(kind, text=text), "document") for kind, text in _GOOD_TEXTS.items()],
        ("escaped_surrogate_pair", b'{"kind": "escaped_surrogate_pair", "text": "A valid escaped pair \\ud83d\\ude00 '
                                   b'is one emoji, so this record is fine."}', "document"),
        ("crlf_line_end", obj("crlf_line_end", text=good(3)) + b"\r", "document"),
        ("moderately_nested", obj("moderately_nested", text=good(6), extra=nested), "document"),
        ("url_wrong_type", obj("url_wrong_type", text=good(9), url=12345), "document"),
        ("long_line", obj("long_line", text=("Sphinx of black quartz, judge my vow. 黑曜石 " * long_line_chars)[
            :long_line_chars - 1] + "."), "document"),
        ("at_size_limit", at_limit, "document"),
        ("empty_text", obj("empty_text", text=""), "document"),
        ("empty_whitespace_text", obj("empty_whitespace_text", text=" \n\t\u3000 "), "document"),
        ("empty_control_text", obj("empty_control_text", text="\u0001\u0002\u007f"), "document"),
        ("invalid_utf8", b'{"kind": "invalid_utf8", "text": "broken \xff\xfe bytes \xc3\x28 here"}', "ingest:invalid_utf8"),
        ("overlong_utf8", b'{"kind": "overlong_utf8", "text": "overlong slash \xc0\xaf"}', "ingest:invalid_utf8"),
        ("nul_escaped", obj("nul_escaped", text="before\u0000after " + good(12)), "ingest:nul_bytes"),
        ("nul_raw", b'{"kind": "nul_raw", "text": "raw \x00 byte inside a JSON string"}', "ingest:invalid_json"),
        ("invalid_json", b'{"kind": "invalid_json", "text": "no closing brace"', "ingest:invalid_json"),
        ("json_trailing_garbage", obj("json_trailing_garbage", text=good(15)) + b" }}", "ingest:invalid_json"),
        ("text_number", obj("text_number", text=42), "ingest:text_not_string"),
        ("text_list", obj("text_list", text=["a", "list"]), "ingest:text_not_string"),
        ("text_object", obj("text_object", text={"nested": "text"}), "ingest:text_not_string"),
        ("text_bool", obj("text_bool", text=True), "ingest:text_not_string"),
        ("text_null", obj("text_null", text=None), "ingest:missing_text"),
        ("text_missing", obj("text_missing", body=good(18)), "ingest:missing_text"),
        ("top_level_array", b'[{"text": "inside an array"}]', "ingest:not_an_object"),
        ("top_level_string", b'"just a string"', "ingest:not_an_object"),
        ("top_level_number", b"3.14", "ingest:not_an_object"),
        ("plain", obj("plain", text=good(21)), "document"),
    ]
    write_lines(jsonl_dir / "mixed.jsonl", mixed)

    # One big record on its own line, written in chunks (no 50 MB string in memory).
    big = jsonl_dir / "big.jsonl"
    chunk = ("A very large document. 很大的文档。" * 4096).encode("utf-8")
    with open(big, "wb") as handle:
        handle.write(obj("plain", text=good(24)) + b"\n")
        handle.write(b'{"kind": "big_document", "text": "')
        written = 0
        while written < big_doc_bytes:
            handle.write(chunk)
            written += len(chunk)
        handle.write(b'"}\n' + obj("plain", text=good(27)) + b"\n")
    expect(big, 1, "plain", "document")
    expect(big, 2, "big_document", "ingest:too_large")
    expect(big, 3, "plain", "document")

    # Records that break a JSON reader in other ways than JSONDecodeError; one kind per file.
    breakers = {
        "deep_nesting.jsonl": [("deep_nesting", b'{"kind": "deep_nesting", "text": "ok", "x": '
                                + b"[" * 100_000 + b"]" * 100_000 + b"}", "ingest:invalid_json")],
        "huge_integer.jsonl": [("huge_integer", b'{"kind": "huge_integer", "text": "ok", "n": ' + b"7" * 5000 + b"}",
                                "ingest:invalid_json")],
        "lone_surrogate.jsonl": [  # valid JSON whose escapes decode to a string that has no UTF-8 form
            ("lone_surrogate", b'{"kind": "lone_surrogate", "text": "lone \\ud800 surrogate"}', "ingest:invalid_utf8"),
            ("url_lone_surrogate", b'{"kind": "url_lone_surrogate", "text": "' + good(33).encode()
             + b'", "url": "https://example.org/\\udc80"}', "ingest:invalid_utf8"),
            ("meta_lone_surrogate", b'{"kind": "meta \\udfff", "text": "' + good(36).encode() + b'"}',
             "ingest:invalid_utf8"),
        ],
    }
    for name, bad_lines in breakers.items():
        write_lines(jsonl_dir / name, [("plain", obj("plain", text=good(30)), "document"), *bad_lines])

    # Binary junk: lines of random bytes (never a newline; a leading 0xff makes each invalid UTF-8).
    junk = [("binary_junk", b"\xff" + bytes(b for b in rng.randbytes(300) if b != 0x0A), "ingest:invalid_utf8")
            for _ in range(5)]
    junk.append(("ascii_junk", bytes(rng.choice(b"!#%&()*+-/:;<=>?@^_|~abcXYZ0123") for _ in range(500)),
                 "ingest:invalid_json"))
    write_lines(jsonl_dir / "junk.jsonl", junk)

    # Truncated archives: the complete lines before the cut are documents, then one quarantine entry.
    payload = b"".join(obj("plain", text=good(i % 390) + f" [{i}]") + b"\n" for i in range(1500))
    for fmt, data in (("gz", gzip.compress(payload, compresslevel=6, mtime=0)),
                      ("zst", zstandard.ZstdCompressor(level=3).compress(payload))):
        path = jsonl_dir / f"truncated.jsonl.{fmt}"
        cut = data[: len(data) * 3 // 5]
        path.write_bytes(cut)
        for line in range(1, _salvageable_lines(cut, fmt) + 1):
            expect(path, line, "plain", "document")
        expect(path, -1, f"truncated_{fmt}", "ingest:truncated_archive")
    for fmt in ("gz", "zst"):
        path = jsonl_dir / f"not_an_archive.jsonl.{fmt}"
        path.write_bytes(b"\x00\x01garbage" + rng.randbytes(2000))
        expect(path, -1, f"corrupt_{fmt}", "ingest:truncated_archive")
    for name in ("zero_bytes.jsonl", "zero_bytes.jsonl.gz"):
        (jsonl_dir / name).write_bytes(b"")
        expect(jsonl_dir / name, 0, "zero_byte_file", "ingest:empty_file")
    (jsonl_dir / "no_records.jsonl.gz").write_bytes(gzip.compress(b"\n\n", mtime=0))  # blank lines only: no records

    # Text files (one document per file, line 0).
    text_files = {
        "rtl.txt": ("rtl_text_file", (_GOOD_TEXTS["rtl_arabic"] + "\n" + _GOOD_TEXTS["rtl_hebrew"]).encode(), "document"),
        "emoji.txt": ("emoji_text_file", _GOOD_TEXTS["emoji"].encode(), "document"),
        "invalid_utf8.txt": ("invalid_utf8_text_file", b"latin-1 text: caf\xe9 cr\xe8me", "ingest:invalid_utf8"),
        "nul.txt": ("nul_text_file", b"text with a \x00 NUL byte", "ingest:nul_bytes"),
        "too_large.txt": ("too_large_text_file", b"y" * (max_doc_bytes + 1), "ingest:too_large"),
        "zero_bytes.txt": ("zero_byte_file", b"", "ingest:empty_file"),
    }
    for name, (kind, raw, outcome) in text_files.items():
        (text_dir / name).write_bytes(raw)
        expect(text_dir / name, 0, kind, outcome)

    # Parquet: typed columns (a timestamp among the metadata), null and NUL texts, and a file that is not Parquet.
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet_dir, warc_dir = out / "parquet", out / "warc"
    parquet_dir.mkdir(exist_ok=True)
    warc_dir.mkdir(exist_ok=True)
    rows = [("parquet_plain", good(39), "document"), ("parquet_null_text", None, "ingest:missing_text"),
            ("parquet_nul_text", "before\x00after", "ingest:nul_bytes"), ("parquet_plain", good(42), "document")]
    pq.write_table(pa.table({"kind": [kind for kind, _, _ in rows], "text": [text for _, text, _ in rows],
                             "when": [datetime(2024, 5, 1, 12, i) for i in range(len(rows))]}), parquet_dir / "typed.parquet")
    for number, (kind, _, outcome) in enumerate(rows, start=1):
        expect(parquet_dir / "typed.parquet", number, kind, outcome)
    (parquet_dir / "not_parquet.parquet").write_bytes(b"PAR1" + rng.randbytes(500))
    expect(parquet_dir / "not_parquet.parquet", -1, "not_parquet", "ingest:unreadable_file")
    # WARC: a whole page gzipped as one file, without WARC headers.
    (warc_dir / "not_a_warc.warc.gz").write_bytes(gzip.compress(b"<html><p>" + good(45).encode() + b"</p></html>\n", mtime=0))
    expect(warc_dir / "not_a_warc.warc.gz", -1, "not_a_warc", "ingest:unreadable_file")

    documents = [r for r in records if r["expect"] == "document"]
    quarantined = Counter(r["expect"] for r in records if r["expect"] != "document")
    return {
        "out_dir": str(out), "records": records, "documents": len(documents),
        "quarantined": dict(sorted(quarantined.items())),
        "empty_documents": sum(r["kind"].startswith("empty_") for r in documents),
        "parser_breakers": [f"jsonl/{name}" for name in breakers],
        "sources": [{"name": "hostile_jsonl", "format": "jsonl", "paths": [str(jsonl_dir)], "meta_fields": ["kind"]},
                    {"name": "hostile_text", "format": "text", "paths": [str(text_dir)]},
                    {"name": "hostile_parquet", "format": "parquet", "paths": [str(parquet_dir)],
                     "meta_fields": ["kind", "when"]},
                    {"name": "hostile_warc", "format": "warc", "paths": [str(warc_dir)]}],
        "max_doc_bytes": max_doc_bytes,
    }


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.synthetic", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    corpus = commands.add_parser("corpus", help="a realistic synthetic corpus with planted truth")
    corpus.add_argument("out")
    corpus.add_argument("--docs", type=int, required=True)
    corpus.add_argument("--seed", type=int, default=0)
    corpus.add_argument("--docs-per-shard", type=int, default=10_000)
    corpus.add_argument("--malformed-rate", type=float, default=0.001)
    corpus.add_argument("--shared-dir", default=None, help="default: ../shared/data, else a built-in word list")
    hostile = commands.add_parser("hostile", help="every kind of bad record, with the expected outcome")
    hostile.add_argument("out")
    hostile.add_argument("--seed", type=int, default=0)
    hostile.add_argument("--big-doc-bytes", type=int, default=50_000_000)
    hostile.add_argument("--max-doc-bytes", type=int, default=10_000_000, help="ingest.max_doc_bytes used to read it")
    args = parser.parse_args(argv)

    if args.command == "corpus":
        summary = generate_corpus(args.out, args.docs, args.seed, docs_per_shard=args.docs_per_shard,
                                  malformed_rate=args.malformed_rate, shared_dir=args.shared_dir)
        shown = {k: v for k, v in summary.items() if k not in ("files", "sources")}
        print(json.dumps(shown, indent=2, ensure_ascii=False))
    else:
        summary = generate_hostile_corpus(args.out, args.seed, big_doc_bytes=args.big_doc_bytes,
                                          max_doc_bytes=args.max_doc_bytes)
        (Path(args.out) / "expected.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
        print(json.dumps({k: summary[k] for k in ("documents", "quarantined", "empty_documents")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
