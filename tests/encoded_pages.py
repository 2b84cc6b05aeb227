"""News pages written for the encoding tests, one per legacy encoding a crawl meets, each in
a language that encoding is used for.  ``page(lang, declare=...)`` builds the HTML;
``benchmarks/encodings.py`` measures detectors on the same texts."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

#: (language, encoding, headline, paragraphs): the article a page carries.
ARTICLES: Dict[str, Tuple[str, str, List[str]]] = {
    "fr": ("windows-1252", "Le conseil municipal adopte le budget après un long débat", [
        "Après plus de six heures de débat, le conseil municipal a adopté mercredi soir un budget de "
        "412 millions d'euros, en hausse de 3,5 % par rapport à l'année précédente.",
        "La majorité a défendu des dépenses accrues pour les écoles, les crèches et l'entretien des "
        "routes, tandis que l'opposition a dénoncé une « fuite en avant » fiscale.",
        "« Nous avons fait des choix difficiles, mais nécessaires », a déclaré la maire, qui a promis "
        "que la taxe foncière n'augmenterait pas l'an prochain.",
        "Le texte prévoit également la rénovation de la piscine municipale, fermée depuis février "
        "après la découverte de fissures dans le bassin principal.",
    ]),
    "cs": ("iso-8859-2", "Zastupitelstvo schválilo rozpočet po dlouhé debatě", [
        "Po více než šesti hodinách jednání schválilo městské zastupitelstvo ve středu večer rozpočet "
        "ve výši 412 milionů korun, o tři a půl procenta vyšší než loni.",
        "Koalice hájila vyšší výdaje na školy, školky a údržbu silnic, opozice naopak kritizovala "
        "rostoucí zadlužení města a žádala úspory na úřadě.",
        "\"Museli jsme udělat těžká, ale nutná rozhodnutí,\" řekla starostka, která slíbila, že daň "
        "z nemovitostí se příští rok zvyšovat nebude.",
        "Rozpočet počítá také s opravou městského koupaliště, které je zavřené od února, kdy byly "
        "v hlavním bazénu objeveny praskliny.",
    ]),
    "ru": ("koi8-r", "Городской совет принял бюджет после долгих споров", [
        "После более чем шестичасового обсуждения городской совет в среду вечером утвердил бюджет "
        "в размере 412 миллионов рублей, что на три с половиной процента больше прошлогоднего.",
        "Большинство защищало рост расходов на школы, детские сады и ремонт дорог, а оппозиция "
        "заявила, что город живёт не по средствам и откладывает трудные решения.",
        "\"Мы сделали непростой, но необходимый выбор\", - сказала мэр, пообещав, что налог на "
        "имущество в следующем году повышаться не будет.",
        "Бюджет также предусматривает ремонт городского бассейна, закрытого с февраля после того, "
        "как в главной чаше обнаружили трещины.",
    ]),
    "ja": ("shift_jis", "市議会、長い議論の末に予算案を可決", [
        "市議会は水曜日の夜、六時間を超える審議の末、総額四百十二億円の予算案を賛成多数で可決した。"
        "前年度と比べて三・五パーセントの増額となる。",
        "与党は学校や保育所、道路の維持管理への支出拡大を擁護したが、野党は財政の悪化を招くとして"
        "強く反発し、事業の見直しを求めた。",
        "市長は「難しいが必要な選択をした」と述べ、来年度は固定資産税を引き上げないと約束した。",
        "予算には、二月に主要なプールでひび割れが見つかって閉鎖されている市民プールの改修費も"
        "盛り込まれた。",
    ]),
    "ko": ("euc-kr", "시의회, 긴 논쟁 끝에 예산안 통과", [
        "시의회는 수요일 밤 여섯 시간이 넘는 논의 끝에 총 4120억 원 규모의 예산안을 통과시켰다. "
        "이는 지난해보다 3.5퍼센트 늘어난 규모다.",
        "여당은 학교와 어린이집, 도로 유지 보수에 대한 지출 확대를 옹호했지만, 야당은 재정 악화를 "
        "우려하며 사업 재검토를 요구했다.",
        "시장은 \"어렵지만 꼭 필요한 선택을 했다\"며 내년에는 재산세를 올리지 않겠다고 약속했다.",
        "예산에는 지난 2월 주 수영장에서 균열이 발견돼 문을 닫은 시립 수영장의 보수 비용도 "
        "포함됐다.",
    ]),
    "zh": ("gbk", "市议会经过长时间辩论通过预算案", [
        "经过六个多小时的讨论，市议会于周三晚间以多数票通过了总额为四十一亿二千万元的预算案，"
        "比上一年度增加百分之三点五。",
        "执政党为增加学校、幼儿园和道路养护方面的支出进行辩护，反对党则批评这将使财政状况恶化，"
        "并要求重新审查相关项目。",
        "市长表示：“我们做出了艰难但必要的选择。”她承诺明年不会提高房产税。",
        "预算还包括修缮市立游泳池的费用。该游泳池自二月在主池发现裂缝后一直关闭。",
    ]),
    "zh-Hant": ("big5", "市議會經過長時間辯論通過預算案", [
        "經過六個多小時的討論，市議會於週三晚間以多數票通過了總額為四十一億二千萬元的預算案，"
        "比上一年度增加百分之三點五。",
        "執政黨為增加學校、幼兒園和道路養護方面的支出進行辯護，反對黨則批評這將使財政狀況惡化，"
        "並要求重新審查相關項目。",
        "市長表示：「我們做出了艱難但必要的選擇。」她承諾明年不會提高房屋稅。",
        "預算還包括修繕市立游泳池的費用。該游泳池自二月在主池發現裂縫後一直關閉。",
    ]),
}


def page(lang: str, declare: Optional[str] = "meta", label: Optional[str] = None) -> bytes:
    """The article of ``lang`` as an HTML page in its legacy encoding.  ``declare``: ``meta``
    (``<meta charset>``), ``http-equiv`` (the older form), or None (no declaration);
    ``label``: the label declared (default: the encoding's own name)."""
    encoding, headline, paragraphs = ARTICLES[lang]
    label = label or encoding
    head = {"meta": f'<meta charset="{label}">',
            "http-equiv": f'<meta http-equiv="Content-Type" content="text/html; charset={label}">',
            None: ""}[declare]
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    html = (f"<!DOCTYPE html>\n<html lang=\"{lang}\"><head>{head}<title>{headline}</title></head>\n"
            f"<body><nav><a href=\"/\">Home</a></nav><article><h1>{headline}</h1>\n{body}</article></body></html>\n")
    return html.encode(encoding)
