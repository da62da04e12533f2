#include "train/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "core/io/hdf5_file.h"
#include "train/run_dir.h"

namespace linea {
namespace {

void write_trainer(H5File& f, const TrainerState& s) {
  f.write_tensor("/trainer/schedule_state",
                 Tensor::from_vector(s.schedule_state, {int64_t(s.schedule_state.size())}, DType::f64));
  f.set_int_attr("/trainer", "step", s.step);
  f.set_int_attr("/trainer", "tokens_seen", s.tokens_seen);
  // uint64 RNG words are stored bit-for-bit in int64 attributes.
  f.set_int_attr("/trainer", "rng_seed", int64_t(s.rng_seed));
  f.set_int_attr("/trainer", "rng_offset", int64_t(s.rng_offset));
  f.set_int_attr("/trainer", "sampler_epoch", s.sampler_epoch);
  f.set_int_attr("/trainer", "sampler_cursor", s.sampler_cursor);
  f.set_string_attr("/trainer", "tokenizer_sha256", s.tokenizer_sha256);
  if (s.stopped_at_accuracy > 0) f.set_double_attr("/trainer", "stopped_at_accuracy", s.stopped_at_accuracy);
}

TrainerState read_trainer(const H5File& f) {
  TrainerState s;
  s.step = f.int_attr("/trainer", "step");
  s.tokens_seen = f.int_attr("/trainer", "tokens_seen");
  s.rng_seed = uint64_t(f.int_attr("/trainer", "rng_seed"));
  s.rng_offset = uint64_t(f.int_attr("/trainer", "rng_offset"));
  s.sampler_epoch = f.int_attr("/trainer", "sampler_epoch");
  s.sampler_cursor = f.int_attr("/trainer", "sampler_cursor");
  s.schedule_state = f.read_tensor("/trainer/schedule_state").to_vector();
  // Checkpoints written before the attribute existed carry no tokenizer identity.
  if (f.has_attr("/trainer", "tokenizer_sha256")) s.tokenizer_sha256 = f.string_attr("/trainer", "tokenizer_sha256");
  if (f.has_attr("/trainer", "stopped_at_accuracy")) s.stopped_at_accuracy = f.double_attr("/trainer", "stopped_at_accuracy");
  return s;
}

void check_format(const H5File& f) {
  if (!f.has_attr("/", "format_version") || !f.exists("/model"))
    throw CheckpointError(str_cat(f.path(), ": not a linea checkpoint (no format_version attribute or /model group)"));
  const int64_t v = f.int_attr("/", "format_version");
  if (v != kCheckpointFormatVersion)
    throw CheckpointError(str_cat(f.path(), ": checkpoint format_version ", v, ", expected ", kCheckpointFormatVersion));
}

OptimizerSnapshot read_optimizer(const H5File& f, const std::string& expected_kind) {
  if (!f.exists("/optim"))
    throw CheckpointError(str_cat(f.path(), ": the checkpoint has no optimizer state (/optim)"));
  OptimizerSnapshot s;
  s.kind = f.string_attr("/optim", "kind");
  if (s.kind != expected_kind)
    throw CheckpointError(str_cat(f.path(), ": optimizer state is for ", s.kind, ", expected ", expected_kind));
  s.step = f.int_attr("/optim", "step");
  std::vector<std::pair<std::string, std::string>> names;  // (parameter, state)
  std::vector<std::string> objects;
  for (const std::string& name : f.list("/optim"))
    for (const std::string& state_name : f.list("/optim/" + name)) {
      names.emplace_back(name, state_name);
      objects.push_back("/optim/" + name + "/" + state_name);
    }
  f.read_tensors(objects, [&](size_t i, const Tensor& t) { s.state[names[i].first][names[i].second] = t; });
  return s;
}

// Buffers (state a module updates outside the gradient, Module::after_step) under
// /buffers/<dotted name>; checkpoints of models without buffers have no /buffers group.
void load_buffers(const H5File& f, Module& model) {
  const auto buffers = model.named_buffers();
  const size_t stored = f.exists("/buffers") ? f.list("/buffers").size() : 0;
  if (stored != buffers.size())
    throw CheckpointError(str_cat(f.path(), ": checkpoint holds ", stored, " buffers, the model has ", buffers.size()));
  for (const auto& [name, b] : buffers) {
    if (!f.exists("/buffers/" + name))
      throw CheckpointError(str_cat(f.path(), ": buffer '", name, "' is missing from the checkpoint"));
    const Tensor t = f.read_tensor("/buffers/" + name);
    if (t.shape() != b.shape())
      throw CheckpointError(str_cat(f.path(), ": buffer '", name, "' has shape ", shape_str(t.shape()),
                                    " in the checkpoint, expected ", shape_str(b.shape())));
    Tensor dst = b;  // shares the buffer's storage
    dst.copy_(t);
  }
}

}  // namespace

OptimizerSnapshot snapshot_of(const Optimizer& optimizer, Communicator& comm) {
  return OptimizerSnapshot{optimizer.kind(), optimizer.step_count(), optimizer.gather_state(comm)};
}

void save_checkpoint(const std::string& path, const Module& model, const OptimizerSnapshot* optimizer,
                     const TrainerState& state, const std::string& config_yaml, int world_size,
                     const StoredTokenizer* tokenizer) {
  const std::string tmp = path + ".tmp";
  {
    H5File f = H5File::create(tmp);
    f.set_int_attr("/", "format_version", kCheckpointFormatVersion);
    f.set_string_attr("/", "linea_version", LINEA_VERSION);
    f.set_string_attr("/", "config_yaml", config_yaml);
    f.set_int_attr("/", "world_size", world_size);
    for (const auto& [name, p] : model.named_parameters()) f.write_tensor("/model/" + name, p.data().to(DType::f32));
    for (const auto& [name, b] : model.named_buffers()) f.write_tensor("/buffers/" + name, b);
    if (optimizer) {
      for (const auto& [name, states] : optimizer->state)
        for (const auto& [state_name, t] : states) f.write_tensor("/optim/" + name + "/" + state_name, t);
      f.set_string_attr("/optim", "kind", optimizer->kind);
      f.set_int_attr("/optim", "step", optimizer->step);
    }
    write_trainer(f, state);
    if (tokenizer) {
      Tensor bytes = Tensor::empty({int64_t(tokenizer->bytes.size())}, DType::u8);
      std::copy(tokenizer->bytes.begin(), tokenizer->bytes.end(), bytes.data<uint8_t>());
      f.write_tensor("/tokenizer", bytes);
      f.set_string_attr("/tokenizer", "kind", tokenizer->kind);
      f.set_string_attr("/tokenizer", "file_name", tokenizer->file_name);
    }
    f.close();
  }
  fsync_path(tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw CheckpointError(str_cat(path, ": renaming the finished checkpoint from ", tmp, " failed"));
}

std::optional<StoredTokenizer> read_checkpoint_tokenizer(const std::string& path) {
  H5File f = H5File::open_read(path);
  check_format(f);
  if (!f.exists("/tokenizer")) return std::nullopt;
  StoredTokenizer t;
  t.kind = f.string_attr("/tokenizer", "kind");
  t.file_name = f.string_attr("/tokenizer", "file_name");
  const Tensor bytes = f.read_tensor("/tokenizer");
  t.bytes.assign(reinterpret_cast<const char*>(bytes.data_ptr()), size_t(bytes.numel()));
  return t;
}

std::string read_checkpoint_config(const std::string& path) {
  H5File f = H5File::open_read(path);
  check_format(f);
  return f.string_attr("/", "config_yaml");
}

void load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer, TrainerState* state) {
  H5File f = H5File::open_read(path);
  check_format(f);
  const auto params = model.named_parameters();
  const std::vector<std::string> stored = f.list("/model");
  if (stored.size() != params.size())
    throw CheckpointError(str_cat(path, ": checkpoint holds ", stored.size(), " model tensors, the model has ",
                                  params.size()));
  std::vector<std::string> objects;
  for (const auto& [name, p] : params) {
    if (!f.exists("/model/" + name))
      throw CheckpointError(str_cat(path, ": parameter '", name, "' is missing from the checkpoint"));
    objects.push_back("/model/" + name);
  }
  f.read_tensors(objects, [&](size_t i, const Tensor& t) {
    const auto& [name, p] = params[i];
    if (t.shape() != p.shape())
      throw CheckpointError(str_cat(path, ": parameter '", name, "' has shape ", shape_str(t.shape()),
                                    " in the checkpoint, expected ", shape_str(p.shape())));
    Tensor dst = p.data();  // shares the parameter's storage
    dst.copy_(t);
  });
  load_buffers(f, model);
  if (optimizer) {
    OptimizerSnapshot s = read_optimizer(f, optimizer->kind());
    optimizer->load_state(s.state, s.step);
  }
  if (state) *state = read_trainer(f);
}

OptimizerSnapshot read_optimizer_snapshot(const std::string& path, const std::string& expected_kind) {
  H5File f = H5File::open_read(path);
  check_format(f);
  return read_optimizer(f, expected_kind);
}

std::vector<std::string> checkpoint_tensor_names(const std::string& path) {
  H5File f = H5File::open_read(path);
  check_format(f);
  return f.list("/model");
}

WeightsLoadReport load_model_weights(const std::string& path, Module& model, const std::vector<WeightRename>& rename,
                                     const std::vector<std::string>& ignore) {
  H5File f = H5File::open_read(path);
  check_format(f);
  std::map<std::string, Variable> params;
  for (const auto& [name, p] : model.named_parameters()) params.emplace(name, p);
  std::set<std::string> filled;
  WeightsLoadReport r;
  for (const std::string& stored : f.list("/model")) {
    if (std::any_of(ignore.begin(), ignore.end(), [&](const std::string& g) { return glob_match(g, stored); })) {
      r.ignored.push_back(stored);
      continue;
    }
    std::string target = stored;
    for (const WeightRename& rule : rename)
      if (stored.compare(0, rule.from.size(), rule.from) == 0) {
        target = rule.to + stored.substr(rule.from.size());
        break;
      }
    auto it = params.find(target);
    if (it == params.end()) {
      r.unexpected.push_back(stored);
      continue;
    }
    Tensor t = f.read_tensor("/model/" + stored);
    if (t.shape() != it->second.shape())
      throw CheckpointError(str_cat(path, ": tensor '", stored, "' has shape ", shape_str(t.shape()),
                                    " in the checkpoint, expected ", shape_str(it->second.shape()), " for parameter '",
                                    target, "'"));
    Tensor dst = it->second.data();  // shares the parameter's storage
    dst.copy_(t);
    filled.insert(target);
  }
  for (const auto& [name, p] : model.named_parameters())
    (filled.count(name) ? r.loaded : r.missing).push_back(name);
  return r;
}

H5File::VerifyReport verify_checkpoint(const std::string& path) {
  H5File::VerifyReport report = H5File::verify_file(path);
  if (report.damaged.empty()) {
    try {
      check_format(H5File::open_read(path));
    } catch (const CheckpointError& e) {
      report.damaged.push_back(e.what());
    }
  }
  return report;
}

CheckpointInfo inspect_checkpoint(const std::string& path) {
  H5File f = H5File::open_read(path);
  check_format(f);
  CheckpointInfo info;
  info.format_version = f.int_attr("/", "format_version");
  info.world_size = f.int_attr("/", "world_size");
  info.linea_version = f.string_attr("/", "linea_version");
  info.config_yaml = f.string_attr("/", "config_yaml");
  if (f.exists("/optim")) info.optimizer_kind = f.string_attr("/optim", "kind");
  info.trainer = read_trainer(f);
  for (const std::string& name : f.list("/model")) info.model_tensors.push_back({name, f.dataset_shape("/model/" + name)});
  return info;
}

}  // namespace linea
