// Item-kNN variants: ranking quality (nDCG@10) and training time of every
// similarity / weighting / input scaling at several neighbour counts and
// shrinkages, on the per-user 80/20 split of bench_util.h.
//   bench/itemknn_core pairs.csv [threads]
// pairs.csv: "user,item[,weight]" lines after a header line (weights are
// quantities; duplicate pairs sum). Inputs:
//   binary  every pair counts 1                        ({"binary": true})
//   raw     summed quantities                          ({"binary": false})
//   log     1 + ln(1 + quantity), applied in the bench ({"binary": false})
// For tf-idf / BM25 the model scores with the user's weighted row ("basket":
// "weighted", what the model does); a second line ("basket": "input")
// scores the same neighbour lists with the input weights instead (1 when
// binary, else the quantity; what `implicit` does), computed here with the
// same popularity fill-in as recommend().
// "implicit_k20" lines mimic the `implicit` library's CosineRecommender
// (K = 20, whose top-K per row includes the item itself, so 19 neighbours;
// raw or binary input as given; scores with the input row).
// Prints one JSON line per model.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "bench_util.h"
#include "weighting.h"  // log_scale

using namespace recsys;
using recsys::bench::evaluate;
using recsys::bench::read_and_split;
using recsys::bench::Split;

namespace {

struct Config {
    std::string input;       // binary | raw | log
    std::string similarity;  // cosine | cooccurrence | jaccard
    std::string weighting;   // none | tfidf | bm25
    int neighbours;
    double shrinkage;
    std::string label;       // extra tag, e.g. implicit_k20
};

std::string params_of(const Config& c) {
    std::string p = "{\"neighbours\": " + std::to_string(c.neighbours);
    if (c.similarity != "cosine") p += ", \"similarity\": \"" + c.similarity + "\"";
    if (c.similarity != "cooccurrence" && c.shrinkage > 0) p += ", \"shrinkage\": " + std::to_string(int(c.shrinkage));
    if (c.similarity == "cosine") {
        p += std::string(", \"binary\": ") + (c.input == "binary" ? "true" : "false");
        p += ", \"weighting\": \"" + c.weighting + "\"";
    }
    return p + "}";
}

// Ranks with given basket weights from the model's neighbour lists, as
// recommend_user() does (positive scores first, then popularity).
struct ManualRanker {
    const Model& m;
    std::vector<std::vector<std::pair<uint32_t, float>>> nb;

    explicit ManualRanker(const Model& model) : m(model), nb(model.n_items()) {
        std::vector<float> row(m.n_items());
        for (uint32_t i = 0; i < m.n_items(); ++i) {
            std::fill(row.begin(), row.end(), 0.0f);
            m.scorer->similar(i, row);
            for (uint32_t j = 0; j < m.n_items(); ++j)
                if (row[j] != 0.0f) nb[i].push_back({j, row[j]});
        }
    }

    std::vector<uint32_t> rank(const Basket& b) const {
        std::vector<float> score(m.n_items(), 0.0f);
        std::vector<uint8_t> allowed(m.n_items(), 1);
        for (size_t k = 0; k < b.items.size(); ++k) {
            allowed[b.items[k]] = 0;
            for (const auto& [j, s] : nb[b.items[k]]) score[j] += b.weights[k] * s;
        }
        std::vector<uint32_t> out;
        for (const auto& s : top_k(std::span<const float>(score), 10,
                                   [&](uint32_t i) { return allowed[i] && score[i] > 0.0f; })) {
            out.push_back(s.item);
            allowed[s.item] = 0;
        }
        for (const auto& s : top_k(std::span<const float>(m.popularity), 10 - out.size(),
                                   [&](uint32_t i) { return allowed[i] != 0; }))
            out.push_back(s.item);
        return out;
    }
};

void print(const Config& c, const Model& m, const Split& s, int threads, double seconds, const char* basket,
           const RankingMetricsResult& r) {
    std::printf("{\"bench\":\"itemknn_core\",\"input\":\"%s\",\"similarity\":\"%s\",\"weighting\":\"%s\","
                "\"neighbours\":%d,\"shrinkage\":%g,\"basket\":\"%s\",\"label\":\"%s\",\"params\":%s,"
                "\"threads\":%d,\"users\":%u,\"items\":%u,\"train_pairs\":%llu,\"test_pairs\":%llu,"
                "\"train_seconds\":%.3f,\"ndcg@10\":%.4f,\"recall@10\":%.4f,\"hit_rate@10\":%.4f}\n",
                c.input.c_str(), c.similarity.c_str(), c.weighting.c_str(), c.neighbours, c.shrinkage, basket,
                c.label.c_str(), m.params_json.c_str(), threads, m.n_users(), m.n_items(),
                (unsigned long long)s.train_pairs, (unsigned long long)s.test_pairs, seconds, r.ndcg.value_or(0),
                r.recall.value_or(0), r.hit_rate.value_or(0));
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " pairs.csv [threads]\n";
        return 2;
    }
    const Split raw = read_and_split(argv[1]);
    const Split logged = read_and_split(argv[1], [](double q) { return log_scale(q, 1.0, 1.0); });
    const Context ctx = bench::context(argc > 2 ? std::stoi(argv[2]) : 2);

    std::vector<Config> configs;
    for (int n : {20, 50, 100, 200}) {
        for (double sh : {0.0, 10.0, 50.0}) {
            for (const char* input : {"binary", "raw", "log"})
                for (const char* w : {"none", "tfidf", "bm25"}) configs.push_back({input, "cosine", w, n, sh, ""});
            configs.push_back({"binary", "jaccard", "none", n, sh, ""});
        }
        configs.push_back({"binary", "cooccurrence", "none", n, 0.0, ""});
    }
    for (int n : {5, 10}) {
        configs.push_back({"binary", "cosine", "none", n, 0.0, ""});
        configs.push_back({"binary", "jaccard", "none", n, 0.0, ""});
        for (const char* input : {"binary", "raw", "log"}) configs.push_back({input, "cosine", "bm25", n, 0.0, ""});
    }
    for (const char* input : {"binary", "raw"}) configs.push_back({input, "cosine", "none", 19, 0.0, "implicit_k20"});

    bool checked = false;
    for (const auto& c : configs) {
        const Split& s = c.input == "log" ? logged : raw;
        const auto start = std::chrono::steady_clock::now();
        const Model m = train_model("itemknn", s.train, params_of(c), ctx);
        const double seconds = bench::seconds_since(start);
        const RankingMetricsResult r = evaluate(m, s);
        print(c, m, s, ctx.threads, seconds, c.weighting == "none" ? "input" : "weighted", r);
        if (c.weighting == "none" && checked) continue;
        const ManualRanker ranker(m);
        const RankingMetricsResult input = evaluate(m, s, [&](std::optional<uint32_t> u) {
            Basket b = m.history_of(*u);
            if (c.input == "binary") std::fill(b.weights.begin(), b.weights.end(), 1.0f);
            return ranker.rank(b);
        });
        if (c.weighting == "none") {
            // The manual ranker with input weights must reproduce recommend_user.
            if (input.ndcg != r.ndcg) {
                std::cerr << "manual ranking disagrees with recommend_user\n";
                return 1;
            }
            checked = true;
            continue;
        }
        print(c, m, s, ctx.threads, seconds, "input", input);
    }
    return 0;
}
