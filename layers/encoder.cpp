// Encoder: construction, initialization, the unpadded / padded row layout, forward, MLM loss
// and the FLOPs count.
#include "layers/encoder.h"

#include "autograd/checkpoint.h"
#include "autograd/ops/cross_entropy.h"
#include "autograd/ops/dropout.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/gather.h"
#include "autograd/ops/matmul.h"
#include "layers/unpad.h"

namespace linea {
namespace {

Tensor i64_tensor(const std::vector<int64_t>& values, Device device) {
  Tensor t = Tensor::empty({int64_t(values.size())}, DType::i64);
  std::copy(values.begin(), values.end(), t.data<int64_t>());
  return t.to(device);
}

}  // namespace

EncoderEmbeddings::EncoderEmbeddings(const ModelConfig& m, Device device, DType dtype) : dropout_(m.dropout) {
  word_embeddings_ = register_module("word_embeddings", std::make_shared<Embedding>(m.vocab_size, m.hidden, device, dtype));
  token_type_embeddings_ =
      register_module("token_type_embeddings", std::make_shared<Embedding>(m.type_vocab_size, m.hidden, device, dtype));
  norm_ = register_module("norm", std::make_shared<LayerNorm>(m.hidden, m.norm.eps, true, device, dtype));
}

Variable EncoderEmbeddings::forward(const Tensor& ids, const Tensor& types) const {
  Variable x = norm_->forward(word_embeddings_->forward(ids) + token_type_embeddings_->forward(types));
  return dropout(x, dropout_, default_generator(), is_training());
}

MlmHead::MlmHead(const ModelConfig& m, Device device, DType dtype) {
  dense_ = register_module("dense", std::make_shared<Linear>(m.hidden, m.hidden, true, device, dtype));
  norm_ = register_module("norm", std::make_shared<LayerNorm>(m.hidden, m.norm.eps, true, device, dtype));
  decoder_bias_ = register_parameter("decoder_bias", Variable(Tensor::zeros({m.vocab_size}, dtype, device)));
}

Variable MlmHead::forward(const Variable& x, const Variable& word_embeddings) const {
  return linear(norm_->forward(gelu(dense_->forward(x))), word_embeddings, decoder_bias_);
}

Encoder::Encoder(const ModelConfig& m, Device device, DType dtype, bool mlm_head) : m_(m) {
  LINEA_CHECK_T(ConfigError, m.kind == ModelKind::encoder && m.vocab_size > 0 && m.hidden > 0 && m.layers > 0,
                "Encoder: needs an encoder model section with vocab_size, hidden and layers > 0");
  embeddings_ = register_module("embeddings", std::make_shared<EncoderEmbeddings>(m, device, dtype));
  layers_ = register_module("layers", std::make_shared<ModuleList<Block>>());
  for (const LayerSpec& spec : layer_specs(m)) layers_->append(std::make_shared<Block>(spec, m, HfLayout::bert, device, dtype));
  if (mlm_head) mlm_head_ = register_module("mlm_head", std::make_shared<MlmHead>(m, device, dtype));
}

void Encoder::init_parameters(Generator& gen, int64_t pad_id) {
  for (auto& [name, m] : named_modules()) {
    if (auto* lin = dynamic_cast<Linear*>(m)) {
      normal_(lin->weight().data(), gen, 0.0, m_.init_std);
      if (lin->bias().defined()) Tensor(lin->bias().data()).zero_();
    } else if (auto* emb = dynamic_cast<Embedding*>(m)) {
      normal_(emb->weight().data(), gen, 0.0, m_.init_std);
    } else if (auto* norm = dynamic_cast<Norm*>(m)) {
      norm->reset_parameters();
    }
  }
  if (mlm_head_) Tensor(parameter("mlm_head.decoder_bias").data()).zero_();
  LINEA_CHECK_T(ConfigError, pad_id >= 0 && pad_id < m_.vocab_size, "Encoder::init_parameters: pad_id ", pad_id,
                " is outside the vocabulary of ", m_.vocab_size);
  embeddings_->word_embeddings().weight().data().select(0, pad_id).zero_();
}

std::pair<SequenceContext, std::vector<int64_t>> Encoder::layout(const EncoderBatch& batch, Tensor* ids, Tensor* types) {
  const Tensor& in = batch.input_ids;
  LINEA_CHECK_T(ShapeError, in.dim() == 2 && batch.attention_mask.shape() == in.shape(), "Encoder: input_ids ",
                in.desc(), " and attention_mask ", batch.attention_mask.desc(), " must both be [B, T]");
  LINEA_CHECK_T(ShapeError, !batch.token_type_ids.defined() || batch.token_type_ids.shape() == in.shape(),
                "Encoder: token_type_ids ", batch.token_type_ids.desc(), " must match input_ids ", in.desc());
  const int64_t B = in.size(0), T = in.size(1);
  LINEA_CHECK_T(ShapeError, T <= m_.max_seq_len, "Encoder: sequence length ", T, " exceeds max_seq_len ",
                m_.max_seq_len);
  const Device device = embeddings_->word_embeddings().weight().device();
  const Unpadded u = unpad_metadata(batch.attention_mask);
  const std::vector<double> real = u.indices.to_vector();  // flat positions of real tokens, row-major
  const std::vector<double> cu = u.cu_seqlens.to_vector();
  std::vector<int64_t> row_of(size_t(B * T), -1);
  SequenceContext l;
  l.positions = &positions_;
  // Ids and types are read on the host (the row layout is decided there anyway) and the
  // rows the layers see are uploaded once.
  const std::vector<double> all_ids = in.to_vector();
  const std::vector<double> all_types =
      batch.token_type_ids.defined() ? batch.token_type_ids.to_vector() : std::vector<double>(all_ids.size(), 0.0);
  auto upload_rows = [&](const std::vector<int64_t>& flat) {
    std::vector<int64_t> i, t;
    for (int64_t p : flat) {
      i.push_back(int64_t(all_ids[size_t(p)]));
      t.push_back(int64_t(all_types[size_t(p)]));
    }
    *ids = i64_tensor(i, device);
    *types = i64_tensor(t, device);
  };
  if (m_.unpad) {
    std::vector<int64_t> cu_seqlens(cu.begin(), cu.end()), rows(real.begin(), real.end());
    for (size_t r = 0; r < rows.size(); ++r) row_of[size_t(rows[r])] = int64_t(r);
    l.B = 1;
    l.T = u.total_tokens;
    l.segments = kernels::AttentionSegments::packed(cu_seqlens);
    upload_rows(rows);
  } else {
    std::vector<int64_t> lengths;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t len = int64_t(cu[size_t(b + 1)] - cu[size_t(b)]);
      for (int64_t r = int64_t(cu[size_t(b)]); r < int64_t(cu[size_t(b + 1)]); ++r)
        LINEA_CHECK_T(DataError, int64_t(real[size_t(r)]) == b * T + (r - int64_t(cu[size_t(b)])),
                      "Encoder: attention_mask row ", b, " has padding before a real token; the padded path "
                      "expects each row's real tokens first (the unpadded path takes any mask)");
      for (int64_t t = 0; t < len; ++t) row_of[size_t(b * T + t)] = b * T + t;
      lengths.push_back(len);
    }
    l.B = B;
    l.T = T;
    l.segments = kernels::AttentionSegments::padded(lengths, T);
    std::vector<int64_t> every(size_t(B * T));
    for (int64_t p = 0; p < B * T; ++p) every[size_t(p)] = p;
    upload_rows(every);
  }
  return {l, row_of};
}

