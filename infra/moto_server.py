"""moto_server, with one fix for the tests' shared server.

moto 5.2.5's `/moto-api/data.json` (which the tests read to see what SES and SNS sent) answers 500
for good once an S3 multipart upload has completed: the uploaded parts are recorded as objects
that name no bucket, and reading their `status` looks that bucket up. Their status is then
reported as unknown instead. Nothing else changes.

    python3 infra/moto_server.py -H 127.0.0.1 -p 5000
"""

import sys

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

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
