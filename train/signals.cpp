#include "train/signals.h"

#include <csignal>
#include <cstdlib>
#include <unistd.h>

namespace linea {
namespace {
volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) {
  if (g_stop) _exit(130);  // second signal: the user insists
  g_stop = 1;
  const char msg[] = "\nlinea: stop requested, finishing the step and checkpointing (signal again to abort)\n";
  (void)!write(2, msg, sizeof(msg) - 1);
}
}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() { return g_stop != 0; }
void request_stop() { g_stop = 1; }

}  // namespace linea
