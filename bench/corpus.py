"""Generate a benchmark corpus of policy documents in both layouts the parser reads.

Run: ``python bench/corpus.py --n 1000 --seed 42 --out DIR``.

Why synthetic: the issue's scale targets (10,000 documents) need far more documents
than the project ships, and they must be reproducible, so the same seed always writes
the same bytes. The documents follow the layouts of the real ones (see ``sources/`` and
``tests/data/``): English translations with Roman-numeral chapters and "1." items, and
Chinese originals with 国发〔YYYY〕N号 numbers, 一、 chapters and （一） items. Theme
words and agency names are read from ``vocab/`` so that measures get themes and
agencies resolve, as they would for real documents; documents cite earlier ones (by
title, and in Chinese also by number) and some documents outside the corpus.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, Literal
from rdflib.namespace import SKOS

ROOT = Path(__file__).resolve().parent.parent
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
ZH_NUM = "一二三四五六七八九十"
EN_TYPES = ("Guiding Opinions", "Action Plan", "Implementation Plan", "Notice")
ZH_TYPES = ("指导意见", "实施意见", "行动计划", "实施方案")
EN_ISSUERS = (
    "the State Council",
    "the General Office of the State Council",
    "CPC Central Committee and State Council",
)
ZH_ISSUERS = (("国务院", "国发"), ("国务院办公厅", "国办发"))
EN_VERBS = ("Strengthen", "Promote", "Improve", "Expand", "Support", "Accelerate", "Deepen")
ZH_VERBS = ("加强", "推进", "完善", "扩大", "支持", "加快", "深化")
EN_CHAPTERS = ("Main Tasks", "Key Measures", "Safeguard Measures", "Reform and Innovation",
               "Organization and Implementation", "Policy Support")  # fmt: skip
ZH_CHAPTERS = ("重点任务", "主要举措", "保障措施", "深化改革创新", "组织实施", "政策支持")
EN_INDICATORS = ("coverage rate", "qualification rate", "penetration rate", "utilization rate")
ZH_INDICATORS = ("覆盖率", "合格率", "普及率", "利用率")
# Documents cited that are not in the corpus: the links stage must leave them unresolved.
EN_OUTSIDE = ("National Programme for Medium- and Long-Term Development Plan",
              "Outline of the Strategy for Building a Strong Quality Country")  # fmt: skip
ZH_OUTSIDE = (("质量强国建设纲要", "中发〔2023〕1号"), ("国家中长期科学和技术发展规划纲要", None))
# Agencies that lead or share work on measures; the rest of the vocabulary are
# issuers and addressees rather than departments.
AGENCY_ENDINGS = ("部", "委", "局", "署", "总局", "银行", "监会")


@dataclass
class Vocab:
    """Theme labels and agency short names, read from the project's vocabularies."""

    en_themes: list[str] = field(default_factory=list)
    zh_themes: list[str] = field(default_factory=list)
    zh_agencies: list[str] = field(default_factory=list)


def _labels(path: Path, lang: str) -> list[str]:
    graph = Graph().parse(path)
    found = {
        str(o)
        for p in (SKOS.prefLabel, SKOS.altLabel)
        for o in graph.objects(None, p)
        if isinstance(o, Literal) and o.language == lang
    }
    return sorted(found)  # sorted: graph order is not stable, the corpus must be


def load_vocab() -> Vocab:
    """Labels usable as words of generated text (sorted, so the seed decides everything)."""
    en = [w for w in _labels(ROOT / "vocab/themes.ttl", "en") if w.isascii() and "(" not in w]
    zh = [w for w in _labels(ROOT / "vocab/themes.ttl", "zh") if 2 <= len(w) <= 6]
    agencies = [
        w
        for w in _labels(ROOT / "vocab/organizations.ttl", "zh")
        if w.endswith(AGENCY_ENDINGS) and len(w) <= 10 and not w.startswith("各")
    ]
    return Vocab([w.lower() for w in en], zh, agencies)


@dataclass
class Doc:
    """What other documents need to know about one document: to cite it."""

    language: str
    title: str
    number: str | None
    year: int


