"""Who issued each API token: the issuing organisation, token and channel.

A credential issued for another organisation is shown to that organisation's own
administrators with its issuer (docs/decisions/0008-credentials-and-need-to-know.md). Tokens
issued before this revision have no recorded issuer: the audit log's ``token.create`` events
name it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issued_by_organization_id", sa.String(36), nullable=True))
        batch_op.add_column(sa.Column("issued_by_token_id", sa.String(36), nullable=True))
        batch_op.add_column(sa.Column("issued_by_channel", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("issued_by_channel")
        batch_op.drop_column("issued_by_token_id")
        batch_op.drop_column("issued_by_organization_id")
