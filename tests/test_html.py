"""html_to_text / html_to_blocks on pages written for these tests."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from dedupe.clean.html import html_to_blocks, html_to_text

PARA = [
    "The city council voted on Tuesday to expand the bus network, adding four routes that will serve the "
    "northern suburbs from next spring, officials said after a long debate.",
    "Supporters argued that the new routes would cut commuting times by a third for thousands of residents, "
    "while critics said the plan was too expensive for a city that is already in debt.",
    "The mayor, who had campaigned on the issue, said she was pleased with the result and that the first buses "
    "would run in March if the regional authority approved the budget in time.",
]

PAGE = f"""<html><head><title>Council expands bus network | Daily Example</title>
<script>var x = "do not show";</script><style>.a{{color:red}}</style></head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li></ul></nav></header>
<div class="layout has-sidebar">
 <article>
  <h1>Council expands bus network</h1>
  <div class="byline">By Jane Doe, 3 March 2024</div>
  <div class="share-tools"><a href="#">Share on Facebook</a> <a href="#">Tweet</a></div>
  <div class="article-body">
   <p>{PARA[0]}</p>
   <figure><img src="bus.jpg"><figcaption>A bus in the city centre. Photo: Example Agency</figcaption></figure>
   <p>{PARA[1]}</p>
   <h2>What happens next</h2>
   <p>{PARA[2]}</p>
   <div class="ad-slot">Advertisement</div>
  </div>
  <div class="related-articles"><h3>Related</h3><ul>
   <li><a href="/a">Tram line delayed again after contractor quits the project</a></li>
   <li><a href="/b">Cycle lanes: what the new plan means for your street</a></li></ul></div>
  <section id="comments"><h3>Comments</h3><p>I think this is a complete waste of money and nobody asked for it, honestly what a joke this council is.</p></section>
 </article>
 <aside class="sidebar"><h3>Most read</h3><p>Some other story that people clicked on a lot this week, with a long teaser sentence.</p></aside>
