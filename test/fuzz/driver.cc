// A stand-in for libFuzzer's main where clang is not installed (CI builds the harnesses with g++ and ASan+UBSan):
// runs every input of the corpus folders and files given, then mutates them at random (byte flips, inserts,
// erases, copies, interesting integers, digit runs for the JSON part) until -max_total_time seconds have passed.
// Not coverage-guided: clang's -fsanitize=fuzzer builds of the same harnesses are (tools/fuzz.sh picks).
// A failing input (a sanitizer report, an abort, a signal) is written to <-artifact_prefix>crash-<n> first.
//   driver [-max_total_time=S] [-seed=N] [-artifact_prefix=DIR/] [-runs=N] CORPUS_DIR_OR_FILE...
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" void __sanitizer_set_death_callback(void (*callback)(void));

namespace {

std::vector<uint8_t> g_current;
std::string g_artifactPrefix = "./";

void saveCurrent() {
  static bool saved = false;
  if (saved) return;
  saved = true;
  const std::string path = g_artifactPrefix + "crash-" + std::to_string(static_cast<unsigned>(::getpid()));
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(g_current.data(), 1, g_current.size(), f);
    std::fclose(f);
    std::fprintf(stderr, "driver: the failing input (%zu bytes) is in %s\n", g_current.size(), path.c_str());
  }
}

void onSignal(int sig) {
  saveCurrent();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void addInputs(const std::string& path, std::vector<std::vector<uint8_t>>& out) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    DIR* dir = ::opendir(path.c_str());
    std::vector<std::string> names;
    while (dirent* e = ::readdir(dir))
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) addInputs(path + "/" + n, out);
    return;
  }
  std::ifstream in(path, std::ios::binary);
  out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void run(const std::vector<uint8_t>& input) {
  g_current = input;
  LLVMFuzzerTestOneInput(g_current.data(), g_current.size());
}

void mutate(std::vector<uint8_t>& v, const std::vector<std::vector<uint8_t>>& corpus, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % (n ? n : 1)); };
  // Positions: half of them in the first 4 KiB, where the JSON (config, safetensors header) is.
  auto pos = [&](size_t n) { return rng() % 2 ? pick(std::min<size_t>(n, 4096)) : pick(n); };
  static const int64_t kInteresting[] = {0, 1, -1, 2, 7, 8, 16, 64, 127, 128, 255, 256, 32767, 65535, 65536, INT32_MAX, INT32_MIN, (int64_t{1} << 31),
                                         (int64_t{1} << 32), INT64_MAX, INT64_MIN};
  static const char* kTokens[] = {"0", "-1", "1e308", "1e400", "-0", "0.5", "null", "true", "\"\"", "[]", "{}", "9007199254740993", "4294967296", "\"F16\"", "\"BF16\"", "\"I8\""};
  const int steps = 1 + static_cast<int>(rng() % 4);
  for (int s = 0; s < steps; ++s) {
    switch (rng() % 9) {
      case 0:
        if (!v.empty()) v[pos(v.size())] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        if (!v.empty()) v[pos(v.size())] = static_cast<uint8_t>(rng());
        break;
      case 2: v.insert(v.begin() + static_cast<long>(pos(v.size() + 1)), static_cast<uint8_t>(rng())); break;
      case 3:
        if (!v.empty()) {
          const size_t at = pos(v.size());
          v.erase(v.begin() + static_cast<long>(at), v.begin() + static_cast<long>(std::min(v.size(), at + 1 + pick(16))));
        }
        break;
      case 4: {  // an interesting integer over 1, 2, 4 or 8 bytes
        if (v.size() < 8) break;
        const int64_t x = kInteresting[pick(std::size(kInteresting))];
        const size_t width = size_t{1} << (rng() % 4);
        std::memcpy(v.data() + pos(v.size() - width + 1), &x, width);
        break;
      }
      case 5: {  // replace a run of digits (a JSON number) with another number or token
        std::vector<size_t> starts;
        for (size_t i = 0; i < v.size() && i < 8192; ++i)
          if (v[i] >= '0' && v[i] <= '9' && (i == 0 || v[i - 1] < '0' || v[i - 1] > '9')) starts.push_back(i);
        if (starts.empty()) break;
        const size_t at = starts[pick(starts.size())];
        size_t end = at;
        while (end < v.size() && ((v[end] >= '0' && v[end] <= '9') || v[end] == '.' || v[end] == 'e' || v[end] == '-')) ++end;
        const std::string t = rng() % 2 ? std::string(kTokens[pick(std::size(kTokens))]) : std::to_string(static_cast<int64_t>(rng() % 100000) - 10);
        v.erase(v.begin() + static_cast<long>(at), v.begin() + static_cast<long>(end));
        v.insert(v.begin() + static_cast<long>(at), t.begin(), t.end());
        break;
      }
      case 6: {  // copy a chunk of another input in
        const std::vector<uint8_t>& o = corpus[pick(corpus.size())];
        if (o.empty()) break;
        const size_t from = pick(o.size()), len = std::min(o.size() - from, 1 + pick(64));
        v.insert(v.begin() + static_cast<long>(pick(v.size() + 1)), o.begin() + static_cast<long>(from), o.begin() + static_cast<long>(from + len));
        break;
      }
      case 7:
        if (!v.empty()) v.resize(pick(v.size() + 1));
        break;   // truncate
      case 8: {  // duplicate a chunk of itself
        if (v.empty()) break;
        const size_t from = pick(v.size()), len = std::min(v.size() - from, 1 + pick(256));
        std::vector<uint8_t> chunk(v.begin() + static_cast<long>(from), v.begin() + static_cast<long>(from + len));
        v.insert(v.begin() + static_cast<long>(pick(v.size() + 1)), chunk.begin(), chunk.end());
        break;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  uint64_t seed = std::random_device{}();
  long runs = -1;
  std::vector<std::vector<uint8_t>> corpus;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("-max_total_time=", 0) == 0) seconds = std::atof(a.c_str() + 16);
    else if (a.rfind("-seed=", 0) == 0) seed = std::strtoull(a.c_str() + 6, nullptr, 10);
    else if (a.rfind("-runs=", 0) == 0) runs = std::atol(a.c_str() + 6);
    else if (a.rfind("-artifact_prefix=", 0) == 0) g_artifactPrefix = a.substr(17);
    else if (a[0] == '-') continue;  // other libFuzzer flags: ignored
    else addInputs(a, corpus);
  }
  __sanitizer_set_death_callback(saveCurrent);
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) ::signal(sig, onSignal);
  for (const auto& input : corpus) run(input);
  std::fprintf(stderr, "driver: %zu corpus inputs ran clean; mutating for %gs (seed %llu)\n", corpus.size(), seconds, static_cast<unsigned long long>(seed));
  if (corpus.empty()) corpus.emplace_back();
  std::mt19937_64 rng(seed);
  const auto stop = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  long n = 0;
  while ((runs < 0 || n < runs) && std::chrono::steady_clock::now() < stop) {
    std::vector<uint8_t> v = corpus[rng() % corpus.size()];
    mutate(v, corpus, rng);
    run(v);
    ++n;
    if (n % 64 == 0 && corpus.size() < 4096) corpus.push_back(g_current);  // keep some mutants: deeper mutations later
  }
  std::fprintf(stderr, "driver: %ld mutated inputs ran clean\n", n);
  return 0;
}