def _plan(n: int, rng: random.Random) -> list[Doc]:
    """Titles, numbers and years for all documents first, so citations can name any earlier one."""
    docs: list[Doc] = []
    used_numbers: set[tuple[str, int, int]] = set()
    for index in range(n):
        year = rng.randint(2012, 2024)
        if rng.random() < 0.5:
            kind = rng.choice(EN_TYPES)
            issuer = rng.choice(EN_ISSUERS)
            docs.append(Doc("en", f"{kind} of {issuer} on", None, year))
        else:
            issuer, prefix = rng.choice(ZH_ISSUERS)
            seq = index + 1  # unique per (prefix, year) because unique overall
            used_numbers.add((prefix, year, seq))
            docs.append(Doc("zh", issuer, f"{prefix}〔{year}〕{seq}号", year))
    return docs


def _en_title(doc: Doc, index: int, vocab: Vocab, rng: random.Random) -> str:
    a, b = rng.sample(vocab.en_themes, 2)
    # The programme number makes the subject, hence the document id, unique.
    return f"{doc.title} Programme {index + 1} for Developing {a.title()} and {b.title()}"


def _zh_title(doc: Doc, index: int, vocab: Vocab, rng: random.Random) -> str:
    a, b = rng.sample(vocab.zh_themes, 2)
    return f"{doc.title}关于第{index + 1}批试点推进{a}和{b}发展的{rng.choice(ZH_TYPES)}"


def _en_targets(year: int, vocab: Vocab, rng: random.Random) -> str:
    goal = min(year + rng.randint(3, 8), 2035)
    sentences = [
        f"By {goal}, the {rng.choice(vocab.en_themes)} {rng.choice(EN_INDICATORS)} "
        f"will reach {rng.randint(50, 98)}%."
        for _ in range(rng.randint(1, 3))
    ]
    sentences.append(f"By {goal}, a sound system of {rng.choice(vocab.en_themes)} will be built.")
    return " ".join(sentences)


def _zh_targets(year: int, vocab: Vocab, rng: random.Random) -> str:
    goal = min(year + rng.randint(3, 8), 2035)
    clauses = [
        f"{rng.choice(vocab.zh_themes)}{rng.choice(ZH_INDICATORS)}达到{rng.randint(50, 98)}%"
        for _ in range(rng.randint(1, 3))
    ]
    return f"到{goal}年，" + "，".join(clauses) + f"，{rng.choice(vocab.zh_themes)}体系基本建立。"


def _en_citation(docs: list[Doc], index: int, rng: random.Random) -> str:
    earlier = [d for d in docs[:index] if d.language == "en"]
    if earlier and rng.random() < 0.7:
        return f'To carry out the "{rng.choice(earlier).title}", the following measures are taken.'
    return f'In line with the "{rng.choice(EN_OUTSIDE)}", the following measures are taken.'


def _zh_citation(docs: list[Doc], index: int, rng: random.Random) -> str:
    earlier = [d for d in docs[:index] if d.language == "zh"]
    if earlier and rng.random() < 0.7:
        cited = rng.choice(earlier)
        if rng.random() < 0.5:
            return f"为贯彻落实《{cited.title}》（{cited.number}），现提出以下意见。"
        return f"按照{cited.number}文件要求，现提出以下意见。"
    title, number = rng.choice(ZH_OUTSIDE)
    tail = f"（{number}）" if number else ""
    return f"为贯彻落实《{title}》{tail}，现提出以下意见。"


