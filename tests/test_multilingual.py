"""The cleaners are not English-only: German, French, Spanish, Italian, Dutch pages and scrapes."""
from __future__ import annotations

import pytest

from dedupe.clean.content import filter_lines
from dedupe.clean.html import html_to_text
from dedupe.clean.stopwords import STOPWORDS, best_language, stopword_density

TEXTS = {
    "de": ["Der Stadtrat hat am Dienstag beschlossen, das Busnetz zu erweitern, und die neuen Linien sollen ab dem Frühjahr fahren.",
           "Die Befürworter sagen, dass die Fahrzeiten für viele Pendler um ein Drittel kürzer werden, wenn der Plan umgesetzt wird.",
           "Kritiker halten das Vorhaben jedoch für zu teuer, weil die Stadt schon jetzt hoch verschuldet ist und sparen muss."],
    "fr": ["Le conseil municipal a voté mardi l'extension du réseau de bus, avec quatre nouvelles lignes qui desserviront le nord de la ville.",
           "Les partisans du projet estiment que les temps de trajet seront réduits d'un tiers pour des milliers d'habitants.",
           "Les critiques jugent cependant que le plan est trop cher pour une ville qui est déjà très endettée."],
    "es": ["El ayuntamiento aprobó el martes la ampliación de la red de autobuses, con cuatro nuevas líneas que llegarán a los barrios del norte.",
           "Los partidarios del proyecto dicen que los tiempos de viaje se reducirán en un tercio para miles de vecinos de la zona.",
           "Los críticos, sin embargo, consideran que el plan es demasiado caro para una ciudad que ya tiene una deuda muy alta."],
    "it": ["Il consiglio comunale ha approvato martedì l'ampliamento della rete degli autobus, con quattro nuove linee per i quartieri a nord.",
           "I sostenitori del progetto dicono che i tempi di viaggio si ridurranno di un terzo per migliaia di residenti della zona.",
           "I critici però ritengono che il piano sia troppo costoso per una città che è già molto indebitata."],
    "nl": ["De gemeenteraad heeft dinsdag besloten het busnet uit te breiden, met vier nieuwe lijnen die vanaf het voorjaar gaan rijden.",
           "Voorstanders zeggen dat de reistijd voor duizenden inwoners met een derde zal afnemen als het plan wordt uitgevoerd.",
           "Critici vinden het plan echter te duur voor een stad die nu al veel schulden heeft en moet bezuinigen."],
}
MENUS = {
    "de": ["Startseite", "Politik", "Wirtschaft", "Sport", "Kultur", "Teilen", "Kommentare (12)", "© 2024 Beispiel Zeitung. Alle Rechte vorbehalten."],
    "fr": ["Accueil", "Politique", "Économie", "Sport", "Culture", "Partager", "Tous droits réservés © 2024 Journal Exemple"],
    "es": ["Portada", "Política", "Economía", "Deportes", "Cultura", "Compartir", "© 2024 Diario Ejemplo. Todos los derechos reservados."],
    "it": ["Home", "Politica", "Economia", "Sport", "Cultura", "Condividi", "© 2024 Giornale Esempio"],
    "nl": ["Home", "Politiek", "Economie", "Sport", "Cultuur", "Delen", "© 2024 Voorbeeld Krant"],
}


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_language_is_recognised_and_text_is_wordy(lang):
    for para in TEXTS[lang]:
        assert best_language(para) == lang
        assert stopword_density(para) >= 0.2


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_menus_are_not_wordy(lang):
    assert stopword_density(" ".join(MENUS[lang][:5])) < 0.15


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_content_filter_keeps_article_drops_menus(lang):
    menu = MENUS[lang]
    page = menu[:5] + TEXTS[lang] + menu[5:]
    kept = [l for l, why in zip(page, filter_lines(page)) if why is None]
    assert kept == TEXTS[lang]


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_html_to_text_in_language(lang):
    nav = "".join(f"<li><a href='/{i}'>{w}</a></li>" for i, w in enumerate(MENUS[lang][:5]))
    body = "".join(f"<p>{p}</p>" for p in TEXTS[lang])
    page = (f"<html><body><nav><ul>{nav}</ul></nav><main><div class='inhalt'>{body}</div>"
            f"<div class='teilen share'>{MENUS[lang][5]}</div></main>"
            f"<footer>{MENUS[lang][-1]}</footer></body></html>")
    assert html_to_text(page).split("\n\n") == TEXTS[lang]


def test_stopword_lists_are_lower_case_data():
    assert len(STOPWORDS) >= 8
    for lang, words in STOPWORDS.items():
        assert len(words) >= 60, lang
        assert all(w == w.lower() for w in words)


TEASERS = {
    "de": ["Warum die Mieten in den großen Städten auch in diesem Jahr wieder steigen werden",
           "Was Sie über die neue Grundsteuer und die Fristen für die Erklärung wissen müssen",
           "Der Bürgermeister will den Marktplatz bis zum Sommer für die Autos sperren lassen"],
    "fr": ["Pourquoi les loyers vont encore augmenter dans les grandes villes cette année encore",
           "Ce que vous devez savoir sur la nouvelle taxe foncière et les dates limites de déclaration",
           "Le maire veut fermer la place du marché aux voitures avant le début de cet été"],
    "es": ["Por qué los alquileres volverán a subir este año en las grandes ciudades del país",
           "Lo que debe saber sobre el nuevo impuesto de bienes inmuebles y los plazos de la declaración",
           "El alcalde quiere cerrar la plaza del mercado a los coches antes del próximo verano"],
    "it": ["Perché gli affitti aumenteranno ancora quest'anno nelle grandi città del paese",
           "Cosa c'è da sapere sulla nuova tassa sulla casa e sulle scadenze della dichiarazione",
           "Il sindaco vuole chiudere la piazza del mercato alle auto prima dell'inizio dell'estate"],
    "nl": ["Waarom de huren in de grote steden ook dit jaar weer verder zullen gaan stijgen",
           "Wat u moet weten over de nieuwe onroerendezaakbelasting en de termijnen voor de aangifte",
           "De burgemeester wil het marktplein voor de zomer afsluiten voor alle auto's in de stad"],
}


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_wordy_teaser_headlines_after_article_go(lang):
    """Teaser headlines are as wordy as prose in any language, but end without a full stop."""
    page = MENUS[lang][:5] + TEXTS[lang] + TEASERS[lang] + MENUS[lang][5:]
    kept = [l for l, why in zip(page, filter_lines(page)) if why is None]
    assert kept == TEXTS[lang]
