// Writes one of the project's deterministic generated CloudTrail streams as NDJSON, so that the
// built binary can be run on it as users run it (`driftwatch replay FILE`):
//   bench N        state_bench's stream (tests/bench/bench_stream.h): one account, ~80% reads,
//                  security groups, trails, access keys, bucket policies, instances, duplicate
//                  and late deliveries
//   cloudtrail N   the Kafka tests' stream (tests/integration/cloudtrail_gen.h) with identity
//                  calls on (access keys created and deleted, console logins without MFA) over
//                  ACCOUNTS accounts (default 20)
// The same arguments give the same bytes on every machine and every build.
//
// usage: gen_stream bench|cloudtrail N [ACCOUNTS] > FILE

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/bench/bench_stream.h"
#include "tests/integration/cloudtrail_gen.h"

int main(int argc, char** argv) {
  const std::string kind = argc > 1 ? argv[1] : "";
  const long n = argc > 2 ? std::atol(argv[2]) : 0;
  if ((kind != "bench" && kind != "cloudtrail") || n < 1 || argc > 4) {
    std::fprintf(stderr, "usage: gen_stream bench|cloudtrail N [ACCOUNTS] > FILE\n");
    return 2;
  }
  std::string out;
  if (kind == "bench") {
    for (const std::string& line : driftwatch::bench_stream::Generate(static_cast<size_t>(n))) {
      out += line;
      out += '\n';
    }
  } else {
    driftwatch::testing_gen::GenOptions options;
    options.identity = true;
    if (argc > 3) options.accounts = std::atoi(argv[3]);
    if (options.accounts < 1) {
      std::fprintf(stderr, "gen_stream: ACCOUNTS must be at least 1\n");
      return 2;
    }
    driftwatch::testing_gen::CloudTrailGen gen(options);
    for (long i = 0; i < n; ++i) {
      out += gen.Event(i);
      out += '\n';
    }
  }
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
    std::fprintf(stderr, "gen_stream: write failed\n");
    return 1;
  }
  return 0;
}
