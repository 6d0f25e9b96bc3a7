"""Restoring Family Links: safe-and-well listings and their keys, tracing requests with their
candidates and history, the register's name keys and their cursor, family contacts at home.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "family_contacts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("worker_id", sa.String(36), nullable=False),
        sa.Column("name_sealed", sa.Text(), nullable=True),
        sa.Column("phone_sealed", sa.Text(), nullable=True),
        sa.Column("relationship", sa.String(40), nullable=False),
        sa.Column("country", sa.String(3), nullable=False),
        sa.Column("may_contact", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_contacts")),
    )
    op.create_index(op.f("ix_family_contacts_worker_id"), "family_contacts", ["worker_id"])
    op.create_table(
        "name_index_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", BIG, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_name_index_cursor")),
    )
    op.create_table(
        "safe_well_listings",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("worker_id", sa.String(36), nullable=True),
        sa.Column("record_id", sa.String(200), nullable=True),
        sa.Column("name_sealed", sa.Text(), nullable=True),
        sa.Column("home_town_sealed", sa.Text(), nullable=True),
        sa.Column("crisis_id", sa.String(36), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("message_sealed", sa.Text(), nullable=True),
        sa.Column("agreed_via", sa.String(10), nullable=False),
        sa.Column("agreed_by", sa.String(120), nullable=False),
        sa.Column("listed_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("ended_by", sa.String(120), nullable=True),
        sa.Column("exercise", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safe_well_listings")),
        sa.UniqueConstraint("record_id", name=op.f("uq_safe_well_listings_record_id")),
    )
    op.create_index(op.f("ix_safe_well_listings_crisis_id"), "safe_well_listings", ["crisis_id"])
    op.create_index(op.f("ix_safe_well_listings_state"), "safe_well_listings", ["state"])
    op.create_index(op.f("ix_safe_well_listings_worker_id"), "safe_well_listings", ["worker_id"])
    op.create_table(
        "tracing_requests",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("filed_by_org", sa.String(36), nullable=False),
        sa.Column("filed_by", sa.String(120), nullable=False),
        sa.Column("origin_country", sa.String(3), nullable=False),
        sa.Column("host_country", sa.String(3), nullable=False),
        sa.Column("crisis_id", sa.String(36), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("sought_given_name_sealed", sa.Text(), nullable=True),
        sa.Column("sought_family_name_sealed", sa.Text(), nullable=True),
        sa.Column("sought_other_names_sealed", sa.Text(), nullable=True),
        sa.Column("sought_last_address_sealed", sa.Text(), nullable=True),
        sa.Column("sought_last_employer_sealed", sa.Text(), nullable=True),
        sa.Column("sought_sex", sa.String(1), nullable=True),
        sa.Column("sought_birth_year", sa.Integer(), nullable=True),
        sa.Column("sought_nationality", sa.String(3), nullable=False),
        sa.Column("last_contact", sa.Date(), nullable=True),
        sa.Column("separation", sa.String(12), nullable=False),
        sa.Column("enquirer_name_sealed", sa.Text(), nullable=True),
        sa.Column("enquirer_relationship", sa.String(40), nullable=False),
        sa.Column("enquirer_contact_sealed", sa.Text(), nullable=True),
        sa.Column("enquirer_consent", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("located_worker_id", sa.String(36), nullable=True),
        sa.Column("consular_agreed", sa.Boolean(), nullable=False),
        sa.Column("anonymised", sa.Boolean(), nullable=False),
        sa.Column("shown_version", sa.Integer(), nullable=False),
        sa.Column("shown_at", TS, nullable=False),
        sa.Column("exercise", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracing_requests")),
    )
    op.create_index(op.f("ix_tracing_requests_crisis_id"), "tracing_requests", ["crisis_id"])
    op.create_index(op.f("ix_tracing_requests_filed_by_org"), "tracing_requests", ["filed_by_org"])
    op.create_index(op.f("ix_tracing_requests_host_country"), "tracing_requests", ["host_country"])
    op.create_index(op.f("ix_tracing_requests_state"), "tracing_requests", ["state"])
    op.create_table(
        "worker_name_keys",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("worker_pk", BIG, nullable=False),
        sa.PrimaryKeyConstraint("key", "worker_pk", name=op.f("pk_worker_name_keys")),
    )
    op.create_index("ix_worker_name_keys_worker_pk", "worker_name_keys", ["worker_pk"])
    op.create_table(
        "safe_well_keys",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("listing_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["safe_well_listings.id"],
            name=op.f("fk_safe_well_keys_listing_id_safe_well_listings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", "listing_id", name=op.f("pk_safe_well_keys")),
    )
    op.create_index(op.f("ix_safe_well_keys_listing_id"), "safe_well_keys", ["listing_id"])
    op.create_table(
        "tracing_candidates",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("worker_id", sa.String(36), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("why", sa.String(300), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("decided_by", sa.String(120), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["tracing_requests.id"],
            name=op.f("fk_tracing_candidates_request_id_tracing_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracing_candidates")),
        sa.UniqueConstraint("request_id", "worker_id", name="uq_tracing_candidates_request_id"),
    )
    op.create_index(op.f("ix_tracing_candidates_request_id"), "tracing_candidates", ["request_id"])
    op.create_table(
        "tracing_events",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("previous", sa.String(20), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["tracing_requests.id"],
            name=op.f("fk_tracing_events_request_id_tracing_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracing_events")),
    )
    op.create_index(op.f("ix_tracing_events_request_id"), "tracing_events", ["request_id"])

    _red_cross_messages()


def _red_cross_messages() -> None:
    op.create_table(
        "rc_messages",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("text_sealed", sa.Text(), nullable=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("outbox_id", sa.String(36), nullable=True),
        sa.Column("written_by", sa.String(120), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["tracing_requests.id"],
            name=op.f("fk_rc_messages_request_id_tracing_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rc_messages")),
    )
    op.create_index(op.f("ix_rc_messages_request_id"), "rc_messages", ["request_id"])
    # A Red Cross Message carries a person's words: sealed on its outbox row.
    op.add_column("messages_out", sa.Column("text_sealed", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages_out") as batch_op:
        batch_op.drop_column("text_sealed")
    op.drop_table("rc_messages")
    op.drop_table("tracing_events")
    op.drop_table("tracing_candidates")
    op.drop_table("safe_well_keys")
    op.drop_table("worker_name_keys")
    op.drop_table("tracing_requests")
    op.drop_table("safe_well_listings")
    op.drop_table("name_index_cursor")
    op.drop_table("family_contacts")
