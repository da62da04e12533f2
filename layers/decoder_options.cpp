// DecoderOptions validation.
#include "layers/decoder_options.h"

#include "core/error.h"

namespace linea {

void DecoderOptions::validate() const {
  auto positive = [](int64_t v, const char* name) {
    LINEA_CHECK_T(ConfigError, v > 0, "DecoderOptions: ", name, " must be positive, got ", v);
  };
  positive(vocab, "vocab");
  positive(hidden, "hidden");
  positive(layers, "layers");
  positive(heads, "heads");
  positive(kv_heads, "kv_heads");
  positive(ffn_hidden, "ffn_hidden");
  positive(max_seq_len, "max_seq_len");
  LINEA_CHECK_T(ConfigError, hidden % heads == 0 && head_dim() % 2 == 0, "DecoderOptions: hidden (", hidden,
                ") must be heads (", heads, ") times an even head_dim");
  LINEA_CHECK_T(ConfigError, heads % kv_heads == 0, "DecoderOptions: heads (", heads,
                ") must be a multiple of kv_heads (", kv_heads, ")");
  LINEA_CHECK_T(ConfigError, norm_eps > 0, "DecoderOptions: norm_eps must be positive, got ", norm_eps);
  LINEA_CHECK_T(ConfigError, rope_theta > 0, "DecoderOptions: rope_theta must be positive, got ", rope_theta);
  LINEA_CHECK_T(ConfigError, dropout >= 0 && dropout < 1, "DecoderOptions: dropout must be in [0, 1), got ", dropout);
  LINEA_CHECK_T(ConfigError, init_std >= 0, "DecoderOptions: init_std must be non-negative, got ", init_std);
  LINEA_CHECK_T(ConfigError, window >= 0, "DecoderOptions: window must be non-negative (0: none), got ", window);
}

}  // namespace linea
