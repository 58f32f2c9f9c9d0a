"""moto_server, with two fixes for the tests' shared server.

DynamoDB runs each conditional write and each transaction atomically; moto's server answers
requests on several threads without that guarantee (two conditional writes racing on one item
may both succeed). The store suite checks the store's own atomicity (one number kept by one
resident, an allowance taken once per unit), so DynamoDB requests are served one at a time here.
The other services keep their threads.

moto 5.2.5's `/moto-api/data.json` (which the tests read to see what SES and SNS sent) answers 500
for good once an S3 multipart upload has completed: the uploaded parts are recorded as objects
that name no bucket, and reading their `status` looks that bucket up. Their status is then
reported as unknown instead. Nothing else changes.

    python3 infra/moto_server.py -H 127.0.0.1 -p 5000
"""

import sys
import threading

from moto.dynamodb.responses import DynamoHandler
from moto.s3 import models
from moto.s3.exceptions import MissingBucket
from moto.server import main

_status = models.FakeKey.status


def _status_of_any_key(key):
    try:
        return _status.fget(key)
    except MissingBucket:
        return None


models.FakeKey.status = property(_status_of_any_key, _status.fset)

_dynamodb_call = DynamoHandler.call_action
_dynamodb_lock = threading.Lock()


def _one_dynamodb_request_at_a_time(handler):
    with _dynamodb_lock:
        return _dynamodb_call(handler)


DynamoHandler.call_action = _one_dynamodb_request_at_a_time

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
