#include "autograd/engine.h"

#include <algorithm>
#include <unordered_map>

#include "autograd/node.h"
#include "core/kernels/elementwise.h"

namespace linea {

namespace {
void accumulate(Tensor& slot, const Tensor& g) {
  if (!g.defined()) return;
  slot = slot.defined() ? kernels::binary_fwd(BinaryOp::add, slot, g) : g;
}
}  // namespace

void run_backward(const std::vector<Variable>& roots, const std::vector<Tensor>& grads, bool retain_graph) {
  LINEA_CHECK(roots.size() == grads.size(), "backward: ", roots.size(), " roots but ", grads.size(), " gradients");
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  std::vector<std::shared_ptr<Node>> seeds;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Variable& r = roots[i];
    Edge e = gradient_edge(r);
    LINEA_CHECK(e.valid(), "backward: root ", i, " (", r.data().desc(),
                ") does not require grad, expected a result of ops on variables with requires_grad");
    Tensor g = grads[i];
    if (!g.defined()) {
      LINEA_CHECK(r.numel() == 1, "backward: implicit gradient needs a scalar root, got ", r.data().desc(),
                  "; pass a gradient of the same shape");
      g = Tensor::ones(r.shape(), r.dtype(), r.device());
    }
    LINEA_CHECK(g.shape() == r.shape(), "backward: gradient ", g.desc(), " does not match root ", r.data().desc());
    auto& buf = buffers[e.node.get()];
    buf.resize(std::max<size_t>(e.node->outputs.size(), 1));
    accumulate(buf[e.input_nr], g);
    seeds.push_back(e.node);
  }

  // Count, for every reachable node, how many edges lead into it.
  std::unordered_map<Node*, int> deps;
  std::vector<Node*> stack;
  for (auto& s : seeds)
    if (deps.emplace(s.get(), 0).second) stack.push_back(s.get());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next) {
      if (!e.valid()) continue;
      auto [it, first_visit] = deps.emplace(e.node.get(), 0);
      it->second += 1;
      if (first_visit) stack.push_back(e.node.get());
    }
  }

  // Nodes keep each other alive through `next`; hold the seeds while we run.
  std::vector<std::shared_ptr<Node>> ready;
  for (auto& s : seeds)
    if (deps[s.get()] == 0 && std::find(ready.begin(), ready.end(), s) == ready.end()) ready.push_back(s);
  while (!ready.empty()) {
    std::shared_ptr<Node> node = ready.back();
    ready.pop_back();
    std::vector<Tensor> in = std::move(buffers[node.get()]);
    buffers.erase(node.get());
    in.resize(std::max<size_t>(node->outputs.size(), 1));
    for (size_t k = 0; k < node->outputs.size(); ++k)
      if (!in[k].defined()) {
        const OutputMeta& m = node->outputs[k];
        in[k] = Tensor::zeros(m.shape, m.dtype, m.device);
      }
    std::vector<Tensor> out = node->apply(in);
    LINEA_ASSERT(out.size() == node->next.size() || node->next.empty(), node->name(), " returned ", out.size(),
                 " gradients for ", node->next.size(), " inputs");
    for (size_t j = 0; j < node->next.size(); ++j) {
      const Edge& e = node->next[j];
      if (!e.valid()) continue;
      if (out[j].defined()) {
        auto& buf = buffers[e.node.get()];
        buf.resize(std::max<size_t>(e.node->outputs.size(), 1));
        accumulate(buf[e.input_nr], out[j]);
      }
      if (--deps[e.node.get()] == 0) ready.push_back(e.node);
    }
    if (!retain_graph) node->release();
  }
}

}  // namespace linea
