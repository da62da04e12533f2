// A job in which the last rank fails on purpose, for tests/dist/rank_failure_test.sh. It
// shows the pattern a training loop follows: catch what the rank cannot recover from and
// abort() the whole job with it, so no peer waits in a collective forever.
//   linea_rank_failure throw   the last rank hits a data error at step 3 while the others
//                              keep all-reducing: the job ends with its message, code 3
//   linea_rank_failure hang    the last rank stops joining collectives: rank 0's all_reduce
//                              times out after 2 s and ends the job with that message
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "core/dist/communicator.h"

using namespace linea;

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "throw" && mode != "hang") {
    std::fprintf(stderr, "usage: %s throw|hang\n", argv[0]);
    return 2;
  }
  CommOptions options;
  options.timeout_s = 2.0;
  std::unique_ptr<Communicator> comm = make_communicator(CommBackend::automatic, Device::cpu(), options);
  const bool failing = comm->rank() == comm->size() - 1;
  try {
    for (int step = 0; step < 50; ++step) {
      if (failing && step == 3) {
        if (mode == "throw")
          throw DataError("shard 0 row 17: token id 70000 is beyond the vocabulary (37), expected ids < 37");
        std::this_thread::sleep_for(std::chrono::seconds(600));  // stuck: never joins again
      }
      Tensor t = Tensor::ones({1024});
      comm->all_reduce(t, ReduceOp::sum);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  } catch (const std::exception& e) {
    comm->abort(3, e.what());
  }
  std::printf("rank %d finished without a failure\n", comm->rank());
  return 0;
}
