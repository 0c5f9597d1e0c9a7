#!/usr/bin/env bash
# Generates Python messages and gRPC stubs from proto/petition/v1/*.proto into
# clients/python/gen/ with grpcio-tools (python -m grpc_tools.protoc).
# Works from any directory. Needs grpcio-tools installed in $PYTHON (default:
# python3 on PATH); run.sh sets that up in a venv.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
proto_root="$repo/proto"
out="$here/gen"
python="${PYTHON:-python3}"

shopt -s nullglob
protos=("$proto_root"/petition/v1/*.proto)
if [ "${#protos[@]}" -eq 0 ]; then
    echo "generate.sh: no .proto files under $proto_root/petition/v1" >&2
    exit 1
fi

# Start clean so a removed .proto never leaves a stale module behind.
rm -rf "$out"
mkdir -p "$out"

# grpc_tools.protoc adds its bundled google/protobuf/*.proto to the include
# path itself, so well-known types (Timestamp, FieldMask) resolve.
"$python" -m grpc_tools.protoc \
    -I "$proto_root" \
    --python_out="$out" \
    --pyi_out="$out" \
    --grpc_python_out="$out" \
    "${protos[@]}"

echo "generated $(find "$out" -name '*.py' | wc -l) Python modules from ${#protos[@]} protos into $out"
