"""Issue 5's questions — targets by year, measures by agency, agencies by measures led —
answered on a build of the two Chinese sample documents.

Expected values are read off the texts by hand: 国发〔2018〕42号 states three targets
for 2020 in its objectives (农机总动力 over 10 亿千瓦, 灌排机械动力 1.2 亿千瓦,
综合机械化率 70%); its notes name 农业农村部 first for items 七 to 二十 except 十六
(教育部) and 十九 (各省级人民政府), under the 列第一位者为牵头单位，下同 convention stated
in item 三, and 工业和信息化部 first for items 三 to 五, 市场监管总局 for 六. 国办发〔2018〕121号
states no lead convention, so it names no lead agency; 财政部 is named in its items 十二
and 十九, and in items 七, 九, 十二, 十三, 十四, 十五 of the other document.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from policygraph import results
from policygraph.query import run
from tests.conftest import PINNED_EPOCH, REPO

SAMPLES = sorted((REPO / "tests" / "data" / "zh").glob("zh-2018-*.txt"))


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from policygraph.pipeline import build

    out = tmp_path_factory.mktemp("zh") / "build"
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = PINNED_EPOCH
    try:
        build(SAMPLES, out=out)
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous
    return out / "policygraph.nq"


def records(dump: Path, name: str, **params: str) -> list[dict[str, str]]:
    result = run(name, data=[dump], params=params)
    assert isinstance(result, results.Solutions)
    return [{k: v.value for k, v in row.items()} for row in result.records()]


def test_samples_are_the_two_documents() -> None:
    assert len(SAMPLES) == 2


def test_targets_for_2020(dump: Path) -> None:
    rows = records(dump, "targets-by-year", year="2020")
    found = {
        (r["policy"], r["indicator"], r["comparison"], Decimal(r["value"]), r["unit"]) for r in rows
    }
    assert found == {
        ("guofa-2018-42", "全国农机总动力", "exceed", Decimal(10), "hundred million kilowatts"),
        ("guofa-2018-42", "灌排机械动力", "reach", Decimal("1.2"), "hundred million kilowatts"),
        ("guofa-2018-42", "全国农作物耕种收综合机械化率", "reach", Decimal(70), "percent"),
    }


def test_targets_by_year_are_ordered_by_year(dump: Path) -> None:
    years = [r["year"] for r in records(dump, "targets-by-year")]
    assert years == sorted(years)
    assert set(years) == {"2020", "2025"}


def test_measures_of_an_agency(dump: Path) -> None:
    rows = records(dump, "agency-measures", agency="财政部")
    assert {r["name"] for r in rows} == {"Ministry of Finance"}
    assert {(r["policy"], r["item"]) for r in rows} == {
        ("guobanfa-2018-121", "十二"),
        ("guobanfa-2018-121", "十九"),
        *{("guofa-2018-42", n) for n in ("七", "九", "十二", "十三", "十四", "十五")},
    }
    assert {r["leads"] for r in rows} == {"false"}


def test_an_agency_named_in_its_short_form_leads_its_measures(dump: Path) -> None:
    rows = records(dump, "agency-measures", agency="发展改革委")
    assert {r["name"] for r in rows} == {"National Development and Reform Commission"}
    assert {r["leads"] for r in rows} == {"false"}
    rows = records(dump, "agency-measures", agency="农业农村部")
    led = {r["item"] for r in rows if r["leads"] == "true"}
    assert led == {
        "七",
        "八",
        "九",
        "十",
        "十一",
        "十二",
        "十三",
        "十四",
        "十五",
        "十七",
        "十八",
        "二十",
    }


def test_agencies_by_number_of_measures_they_lead(dump: Path) -> None:
    rows = records(dump, "lead-agencies")
    leads = {r["chinese"]: int(r["leads"]) for r in rows}
    assert leads["农业农村部"] == 12
    assert leads["工业和信息化部"] == 3
    assert leads["国家市场监督管理总局"] == 1
    assert leads["国家体育总局"] == 0
    first = rows[0]
    assert first["chinese"] == "农业农村部"
    counts = [int(r["leads"]) for r in rows]
    assert counts == sorted(counts, reverse=True)
