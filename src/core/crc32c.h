// CRC-32C (Castagnoli, the polynomial of iSCSI, ext4 and the LevelDB/RocksDB/Prometheus logs):
// a checksum for records that a crash may leave torn. Uses the SSE4.2 crc32 instruction when the
// CPU has it (decided once, at first use), else an 8-bytes-at-a-time table.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace tocsin::core {

// The CRC-32C of `data` continuing from `crc` (the CRC of the bytes before it; 0 to start), so
// crc32c(b, crc32c(a)) == crc32c(a + b).
uint32_t crc32c(std::string_view data, uint32_t crc = 0);
// The same without the CPU instruction (what crc32c uses on CPUs without SSE4.2); for tests.
uint32_t crc32c_portable(std::string_view data, uint32_t crc = 0);

}  // namespace tocsin::core