Variable Encoder::forward(const EncoderBatch& batch, const std::vector<int64_t>& positions) {
  Tensor ids, types;
  auto [l, row_of] = layout(batch, &ids, &types);
  std::vector<int64_t> rows;
  for (int64_t p : positions) {
    LINEA_CHECK_T(DataError, p >= 0 && p < int64_t(row_of.size()) && row_of[size_t(p)] >= 0, "Encoder: position ", p,
                  " is not a real token of the [", batch.input_ids.size(0), ", ", batch.input_ids.size(1),
                  "] batch (padding or out of range)");
    rows.push_back(row_of[size_t(p)]);
  }
  const Tensor subset = i64_tensor(rows, ids.device());
  Variable x = embeddings_->forward(ids, types);
  for (size_t i = 0; i < layers_->size(); ++i) {
    const Block& block = (*layers_)[i];
    SequenceContext ctx = l;
    // Only the last layer is restricted to the wanted rows (MosaicBERT's MLM trick).
    if (i + 1 == layers_->size()) ctx.output_rows = subset;
    if (recompute_ && grad_mode_enabled()) {
      x = checkpoint([&block, ctx](const std::vector<Variable>& in) {
            return std::vector<Variable>{block.forward(in[0], ctx)};
          }, {x})[0];
    } else {
      x = block.forward(x, ctx);
    }
  }
  return x;
}

Encoder::MlmOutput Encoder::mlm(const EncoderBatch& batch, const Tensor& labels, int64_t ignore_index) {
  LINEA_CHECK_T(ConfigError, mlm_head_ != nullptr, "Encoder::mlm: this encoder was built without its MLM head "
                "(mlm_head = false)");
  LINEA_CHECK_T(ShapeError, labels.shape() == batch.input_ids.shape(), "Encoder::mlm: labels ", labels.desc(),
                " must match input_ids ", batch.input_ids.desc());
  const std::vector<double> lab = labels.to_vector();
  std::vector<int64_t> positions, targets;
  for (size_t p = 0; p < lab.size(); ++p) {
    if (int64_t(lab[p]) == ignore_index) continue;
    LINEA_CHECK_T(DataError, lab[p] >= 0 && lab[p] < double(m_.vocab_size), "Encoder::mlm: label ", int64_t(lab[p]),
                  " at position ", p, " is outside the vocabulary of ", m_.vocab_size);
    positions.push_back(int64_t(p));
    targets.push_back(int64_t(lab[p]));
  }
  Variable hidden = forward(batch, positions);
  Variable logits = mlm_head_->forward(hidden, embeddings_->word_embeddings().weight());
  MlmOutput out;
  out.targets = i64_tensor(targets, hidden.device());
  out.loss = cross_entropy(logits, out.targets, ignore_index);
  out.logits = logits.data();
  return out;
}

double Encoder::flops_per_token(int64_t seq_len, double head_fraction) const {
  const double C = double(m_.hidden);
  const double head = C * C + double(m_.vocab_size) * C;  // mlm_head.dense and the tied decoder
  double flops = 6 * head_fraction * head;
  for (size_t i = 0; i < layers_->size(); ++i)
    flops += (*layers_)[i].mixer().flops_per_token(seq_len) + (*layers_)[i].ffn().flops_per_token();
  return flops;
}

}  // namespace linea
