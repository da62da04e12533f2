#include "layers/sequence_classifier.h"

#include "autograd/ops/dropout.h"
#include "autograd/ops/elementwise.h"
#include "core/error.h"

namespace linea {

SequenceClassifier::SequenceClassifier(int64_t hidden, int64_t num_labels, double dropout, Device device, DType dtype)
    : num_labels_(num_labels), dropout_(dropout) {
  LINEA_CHECK_T(ConfigError, hidden >= 1, "SequenceClassifier: hidden must be positive, got ", hidden);
  LINEA_CHECK_T(ConfigError, num_labels >= 1, "SequenceClassifier: num_labels must be positive, got ", num_labels);
  LINEA_CHECK_T(ConfigError, dropout >= 0 && dropout < 1, "SequenceClassifier: dropout must be in [0, 1), got ",
                dropout);
  pooler_ = register_module("pooler", std::make_shared<Linear>(hidden, hidden, true, device, dtype));
  classifier_ = register_module("classifier", std::make_shared<Linear>(hidden, num_labels, true, device, dtype));
}

void SequenceClassifier::init_parameters(Generator& gen, double std) {
  for (const auto& lin : {pooler_, classifier_}) {
    normal_(lin->weight().data(), gen, 0.0, std);
    Tensor(lin->bias().data()).zero_();
  }
}

Variable SequenceClassifier::forward(const Variable& cls) const {
  Variable pooled = tanh(pooler_->forward(cls));
  return classifier_->forward(dropout(pooled, dropout_, default_generator(), is_training()));
}

EncoderClassifier::EncoderClassifier(const ModelConfig& encoder, int64_t num_labels, double classifier_dropout,
                                     Device device, DType dtype) {
  encoder_ = register_module("encoder", std::make_shared<Encoder>(encoder, device, dtype, /*mlm_head=*/false));
  head_ = register_module("head", std::make_shared<SequenceClassifier>(encoder.hidden, num_labels, classifier_dropout,
                                                                       device, dtype));
}

void EncoderClassifier::init_parameters(Generator& gen, int64_t pad_id) {
  encoder_->init_parameters(gen, pad_id);
  head_->init_parameters(gen, encoder_->config().init_std);
}

Variable EncoderClassifier::forward(const EncoderRows& rows) {
  const int64_t B = rows.batch, T = rows.seq_len;
  std::vector<int64_t> cls(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) cls[size_t(b)] = b * T;
  return head_->forward(encoder_->forward(rows, cls));
}

}  // namespace linea
