// EASE quality and training time against item-kNN and popularity.
//   bench/ease_core pairs.csv [threads]
// pairs.csv: "user,item[,weight]" lines after a header line; the split and
// the metrics are those of bench_util.h. Prints one JSON line per model.
#include <iostream>
#include <string>

#include "bench_util.h"

using namespace recsys;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " pairs.csv [threads]\n";
        return 2;
    }
    const bench::Split split = bench::read_and_split(argv[1]);
    Context ctx = bench::context(argc > 2 ? std::stoi(argv[2]) : 2);
    ctx.progress = [](const std::string& msg) { std::cerr << msg << "\n"; };

    const bench::Runs runs = {
        {"popularity", "{}"},
        {"itemknn", R"({"neighbours": 20})"},
        {"itemknn", R"({"neighbours": 50})"},
        {"itemknn", R"({"neighbours": 100})"},
        {"ease", R"({"lambda": 50})"},
        {"ease", R"({"lambda": 100})"},
        {"ease", R"({"lambda": 200})"},
        {"ease", R"({"lambda": 500})"},
        {"ease", R"({"lambda": 200, "max_items": 1000})"},
    };
    bench::compare_models("ease_core", runs, split, ctx, /*hit_rate=*/true);
    return 0;
}
