# Sourced (not run) by scripts/test-all.sh and infra/check-template.sh:
#   source infra/venv.sh
# Makes the Python virtualenv holding the AWS tools of infra/requirements.txt (SAM CLI, cfn-lint,
# cargo-lambda, zig, moto, Schemathesis), every package pinned by infra/constraints.txt, once: it is reused
# while those two files are unchanged. Puts its
# bin/ first on PATH: cargo finds `cargo-lambda` there and cargo-lambda finds zig through that
# `python3` (`python3 -m ziglang`). TELMAIL_VENV chooses another folder (default: .venv/).

telmail_venv() {
    local root venv req pins stamp want
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    venv="${TELMAIL_VENV:-$root/.venv}"
    req="$root/infra/requirements.txt"
    pins="$root/infra/constraints.txt"
    stamp="$venv/.telmail-requirements"
    want="$(cat "$req" "$pins" | cksum)"

    if [ ! -x "$venv/bin/python3" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "   creating $venv from infra/requirements.txt (once; a minute)"
        if ! python3 -m venv "$venv" 2>/dev/null; then
            # Debian and Ubuntu ship venv/ensurepip separately.
            if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
                echo "   python3 -m venv failed: installing python3-venv"
                apt-get update -qq
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
                rm -rf "$venv"
                python3 -m venv "$venv"
            else
                echo "python3 -m venv failed: install Python 3 with venv (Debian: apt-get install python3-venv)" >&2
                return 1
            fi
        fi
        "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check "pip==26.3"
        "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check -r "$req" -c "$pins"
        echo "$want" >"$stamp"
    fi

    export VIRTUAL_ENV="$venv"
    case ":$PATH:" in
        *":$venv/bin:"*) ;;
        *) export PATH="$venv/bin:$PATH" ;;
    esac
    # SAM CLI: no usage telemetry (it would call an AWS endpoint); its weekly "newer version" check
    # only asks PyPI.
    export SAM_CLI_TELEMETRY=0
}

telmail_venv
