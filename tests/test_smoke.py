from index_data import build_index, parse_file
from searcher import Searcher

from conftest import SEED


def test_seed_indexed_and_found(tmp_path):
    report = build_index(SEED.parent, tmp_path / "ix")
    assert report.indexed == 1 and report.rejected == []
    with Searcher(tmp_path / "ix") as s:
        page = s.search("hate crime")
    assert page.hits[0].id == parse_file(SEED).id
    assert "<mark>" in page.hits[0].snippets.question[0]
    assert page.facets["party"] == {"Labour Group": 1}
