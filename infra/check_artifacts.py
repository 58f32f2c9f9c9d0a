"""Checks what `sam build` and `sam package` produced (run by infra/check-template.sh).

    python3 infra/check_artifacts.py bootstraps template.yaml .aws-sam/build
        every rust-cargolambda function has .aws-sam/build/<LogicalId>/bootstrap, an ELF aarch64
        executable; prints its size and its size zipped (deflate), as Lambda receives it.
    python3 infra/check_artifacts.py packaged .aws-sam/packaged.yaml BUCKET
        every function's CodeUri in the packaged template is an object of BUCKET (S3 at
        AWS_ENDPOINT_URL: the local moto server); prints each uploaded zip's size.

Exit status 1 when a check fails. Sizes are printed, not limited (Lambda takes 50 MB zipped).
"""

import io
import os
import struct
import sys
import zipfile

import yaml

EM_AARCH64 = 0xB7
ET_EXEC, ET_DYN = 2, 3  # Rust builds position-independent executables (ET_DYN)


class _Loader(yaml.SafeLoader):
    pass


# CloudFormation short forms (!Ref, !Sub, …) are not needed here: read them as nothing.
_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def resources(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=_Loader)["Resources"]


def mb(n):
    return f"{n / 1e6:>9.2f} MB"


def elf_problem(path):
    """Why the file at `path` is not an aarch64 Linux executable, or None."""
    with open(path, "rb") as f:
        head = f.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return "not an ELF file"
    if head[4] != 2 or head[5] != 1:
        return "not a 64-bit little-endian ELF file"
    e_type, e_machine = struct.unpack_from("<HH", head, 16)
    if e_machine != EM_AARCH64:
        return f"ELF machine 0x{e_machine:X}, not aarch64 (0xB7)"
    if e_type not in (ET_EXEC, ET_DYN):
        return f"ELF type {e_type}, not an executable"
    if not os.access(path, os.X_OK):
        return "not executable (file mode)"
    return None


def bootstraps(template, build_dir):
    functions = {
        name: res
        for name, res in resources(template).items()
        if res.get("Type") == "AWS::Serverless::Function"
        and (res.get("Metadata") or {}).get("BuildMethod") == "rust-cargolambda"
    }
    if not functions:
        print("no rust-cargolambda function in the template", file=sys.stderr)
        return False
    ok = True
    print(f"   {'function':<20} {'binary':<10} {'bootstrap':>12} {'zipped':>12}")
    for name, res in sorted(functions.items()):
        binary = (res["Metadata"].get("BuildProperties") or {}).get("Binary", "?")
        path = os.path.join(build_dir, name, "bootstrap")
        if not os.path.isfile(path):
            print(f"   {name:<20} {binary:<10} MISSING: {path}")
            ok = False
            continue
        problem = elf_problem(path)
        if problem:
            print(f"   {name:<20} {binary:<10} {path}: {problem}")
            ok = False
            continue
        zipped = io.BytesIO()
        with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.write(path, "bootstrap")
        print(f"   {name:<20} {binary:<10} {mb(os.path.getsize(path))} {mb(len(zipped.getvalue()))}")
    return ok


def packaged(template, bucket):
    import boto3  # installed with the SAM CLI

    sizes = {
        o["Key"]: o["Size"]
        for page in boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    }
    prefix = f"s3://{bucket}/"
    ok = True
    print(f"   {'function':<20} {'uploaded zip':>12}")
    for name, res in sorted(resources(template).items()):
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        uri = (res.get("Properties") or {}).get("CodeUri")
        key = uri[len(prefix):] if isinstance(uri, str) and uri.startswith(prefix) else None
        if key not in sizes:
            print(f"   {name:<20} not packaged (CodeUri {uri!r})")
            ok = False
            continue
        print(f"   {name:<20} {mb(sizes[key])}")
    return ok


def main(argv):
    if len(argv) == 4 and argv[1] == "bootstraps":
        return 0 if bootstraps(argv[2], argv[3]) else 1
    if len(argv) == 4 and argv[1] == "packaged":
        return 0 if packaged(argv[2], argv[3]) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
