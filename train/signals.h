// SIGINT/SIGTERM handling for the trainer: the first signal asks the loop to finish the
// current step, checkpoint and exit 0; a second one exits at once.
#pragma once

namespace linea {

void install_stop_handlers();
bool stop_requested();
// Test hook: behave as if a signal arrived.
void request_stop();

}  // namespace linea
