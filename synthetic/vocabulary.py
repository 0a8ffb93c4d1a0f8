"""Real sentences per language, the raw material of every synthetic document.

Sentences come from ``../shared/data`` (lingua samples, the handbook translations, a few books)
when present, else from a small built-in word list, so the generator also runs on a bare checkout.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LANGS = ("en", "zh", "de", "fr", "ja", "ru", "es")
CJK_LANGS = {"zh", "ja"}
DEFAULT_SHARED_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"

_BOOKS = {
    "en": ["austen-emma", "austen-persuasion", "melville-moby_dick", "chesterton-brown", "chesterton-thursday"],
    "zh": ["红楼梦", "西游记", "水浒传"],
}
_HANDBOOK = {"en": "en-US", "zh": "zh-CN", "de": "de-DE", "fr": "fr-FR", "ja": "ja-JP", "ru": "ru-RU", "es": "es-ES"}
_BOOK_CHARS = 200_000  # read at most this much of each book: enough variety, quick to load
_SENTENCE_END = re.compile(r"([.!?。！？．]+[”」』\"'’)]*)")
_UNSUITABLE = re.compile(r"://|www\.|@|\.\.\.|[#|{}\[\]<>_\\→$=*~^\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_SIX_DIGITS = re.compile(r"\d(?:\D*\d){5}")
_SCRIPT = {
    "zh": re.compile(r"[\u4e00-\u9fff]"),
    "ja": re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]"),
    "ru": re.compile(r"[\u0400-\u04ff]"),
}
_KANA = re.compile(r"[\u3040-\u30ff]")
# Untranslated English sentences hide in the handbook's translations: keep a Latin-script sentence
# only when it has more of its language's function words than of English ones.
_FUNCTION_WORDS = {
    "en": {"the", "and", "of", "to", "is", "that", "with", "for", "you", "this", "it", "are", "can", "be"},
    "de": {"der", "die", "und", "das", "ist", "nicht", "mit", "ein", "eine", "sie", "auf", "den", "zu", "sich", "von"},
    "fr": {"le", "la", "les", "et", "des", "est", "une", "un", "que", "pour", "dans", "pas", "du", "qui", "sur"},
    "es": {"el", "la", "los", "las", "y", "que", "es", "una", "un", "del", "por", "para", "con", "se", "en"},
}

# The fallback without ../shared/data; also the words of the hostile corpus, which must not depend on it.
BUILTIN_WORDS = {
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
    words = BUILTIN_WORDS[lang] if lang in CJK_LANGS else BUILTIN_WORDS[lang].split()
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
    sentences = {
        lang: tuple(_shared_sentences(shared, lang) if use_shared else _builtin_sentences(lang)) for lang in LANGS
    }
    for lang, pool in sentences.items():
        if len(pool) < 100:
            raise ValueError(f"vocabulary for {lang!r} has only {len(pool)} sentences (from {shared})")
    words = {
        lang: tuple(sorted(set(units(" ".join(pool[:3000]), lang)) - {""}))[:20000] for lang, pool in sentences.items()
    }
    return Vocabulary(sentences, words, "shared" if use_shared else "builtin")


def units(text: str, lang: str) -> list[str]:
    """Words, or characters for Chinese and Japanese (the unit of near-duplicate edits and shingles)."""
    return [c for c in text if not c.isspace()] if lang in CJK_LANGS else text.split()
