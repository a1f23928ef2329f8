"""Search: alias-aware, typo-tolerant, ranked; the same from a catalog or from the JSON index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from catalog import ConnectorInfo, Searcher, build_index, load_catalog, search, service_map
from ferry.cli import app

FIXTURES = Path(__file__).parent / "catalog_fixtures"
SERVICES = FIXTURES / "services.yaml"


@pytest.fixture(scope="module")
def cat():
    return load_catalog(FIXTURES / "good", SERVICES)


@pytest.fixture(scope="module")
def searcher(cat):
    return Searcher.from_catalog(cat)


def slugs(hits):
    return [h.solution["slug"] for h in hits]


def test_source_filter_accepts_aliases_case_and_typos(searcher):
    expected = {"fb-photos-folder", "fb-photos-google"}
    assert set(slugs(searcher.search(source="Facebook"))) == expected
    assert set(slugs(searcher.search(source="facebook photos"))) == expected
    assert set(slugs(searcher.search(source="Facebok"))) == expected


def test_exact_name_outranks_a_fuzzy_one(searcher):
    assert set(slugs(searcher.search(source="Instagram"))) == {"fb-photos-google", "ig-videos-koofr"}
    exact = searcher.search(destination="Koofr")[0]
    fuzzy = searcher.search(destination="Kofr")[0]
    assert exact.solution["slug"] == fuzzy.solution["slug"] == "ig-videos-koofr"
    assert exact.score > fuzzy.score


def test_destination_alias_and_datatype(searcher):
    assert slugs(searcher.search(destination="download myself")) == ["fb-photos-folder"]
    assert slugs(searcher.search(datatype="calendars")) == ["calendar-ics"]
    assert slugs(searcher.search(datatype="Photos", destination="Dropbox")) == ["fb-photos-google"]
    assert searcher.search(source="Facebook", datatype="Calendar") == []


def test_free_text_is_ranked_title_first_and_typo_tolerant(searcher):
    hits = searcher.search(text="google photos")
    assert slugs(hits)[0] == "fb-photos-google"
    assert slugs(searcher.search(text="calender ics"))[0] == "calendar-ics"
    assert slugs(searcher.search(text="reels"))[0] == "ig-videos-koofr"  # a body/summary word
    assert "calendar-ics" in slugs(searcher.search(text="repeating"))  # past the summary: body only
    assert slugs(searcher.search(text="insta"))[0] in {"ig-videos-koofr", "fb-photos-google"}


def test_words_and_phrases_resolve_to_services_and_datatypes(searcher):
    """No page has the word "fotos": it is resolved like a filter (issue 13: "google fotos")."""
    assert slugs(searcher.search(text="google fotos"))[0] == "fb-photos-google"
    assert set(slugs(searcher.search(text="fotos"))) == {"fb-photos-google", "fb-photos-folder"}
    assert slugs(searcher.search(text="kofr"))[0] == "ig-videos-koofr"


def test_a_pasted_essay_is_cut_to_the_first_words(searcher):
    from catalog.search import MAX_QUERY_WORDS

    essay = "google fotos " + " ".join(["zzqx"] * 5000) + " calendar"
    first = " ".join(["google", "fotos", *["zzqx"] * (MAX_QUERY_WORDS - 2)])
    assert searcher.search(text=essay) == searcher.search(text=first)  # "calendar", word 5003, never counts
    assert slugs(searcher.search(text=essay))[0] == "fb-photos-google"


def test_runnable_breaks_ties(cat):
    connectors = [
        ConnectorInfo("meta", "Meta", ("Facebook", "Instagram"), frozenset({"photos", "videos"})),
        ConnectorInfo("folder", "Folder", ("Local files",), frozenset(), frozenset({"photos"})),
    ]
    wired = load_catalog(FIXTURES / "good", SERVICES, connectors)
    hits = Searcher.from_catalog(wired).search(source="Facebook")
    assert slugs(hits)[0] == "fb-photos-folder"
    assert hits[0].solution["runnable"][0]["command"] == (
        "ferry transfer meta:~/facebook-export.zip folder:~/ferry-out --types photos"
    )


def test_json_index_round_trip_and_map(cat):
    index = json.loads(json.dumps(build_index(cat)))
    assert slugs(search(index, source="facebok", datatype="photo")) == slugs(
        search(cat, source="facebok", datatype="photo")
    )
    assert service_map(cat.solutions)["Photos"]["Facebook"] == [
        "Backblaze B2",
        "Dropbox",
        "Google Photos",
        "Local files",
    ]
    assert index["map"]["Videos"] == {"Instagram": ["Koofr"]}


def test_limit(searcher):
    assert len(searcher.search(limit=2)) == 2
    assert len(searcher.search(limit=None)) == 4


def test_cli_search():
    runner = CliRunner()
    args = ["catalog", "search", "--solutions", str(FIXTURES / "good"), "--services", str(SERVICES)]
    result = runner.invoke(app, [*args, "--from", "instagarm", "--to", "koofr"])
    assert result.exit_code == 0, result.output
    assert "Instagram videos to Koofr" in result.output
    none = runner.invoke(app, [*args, "--datatype", "Tasks"])
    assert none.exit_code == 1 and "No solution matches" in none.output
    as_json = runner.invoke(app, [*args, "photos", "--json"])
    assert json.loads(as_json.output)[0]["datatype"] == "Photos"
