// A replay driver for the fuzz targets when libFuzzer is not available (g++ builds): runs
// LLVMFuzzerTestOneInput over every file of a corpus directory, then over a fixed number of
// pseudo-random mutations of those files. The generator is seeded, so a run is reproducible: the
// same command repeats a failure, and with TOCSIN_FUZZ_TRACE=FILE each input is first written to
// FILE (and its iteration to stderr), so after a crash FILE holds the input that caused it.
//
//   remote_write_replay CORPUS_DIR [MUTATIONS=10000] [SEED=1]
//
// A target reports a bug by crashing (trap, assert, sanitizer); the driver only feeds inputs.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using Bytes = std::string;

void run(const Bytes& input, long iteration) {
  if (const char* trace = std::getenv("TOCSIN_FUZZ_TRACE")) {
    std::ofstream(trace, std::ios::binary | std::ios::trunc) << input;
    std::fprintf(stderr, "iteration %ld (%zu bytes)\n", iteration, input.size());
  }
  // A copy of exactly `size` bytes on the heap, so an over-read is visible to ASan builds.
  std::vector<uint8_t> copy(input.begin(), input.end());
  LLVMFuzzerTestOneInput(copy.data(), copy.size());
}

// Bytes that tend to matter to the parsers: varint continuation, protobuf tags, quotes, escapes.
constexpr uint8_t kInteresting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x09, 0x10, 0x1a, 0x22,
                                    '{',  '}',  '"',  '\\', '=',  ',',  ' ',  '\n', '#',  '+',  'e'};

Bytes mutate(const std::vector<Bytes>& seeds, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  Bytes out = seeds[pick(seeds.size())];
  const int steps = 1 + static_cast<int>(pick(4));
  for (int i = 0; i < steps; ++i) {
    switch (pick(8)) {
      case 0:  // flip one bit
        if (!out.empty()) out[pick(out.size())] ^= static_cast<char>(1u << pick(8));
        break;
      case 1:  // overwrite a byte with a random one
        if (!out.empty()) out[pick(out.size())] = static_cast<char>(rng());
        break;
      case 2:  // insert an interesting byte
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(pick(out.size() + 1)),
                   static_cast<char>(kInteresting[pick(std::size(kInteresting))]));
        break;
      case 3: {  // erase a range
        if (out.empty()) break;
        const size_t at = pick(out.size());
        out.erase(at, 1 + pick(std::min<size_t>(16, out.size() - at)));
        break;
      }
      case 4: {  // duplicate a range
        if (out.empty()) break;
        const size_t at = pick(out.size());
        const size_t len = 1 + pick(std::min<size_t>(32, out.size() - at));
        out.insert(pick(out.size() + 1), out.substr(at, len));
        break;
      }
      case 5:  // truncate
        out.resize(pick(out.size() + 1));
        break;
      case 6: {  // splice in part of another seed
        const Bytes& other = seeds[pick(seeds.size())];
        if (other.empty()) break;
        const size_t at = pick(other.size());
        out.insert(pick(out.size() + 1), other.substr(at, 1 + pick(other.size() - at)));
        break;
      }
      default:  // set a byte to an interesting value
        if (!out.empty()) out[pick(out.size())] = static_cast<char>(kInteresting[pick(std::size(kInteresting))]);
        break;
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [MUTATIONS] [SEED]\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const long mutations = argc > 2 ? std::atol(argv[2]) : 10000;
  const uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;

  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  if (ec || files.empty()) {
    std::fprintf(stderr, "no corpus files in %s\n", dir.c_str());
    return 2;
  }
  std::sort(files.begin(), files.end());  // directory order is not stable; the run must be
  std::vector<Bytes> seeds;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    run(seeds.back(), -1);
  }
  seeds.emplace_back();  // the empty input, also a starting point for mutations
  run(seeds.back(), -1);

  std::mt19937_64 rng(seed);
  for (long i = 0; i < mutations; ++i) run(mutate(seeds, rng), i);
  std::printf("replayed %zu corpus files and %ld mutations (seed %llu)\n", files.size(), mutations,
              static_cast<unsigned long long>(seed));
  return 0;
}
