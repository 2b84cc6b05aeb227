"""content.filter_lines on naive scrapes written for these tests."""
from __future__ import annotations

from dedupe.clean.content import filter_lines, line_features

ARTICLE = [
    "The city council voted on Tuesday to expand the bus network, adding four routes that will serve the northern suburbs from next spring.",
    "Supporters argued that the new routes would cut commuting times by a third for thousands of residents in the area.",
    "What happens next",
    "The mayor said she was pleased with the result and that the first buses would run in March if the budget is approved.",
    "Critics, however, said the plan was too expensive for a city that is already deeply in debt and should be reconsidered.",
]
MENU = ["Home", "News", "Sport", "Business", "Weather", "Culture", "Travel", "Video"]
FOOTER = ["Share this:", "Facebook", "Twitter", "Email", "Print", "3 hours ago",
          "Copyright © 2024 Daily Example. All rights reserved.",
          "This website uses cookies to improve your experience. Accept cookies to continue browsing."]
COMMENTS = ["12 Comments",
            "What a waste of public money, nobody in my street will ever use these buses and the council knows it.",
            "I disagree completely, the buses will help thousands of people who cannot afford a car in this city."]


def kept(lines):
    return [l for l, why in zip(lines, filter_lines(lines)) if why is None]


def test_keeps_headline_and_article_with_subheading_drops_menu_byline_footer_and_comments():
    # the headline shares "council", "bus" and "network" with the lede: it is this article's
    page = MENU + ["Council expands bus network", "By Jane Doe"] + ARTICLE + FOOTER + COMMENTS
    assert kept(page) == ["Council expands bus network"] + ARTICLE
    # another story's title there is not
    assert kept(MENU + ["Rail strike called off", "By Jane Doe"] + ARTICLE + FOOTER) == ARTICLE


def test_every_removal_has_a_reason_and_lengths_match():
    page = MENU + ARTICLE + FOOTER
    verdicts = filter_lines(page)
    assert len(verdicts) == len(page)
    assert all(isinstance(v, str) and v for v in verdicts[: len(MENU)])


def test_article_sentences_with_noise_words_survive():
    article = [
        "Shares in the company fell after the announcement, and readers shared images of the empty stores on social media.",
        "Read more about the plan, the mayor told reporters, in the report the council will publish on its website next week.",
        "The related investigation into the contractor, which has been criticised for delays, will continue until the summer.",
    ]
    assert kept(MENU + article + FOOTER) == article


def test_no_prose_keeps_everything():
    assert filter_lines(MENU) == [None] * len(MENU)
    assert filter_lines([]) == []


def test_stable_on_its_own_output():
    page = MENU + ARTICLE + FOOTER + COMMENTS
    once = kept(page)
    assert kept(once) == once


def test_list_of_sentences_inside_the_article_is_kept():
    items = ["Buy fresh vegetables on Monday.", "Cook the rice in advance.", "Freeze half of the soup."]
    page = MENU + ARTICLE[:2] + items + ARTICLE[3:] + FOOTER
    assert kept(page) == ARTICLE[:2] + items + ARTICLE[3:]


def test_line_features():
    f = line_features(ARTICLE[0])
    assert f.prose and f.sentence_end and f.words > 10
    assert not line_features("Home").prose
    assert line_features("Copyright © 2024 Example").chrome == "copyright"


def test_list_inside_a_short_article_keeps_the_prose_above_it():
    """Issue 19.1: the list's short lines split the span and the smaller half above it was dropped."""
    top = ["The carmaker Vantor will build a battery plant on the old colliery site, it said on Monday.",
           "The site was chosen over two rivals in the north, the firm said."]
    bottom = ARTICLE[3:]
    for items in (["- 1,200 jobs", "- $2.1bn investment", "- Opens 2027"],
                  ["1,200 jobs", "$2.1bn investment", "Opens 2027"]):
        page = top + ["Key figures:"] + items + bottom
        assert kept(page) == page
        assert kept(MENU + page + FOOTER) == page


def test_lead_in_list_needs_text_after_it():
    """A "Follow us:" block after the article, with no prose after it, is still a link list."""
    page = ARTICLE + ["Follow us:", "Facebook page", "Instagram feed", "Weekly podcast"]
    assert kept(page) == ARTICLE


TEASERS = [
    "Rail strike called off after late-night talks between the union and the operator end in agreement on pay.",
    "New library opens in the old town hall with space for ten thousand books and a children's reading room.",
    "Local bakery wins national award for its sourdough loaf after three years of trying to get on the list.",
]


def test_a_page_that_prints_its_article_twice_keeps_one_copy():
    # a print view or a second rendering: the repeat is noise, the article itself is not
    # (each copy used to count as "printed twice" and the page came out without its article)
    page = MENU + ARTICLE + FOOTER + ARTICLE
    assert kept(page) == ARTICLE
    out = filter_lines(page)
    assert all(why is None for why in out[len(MENU):len(MENU) + len(ARTICLE)])


def test_a_teaser_block_printed_twice_beside_the_article_goes_whole():
    # the article has paragraphs of its own: the repeated block is the site's, both copies go
    page = TEASERS + ARTICLE + MENU + TEASERS
    assert kept(page) == ARTICLE


POST2 = [
    "The library will open its new reading room on Saturday, with space for two hundred readers and a cafe on the ground floor.",
    "Volunteers have spent the summer moving the collection, and the librarian said the last boxes would be unpacked by Friday night.",
    "Opening hours will be extended to ten in the evening during the exam season, the council said in a statement on its website.",
    "The building, a former bank, was bought by the council in 2019 for a fraction of its value after the branch closed its doors.",
    "Architects kept the old vault, which will house the local history collection and a small exhibition about the town's mills.",
]


