// layout_summary: the per-layer layout in one line per run of equal layers.
#include "configs/config.h"
#include "core/error.h"

namespace linea {

std::vector<std::string> layout_summary(const ModelConfig& m) {
  auto describe = [](const LayerSpec& s) {
    std::string d = str_cat(to_string(s.attention.kind), " ", to_string(s.attention.positions));
    if (s.attention.window > 0) d += str_cat(" window ", s.attention.window);
    d += str_cat(" | ", to_string(s.ffn.kind));
    if (s.ffn.kind == FfnKind::glu) d += str_cat(" ", to_string(s.ffn.activation));
    return d + str_cat(" ", s.ffn.hidden);
  };
  const std::vector<LayerSpec> specs = layer_specs(m);
  std::vector<std::string> lines;
  for (size_t first = 0; first < specs.size();) {
    const std::string d = describe(specs[first]);
    size_t last = first;
    while (last + 1 < specs.size() && describe(specs[last + 1]) == d) ++last;
    lines.push_back(first == last ? str_cat("layers ", first, ": ", d) : str_cat("layers ", first, "-", last, ": ", d));
    first = last + 1;
  }
  return lines;
}

}  // namespace linea
