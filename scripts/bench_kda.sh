#!/usr/bin/env bash
# Kimi Delta Attention alone (q, k, v, g, β given; forward + backward), side by side by
# sequence length: linea's chunkwise kernel, its token-by-token recurrence (forward only) and
# fused causal softmax on q, k, v of the same shapes, then a PyTorch implementation of the
# chunkwise algorithm (specs/kimi_linear.md §2.2, autograd backward), same threads.
#   scripts/bench_kda.sh [--lengths 512,1024,...] [--heads 8] [--head-dim 64] [--batch 1]
exec "$(dirname "${BASH_SOURCE[0]}")/bench_linear_attention.sh" --mixer kda "$@"
