#!/usr/bin/env bash
# Checks the AWS side without an AWS account: lints template.yaml, builds every Lambda function with
# `sam build` (cargo-lambda, arm64, release profile), checks each bootstrap, and packages the built
# template with `sam package` into a local moto S3 (the zips `sam deploy` would upload).
#
#   bash infra/check-template.sh            # lint, then build
#   bash infra/check-template.sh lint       # cfn-lint + sam validate --lint (seconds)
#   bash infra/check-template.sh build      # sam build + artifact and package checks (minutes)
#   bash infra/check-template.sh artifacts  # only the checks of what the last sam build left
#
# Needs: Python 3 with venv, and rustup (or the aarch64-unknown-linux-gnu standard library already
# installed; with TELMAIL_LAMBDA_BUILD_OPTIONAL=1 the build is skipped, loudly, when rustup cannot
# fetch it). Everything else comes from PyPI (infra/requirements.txt) and crates.io. No AWS account
# or credentials: nothing here talks to AWS (sam validate --lint works offline; sam package gets
# dummy credentials and the local moto server's address).
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
case "$what" in
    all | lint | build | artifacts) ;;
    *)
        echo "usage: $0 [lint|build|artifacts]" >&2
        exit 2
        ;;
esac

# shellcheck source=infra/venv.sh
source infra/venv.sh

region=eu-west-3

lint() {
    echo "== cfn-lint template.yaml"
    cfn-lint template.yaml
    echo "== sam validate --lint"
    sam validate --lint --template template.yaml --region "$region"
}

build() {
    local target=aarch64-unknown-linux-gnu
    # cargo-lambda cross-compiles with zig but needs Rust's standard library for the target, which
    # only rustup provides (from the Rust project's own server, not crates.io).
    if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
        echo "== rustup target add $target"
        if ! rustup target add "$target"; then
            echo "!! could not install the Rust standard library for $target (rustup download)." >&2
            if [ "${TELMAIL_LAMBDA_BUILD_OPTIONAL:-0}" = 1 ]; then
                echo "!! Lambda build SKIPPED (TELMAIL_LAMBDA_BUILD_OPTIONAL=1): nothing was built or checked." >&2
                return 0
            fi
            exit 1
        fi
    fi

    echo "== sam build --beta-features (cargo lambda build --release --arm64, one binary per function)"
    local started=$SECONDS
    # rust-cargolambda is a SAM beta feature. It builds in the source tree into the workspace's
    # target/ (target/lambda/<binary>/bootstrap), then copies each bootstrap to .aws-sam/build/.
    sam build --beta-features --build-in-source --template template.yaml --build-dir .aws-sam/build
    echo "   sam build took $((SECONDS - started)) s"
    artifacts
}

artifacts() {
    echo "== Lambda artifacts (ELF aarch64 bootstrap in .aws-sam/build/<function>/)"
    python3 infra/check_artifacts.py bootstraps template.yaml .aws-sam/build

    echo "== sam package (into a local moto S3 bucket: the zips sam deploy would upload)"
    # shellcheck source=infra/moto.sh
    source infra/moto.sh
    trap moto_stop EXIT
    moto_start
    local bucket=telmail-package-check
    (
        unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN
        export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
        export AWS_REGION="$region" AWS_DEFAULT_REGION="$region" AWS_ENDPOINT_URL="$MOTO_URL"
        python3 -c 'import sys, boto3; boto3.client("s3").create_bucket(Bucket=sys.argv[1], CreateBucketConfiguration={"LocationConstraint": sys.argv[2]})' \
            "$bucket" "$region"
        if ! sam package --region "$region" --s3-bucket "$bucket" --s3-prefix telmail \
            --template-file .aws-sam/build/template.yaml --output-template-file .aws-sam/packaged.yaml \
            >.aws-sam/package.log 2>&1; then
            cat .aws-sam/package.log >&2
            exit 1
        fi
        python3 infra/check_artifacts.py packaged .aws-sam/packaged.yaml "$bucket"
    )
    moto_stop
    trap - EXIT
}

case "$what" in
    lint) lint ;;
    build) build ;;
    artifacts) artifacts ;;
    all)
        lint
        build
        ;;
esac
