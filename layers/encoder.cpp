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

EncoderEmbeddings::EncoderEmbeddings(const EncoderOptions& opt, Device device, DType dtype) : dropout_(opt.dropout) {
  word_embeddings_ = register_module("word_embeddings", std::make_shared<Embedding>(opt.vocab, opt.hidden, device, dtype));
  token_type_embeddings_ =
      register_module("token_type_embeddings", std::make_shared<Embedding>(opt.type_vocab, opt.hidden, device, dtype));
  norm_ = register_module("norm", std::make_shared<LayerNorm>(opt.hidden, opt.norm_eps, true, device, dtype));
}

Variable EncoderEmbeddings::forward(const Tensor& ids, const Tensor& types) const {
  Variable x = norm_->forward(word_embeddings_->forward(ids) + token_type_embeddings_->forward(types));
  return dropout(x, dropout_, default_generator(), is_training());
}

MlmHead::MlmHead(const EncoderOptions& opt, Device device, DType dtype) {
  dense_ = register_module("dense", std::make_shared<Linear>(opt.hidden, opt.hidden, true, device, dtype));
  norm_ = register_module("norm", std::make_shared<LayerNorm>(opt.hidden, opt.norm_eps, true, device, dtype));
  decoder_bias_ = register_parameter("decoder_bias", Variable(Tensor::zeros({opt.vocab}, dtype, device)));
}

Variable MlmHead::forward(const Variable& x, const Variable& word_embeddings) const {
  return linear(norm_->forward(gelu(dense_->forward(x))), word_embeddings, decoder_bias_);
}

Encoder::Encoder(const EncoderOptions& opt, Device device, DType dtype) : opt_(opt) {
  opt_.validate();
  embeddings_ = register_module("embeddings", std::make_shared<EncoderEmbeddings>(opt, device, dtype));
  layers_ = register_module("layers", std::make_shared<ModuleList<EncoderBlock>>());
  for (int64_t i = 0; i < opt.layers; ++i) layers_->append(std::make_shared<EncoderBlock>(opt, device, dtype));
  if (opt.mlm_head) mlm_head_ = register_module("mlm_head", std::make_shared<MlmHead>(opt, device, dtype));
}

void Encoder::init_parameters(Generator& gen, int64_t pad_id) {
  for (auto& [name, m] : named_modules()) {
    if (auto* lin = dynamic_cast<Linear*>(m)) {
      normal_(lin->weight().data(), gen, 0.0, opt_.init_std);
      if (lin->bias().defined()) Tensor(lin->bias().data()).zero_();
    } else if (auto* emb = dynamic_cast<Embedding*>(m)) {
      normal_(emb->weight().data(), gen, 0.0, opt_.init_std);
    } else if (auto* ln = dynamic_cast<LayerNorm*>(m)) {
      Tensor(ln->weight().data()).fill_(1.0);
      Tensor(ln->bias().data()).zero_();
    }
  }
  if (mlm_head_) Tensor(parameter("mlm_head.decoder_bias").data()).zero_();
  LINEA_CHECK_T(ConfigError, pad_id >= 0 && pad_id < opt_.vocab, "Encoder::init_parameters: pad_id ", pad_id,
                " is outside the vocabulary of ", opt_.vocab);
  embeddings_->word_embeddings().weight().data().select(0, pad_id).zero_();
}

Tensor Encoder::alibi_slopes(Device device) {
  for (auto& [d, t] : slopes_cache_)
    if (d == device) return t;
  const std::vector<float> s = kernels::alibi_slopes(opt_.heads);
  Tensor t = Tensor::from_vector(std::vector<double>(s.begin(), s.end()), {opt_.heads}, DType::f32).to(device);
  slopes_cache_.emplace_back(device, t);
  return t;
}

std::pair<RowLayout, std::vector<int64_t>> Encoder::layout(const EncoderBatch& batch, Tensor* ids, Tensor* types) {
  const Tensor& in = batch.input_ids;
  LINEA_CHECK_T(ShapeError, in.dim() == 2 && batch.attention_mask.shape() == in.shape(), "Encoder: input_ids ",
                in.desc(), " and attention_mask ", batch.attention_mask.desc(), " must both be [B, T]");
  LINEA_CHECK_T(ShapeError, !batch.token_type_ids.defined() || batch.token_type_ids.shape() == in.shape(),
                "Encoder: token_type_ids ", batch.token_type_ids.desc(), " must match input_ids ", in.desc());
  const int64_t B = in.size(0), T = in.size(1);
  LINEA_CHECK_T(ShapeError, T <= opt_.max_seq_len, "Encoder: sequence length ", T, " exceeds max_seq_len ",
                opt_.max_seq_len);
  const Device device = embeddings_->word_embeddings().weight().device();
  const Unpadded u = unpad_metadata(batch.attention_mask);
  const std::vector<double> real = u.indices.to_vector();  // flat positions of real tokens, row-major
  const std::vector<double> cu = u.cu_seqlens.to_vector();
  std::vector<int64_t> row_of(size_t(B * T), -1);
  RowLayout l;
  l.attention.alibi_slopes = alibi_slopes(device);
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
  if (opt_.unpad) {
    std::vector<int64_t> cu_seqlens(cu.begin(), cu.end()), rows(real.begin(), real.end());
    for (size_t r = 0; r < rows.size(); ++r) row_of[size_t(rows[r])] = int64_t(r);
    l.B = 1;
    l.T = u.total_tokens;
    l.attention.segments = kernels::AttentionSegments::packed(cu_seqlens);
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
    l.attention.segments = kernels::AttentionSegments::padded(lengths, T);
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
  const RowLayout layout = l;
  Variable x = embeddings_->forward(ids, types);
  for (size_t i = 0; i < layers_->size(); ++i) {
    const EncoderBlock& block = (*layers_)[i];
    const Tensor keep = i + 1 == layers_->size() ? subset : Tensor();
    if (opt_.recompute && grad_mode_enabled()) {
      x = checkpoint([&block, layout, keep](const std::vector<Variable>& in) {
            return std::vector<Variable>{block.forward(in[0], layout, keep)};
          }, {x})[0];
    } else {
      x = block.forward(x, layout, keep);
    }
  }
  return x;
}

Encoder::MlmOutput Encoder::mlm(const EncoderBatch& batch, const Tensor& labels, int64_t ignore_index) {
  LINEA_CHECK_T(ConfigError, mlm_head_ != nullptr, "Encoder::mlm: this encoder was built without its MLM head "
                "(EncoderOptions::mlm_head = false)");
  LINEA_CHECK_T(ShapeError, labels.shape() == batch.input_ids.shape(), "Encoder::mlm: labels ", labels.desc(),
                " must match input_ids ", batch.input_ids.desc());
  const std::vector<double> lab = labels.to_vector();
  std::vector<int64_t> positions, targets;
  for (size_t p = 0; p < lab.size(); ++p) {
    if (int64_t(lab[p]) == ignore_index) continue;
    LINEA_CHECK_T(DataError, lab[p] >= 0 && lab[p] < double(opt_.vocab), "Encoder::mlm: label ", int64_t(lab[p]),
                  " at position ", p, " is outside the vocabulary of ", opt_.vocab);
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
  const double C = double(opt_.hidden), I = double(opt_.ffn_hidden), L = double(opt_.layers);
  const double per_layer = 4 * C * C + 3 * C * I;  // Wqkv, out_proj, gated_layers, wo
  const double head = C * C + double(opt_.vocab) * C;
  return 6 * (L * per_layer + head_fraction * head) + 12 * L * C * double(seq_len);
}

}  // namespace linea
