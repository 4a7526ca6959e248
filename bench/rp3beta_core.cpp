// RP3beta quality and training time over its parameters, against
// popularity, item-kNN and EASE at their defaults.
//   bench/rp3beta_core pairs.csv [threads] [grid | params.json ...]
// pairs.csv: "user,item[,weight]" lines after a header line (bench/retail_pairs.py);
// the split and the metrics are those of bench_util.h. Without "grid", the
// baselines and rp3beta at its defaults and at each tune() value; with it,
// every alpha x beta x neighbours x normalise of a wider grid; with JSON
// objects, the baselines and rp3beta with each of them. Prints one
// JSON line per model.
#include <cstdio>
#include <iostream>
#include <string>

#include "bench_util.h"

using namespace recsys;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " pairs.csv [threads] [grid]\n";
        return 2;
    }
    const bench::Split split = bench::read_and_split(argv[1]);
    const Context ctx = bench::context(argc > 2 ? std::stoi(argv[2]) : 2);
    const bool grid = argc > 3 && std::string(argv[3]) == "grid";

    bench::Runs runs = {
        {"popularity", "{}"}, {"itemknn", "{}"}, {"ease", "{}"}, {"rp3beta", "{}"}};
    if (argc > 3 && argv[3][0] == '{') {
        for (int a = 3; a < argc; ++a) runs.emplace_back("rp3beta", argv[a]);
    } else if (grid) {
        for (const char* normalise : {"true", "false"})
            for (double alpha : {0.25, 0.5, 0.75, 1.0, 1.25})
                for (double beta : {0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8})
                    for (int k : {10, 20, 50, 100, 200}) {
                        char p[160];
                        std::snprintf(p, sizeof p,
                                      "{\"alpha\": %g, \"beta\": %g, \"neighbours\": %d, \"normalise\": %s}", alpha,
                                      beta, k, normalise);
                        runs.emplace_back("rp3beta", p);
                    }
    } else {
        for (const char* p : {R"({"alpha": 0.5})", R"({"beta": 0.3})", R"({"beta": 0.7})", R"({"beta": 0})",
                              R"({"neighbours": 50})", R"({"neighbours": 200})", R"({"normalise": false})"})
            runs.emplace_back("rp3beta", p);
    }
    bench::compare_models("rp3beta_core", runs, split, ctx, /*hit_rate=*/false);
    return 0;
}
