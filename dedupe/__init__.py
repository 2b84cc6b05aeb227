"""dedupe: strip scraper noise from news articles and collapse near-duplicate paragraphs across sources."""
