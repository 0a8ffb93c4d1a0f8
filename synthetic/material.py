"""The planted material: boilerplate, spam, PII values and their sentences, email and book furniture.

Each table is per language; ``pii_value`` draws a value of a PII type (emails, phone numbers,
IP addresses and Luhn-valid card numbers) so the PII stage has something real to find.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

BOILERPLATE = {
    "en": [
        "Home | About us | Products | Blog | Contact",
        "Skip to main content",
        "We use cookies to improve your experience. By continuing to browse you agree to our use of cookies. Accept",
        "Subscribe to our newsletter",
        "Share on Facebook Twitter LinkedIn Email",
        "© 2024 Example Media Ltd. All rights reserved.",
        "Privacy Policy | Terms of Use | Sitemap",
        "Posted in Uncategorized | Leave a comment",
        "Related posts",
        "Read more »",
    ],
    "de": [
        "Startseite | Über uns | Produkte | Kontakt | Impressum",
        "Zum Inhalt springen",
        "Diese Website verwendet Cookies. Wenn Sie die Website weiter nutzen, stimmen Sie der Verwendung von Cookies zu. Akzeptieren",
        "Newsletter abonnieren",
        "© 2024 Beispiel GmbH. Alle Rechte vorbehalten.",
        "Datenschutz | AGB | Impressum",
        "Weiterlesen »",
        "Teilen auf Facebook Twitter WhatsApp",
    ],
    "fr": [
        "Accueil | À propos | Produits | Contact",
        "Aller au contenu principal",
        "Ce site utilise des cookies. En poursuivant votre navigation, vous acceptez leur utilisation. J'accepte",
        "Inscrivez-vous à notre newsletter",
        "© 2024 Exemple SARL. Tous droits réservés.",
        "Mentions légales | Politique de confidentialité",
        "Lire la suite »",
        "Partager sur Facebook Twitter",
    ],
    "es": [
        "Inicio | Quiénes somos | Productos | Contacto",
        "Saltar al contenido",
        "Utilizamos cookies para mejorar su experiencia. Si continúa navegando, acepta su uso. Aceptar",
        "Suscríbete a nuestro boletín",
        "© 2024 Ejemplo S.L. Todos los derechos reservados.",
        "Aviso legal | Política de privacidad",
        "Leer más »",
    ],
    "ru": [
        "Главная | О нас | Продукты | Контакты",
        "Перейти к содержимому",
        "Мы используем файлы cookie. Продолжая пользоваться сайтом, вы соглашаетесь на их использование. Принять",
        "Подпишитесь на рассылку",
        "© 2024 ООО «Пример». Все права защищены.",
        "Политика конфиденциальности",
        "Читать далее »",
    ],
    "zh": [
        "首页 | 关于我们 | 产品中心 | 新闻动态 | 联系我们",
        "跳到主要内容",
        "本网站使用Cookie以改善您的浏览体验。继续浏览即表示您同意我们使用Cookie。接受",
        "订阅我们的新闻通讯",
        "版权所有 © 2024 示例科技有限公司 保留所有权利",
        "隐私政策 | 使用条款 | 网站地图",
        "分享到：微信 微博 QQ空间",
        "阅读全文 »",
    ],
    "ja": [
        "ホーム | 会社概要 | 製品情報 | お問い合わせ",
        "メインコンテンツへスキップ",
        "当サイトではクッキーを使用しています。サイトの閲覧を続けることで、クッキーの使用に同意したものとみなされます。同意する",
        "ニュースレターを購読する",
        "© 2024 サンプル株式会社 All Rights Reserved.",
        "プライバシーポリシー | 利用規約",
        "続きを読む »",
    ],
}

SPAM_LINES = {
    "en": [
        "BUY CHEAP {item} NOW!!! BEST PRICE GUARANTEED!!!",
        "Click here >>> http://deals-{n}.example/{item_slug} <<<",
        "{item} {item} {item} discount discount discount",
        "100% FREE!!! LIMITED OFFER!!! ACT NOW!!!",
        "Make $5000 a week from home, no experience needed!!!",
        "WINNER WINNER: claim your prize today!!!",
    ],
    "zh": [
        "免费领取{item}！！！限时优惠！！！",
        "点击链接 http://deals-{n}.example/{item_slug} 立即抢购",
        "{item}{item}{item} 特价 特价 特价",
        "加微信 领红包 日赚五千 不是梦！！！",
        "代开发票 代开发票 代开发票",
    ],
}
SPAM_ITEMS = {
    "en": ["watches", "casino bonus", "weight loss pills", "crypto coins", "replica bags", "viagra"],
    "zh": ["手表", "减肥药", "游戏币", "名牌包", "彩票"],
}

FIRST_NAMES = ["James", "Mary", "Wei", "Li", "Hans", "Sophie", "Pierre", "Olga", "Yuki", "Carlos", "Fatima", "Anna"]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Wang",
    "Zhang",
    "Müller",
    "Martin",
    "Dubois",
    "Ivanova",
    "Tanaka",
    "García",
    "Schmidt",
    "Brown",
]
MAIL_DOMAINS = ["example.com", "mail.example.org", "post.example.net", "corp.example.de", "example.cn"]

PII_TEMPLATES = {
    "en": {
        "EMAIL_ADDRESS": ["Contact me at {} for details.", "Send your CV to {} before Friday."],
        "PHONE_NUMBER": ["Call us on {} during office hours.", "My phone number is {}."],
        "IP_ADDRESS": ["The request came from {} yesterday.", "Server address: {}."],
        "CREDIT_CARD": ["Please charge my card {} for the order.", "Card number: {}."],
    },
    "de": {
        "EMAIL_ADDRESS": ["Schreiben Sie an {} für weitere Informationen."],
        "PHONE_NUMBER": ["Rufen Sie uns an unter {}."],
        "IP_ADDRESS": ["Die Anfrage kam von {}."],
        "CREDIT_CARD": ["Meine Kartennummer ist {}."],
    },
    "fr": {
        "EMAIL_ADDRESS": ["Écrivez-nous à {} pour plus d'informations."],
        "PHONE_NUMBER": ["Appelez-nous au {}."],
        "IP_ADDRESS": ["La requête venait de {}."],
        "CREDIT_CARD": ["Mon numéro de carte est {}."],
    },
    "es": {
        "EMAIL_ADDRESS": ["Escríbanos a {} para más información."],
        "PHONE_NUMBER": ["Llámenos al {}."],
        "IP_ADDRESS": ["La solicitud vino de {}."],
        "CREDIT_CARD": ["Mi número de tarjeta es {}."],
    },
    "ru": {
        "EMAIL_ADDRESS": ["Пишите нам на {} по любым вопросам."],
        "PHONE_NUMBER": ["Звоните по телефону {}."],
        "IP_ADDRESS": ["Запрос пришёл с адреса {}."],
        "CREDIT_CARD": ["Номер моей карты {}."],
    },
    "zh": {
        "EMAIL_ADDRESS": ["请发送邮件至 {} 咨询详情。"],
        "PHONE_NUMBER": ["联系电话：{}。"],
        "IP_ADDRESS": ["服务器地址是 {}。"],
        "CREDIT_CARD": ["我的银行卡号是 {}。"],
    },
    "ja": {
        "EMAIL_ADDRESS": ["お問い合わせは {} までご連絡ください。"],
        "PHONE_NUMBER": ["電話番号は {} です。"],
        "IP_ADDRESS": ["アクセス元は {} でした。"],
        "CREDIT_CARD": ["カード番号は {} です。"],
    },
}
_PHONE_FORMATS = {
    "en": ["({a}) {b}-{c}", "+1 {a}-{b}-{c}"],
    "de": ["+49 30 {b}{c}"],
    "fr": ["+33 1 {p} {q} {r} {s}"],
    "es": ["+34 91 {b} {c}"],
    "ru": ["+7 495 {b}-{p}-{q}"],
    "zh": ["1{a}{b}{c}", "+86 1{a} {b} {c}"],
    "ja": ["03-{b}-{c}"],
}

GREETINGS = {
    "en": ("Hi {},", "Best regards,"),
    "de": ("Hallo {},", "Viele Grüße"),
    "fr": ("Bonjour {},", "Cordialement,"),
    "zh": ("{}，你好：", "此致敬礼"),
    "es": ("Hola {},", "Saludos,"),
    "ru": ("Здравствуйте, {}!", "С уважением,"),
    "ja": ("{}様", "よろしくお願いします。"),
}
HEADINGS = {
    "en": "Chapter {}",
    "zh": "第{}回",
    "de": "Kapitel {}",
    "fr": "Chapitre {}",
    "es": "Capítulo {}",
    "ru": "Глава {}",
    "ja": "第{}章",
}


def between(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high]: ``randint`` with one call to ``random()`` (hot path)."""
    return low + int(rng.random() * (high - low + 1))


