// Encoder: construction, initialization, forward over unpadded or padded rows, MLM loss and
// the FLOPs count.
#include "layers/encoder.h"

#include "autograd/checkpoint.h"
#include "autograd/ops/cross_entropy.h"
#include "autograd/ops/dropout.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/gather.h"
#include "autograd/ops/matmul.h"

namespace linea {

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
  const std::vector<LayerSpec> specs = layer_specs(m);
  for (size_t i = 0; i < specs.size(); ++i)
    layers_->append(std::make_shared<Block>(specs[i], m, int64_t(i), HfLayout::bert, device, dtype));
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
    m->init_own_parameters(gen);
  }
  if (mlm_head_) Tensor(parameter("mlm_head.decoder_bias").data()).zero_();
  LINEA_CHECK_T(ConfigError, pad_id >= 0 && pad_id < m_.vocab_size, "Encoder::init_parameters: pad_id ", pad_id,
                " is outside the vocabulary of ", m_.vocab_size);
  embeddings_->word_embeddings().weight().data().select(0, pad_id).zero_();
}

Variable Encoder::forward(const EncoderRows& r, const std::vector<int64_t>& positions) {
  const int64_t B = r.batch, T = r.seq_len;
  LINEA_CHECK_T(ShapeError, T <= m_.max_seq_len, "Encoder: sequence length ", T, " exceeds max_seq_len ",
                m_.max_seq_len);
  LINEA_CHECK_T(ShapeError, int64_t(r.row_of.size()) == B * T && int64_t(r.lengths.size()) == B &&
                    r.ids.dim() == 1 && r.types.shape() == r.ids.shape(),
                "Encoder: rows of a [", B, ", ", T, "] batch need row_of [B*T], lengths [B] and ids / types [R]");
  std::vector<int64_t> rows;
  for (int64_t p : positions) {
    LINEA_CHECK_T(DataError, p >= 0 && p < B * T && r.row_of[size_t(p)] >= 0, "Encoder: position ", p,
                  " is not a real token of the [", B, ", ", T, "] batch (padding or out of range)");
    rows.push_back(r.row_of[size_t(p)]);
  }
  SequenceContext l;
  l.positions = &positions_;
  if (r.packed) {
    std::vector<int64_t> cu_seqlens{0};
    for (int64_t len : r.lengths) cu_seqlens.push_back(cu_seqlens.back() + len);
    l.B = 1;
    l.T = cu_seqlens.back();
    l.segments = kernels::AttentionSegments::packed(cu_seqlens);
  } else {
    l.B = B;
    l.T = T;
    l.segments = kernels::AttentionSegments::padded(r.lengths, T);
  }
  LINEA_CHECK_T(ShapeError, r.ids.size(0) == l.B * l.T, "Encoder: ", r.ids.size(0), " row ids for ", l.B * l.T, " rows");
  const Device device = embeddings_->word_embeddings().weight().device();
  const Tensor ids = r.ids.to(device), types = r.types.to(device);
  const Tensor subset = Tensor::from_indices(rows, ids.device());
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

Encoder::MlmOutput Encoder::mlm(const EncoderRows& rows, const Tensor& labels, int64_t ignore_index) {
  LINEA_CHECK_T(ConfigError, mlm_head_ != nullptr, "Encoder::mlm: this encoder was built without its MLM head "
                "(mlm_head = false)");
  LINEA_CHECK_T(ShapeError, labels.shape() == (Shape{rows.batch, rows.seq_len}), "Encoder::mlm: labels ",
                labels.desc(), " must be [", rows.batch, ", ", rows.seq_len, "], the padded batch's shape");
  const std::vector<double> lab = labels.to_vector();
  std::vector<int64_t> positions, targets;
  for (size_t p = 0; p < lab.size(); ++p) {
    if (int64_t(lab[p]) == ignore_index) continue;
    LINEA_CHECK_T(DataError, lab[p] >= 0 && lab[p] < double(m_.vocab_size), "Encoder::mlm: label ", int64_t(lab[p]),
                  " at position ", p, " is outside the vocabulary of ", m_.vocab_size);
    positions.push_back(int64_t(p));
    targets.push_back(int64_t(lab[p]));
  }
  Variable hidden = forward(rows, positions);
  Variable logits = mlm_head_->forward(hidden, embeddings_->word_embeddings().weight());
  MlmOutput out;
  out.targets = Tensor::from_indices(targets, hidden.device());
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
