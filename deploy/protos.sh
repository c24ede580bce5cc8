#!/usr/bin/env bash
# `make protos`: writes the Swift code for proto/ (messages by swift-protobuf's protoc-gen-swift,
# services by grpc-swift-protobuf's protoc-gen-grpc-swift-2) into Sources/APIs/GRPC/Generated,
# which is committed: the plugins take a while to build on a new machine, and protoc is not
# needed to build the project. The plugins are the versions Package.swift resolves; protoc is
# Debian's (protobuf-compiler, installed here when missing).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if ! command -v protoc >/dev/null; then
    echo "installing protoc (protobuf-compiler)..." >&2
    apt-get install -y -qq --no-install-recommends protobuf-compiler >/dev/null
fi
swift build --product protoc-gen-swift >&2
swift build --product protoc-gen-grpc-swift-2 >&2
BIN="$(swift build --show-bin-path)"
OUT=Sources/APIs/GRPC/Generated
rm -rf "$OUT"
mkdir -p "$OUT"
mapfile -t PROTOS < <(cd proto && find . -name '*.proto' | sed 's|^\./||' | sort)
(cd proto && protoc \
    --plugin=protoc-gen-swift="$BIN/protoc-gen-swift" --swift_out="$ROOT/$OUT" \
    --swift_opt=Visibility=Public,FileNaming=PathToUnderscores,UseAccessLevelOnImports=true \
    --plugin=protoc-gen-grpc-swift-2="$BIN/protoc-gen-grpc-swift-2" --grpc-swift-2_out="$ROOT/$OUT" \
    --grpc-swift-2_opt=Visibility=Public,FileNaming=PathToUnderscores,Server=true,Client=true,UseAccessLevelOnImports=true \
    --descriptor_set_out="$ROOT/$OUT/descriptors.pb" --include_imports \
    "${PROTOS[@]}")
# descriptors.pb: the files as server reflection describes them (embedded in the binary).
echo "wrote $(ls "$OUT" | wc -l) files in $OUT from ${#PROTOS[@]} protos" >&2