def pick(rng: random.Random, items: Sequence[T]) -> T:
    """``rng.choice`` with one call to ``random()`` (hot path)."""
    return items[int(rng.random() * len(items))]


def _luhn_digit(digits: str) -> str:
    """The check digit that makes a card number pass the Luhn test, as card recognizers require."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return str((10 - total % 10) % 10)


def pii_value(kind: str, lang: str, rng: random.Random) -> str:
    """A made-up but well-formed value of ``kind`` (a PII_TEMPLATES key), in ``lang``'s phone format."""
    digits = lambda count: str(between(rng, 0, 10**count - 1)).zfill(count)  # noqa: E731
    if kind == "EMAIL_ADDRESS":
        return (
            f"{pick(rng, FIRST_NAMES).lower()}.{pick(rng, LAST_NAMES).lower()}{between(rng, 1, 99)}"
            f"@{pick(rng, MAIL_DOMAINS)}".replace("ü", "ue")
        )
    if kind == "PHONE_NUMBER":
        return pick(rng, _PHONE_FORMATS[lang]).format(
            a=between(rng, 201, 989),
            b=between(rng, 200, 999),
            c=digits(4),
            p=digits(2),
            q=digits(2),
            r=digits(2),
            s=digits(2),
        )
    if kind == "IP_ADDRESS":
        return f"{between(rng, 11, 223)}.{between(rng, 0, 255)}.{between(rng, 0, 255)}.{between(rng, 1, 254)}"
    body = "4" + digits(14)
    number = body + _luhn_digit(body)
    return " ".join(number[i : i + 4] for i in range(0, 16, 4)) if rng.random() < 0.5 else number