def test_section_headings_that_mention_discussion_or_responses_do_not_open_comments():
    for heading in ("Results and Discussion", "My responses are slow", "The responses were terrifying"):
        out = kept(ARTICLE + TEASERS + [heading, "12 March"] + POST2)
        assert all(line in out for line in POST2), heading


def test_a_blog_front_page_keeps_the_next_post_after_a_comments_link():
    # "Posted by ... | Comments" ends one post; the next post's title and date, then its paragraphs
    post2 = POST2
    page = ARTICLE + TEASERS + ["Mark | 12:03 PM | Comment", "New reading room opens", "March 3"] + post2
    out = kept(page)
    assert all(line in out for line in post2)
    # a real comment thread after the same link still goes
    assert kept(ARTICLE + POST2 + COMMENTS) == ARTICLE + POST2


REPLIES = [
    "Ann Lee says:", "May 3, 2012 at 4:15 pm",
    "What a waste of public money, nobody in my street will ever use these buses and the council knows it.", "Reply",
    "Tom says:", "May 3, 2012 at 5:02 pm",
    "I disagree completely, the buses will help thousands of people who cannot afford a car in this city.", "Reply",
    "Sam K says:", "May 4, 2012 at 9:40 am",
    "The northern suburbs have waited twenty years for a decent service, so this is long overdue in my view.", "Reply",
]


def test_a_comment_thread_without_a_heading_is_found_by_its_bylines():
    # no "Comments" line: the thread shows as a byline (name, date and time) before each comment
    assert kept(ARTICLE + TEASERS + REPLIES) == ARTICLE + TEASERS


def test_dated_lines_without_a_comment_cue_and_a_page_that_opens_with_a_byline_keep_their_text():
    events = []
    for day, text in zip((3, 10, 17), POST2):
        events += [f"Tuesday, October {day} at 7:30pm | Room 4", text]
    assert all(line in kept(ARTICLE + TEASERS + events) for line in POST2[:3])
    # a forum page: posts one after another, each under its byline, are the page's text
    forum = []
    for name, text in zip(("Ann Lee", "Tom", "Sam K", "Jo", "Lin"), ARTICLE[:2] + ARTICLE[3:] + POST2):
        forum += [f"{name} says:", "May 3, 2012 at 4:15 pm", text, "Reply"]
    assert not any("reader comments" in (why or "") for line, why in zip(forum, filter_lines(forum))
                   if line in ARTICLE + POST2)


def test_a_blog_front_page_whose_posts_end_in_a_dated_footer_keeps_its_posts():
    # "Posted by ... at 04:29 PM | Permalink | Comments (0)" closes each post: not a comment thread
    page = list(ARTICLE) + TEASERS
    for n, text in enumerate(POST2):
        page += [f"Posted by jamie k at 0{n + 1}:29 PM | Permalink | Comments ({n})", f"December {20 - n}, 2006", text]
    out = kept(page)
    assert all(line in out for line in POST2)


def test_cached_line_features_give_the_same_verdicts_as_fresh_ones():
    from dedupe.clean import content

    page = MENU + ["Council expands bus network", "By Jane Doe"] + ARTICLE + FOOTER + COMMENTS + REPLIES
    content._FEATURE_CACHE.clear()
    cold = filter_lines(page)
    warm = filter_lines(page)  # every short line now comes from the cache
    assert warm == cold
    assert all(content._FEATURE_CACHE[l] == content._features(l) for l in page if l in content._FEATURE_CACHE)


def test_an_article_printed_twice_beside_a_list_of_recent_posts_keeps_one_copy():
    # A blog page: a "Recent posts" list of two short prose lines in a row that are not
    # repeated, a sidebar, then the post printed twice (article and feed copy).
    # The unrepeated run is far shorter than the copy, so the copy is the text, not a teaser block.
    recent = ["Recent Posts", "Our new podcast is out, with the harbour master and two of the ferry crews!",
              "I could not believe it myself, but this is a real picture."]
    page = MENU + recent + ["Archives", "Subscribe", "Search", "\u00ab Previous post | Main"] + POST2 + FOOTER + POST2
    assert kept(page) == POST2


def test_a_changelog_of_plus_and_star_items_is_the_article():
    """A release-notes post is one list ("+ Added ...", then "* Changed ..."), no prose line but
    one: the lists join the span around it. A "+ Comment now" button printed twice is no list."""
    items = ["+ Added granite, andesite and diorite stone blocks", "+ Added slime block", "+ Added iron trapdoor",
             "+ Added a spectator game mode for servers and realms, so that you can watch without playing?",
             "+ Added banners", "* Villager trading has been rebalanced", "* Anvil repairing has been rebalanced",
             "* Tweaked the debug screen"]
    assert kept(MENU + items + FOOTER) == items
    assert kept(MENU + ARTICLE + ["+ Comment now", "+ Comment now"] + FOOTER) == ARTICLE


def test_a_how_to_with_step_headings_keeps_its_steps():
    """"Step 1", "Step 2" ... count like "1)", "2)": the steps (short instructions, captions)
    are one list that joins the article span above it."""
    intro = ["Glass cloche terrariums are not only pleasing to the eye, they also keep a little piece of nature in your home all year round."]
    steps = []
    for n, (text, caption) in enumerate([("Cut the foam to size.", "Foam cut to size"),
                                          ("Insert your plant into the hole.", "Orchid in foam"),
                                          ("Attach the moss with pins.", "Moss attached"),
                                          ("Place the cloche over it.", "Finished cloche")], 1):
        steps += ["Step %d" % n, text, caption]
    page = intro + steps
    assert kept(MENU + page + FOOTER) == page
