// `tocsin backup --config FILE --out DIR`: an online backup of a server's data_dir into a new
// directory, safe while the server runs (docs/operations.md#backups).
#pragma once

#include <string>

namespace tocsin::cli {

struct BackupCommand {
  std::string config;  // the tocsin.yaml whose server.data_dir is backed up
  std::string out;     // a directory that does not exist yet, or is empty
};

int run_backup(const BackupCommand& command);

}  // namespace tocsin::cli
