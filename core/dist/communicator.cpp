#include "core/dist/communicator.h"

#include <cstdlib>

#include "core/dist/collective_checks.h"

namespace linea {

const char* comm_backend_name(CommBackend b) {
  switch (b) {
    case CommBackend::automatic: return "auto";
    case CommBackend::mpi: return "mpi";
    case CommBackend::nccl: return "nccl";
  }
  return "?";
}

CommBackend comm_backend_from_name(const std::string& name) {
  if (name == "auto") return CommBackend::automatic;
  if (name == "mpi") return CommBackend::mpi;
  if (name == "nccl") return CommBackend::nccl;
  throw ConfigError(str_cat("communication backend '", name, "' is unknown, expected auto, mpi or nccl"));
}

double Communicator::all_reduce_value(double value, ReduceOp op) {
  // f64 on this communicator's device, so NCCL reduces it too (one tiny collective).
  Tensor t = Tensor::full({1}, value, DType::f64, device());
  all_reduce(t, op);
  return t.item();
}

int launcher_world_size() {
  // Open MPI's mpirun, MPICH/Intel MPI's Hydra (PMI), MVAPICH, and Slurm's srun steps.
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS"}) {
    const char* v = std::getenv(var);
    if (v == nullptr || *v == '\0') continue;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    LINEA_CHECK_T(Error, end != v && *end == '\0' && n >= 1, "launcher environment: ", var, "='", v,
                  "' is not a world size, expected a positive integer");
    return int(n);
  }
  return 1;
}

namespace dist {

void check_collective_tensor(const char* backend, const char* op, const char* what, const Tensor& t, Device device,
                             bool any_device) {
  LINEA_CHECK(t.defined(), backend, " ", op, ": ", what, " is undefined, expected a dense tensor");
  LINEA_CHECK(t.is_contiguous(), backend, " ", op, ": ", what, " ", t.desc(),
              " is not contiguous, expected a dense tensor (call contiguous() and copy back)");
  LINEA_CHECK(any_device || t.device() == device, backend, " ", op, ": ", what, " ", t.desc(), " is on ",
              t.device().str(), ", expected a tensor on ", device.str(), " (this backend's device)");
}

void check_reduce_dtype(const char* backend, const char* op, ReduceOp reduce, const Tensor& t) {
  LINEA_CHECK(reduce != ReduceOp::mean || is_floating(t.dtype()), backend, " ", op, ": mean of ", t.desc(),
              " needs a floating dtype (f32, f64, bf16, f16); use sum for integers");
}

void check_all_gather_sizes(const char* backend, const Tensor& input, const Tensor& output, int world_size) {
  LINEA_CHECK(input.dtype() == output.dtype(), backend, " all_gather: output ", output.desc(),
              " must have the dtype of input ", input.desc());
  LINEA_CHECK(output.numel() == input.numel() * world_size, backend, " all_gather: output ", output.desc(),
              " must hold world size (", world_size, ") x ", input.numel(), " = ", input.numel() * world_size,
              " elements, the concatenation of every rank's input ", input.desc());
}

void check_reduce_scatter_sizes(const char* backend, const Tensor& input, const Tensor& output, int world_size) {
  LINEA_CHECK(input.dtype() == output.dtype(), backend, " reduce_scatter: output ", output.desc(),
              " must have the dtype of input ", input.desc());
  LINEA_CHECK(input.numel() == output.numel() * world_size, backend, " reduce_scatter: input ", input.desc(),
              " must hold world size (", world_size, ") x ", output.numel(), " = ", output.numel() * world_size,
              " elements, one output-sized block per rank (output ", output.desc(), ")");
}

void check_root(const char* backend, int root, int world_size) {
  LINEA_CHECK(root >= 0 && root < world_size, backend, " broadcast: root ", root,
              " is not a rank, expected 0 <= root < ", world_size);
}

}  // namespace dist
}  // namespace linea
