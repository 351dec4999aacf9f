"""SQL storage for payforward: the ports of bot/ports.py on SQLite or PostgreSQL.

`db.make_engine` opens a database, `migrate.upgrade` brings it to the newest schema,
and `uow.unit_of_work_factory` hands the core one transaction at a time.
"""
