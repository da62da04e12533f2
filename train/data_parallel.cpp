#include "train/data_parallel.h"

#include <chrono>
#include <cmath>

#include "core/kernels/elementwise.h"
#include "core/kernels/reduce.h"
#include "optim/clip.h"
#include "train/gradient_buckets.h"

namespace linea {

namespace {
using Clock = std::chrono::steady_clock;
double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }
Tensor flat_range(const Tensor& t, int64_t begin, int64_t length) {
  return t.view({t.numel()}).narrow(0, begin, length);
}
}  // namespace

struct DataParallel::State {
  struct Bucket {
    Tensor buffer;  // [padded]: gradients in, averages (or gathered parameters) out
    Tensor shard;   // ZeRO-1: [padded / world], this rank's averaged slice
    int pending = 0;
    std::unique_ptr<CommWork> work;
    bool complete = false;
    Clock::time_point done_at;
  };

  State(Communicator& c, std::vector<std::pair<std::string, Variable>> p, DataParallelOptions o)
      : comm(c), options(o), params(std::move(p)) {}

  Communicator& comm;
  DataParallelOptions options;
  std::vector<std::pair<std::string, Variable>> params;   // all, for broadcast
  std::vector<std::pair<std::string, Variable>> trained;  // requires_grad, bucketed
  std::vector<BucketLayout> layout;
  std::vector<Bucket> buckets;
  std::vector<size_t> bucket_of;  // per trained parameter
  std::vector<size_t> entry_of;   // per trained parameter: index into its bucket's entries
  std::vector<bool> ready;        // per trained parameter: gradient copied into its bucket
  std::vector<OwnedRun> runs;
  OwnedSlices slices;  // nullopt without sharding
  size_t next_launch = 0;  // buckets start strictly in order, the same on every rank
  bool sync = true;
  bool launched_any = false;
  Clock::time_point first_launch;
  CommStats stats;

  const BucketEntry& entry(size_t i) const { return layout[bucket_of[i]].entries[entry_of[i]]; }

  // ZeRO-1: the averaged (or clipped) owned runs of the shards go into the parameters'
  // .grad, where the optimizer reads them; rounded to the parameter's dtype as it would
  // have rounded them itself.
  void write_owned_gradients() {
    NoGradGuard no_grad;
    for (const OwnedRun& r : runs) {
      Variable& param = trained[r.param].second;
      if (!param.grad().defined()) param.set_grad(Tensor::zeros(param.shape(), param.dtype(), param.device()));
      Tensor g = param.grad();
      if (!g.is_contiguous()) {
        g = g.contiguous();
        param.set_grad(g);
      }
      flat_range(g, r.begin, r.length).copy_(buckets[r.bucket].shard.narrow(0, r.shard_offset, r.length));
    }
  }

  // Copies parameter i's gradient (zeros when undefined) into its bucket.
  void pack(size_t i) {
    const Tensor& g = trained[i].second.grad();
    const BucketEntry& e = entry(i);
    Tensor dst = buckets[bucket_of[i]].buffer.narrow(0, e.offset, e.numel);
    if (g.defined()) dst.copy_(g.reshape({e.numel}));
    else dst.zero_();
    ready[i] = true;
    buckets[bucket_of[i]].pending -= 1;
  }

  void launch(size_t b) {
    Bucket& bucket = buckets[b];
    const BucketLayout& l = layout[b];
    if (!launched_any) {
      launched_any = true;
      first_launch = Clock::now();
    }
    if (options.shard_optimizer) {
      if (l.padded > l.numel) bucket.buffer.narrow(0, l.numel, l.padded - l.numel).zero_();
      bucket.work = comm.reduce_scatter_async(bucket.buffer, bucket.shard, ReduceOp::mean);
    } else {
      bucket.work = comm.all_reduce_async(bucket.buffer.narrow(0, 0, l.numel), ReduceOp::mean);
    }
    stats.collectives += 1;
  }

  void launch_ready() {
    while (next_launch < buckets.size() && buckets[next_launch].pending == 0) launch(next_launch++);
  }

  // Lets started collectives progress (MPI advances them only inside its calls) and notes
  // when each completes.
  void poll() {
    for (size_t b = 0; b < next_launch; ++b) {
      Bucket& bucket = buckets[b];
      if (!bucket.complete && bucket.work->test()) {
        bucket.complete = true;
        bucket.done_at = Clock::now();
      }
    }
  }

