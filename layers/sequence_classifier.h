// BERT's sequence-classification head (BertForSequenceClassification, mosaicbert.md 1.9):
// logits = classifier(dropout(tanh(pooler(h_[CLS])))), and the fine-tuning model that puts it on
// an Encoder. Parameter names: "pooler.weight", "pooler.bias", "classifier.weight",
// "classifier.bias" inside the head; the model names its parts "encoder" and "head".
#pragma once
#include <memory>

#include "core/rng.h"
#include "layers/encoder.h"
#include "layers/linear.h"

namespace linea {

class SequenceClassifier : public Module {
 public:
  // num_labels 1 is a regression head (one score per sequence). ConfigError for hidden or
  // num_labels < 1 or dropout outside [0, 1).
  SequenceClassifier(int64_t hidden, int64_t num_labels, double dropout, Device device = Device::cpu(),
                     DType dtype = DType::f32);
  // As HF BERT's _init_weights: weights normal(0, std), biases 0. The pooler is part of this
  // head because MosaicBERT's MLM checkpoint has no pooler (it is always trained from scratch).
  void init_parameters(Generator& gen, double std);
  // cls [B, hidden] (the final hidden state of each sequence's [CLS] token) -> [B, num_labels].
  Variable forward(const Variable& cls) const;
  int64_t num_labels() const { return num_labels_; }

 private:
  Child<Linear> pooler_, classifier_;
  int64_t num_labels_;
  double dropout_;
};

// Encoder (built without its MLM head) + SequenceClassifier on the [CLS] token (position 0 of
// every row, so flat position b * T).
class EncoderClassifier : public Module {
 public:
  EncoderClassifier(const ModelConfig& encoder, int64_t num_labels, double classifier_dropout, Device device = Device::cpu(),
                    DType dtype = DType::f32);
  void init_parameters(Generator& gen, int64_t pad_id);
  // [B, num_labels] logits (or [B, 1] scores) for a batch whose rows start with [CLS].
  Variable forward(const EncoderRows& rows);

  Encoder& encoder() { return *encoder_; }
  SequenceClassifier& head() { return *head_; }

 private:
  Child<Encoder> encoder_;
  Child<SequenceClassifier> head_;
};

}  // namespace linea
