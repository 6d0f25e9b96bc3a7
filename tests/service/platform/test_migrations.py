"""Every migration goes up and down on both databases, and the models match the migrations."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from service.db import make_engine
from service.migrate import current_revision, downgrade, head_revision, revisions, upgrade
from service.models import metadata
from tests.conftest import Databases


async def test_walk_every_revision_up_and_down(databases: Databases, backend: str) -> None:
    engine = make_engine(await databases.create(backend, migrated=False))
    try:
        steps = revisions()
        assert steps[-1] == head_revision()
        for rev in steps:
            await upgrade(engine, rev)
            assert await current_revision(engine) == rev
        for previous in [*reversed(steps[:-1]), "base"]:
            await downgrade(engine, "-1")
            assert await current_revision(engine) == (None if previous == "base" else previous)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test_models_match_the_migrations(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": False}), metadata
                )
            )
    finally:
        await engine.dispose()
    assert diff == []
