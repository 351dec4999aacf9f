"""The connector: interests, consent, routing history, and a full-text index of asks.

`communities.connector_minutes` is how long an ask waits for an offer before it is
routed (NULL: off; 30 by default, existing communities included).

`ask_search` is each database's own full-text index of the asks' text, kept by the
database itself, so every process sees an ask the moment it is committed:
- SQLite: an FTS5 table over `asks` (external content, Porter stemming) kept by
  triggers, and `ask_search_terms`, its fts5vocab view (how many asks hold a term).
- PostgreSQL: a table of `tsvector`s (the `english` configuration) with a GIN index,
  kept by a trigger on `asks`.
Neither is in storage/models.py (SQLAlchemy has no model for them); the schema
comparison leaves out every table named `ask_search*` (storage.connector.outside_models).
A later revision that rebuilds `asks` on SQLite (batch mode copies the table) must
create the triggers again: tests/storage/test_connector_storage.py checks them at head.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE ask_search USING fts5("
    "text, content='asks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE ask_search_terms USING fts5vocab(ask_search, 'row')",
    "CREATE TRIGGER ask_search_insert AFTER INSERT ON asks BEGIN "
    "INSERT INTO ask_search (rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER ask_search_delete AFTER DELETE ON asks BEGIN "
    "INSERT INTO ask_search (ask_search, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER ask_search_update AFTER UPDATE OF text ON asks BEGIN "
    "INSERT INTO ask_search (ask_search, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO ask_search (rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO ask_search (ask_search) VALUES ('rebuild')",
)
SQLITE_SEARCH_DROP = (
    "DROP TRIGGER IF EXISTS ask_search_update",
    "DROP TRIGGER IF EXISTS ask_search_delete",
    "DROP TRIGGER IF EXISTS ask_search_insert",
    "DROP TABLE IF EXISTS ask_search_terms",
    "DROP TABLE IF EXISTS ask_search",
)
POSTGRES_SEARCH = (
    "CREATE TABLE ask_search ("
    " ask_id INTEGER PRIMARY KEY REFERENCES asks (id) ON DELETE CASCADE,"
    " community_id VARCHAR NOT NULL,"
    " created_at TIMESTAMP WITH TIME ZONE NOT NULL,"
    " document TSVECTOR NOT NULL)",
    "CREATE INDEX ix_ask_search_document ON ask_search USING gin (document)",
    "CREATE OR REPLACE FUNCTION ask_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "INSERT INTO ask_search (ask_id, community_id, created_at, document) "
    "VALUES (NEW.id, NEW.community_id, NEW.created_at, to_tsvector('english', NEW.text)) "
    "ON CONFLICT (ask_id) DO UPDATE SET document = EXCLUDED.document; "
    "RETURN NULL; "
    "END $$",
    "CREATE TRIGGER ask_search_sync AFTER INSERT OR UPDATE OF text ON asks "
    "FOR EACH ROW EXECUTE FUNCTION ask_search_sync()",
    "INSERT INTO ask_search (ask_id, community_id, created_at, document) "
    "SELECT id, community_id, created_at, to_tsvector('english', text) FROM asks",
)
POSTGRES_SEARCH_DROP = (
    "DROP TRIGGER IF EXISTS ask_search_sync ON asks",
    "DROP TABLE IF EXISTS ask_search",
    "DROP FUNCTION IF EXISTS ask_search_sync()",
)


def upgrade() -> None:
    with op.batch_alter_table("communities") as batch:
        batch.add_column(sa.Column("connector_minutes", sa.Integer(), server_default=sa.text("30")))
    op.create_table(
        "member_interests",
        sa.Column("community_id", sa.String(), nullable=False),
        sa.Column("member_id", sa.String(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint(
            "community_id", "member_id", "position", name="pk_member_interests"
        ),
    )
    op.create_table(
        "interest_terms",
        sa.Column("community_id", sa.String(), nullable=False),
        sa.Column("term", sa.String(), nullable=False),
        sa.Column("member_id", sa.String(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "community_id", "term", "member_id", "position", name="pk_interest_terms"
        ),
    )
    op.create_index("ix_interest_terms_member", "interest_terms", ["community_id", "member_id"])
    op.create_table(
        "connector_members",
        sa.Column("community_id", sa.String(), nullable=False),
        sa.Column("member_id", sa.String(), nullable=False),
        sa.Column("opted_in", sa.Boolean(), nullable=False),
        sa.Column("last_routed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("community_id", "member_id", name="pk_connector_members"),
    )
    op.create_table(
        "connector_asks",
        sa.Column("ask_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.String(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ask_id"], ["asks.id"], name="fk_connector_asks_ask_id_asks", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ask_id", name="pk_connector_asks"),
    )
    op.create_index(
        "ix_connector_asks_due",
        "connector_asks",
        ["due_at"],
        sqlite_where=sa.text("routed_at IS NULL"),
        postgresql_where=sa.text("routed_at IS NULL"),
    )
    op.create_table(
        "connector_routes",
        sa.Column("ask_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(), nullable=False),
        sa.Column("community_id", sa.String(), nullable=False),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("round", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ask_id"], ["asks.id"], name="fk_connector_routes_ask_id_asks", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ask_id", "member_id", name="pk_connector_routes"),
    )
    op.create_index(
        "ix_connector_routes_member",
        "connector_routes",
        ["community_id", "member_id", "routed_at"],
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_SEARCH if sqlite else POSTGRES_SEARCH:
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_SEARCH_DROP if sqlite else POSTGRES_SEARCH_DROP:
        op.execute(statement)
    op.drop_index("ix_connector_routes_member", table_name="connector_routes")
    op.drop_table("connector_routes")
    op.drop_index("ix_connector_asks_due", table_name="connector_asks")
    op.drop_table("connector_asks")
    op.drop_table("connector_members")
    op.drop_index("ix_interest_terms_member", table_name="interest_terms")
    op.drop_table("interest_terms")
    op.drop_table("member_interests")
    with op.batch_alter_table("communities") as batch:
        batch.drop_column("connector_minutes")