  void on_gradient_ready(size_t i) {
    if (!sync) return;
    LINEA_CHECK_T(Error, !ready[i], "DataParallel: the gradient of '", trained[i].first,
                  "' became ready twice before finish_gradients(); expected one synchronized backward per "
                  "step (turn set_gradient_sync off for the other accumulation micro-steps)");
    pack(i);
    launch_ready();
    poll();
  }

  void reset_step() {
    std::fill(ready.begin(), ready.end(), false);
    for (size_t b = 0; b < buckets.size(); ++b) {
      buckets[b].pending = int(layout[b].entries.size());
      buckets[b].work.reset();
      buckets[b].complete = false;
    }
    next_launch = 0;
    launched_any = false;
  }
};

DataParallel::DataParallel(Communicator& comm, std::vector<std::pair<std::string, Variable>> params,
                           DataParallelOptions options)
    : state_(std::make_shared<State>(comm, std::move(params), options)) {
  State& s = *state_;
  LINEA_CHECK_T(ConfigError, options.bucket_mb > 0, "DataParallel: bucket size ", options.bucket_mb,
                " MB is not positive, expected dist.bucket_mb > 0");
  std::vector<std::pair<int64_t, DType>> numel_dtypes;
  for (const auto& [name, param] : s.params) {
    LINEA_CHECK_T(Error, param.defined(), "DataParallel: parameter '", name, "' is undefined");
    LINEA_CHECK_T(Error, param.data().is_contiguous(), "DataParallel: parameter '", name, "' must be dense, got ",
                  param.data().desc());
    LINEA_CHECK_T(Error, param.device() == s.params.front().second.device(), "DataParallel: parameter '", name,
                  "' is on ", param.device().str(), ", expected every parameter on ",
                  s.params.front().second.device().str());
    LINEA_CHECK_T(Error, comm.size() == 1 || param.device() == comm.device(), "DataParallel: parameter '", name,
                  "' is on ", param.device().str(), " but the ", comm.backend(), " communicator works on ",
                  comm.device().str());
    if (!param.requires_grad()) continue;
    s.trained.emplace_back(name, param);
    numel_dtypes.emplace_back(param.numel(), param.dtype());
  }
  s.layout = plan_buckets(numel_dtypes, options.bucket_mb * 1024.0 * 1024.0, comm.size());
  s.bucket_of.resize(s.trained.size());
  s.entry_of.resize(s.trained.size());
  s.ready.assign(s.trained.size(), false);
  const Device device = s.trained.empty() ? comm.device() : s.trained.front().second.device();
  for (size_t b = 0; b < s.layout.size(); ++b) {
    State::Bucket bucket;
    bucket.buffer = Tensor::zeros({s.layout[b].padded}, s.layout[b].dtype, device);
    if (options.shard_optimizer)
      bucket.shard = Tensor::zeros({s.layout[b].padded / comm.size()}, s.layout[b].dtype, device);
    s.buckets.push_back(std::move(bucket));
    for (size_t k = 0; k < s.layout[b].entries.size(); ++k) {
      s.bucket_of[s.layout[b].entries[k].param] = b;
      s.entry_of[s.layout[b].entries[k].param] = k;
    }
  }
  s.reset_step();
  if (options.shard_optimizer) {
    s.runs = owned_runs(s.layout, comm.rank(), comm.size());
    s.slices.emplace();
    for (const OwnedRun& r : s.runs) s.slices->push_back({s.trained[r.param].first, r.begin, r.length});
  }
  // The hooks hold the state weakly: parameters may outlive this object.
  std::weak_ptr<State> weak = state_;
  for (size_t i = 0; i < s.trained.size(); ++i)
    s.trained[i].second.register_hook([weak, i](Variable&) {
      if (auto state = weak.lock()) state->on_gradient_ready(i);
    });
}

DataParallel::~DataParallel() = default;

Communicator& DataParallel::communicator() const { return state_->comm; }
int64_t DataParallel::bucket_count() const { return int64_t(state_->buckets.size()); }

void DataParallel::broadcast_parameters(int root) {
  NoGradGuard no_grad;
  for (auto& [name, param] : state_->params) state_->comm.broadcast(param.data(), root);
}

