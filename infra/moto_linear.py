"""moto_server whose DynamoDB transactions back up only the items they name.

moto 5 deep-copies every table a TransactWriteItems names before running it, to roll back on
failure: each transaction costs time proportional to the table, so a benchmark's run grows with
the square of its size (2,500 recipients: 500 s; 20,000: about 14 hours). This launcher keeps
moto's behaviour (a transaction still writes all or nothing, and fails with the same errors) but
backs up the items the transaction names instead of the tables. For benchmarks only
(`TELMAIL_MOTO_LINEAR=1 source infra/moto.sh`); the tests run the unpatched server.

    python3 infra/moto_linear.py -H 127.0.0.1 -p 5000
"""

import copy
import sys

from moto.dynamodb.models import DynamoDBBackend, Table
from moto.dynamodb import models as dynamodb_models
from moto.server import main

_deepcopy = copy.deepcopy


class _NoTableCopies:
    """`copy` as moto's DynamoDB models see it: tables are not copied (the items are, below)."""

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, Table):
            return value
        return _deepcopy(value, memo)


dynamodb_models.copy = _NoTableCopies
_transact = DynamoDBBackend.transact_write_items


def _key(backend, op):
    table = backend.get_table(op["TableName"])
    if "Key" in op:
        return table, op["Key"]
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return table, key


def transact_write_items(self, transact_items):
    backups = []
    for item in transact_items:
        _, op = next(iter(item.items()))
        try:
            table, key = _key(self, op)
        except Exception:  # moto's own call below reports the request's error
            continue
        current = self.get_item(table.name, key)
        backups.append((table.name, key, current.to_json()["Attributes"] if current else None))
    try:
        return _transact(self, transact_items)
    except Exception:
        # Put back every named item as it was: what moto's table copies did.
        for table_name, key, attributes in reversed(backups):
            if self.get_item(table_name, key) is not None:
                self.delete_item(table_name, key)
            if attributes is not None:
                self.put_item(table_name, attributes)
        raise


DynamoDBBackend.transact_write_items = transact_write_items

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