</div>
<footer><p>Copyright 2024 Daily Example. All rights reserved.</p></footer>
<div style="display:none">Hidden tracking text that must never appear in the output of the cleaner.</div>
</body></html>"""


def test_keeps_article_paragraphs_and_subheading_in_order():
    text = html_to_text(PAGE)
    paras = text.split("\n\n")
    assert paras == [PARA[0], PARA[1], "What happens next", PARA[2]]


@pytest.mark.parametrize("noise", [
    "do not show", "Home", "Council expands bus network", "By Jane Doe", "Share on Facebook",
    "Photo: Example Agency", "Advertisement", "Tram line delayed", "waste of money",
    "Some other story", "Copyright", "Hidden tracking",
])
def test_drops_page_furniture(noise):
    assert noise not in html_to_text(PAGE)


def test_every_dropped_block_has_a_reason():
    blocks = html_to_blocks(PAGE)
    dropped = [b for b in blocks if not b.kept]
    assert dropped and all(b.reason for b in dropped)
    by_text = {b.text: b.reason for b in blocks}
    assert by_text["I think this is a complete waste of money and nobody asked for it, honestly what a joke this council is."] in (
        "outside the article container: reader comments (class/id word 'comments')", "reader comments (class/id word 'comments')")
    assert by_text["Council expands bus network"]  # headline: outside the body or "headline (<h1>)"


def test_article_sentences_mentioning_share_and_related_survive():
    body = ("Shares in the company fell sharply after the related announcement, and social media users "
            "shared images of the empty stores, the news agency reported on Monday evening.")
    page = f"<html><body><div class='content'><p>{body}</p><p>{PARA[0]}</p></div></body></html>"
    assert body in html_to_text(page)


def test_embedded_tweet_is_kept():
    tweet = "We are proud to announce that the bridge will reopen to traffic next week after two years of repairs."
    page = (f"<html><body><article><p>{PARA[0]}</p><blockquote class='twitter-tweet'><p>{tweet}</p></blockquote>"
            f"<p>{PARA[1]}</p></article></body></html>")
    assert tweet in html_to_text(page)


def test_layout_wrapper_with_unlucky_class_name_is_not_boilerplate():
    page = ("<html><body><div class='container penci_sidebar'><div class='post'>"
            + "".join(f"<p>{p}</p>" for p in PARA)
            + "</div><div id='sidebar'><ul><li><a href='/x'>Other</a></li></ul></div></div></body></html>")
    assert html_to_text(page).split("\n\n") == PARA


@pytest.mark.parametrize("html", ["", "   ", "<html></html>", "<p>", "plain text, no tags at all"])
def test_degenerate_input_does_not_crash(html):
    assert isinstance(html_to_text(html), str)


def test_deeply_nested_page_does_not_hit_recursion_limit():
    page = "<div>" * 3000 + f"<p>{PARA[0]}</p>" + "</div>" * 3000
    assert PARA[0] in html_to_text(page)


def test_deterministic():
    assert html_to_text(PAGE) == html_to_text(PAGE)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["<p>", "</p>", "<div class='share'>", "</div>", "<a href='x'>", "</a>",
                                 "<nav>", "</nav>", " word ", PARA[0], PARA[1], "<br>", "<h2>", "</h2>"]), max_size=30))
def test_never_adds_words(parts):
    page = "<html><body>" + "".join(parts) + "</body></html>"
    out = html_to_text(page)
    source = re.sub(r"<[^>]*>", "", "".join(parts))
    assert all(word in source for word in out.split())


def test_data_table_rows_with_descriptive_classes_are_kept():
    """Class words of rows and cells name the data ("player", "date"), not page furniture."""
    rows = "".join(f"<tr class='oddrow player-{i}'><td class='date'>{i}</td><td>Driver {i}</td><td>{5000 - i}</td></tr>"
                   for i in range(1, 6))
    page = (f"<html><body><div class='articleBody'><p>{PARA[0]}</p><table><tr><th>Pos.</th><th>Driver</th>"
            f"<th>Points</th></tr>{rows}</table><p>{PARA[1]}</p></div></body></html>")
    text = html_to_text(page)
    assert "Driver 3" in text and "4997" in text


def test_social_media_embed_in_article_is_kept_share_bar_is_not():
    post = "Yes this is real and yes the state spent nearly half a million dollars on it, the reporter wrote."
    page = (f"<html><body><article><p>{PARA[0]}</p><div class='social-media-embed'><blockquote><p>{post}</p>"
            f"</blockquote></div><p>{PARA[1]}</p><div class='social-share'><a href='#'>Share on Facebook</a></div>"
            f"</article></body></html>")
    text = html_to_text(page)
    assert post in text and "Share on Facebook" not in text


def test_closing_statement_after_body_is_kept_prompt_is_not():
    page = (f"<html><body><article><p>{PARA[0]}</p><p>{PARA[1]}</p><p>Officials declined to comment.</p>"
            f"<p>Like this story? Share it with a friend!</p></article></body></html>")
    paras = html_to_text(page).split("\n\n")
    assert paras == [PARA[0], PARA[1], "Officials declined to comment."]


def test_double_br_splits_paragraphs_single_br_does_not():
    """Issue 19.3: two or more <br> in a row (whitespace between allowed) end a paragraph."""
    body = f"{PARA[0]}<br><br>{PARA[1]}<br> \n <br/>\n<br>{PARA[2]}"
    page = f"<html><body><article><div>{body}</div></article></body></html>"
    assert html_to_text(page).split("\n\n") == PARA
    one = f"<html><body><article><p>{PARA[0]}<br>{PARA[1]}</p></article></body></html>"
    assert html_to_text(one) == f"{PARA[0]} {PARA[1]}"


# --- issue 19.3: page metadata and the HTML stage's removals --------------------------------

from dedupe.clean.cleaner import clean_and_explain, clean_document  # noqa: E402
from dedupe.clean.html import html_page, html_rule  # noqa: E402
from dedupe.clean.rules import RULES_BY_NAME  # noqa: E402
from dedupe.config import Config  # noqa: E402
from dedupe.model import Document  # noqa: E402

BODY = "<body><article>" + "".join(f"<p>{p}</p>" for p in PARA) + "</article></body>"


def _head(*tags: str) -> str:
    return "<html><head>" + "".join(tags) + "</head>" + BODY + "</html>"


@pytest.mark.parametrize("head,title", [
    (['<meta property="og:title" content="Council expands bus network">', "<title>Buses | Daily Example</title>"],
     "Council expands bus network"),
    (["<title>Council expands bus network | Daily Example</title>"], "Council expands bus network"),
    (['<meta property="og:site_name" content="Daily Example">', "<title>Council expands bus network - Daily Example</title>"],
     "Council expands bus network"),
    # " - " is common inside headlines: without og:site_name it is not taken for a site suffix
    (["<title>Council expands bus network - and cuts fares</title>"], "Council expands bus network - and cuts fares"),
    # a long last " | " part is part of the headline
    (["<title>Budget 2024 | What the new tax rules mean for you</title>"], "Budget 2024 | What the new tax rules mean for you"),
    ([], None),
])
def test_page_title(head, title):
    assert html_page(_head(*head)).title == title


@pytest.mark.parametrize("head,url", [
    (['<link rel="canonical" href="https://example.com/bus">', '<meta property="og:url" content="https://example.com/og">'],
     "https://example.com/bus"),
    (['<meta property="og:url" content="https://example.com/og">'], "https://example.com/og"),
    (['<link rel="canonical" href="/bus">'], None),  # relative: cannot stand alone
    ([], None),
])
def test_page_url(head, url):
    assert html_page(_head(*head)).url == url


def test_clean_document_fills_title_and_url_but_keeps_given_ones_and_source():
    page = _head("<title>Council expands bus network | Daily Example</title>",
                 '<link rel="canonical" href="https://example.com/bus">')
    cleaned = clean_document(Document(id="a", source="folder-name", text=page, kind="html"), Config())
    doc = cleaned.document
    assert (doc.title, doc.url, doc.source) == ("Council expands bus network", "https://example.com/bus", "folder-name")
    assert cleaned.paragraphs == tuple(PARA)
    given_doc = Document(id="a", source="s", text=page, kind="html", title="Given", url="https://given.example/x")
    doc = clean_document(given_doc, Config()).document
    assert (doc.title, doc.url) == ("Given", "https://given.example/x")


def test_html_removals_are_listed_with_rule_and_reason():
    page = PAGE.replace("<body>", "<body><script>window.track = 1;</script>")
    text, removals = clean_and_explain(page, kind="html")
    assert text.split("\n\n") == [PARA[0], PARA[1], "What happens next", PARA[2]]
    rules = {r.rule for r in removals}
    assert {"html-script", "html-nav", "html-aside", "html-footer", "html-comments", "html-hidden", "html-ad"} <= rules
    for r in removals:
        assert r.rule in RULES_BY_NAME and r.reason and r.where.startswith("html block ")
        assert len(r.text) <= 80
    assert any(r.rule == "html-nav" and r.text == "Home" for r in removals)
    assert not any(p in r.text for r in removals for p in PARA)  # kept text is never reported as removed


def test_html_rule_names():
    assert html_rule("outside the article container: navigation (<nav>)") == "html-nav"
    assert html_rule("outside the article container") == "html-outside-article"
    assert html_rule("link list: 90% of the text is links") == "html-link-list"
    assert html_rule("something new") == "html-other"


def test_cli_clean_explain_lists_html_removals(tmp_path):
    from click.testing import CliRunner

    from dedupe.cli import main

    path = tmp_path / "page.html"
    path.write_text(PAGE, encoding="utf-8")
    result = CliRunner().invoke(main, ["clean", "--explain", str(path)])
    assert result.exit_code == 0, result.output
    assert PARA[0] in result.stdout
    assert "\thtml-nav\t" in result.stderr and "\thtml-aside\t" in result.stderr


def test_run_fills_html_title_and_url():
    """`dedupe run` (the pipeline's two passes) gives HTML documents their page's title and URL."""
    from dedupe import run

    page = _head("<title>Council expands bus network | Daily Example</title>",
                 '<meta property="og:url" content="https://example.com/bus">')
    docs = [Document(id="h", source="folder", text=page, kind="html"),
            Document(id="g", source="folder", text=page, kind="html", title="Given"),
            Document(id="t", source="folder", text="Headline\n\n" + PARA[0])]
    by_id = {c.document.id: c.document for c in run(docs).documents}
    assert (by_id["h"].title, by_id["h"].url, by_id["h"].source) == (
        "Council expands bus network", "https://example.com/bus", "folder")
    assert (by_id["g"].title, by_id["g"].url) == ("Given", "https://example.com/bus")
    assert (by_id["t"].title, by_id["t"].url) == (None, None)


def test_a_short_post_under_its_headline_beats_a_longer_thread_elsewhere_on_the_page():
    # a blog post or a news summary (worth over HEADLINE_CONTAINER_SHARE of the thread), a link
    # list, and a longer run of reader posts with no class to name them
    post = ("The council approved the new bus routes on Tuesday after a short debate, and the first "
            "services will start in March if the budget passes next month.")
    thread = [f"Reader {n} wrote that the buses would be empty most of the day and that the money should go to "
              f"fixing the roads first, which have been in a terrible state for years now." for n in range(6)]
    page = ("<html><head><title>Council approves bus routes</title></head><body>"
            "<div><h1>Council approves bus routes</h1><p>" + post + "</p><p>" + PARA[1] + "</p></div>"
            "<div>" + "".join(f'<p><a href="/s/{n}">Another story from the city desk, number {n}, read it here</a></p>'
                              for n in range(8)) + "</div>"
            "<div>" + "".join(f"<p>{t}</p>" for t in thread) + "</div></body></html>")
    text = html_to_text(page)
    assert post in text
    assert thread[0] not in text
