// Name tables of the config enums and their to_string.
#include "configs/config_enums.h"

namespace linea {

#define LINEA_CONFIG_ENUM(Type, ...)                            \
  const EnumNames& enum_names(Type) {                           \
    static const EnumNames names = {__VA_ARGS__};               \
    return names;                                               \
  }                                                             \
  const char* to_string(Type v) { return enum_names(v)[static_cast<size_t>(v)].c_str(); }

LINEA_CONFIG_ENUM(ModelKind, "decoder", "encoder")
LINEA_CONFIG_ENUM(FfnKind, "swiglu", "geglu", "sglu", "glu", "mlp", "moe")
LINEA_CONFIG_ENUM(Activation, "none", "silu", "gelu", "gelu_tanh", "relu", "sigmoid", "elu", "elu_plus_one")
LINEA_CONFIG_ENUM(NormKind, "rmsnorm", "layernorm", "simple_rmsnorm")
LINEA_CONFIG_ENUM(NormPosition, "pre", "post")
LINEA_CONFIG_ENUM(AbsolutePositions, "none", "sinusoidal")
LINEA_CONFIG_ENUM(AttentionKind, "softmax", "mla", "norm_linear", "diag_block", "lightning", "kda",
                  "hedgehog_window")
LINEA_CONFIG_ENUM(PositionKind, "rope", "alibi", "none", "lrpe", "urpe")
LINEA_CONFIG_ENUM(BlockScores, "softmax", "relu")
LINEA_CONFIG_ENUM(WindowLayout, "terrace", "sliding")
LINEA_CONFIG_ENUM(FeatureMapKind, "hedgehog", "t2r")
LINEA_CONFIG_ENUM(KdaDecay, "per_channel", "per_head")
LINEA_CONFIG_ENUM(OutputGateRank, "low", "full", "none")
LINEA_CONFIG_ENUM(OutputGateActivation, "sigmoid", "swish")
LINEA_CONFIG_ENUM(Objective, "causal", "mlm", "classification", "attention_transfer")
LINEA_CONFIG_ENUM(OptimKind, "adamw", "decoupled_adamw", "sgd", "muon")
LINEA_CONFIG_ENUM(ScheduleKind, "constant", "linear", "cosine", "wsd", "plateau")
LINEA_CONFIG_ENUM(Precision, "fp32", "bf16")
LINEA_CONFIG_ENUM(DistBackend, "auto", "mpi", "nccl")

#undef LINEA_CONFIG_ENUM

}  // namespace linea
