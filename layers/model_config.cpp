// Resolving a model's layout into one spec per layer.
#include "layers/model_config.h"

#include "core/error.h"

namespace linea {

std::vector<LayerSpec> layer_specs(const ModelConfig& m) {
  std::vector<LayerSpec> specs;
  if (m.layout.empty()) {
    for (int64_t i = 0; i < m.layers; ++i) {
      LayerSpec s{m.attention, m.ffn};
      if (!m.layer_pattern.empty()) s.attention.kind = m.layer_pattern[size_t(i) % m.layer_pattern.size()];
      specs.push_back(s);
    }
    return specs;
  }
  for (size_t g = 0; g < m.layout.size(); ++g) {
    const LayerGroup& group = m.layout[g];
    const int64_t taken = int64_t(specs.size());
    LINEA_CHECK_T(ConfigError, group.layers > 0 || g + 1 == m.layout.size(), "model.layout[", g,
                  "].layers: 0 (the remaining layers) is only allowed in the last group");
    const int64_t count = group.layers > 0 ? group.layers : m.layers - taken;
    LINEA_CHECK_T(ConfigError, count > 0 && taken + count <= m.layers, "model.layout[", g, "]: ", count,
                  " layers after ", taken, " exceed model.layers (", m.layers, ")");
    for (int64_t i = 0; i < count; ++i)
      specs.push_back(group.pattern.empty() ? LayerSpec{group.attention, group.ffn}
                                            : group.pattern[size_t(i) % group.pattern.size()]);
  }
  LINEA_CHECK_T(ConfigError, int64_t(specs.size()) == m.layers, "model.layout covers ", specs.size(),
                " layers, expected model.layers (", m.layers, ")");
  return specs;
}

}  // namespace linea
