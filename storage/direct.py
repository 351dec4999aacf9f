"""Prebuilt statements run on SQLite's own cursor, past SQLAlchemy's execution layer.

For a statement built once (storage/prepared.py) SQLAlchemy still spends ~60 µs on
every execution: an execution context, its parameter processing, a result wrapping
the cursor, a Row per row. SQLite itself runs such a statement in ~10 µs, and an
event takes 6–12 of them. So on the inline SQLite connection (storage/inline.py) a
prebuilt statement is compiled by SQLAlchemy once per set of parameter names, into
a `Plan`: the SQL text, where each parameter goes, and the column types' own bind
and result processors (values are stored and read back exactly as through
SQLAlchemy). Executing a plan is then a driver call plus those processors.

Statements SQLAlchemy must finish at execution time (Python-side column defaults,
expanding IN lists) get no plan and keep the ordinary path.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound, StatementError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

S = TypeVar("S", bound=Executable)
Processor = Callable[[Any], Any]

# By id, with whether its rows are read by position; holding the statement keeps its
# id unique.
_PREBUILT: dict[int, tuple[Executable, bool]] = {}


def prebuilt(statement: S, *, by_position: bool = False) -> S:
    """Marks a statement built once and executed many times, so that SQLite may run
    it through a plan. Only module-level or cached statements belong here. Rows
    `by_position` come back as plain tuples (cheaper for tens of thousands of rows);
    others are named tuples, read by column name as SQLAlchemy's rows are."""
    _PREBUILT[id(statement)] = (statement, by_position)
    return statement


@dataclass(frozen=True, slots=True)
class Plan:
    sql: str
    binds: tuple[tuple[str, Any, Processor | None], ...]  # (key, default, processor)
    returns_rows: bool
    row: type[tuple[Any, ...]] | None  # a named tuple; None for plain tuples
    results: tuple[tuple[int, Processor], ...]  # (column index, processor)

    def parameters(self, given: Mapping[str, Any]) -> list[Any]:
        values = []
        for key, default, process in self.binds:
            value = given.get(key, default)
            if process is not None and value is not None:
                try:
                    value = process(value)
                except Exception as error:  # as SQLAlchemy reports a bad parameter
                    raise StatementError(str(error), self.sql, dict(given), error) from error
            values.append(value)
        return values

    def run(self, driver: sqlite3.Connection, given: Mapping[str, Any]) -> DirectResult:
        parameters = self.parameters(given)
        try:
            cursor = driver.execute(self.sql, parameters)
            fetched = cursor.fetchall() if self.returns_rows else []
        except sqlite3.Error as error:
            raise DBAPIError.instance(self.sql, parameters, error, sqlite3.Error) from error
        if self.results:
            fetched = [self._processed(values) for values in fetched]
        return DirectResult(fetched, self.row, cursor.rowcount)

    def _processed(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        listed = list(values)
        for index, process in self.results:
            listed[index] = process(listed[index])
        return tuple(listed)


class DirectResult:
    """The part of SQLAlchemy's `CursorResult` the repositories use."""

    def __init__(
        self, values: list[tuple[Any, ...]], row: type[tuple[Any, ...]] | None, rowcount: int
    ) -> None:
        self._values = values
        self._row = row
        self.rowcount = rowcount

    def all(self) -> list[Any]:
        if self._row is None:
            return self._values
        make = self._row._make  # type: ignore[attr-defined]
        return [make(values) for values in self._values]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.all())

    def first(self) -> Any:
        return self.all()[0] if self._values else None

    def one(self) -> Any:
        if len(self._values) != 1:
            error = NoResultFound if not self._values else MultipleResultsFound
            raise error("expected exactly one row")
        return self.all()[0]

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        if len(self._values) > 1:
            raise MultipleResultsFound("expected at most one row")
        return self._values[0][0] if self._values else None

    def scalars(self) -> Iterator[Any]:
        return (values[0] for values in self._values)


class Planner:
    """The plans of one dialect, by statement and parameter names."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._plans: dict[tuple[int, tuple[str, ...]], Plan | None] = {}

    def plan(self, statement: Executable, given: Mapping[str, Any] | None) -> Plan | None:
        marked = _PREBUILT.get(id(statement))
        if marked is None:
            return None
        names = () if given is None else tuple(given)
        key = (id(statement), names)
        try:
            return self._plans[key]
        except KeyError:
            plan = self._plans[key] = self._compile(statement, names, by_position=marked[1])
            return plan

    def _compile(
        self, statement: Executable, names: tuple[str, ...], *, by_position: bool
    ) -> Plan | None:
        compiled = statement.compile(dialect=self._dialect, column_keys=list(names))
        assert isinstance(compiled, SQLCompiler)
        if (
            compiled.positiontup is None
            or compiled.insert_prefetch
            or compiled.update_prefetch
            or compiled.literal_execute_params
            or compiled.post_compile_params
        ):
            return None
        binds = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            if bind.key not in names and bind.required:
                return None  # SQLAlchemy's path says what is missing
            default = bind.effective_value if bind.key not in names else None
            process = bind.type.dialect_impl(self._dialect).bind_processor(self._dialect)
            binds.append((bind.key, default, process))
        columns = list(getattr(statement, "exported_columns", ()))
        row = None
        results = []
        if columns and not by_position:
            row = namedtuple("Row", [c.key for c in columns], rename=True)  # type: ignore[misc]
            for index, column in enumerate(columns):
                impl = column.type.dialect_impl(self._dialect)
                process = impl.result_processor(self._dialect, None)
                if process is not None:
                    results.append((index, process))
        return Plan(str(compiled), tuple(binds), bool(columns), row, tuple(results))
