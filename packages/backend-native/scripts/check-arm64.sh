#!/bin/sh
# Cross-compiles the GEMM (NEON and portable micro-kernels) for arm64 and checks it
# against a float64 reference under qemu. Needs Debian's g++-aarch64-linux-gnu and qemu-user.
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
aarch64-linux-gnu-g++ -std=c++17 -O3 -static -I"$here/native" "$here/native/test/gemm_check.cc" \
  "$here/native/gemm.cc" "$here/native/thread_pool.cc" -o "$out/gemm_check" -lpthread
qemu-aarch64 "$out/gemm_check"