void DataParallel::set_gradient_sync(bool on) { state_->sync = on; }
bool DataParallel::gradient_sync() const { return state_->sync; }

void DataParallel::finish_gradients() {
  State& s = *state_;
  const Clock::time_point enter = Clock::now();
  for (size_t i = 0; i < s.trained.size(); ++i)
    if (!s.ready[i]) s.pack(i);
  s.launch_ready();
  LINEA_ASSERT(s.next_launch == s.buckets.size(), "every bucket is packed, so every bucket must have started");
  for (State::Bucket& bucket : s.buckets) {
    if (bucket.complete) continue;
    bucket.work->wait();
    bucket.complete = true;
    bucket.done_at = Clock::now();
  }
  const Clock::time_point done = Clock::now();
  if (s.launched_any) {
    Clock::time_point last = s.first_launch;
    for (const State::Bucket& bucket : s.buckets) last = std::max(last, bucket.done_at);
    s.stats.comm_s += seconds(s.first_launch, last);
    s.stats.wait_s += seconds(enter, done);
  }
  s.stats.steps += 1;

  if (!s.options.shard_optimizer) {
    NoGradGuard no_grad;
    for (size_t i = 0; i < s.trained.size(); ++i) {
      Variable& param = s.trained[i].second;
      const BucketEntry& e = s.entry(i);
      const Tensor avg = s.buckets[s.bucket_of[i]].buffer.narrow(0, e.offset, e.numel).reshape(param.shape());
      Tensor g = param.grad();
      if (g.defined() && g.is_contiguous()) g.copy_(avg);
      else param.set_grad(avg.to(param.dtype()).clone());
    }
  } else {
    s.write_owned_gradients();
  }
  s.reset_step();
}

double DataParallel::clip_gradients(double max_norm) {
  State& s = *state_;
  if (!s.options.shard_optimizer) return clip_grad_norm(s.trained, max_norm);
  LINEA_CHECK_T(Error, max_norm > 0, "clip_gradients: max_norm must be positive, got ", max_norm);
  // Each rank's slices are disjoint: the global sum of squares is the sum of theirs.
  double local = 0.0;
  for (const OwnedRun& r : s.runs) {
    if (r.length == 0) continue;
    const Tensor g = s.buckets[r.bucket].shard.narrow(0, r.shard_offset, r.length);
    local += kernels::reduce(ReduceOp::sum, kernels::binary_fwd(BinaryOp::mul, g, g), {}, false).item();
  }
  const double norm = std::sqrt(s.comm.all_reduce_value(local, ReduceOp::sum));
  if (!std::isfinite(norm) || norm <= max_norm) return norm;
  const double coef = max_norm / (norm + 1e-6);
  // Scaled in the f32 (f64) shards, then rounded once into .grad, as without clipping.
  for (State::Bucket& bucket : s.buckets)
    bucket.shard.copy_(kernels::unary_fwd(UnaryOp::affine, bucket.shard, coef, 0.0));
  s.write_owned_gradients();
  return norm;
}

const OwnedSlices& DataParallel::owned_slices() const { return state_->slices; }

void DataParallel::sync_parameters() {
  State& s = *state_;
  if (!s.options.shard_optimizer) return;
  NoGradGuard no_grad;
  // This rank's updated slices go into its shard (padding stays as it is: never read back).
  for (const OwnedRun& r : s.runs)
    s.buckets[r.bucket].shard.narrow(0, r.shard_offset, r.length)
        .copy_(flat_range(s.trained[r.param].second.data(), r.begin, r.length));
  std::vector<std::unique_ptr<CommWork>> works;
  for (State::Bucket& bucket : s.buckets) works.push_back(s.comm.all_gather_async(bucket.shard, bucket.buffer));
  for (auto& w : works) w->wait();
  for (size_t i = 0; i < s.trained.size(); ++i) {
    const BucketEntry& e = s.entry(i);
    Tensor value = s.trained[i].second.data();
    value.copy_(s.buckets[s.bucket_of[i]].buffer.narrow(0, e.offset, e.numel).reshape(value.shape()));
  }
}

const CommStats& DataParallel::comm_stats() const { return state_->stats; }
void DataParallel::reset_comm_stats() { state_->stats = CommStats{}; }

}  // namespace linea
