// `linea bench encoder RECIPE`: MLM training throughput of a recipe's MosaicBERT encoder on
// a BERT-like masked batch with ~50% padding, the unpadded and the padded path side by side
// (real tokens/s, ms/step, MFU over the useful FLOPs, memory a step allocates).
#pragma once
#include "train/bench.h"

namespace linea {

// cmd.save_batch writes the batch (/input_ids, /attention_mask, /token_type_ids, /labels) and
// /bench/{gemm_peak_flops, flops_per_token} for scripts/torch_reference/bench_mosaicbert.py.
int run_bench_encoder(const BenchCommand& cmd);

}  // namespace linea
