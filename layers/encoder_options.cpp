// EncoderOptions validation.
#include "layers/encoder_options.h"

#include "core/error.h"

namespace linea {

void EncoderOptions::validate() const {
  auto positive = [](int64_t v, const char* name) {
    LINEA_CHECK_T(ConfigError, v > 0, "EncoderOptions: ", name, " must be positive, got ", v);
  };
  positive(vocab, "vocab");
  positive(hidden, "hidden");
  positive(layers, "layers");
  positive(heads, "heads");
  positive(ffn_hidden, "ffn_hidden");
  positive(type_vocab, "type_vocab");
  positive(max_seq_len, "max_seq_len");
  LINEA_CHECK_T(ConfigError, hidden % heads == 0, "EncoderOptions: heads (", heads, ") must divide hidden (", hidden,
                ")");
  LINEA_CHECK_T(ConfigError, norm_eps > 0, "EncoderOptions: norm_eps must be positive, got ", norm_eps);
  LINEA_CHECK_T(ConfigError, dropout >= 0 && dropout < 1, "EncoderOptions: dropout must be in [0, 1), got ", dropout);
  LINEA_CHECK_T(ConfigError, init_std >= 0, "EncoderOptions: init_std must be non-negative, got ", init_std);
}

}  // namespace linea