def _en_document(docs: list[Doc], index: int, vocab: Vocab, rng: random.Random) -> str:
    doc = docs[index]
    lines = []
    if rng.random() < 0.4:  # a title wrapped over two lines, as in translations
        words = doc.title.split(" ")
        cut = len(words) // 2
        lines += [" ".join(words[:cut]), " ".join(words[cut:])]
    else:
        lines.append(doc.title)
    lines.append(f"({MONTHS[rng.randrange(12)]} {rng.randint(1, 28)}, {doc.year})")
    lines += ["", _en_citation(docs, index, rng), ""]
    restart = rng.random() < 0.3
    number = 0
    chapters = rng.randint(3, 8)
    for c in range(chapters):
        number = 0 if restart else number
        if c == 0:
            lines.append("I. General Requirements")
            lines += ["1. Guiding Thought", "2. Main Objectives", _en_targets(doc.year, vocab, rng)]
            number = 2
            lines.append("")
            continue
        lines.append(f"{ROMAN[c]}. {rng.choice(EN_CHAPTERS)}")
        for _ in range(rng.randint(2, 7)):
            number += 1
            verb, theme = rng.choice(EN_VERBS), rng.choice(vocab.en_themes)
            lines.append(f"{number}. {verb} {theme} work")
            if rng.random() < 0.6:
                other = rng.choice(vocab.en_themes)
                lines.append(
                    f"We will improve policies on {theme} and {other}, and support pilot "
                    f"projects in {rng.randint(5, 40)} regions."
                )
        lines.append("")
    lines.append(
        f"(Source: {rng.choice(('Xinhua', 'gov.cn', 'State Council Information Office'))})"
    )
    return "\n".join(lines) + "\n"


def _zh_responsibility(vocab: Vocab, rng: random.Random, first: bool) -> str:
    names = rng.sample(vocab.zh_agencies, rng.randint(1, 3))
    note = "列第一位者为牵头单位，下同" if first else ""
    return f"（{'、'.join(names)}等负责。{note}）" if note else f"（{'、'.join(names)}等负责）"


def _zh_document(docs: list[Doc], index: int, vocab: Vocab, rng: random.Random) -> str:
    doc = docs[index]
    issuer = doc.title[: doc.title.index("关于")]
    lines = [doc.title, doc.number or "", ""]
    lines.append("各省、自治区、直辖市人民政府，国务院各部委、各直属机构：")
    lines.append(_zh_citation(docs, index, rng))
    lines.append("一、总体要求")
    lines.append("（一）指导思想。坚持新发展理念，推动高质量发展。")
    lines.append(f"（二）发展目标。{_zh_targets(doc.year, vocab, rng)}")
    number = 2
    first_note = True
    for c in range(1, rng.randint(3, 8)):
        lines.append(f"{ZH_NUM[c]}、{rng.choice(ZH_CHAPTERS)}")
        for _ in range(rng.randint(2, 7)):
            number += 1
            verb, theme = rng.choice(ZH_VERBS), rng.choice(vocab.zh_themes)
            body = f"完善{theme}和{rng.choice(vocab.zh_themes)}政策，开展试点示范。"
            if rng.random() < 0.6:
                body += _zh_responsibility(vocab, rng, first_note)
                first_note = False
            lines.append(f"（{_zh_count(number)}）{verb}{theme}工作。{body}")
    lines += [
        issuer,
        f"{doc.year}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日",
        "（此件公开发布）",
    ]
    return "\n".join(lines) + "\n"


def _zh_count(n: int) -> str:
    """一 … 九十九: Chinese numerals for item numbers."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else ZH_NUM[tens - 1] + "十")
    return head + (ZH_NUM[ones - 1] if ones else "")


def generate(n: int, seed: int, out: Path) -> list[Path]:
    """Write ``n`` documents into ``out``; the same ``seed`` gives the same bytes."""
    rng = random.Random(seed)
    vocab = load_vocab()
    docs = _plan(n, rng)
    for index, doc in enumerate(docs):
        make = _en_title if doc.language == "en" else _zh_title
        doc.title = make(doc, index, vocab, rng)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for index, doc in enumerate(docs):
        write = _en_document if doc.language == "en" else _zh_document
        path = out / f"{doc.language}-{index + 1:05d}.txt"
        path.write_text(write(docs, index, vocab, rng), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: --n, --seed, --out."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100, help="number of documents")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    args = parser.parse_args(argv)
    if args.out.exists() and any(args.out.glob("*.txt")):
        print(f"{args.out}: already holds .txt files; use an empty folder", file=sys.stderr)
        return 2
    written = generate(args.n, args.seed, args.out)
    print(f"{len(written)} documents in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
