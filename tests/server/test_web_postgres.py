"""The county's overview figures and staff web pages with the county database on PostgreSQL: the SQLite
tests themselves (tests/server/test_overview.py, test_web.py), collected again here where ``ww`` and
``fresh`` put the county on PostgreSQL. Tests of the command line, static files and headers (nothing in the
database) stay SQLite-only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg import create_database, drop_database

# pytest runs the tests in import order; keep the originals' file order, which they rely on.
# isort: off
from tests.server.test_overview import (  # noqa: F401  (collected again here, on PostgreSQL)
    test_a_synced_township_shows_what_its_own_services_compute,
    test_a_township_that_never_reported_has_no_figures_and_is_flagged,
    test_detail_lists_open_hazards_history_letters_and_readiness,
    test_unknown_township_or_hazard_is_named,
    test_figures_follow_new_data_and_are_not_recomputed_without_it,
    test_totals_add_up_the_lines,
)
from tests.server.test_web import (  # noqa: F401  (fixtures and tests, collected again here)
    admin,
    app,
    client,
    viewer,
    test_wrong_passwords_count_down_then_lock_the_account,
    test_a_new_account_must_set_its_own_password_first,
    test_a_deactivated_account_is_out_at_once,
    test_overview_shows_every_township_with_its_figures,
    test_township_detail_shows_readiness_hazards_letters_and_history,
    test_a_viewer_sees_everything_but_cannot_act,
    test_supervision_order_from_the_web_reaches_the_township,
    test_bad_supervision_input_is_named_and_the_form_keeps_what_was_typed,
    test_supervision_of_an_unknown_hazard_is_refused,
    test_upload_imports_like_the_cli_and_the_return_file_downloads,
    test_a_bad_upload_is_refused_with_a_chinese_message,
    test_enrol_a_township_and_download_its_enrolment_file,
    test_bad_enrolment_input_is_named_and_kept,
    test_enrolment_of_a_known_code_under_another_name_is_refused,
)
# isort: on

from tests.server.web_world import WebWorld, make_web_world


@pytest.fixture(scope="module")
def ww(tmp_path_factory: pytest.TempPathFactory, pg_server: str, pg_template: str) -> Iterator[WebWorld]:
    """The web world of the module, its county database a copy of the migrated template."""
    url = create_database(pg_server, template=pg_template)
    world = make_web_world(tmp_path_factory.mktemp("web-pg"), county_url=url)
    try:
        assert world.county.db.engine.dialect.name == "postgresql"
        yield world
    finally:
        world.close()
        drop_database(pg_server, url)


@pytest.fixture
def fresh(tmp_path: Path, pg_url: str) -> Iterator[WebWorld]:
    world = make_web_world(tmp_path, county_url=pg_url)
    yield world
    world.close()
