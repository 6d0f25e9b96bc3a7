"""The register: workers (personal fields sealed), its change feed, population groups.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "population_groups",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("nationality", sa.String(3), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("female", sa.Integer(), nullable=True),
        sa.Column("sector", sa.String(32), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("area", JSON, nullable=True),
        sa.Column("country", sa.String(3), nullable=True),
        sa.Column("admin1", sa.String(40), nullable=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("as_of", TS, nullable=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_population_groups")),
        sa.UniqueConstraint("key", name=op.f("uq_population_groups_key")),
    )
    with op.batch_alter_table("population_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_population_groups_country"), ["country"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_population_groups_nationality"), ["nationality"], unique=False
        )

    op.create_table(
        "register_changes",
        sa.Column("seq", BIGID, autoincrement=True, nullable=False),
        sa.Column("worker_pk", BIGID, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_register_changes")),
    )
    op.create_table(
        "workers",
        sa.Column("pk", BIGID, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("nationality", sa.String(3), nullable=False),
        sa.Column("sex", sa.String(1), nullable=True),
        sa.Column("sector", sa.String(32), nullable=True),
        sa.Column("languages", JSON, nullable=False),
        sa.Column("employer", sa.String(200), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("country", sa.String(3), nullable=True),
        sa.Column("admin1", sa.String(40), nullable=True),
        sa.Column("location_flag", sa.String(32), nullable=True),
        sa.Column("accompanying_family", sa.Integer(), nullable=False),
        sa.Column("vulnerabilities", JSON, nullable=False),
        sa.Column("vulnerable", sa.Boolean(), nullable=False),
        sa.Column("international_protection", sa.Boolean(), nullable=False),
        sa.Column("consent_embassy", sa.Boolean(), nullable=False),
        sa.Column("consent_humanitarian", sa.Boolean(), nullable=False),
        sa.Column("legal_basis", sa.String(32), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("stay_registered", sa.Boolean(), nullable=False),
        sa.Column("identity_hash", sa.String(64), nullable=True),
        sa.Column("given_name_sealed", sa.Text(), nullable=True),
        sa.Column("family_name_sealed", sa.Text(), nullable=True),
        sa.Column("birth_date_sealed", sa.Text(), nullable=True),
        sa.Column("document_number_sealed", sa.Text(), nullable=True),
        sa.Column("phone_sealed", sa.Text(), nullable=True),
        sa.Column("documentation_status_sealed", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("registered_by", sa.String(36), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("retain_until", TS, nullable=True),
        sa.Column("erased_at", TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_workers")),
        sa.UniqueConstraint("id", name=op.f("uq_workers_id")),
        sa.UniqueConstraint("identity_hash", name="uq_workers_identity_hash"),
    )
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workers_country"), ["country"], unique=False)
        batch_op.create_index(
            "ix_workers_nationality_country", ["nationality", "country"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_workers_registered_by"), ["registered_by"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workers_registered_by"))
        batch_op.drop_index("ix_workers_nationality_country")
        batch_op.drop_index(batch_op.f("ix_workers_country"))

    op.drop_table("workers")
    op.drop_table("register_changes")
    with op.batch_alter_table("population_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_population_groups_nationality"))
        batch_op.drop_index(batch_op.f("ix_population_groups_country"))

    op.drop_table("population_groups")
