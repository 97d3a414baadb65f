"""Lookups on JSON lists of user ids that work on PostgreSQL and on SQLite.

Face.plausible_identities and Face.linked_identities hold lists of id
strings. Django's contains and contained_by lookups do not run on SQLite, the
embedded default, so the consent rule and erasure use these two instead:

- field__list_has_any=[ids]: the list contains at least one of the ids;
- field__list_within=[ids]: the value is a list of strings, all among the ids.
"""

import json

from django.db import NotSupportedError
from django.db.models import JSONField, Lookup


class _ListLookup(Lookup):
    # The ids are passed as they are, not as one JSON document.
    prepare_rhs = False

    def ids(self) -> list[str]:
        return [str(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        raise NotSupportedError(f"The {self.lookup_name} lookup runs on PostgreSQL and SQLite only.")


@JSONField.register_lookup
class ListHasAny(_ListLookup):
    lookup_name = "list_has_any"

    def as_postgresql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"({lhs} ?| %s)", [*params, self.ids()]

    def as_sqlite(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        ids = self.ids()
        if not ids:
            return "(1 = 0)", []
        placeholders = ", ".join(["%s"] * len(ids))
        # Only the compiled column and placeholders go into the text; the ids are parameters.
        sql = f"EXISTS (SELECT 1 FROM json_each({lhs}) WHERE json_each.value IN ({placeholders}))"  # noqa: S608
        return sql, [*params, *ids]


@JSONField.register_lookup
class ListWithin(_ListLookup):
    lookup_name = "list_within"

    def as_postgresql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        # A bare string is "contained" in a list for <@, so the value must be a list too.
        return f"(jsonb_typeof({lhs}) = 'array' AND {lhs} <@ %s::jsonb)", [*params, *params, json.dumps(self.ids())]

    def as_sqlite(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        ids = self.ids()
        outside = "json_each.type != 'text'"
        if ids:
            outside += f" OR json_each.value NOT IN ({', '.join(['%s'] * len(ids))})"
        sql = f"(json_type({lhs}) = 'array' AND NOT EXISTS (SELECT 1 FROM json_each({lhs}) WHERE {outside}))"  # noqa: S608
        return sql, [*params, *params, *ids]
