"""Scripts written without spaces (Chinese, Japanese, Thai): the article is found, never emptied.

The pages are written for these tests.  Word counts of such text are in characters
(``stopwords.word_count``), so a paragraph of 60 Chinese characters is as wordy as one of
30 English words, and a sentence ends in "。" as in ".".
"""
from __future__ import annotations

import pytest

from dedupe import clean_text, html_to_text
from dedupe.clean.content import line_features
from dedupe.clean.stopwords import is_unspaced, word_count

ARTICLES = {
    "zh": {
        "title": "市议会批准扩建公交网络",
        "paragraphs": [
            "市议会周二以多数票通过了扩建城市公交网络的计划，新增四条线路将连接北部的几个新住宅区和市中心的火车站。",
            "支持者表示，这项计划将使数万名通勤者的出行时间缩短约三分之一，同时减少早晚高峰时段的道路拥堵和空气污染。",
            "批评者则认为，在城市财政已经十分紧张的情况下，这笔超过二十亿元的投资过于昂贵，应当优先维修现有的道路和桥梁。",
            "市长在会后对记者说，第一条新线路预计将在明年春季开通，其余三条线路将在之后的两年内陆续投入运营。",
        ],
        "menu": ["首页", "新闻", "财经", "体育", "娱乐", "分享到微信", "© 2024 示例日报 版权所有"],
    },
    "ja": {
        "title": "市議会、バス路線網の拡大を承認",
        "paragraphs": [
            "市議会は火曜日、市内のバス路線網を拡大する計画を賛成多数で可決し、北部の新しい住宅地と中心部の駅を結ぶ四つの新路線が設けられることになった。",
            "賛成派は、この計画によって何万人もの通勤者の移動時間が約三分の一短くなり、朝夕のラッシュ時の渋滞や大気汚染も減ると説明している。",
            "一方で反対派は、市の財政がすでに厳しい中で二十億円を超える投資は高すぎるとして、既存の道路や橋の補修を優先すべきだと主張した。",
            "市長は会見で、最初の新路線は来年の春に開業する見通しで、残る三路線もその後二年以内に順次運行を始めると述べた。",
        ],
        "menu": ["ホーム", "ニュース", "経済", "スポーツ", "エンタメ", "シェアする", "© 2024 サンプル新聞社"],
    },
    "th": {
        "title": "สภาเมืองอนุมัติแผนขยายเครือข่ายรถประจำทาง",
        "paragraphs": [
            "สภาเมืองลงมติเห็นชอบแผนขยายเครือข่ายรถประจำทางเมื่อวันอังคาร โดยจะมีเส้นทางใหม่สี่สายเชื่อมหมู่บ้านทางตอนเหนือกับสถานีรถไฟกลางเมือง",
            "ผู้สนับสนุนกล่าวว่าแผนนี้จะช่วยลดเวลาเดินทางของผู้โดยสารหลายหมื่นคนลงประมาณหนึ่งในสาม และช่วยลดปัญหารถติดในชั่วโมงเร่งด่วน",
            "ฝ่ายคัดค้านเห็นว่าการลงทุนกว่าสองพันล้านบาทนั้นแพงเกินไปในช่วงที่งบประมาณของเมืองตึงตัว และควรซ่อมแซมถนนเดิมก่อน",
            "นายกเทศมนตรีกล่าวกับผู้สื่อข่าวว่าเส้นทางแรกจะเปิดให้บริการในฤดูใบไม้ผลิปีหน้า และอีกสามเส้นทางจะตามมาภายในสองปี",
        ],
        "menu": ["หน้าแรก", "ข่าว", "เศรษฐกิจ", "กีฬา", "บันเทิง", "แชร์", "© 2024 หนังสือพิมพ์ตัวอย่าง สงวนลิขสิทธิ์"],
    },
}


def _html(a: dict) -> str:
    nav = "".join(f'<li><a href="/{i}">{m}</a></li>' for i, m in enumerate(a["menu"][:5]))
    body = "".join(f"<p>{p}</p>" for p in a["paragraphs"])
    return (f"<html><head><title>{a['title']}</title></head><body><nav><ul>{nav}</ul></nav>"
            f"<article><h1>{a['title']}</h1>{body}</article>"
            f"<footer><p>{a['menu'][-1]}</p></footer></body></html>")


@pytest.mark.parametrize("lang", sorted(ARTICLES))
def test_words_are_counted_in_characters(lang):
    for para in ARTICLES[lang]["paragraphs"]:
        assert is_unspaced(para)
        assert word_count(para) >= 20  # a paragraph, not a label
        assert line_features(para).prose
    for item in ARTICLES[lang]["menu"][:5]:
        assert word_count(item) <= 5


@pytest.mark.parametrize("lang", sorted(ARTICLES))
def test_html_page_keeps_every_paragraph_and_drops_the_chrome(lang):
    a = ARTICLES[lang]
    out = html_to_text(_html(a))
    for para in a["paragraphs"]:
        assert para in out
    for item in a["menu"][:5]:
        assert item not in out.split("\n\n")
    assert a["menu"][-1] not in out


@pytest.mark.parametrize("lang", sorted(ARTICLES))
def test_naive_scrape_keeps_every_paragraph_and_drops_the_menu(lang):
    a = ARTICLES[lang]
    scrape = "\n".join(a["menu"][:5] + [a["title"]] + a["paragraphs"] + a["menu"][5:])
    out = clean_text(scrape).split("\n\n")
    for para in a["paragraphs"]:
        assert para in out
    assert a["menu"][-1] not in out  # the copyright line
    assert not set(a["menu"][:5]) & set(out)


@pytest.mark.parametrize("lang", sorted(ARTICLES))
def test_one_paragraph_page_is_not_emptied(lang):
    a = ARTICLES[lang]
    page = f"<html><body><div>{a['paragraphs'][0]}</div></body></html>"
    assert html_to_text(page) == a["paragraphs"][0]
    assert clean_text(a["paragraphs"][0]) == a["paragraphs"][0]


@pytest.mark.parametrize("lang", sorted(ARTICLES))
def test_paragraphs_after_a_block_of_captions_stay(lang):
    # Text in these scripts is weighed per word, not per character: a paragraph of 50 Chinese
    # characters says as much as 150 Latin letters, so the article span reaches across three
    # short caption lines to the paragraphs after them (it used to stop before them).
    a = ARTICLES[lang]
    captions = [a["menu"][1] + "（图）", a["menu"][2] + "：资料", a["menu"][3] + "摄影"]
    scrape = "\n".join(a["menu"][:5] + [a["title"]] + a["paragraphs"][:2] + captions + a["paragraphs"][2:])
    out = clean_text(scrape).split("\n\n")
    for para in a["paragraphs"]:
        assert para in out
