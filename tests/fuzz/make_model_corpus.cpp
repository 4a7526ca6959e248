// Writes the seed corpus of fuzz_model: a small valid model of every
// algorithm and storage variant, plus truncated copies of a few.
//   make_model_corpus DIR
// The files are committed (tests/fuzz/corpus/model); rerun this after a
// change of the model format, keeping the older formats' seeds (ease,
// ease_no_history and ease_top_items_text are format 1: tests/test_ease.cpp
// reads them as such). ALS's bytes differ between kinds of CPU (its
// kernels round differently), which does not matter for a seed.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "blend.h"
#include "errors.h"
#include "model.h"

using namespace recsys;

namespace {

// 7 users x 6 items: small, but every item has a neighbour and every user
// more than one item, so no algorithm's output is trivially empty.
InteractionBuilder rows(bool text) {
    InteractionBuilder b;
    for (int u = 0; u < 7; ++u) {
        for (int i = 0; i < 6; ++i) {
            if ((u + i) % 3 == 0 || (u * i) % 5 == 1) {
                const double w = 1 + (u + 2 * i) % 3;
                if (text)
                    b.add(std::string_view("user-" + std::to_string(u)), std::string_view("SKU-" + std::to_string(i)), w);
                else
                    b.add(int64_t(100 + u), int64_t(7 * i), w);
            }
        }
    }
    b.skip();
    return b;
}

struct Seed {
    const char* name;
    const char* algorithm;
    const char* params;
    bool text;
};

// Factor models with 2 factors and 2 iterations keep the files at a few KB.
const Seed kSeeds[] = {
    {"popularity", "popularity", "{}", false},
    {"popularity_weight_text", "popularity", R"({"by": "weight"})", true},
    {"popularity_private", "popularity", R"({"epsilon": 1, "seed": 3})", false},
    {"popularity_no_history", "popularity", R"({"store_history": false})", true},
    {"itemknn", "itemknn", "{}", false},
    {"itemknn_tfidf_text", "itemknn", R"({"weighting": "tfidf", "neighbours": 3})", true},
    {"itemknn_plain", "itemknn", R"({"weighting": "none", "binary": false, "shrinkage": 1.5})", false},
    {"itemknn_jaccard", "itemknn", R"({"similarity": "jaccard", "neighbours": 2})", false},
    {"itemknn_cooccurrence_no_history", "itemknn", R"({"similarity": "cooccurrence", "store_history": false})", true},
    {"itemknn_private", "itemknn", R"({"similarity": "cooccurrence", "epsilon": 2, "seed": 5})", false},
    {"itemknn_kanonymous", "itemknn", R"({"min_users_per_item": 3, "pseudonymized_ids": true})", false},
    {"ease", "ease", "{}", false},
    {"ease_top_items_text", "ease", R"({"lambda": 5, "max_items": 3, "binary": false})", true},
    {"ease_no_history", "ease", R"({"store_history": false})", false},
    {"ease_float16", "ease", R"({"compression": "float16"})", false},
    {"ease_int8_top_m_text", "ease", R"({"compression": "int8", "top_m": 3, "max_items": 5})", true},
    {"ease_top_m", "ease", R"({"top_m": 2, "store_history": false})", false},
    {"als", "als", R"({"factors": 2, "iterations": 2})", false},
    {"als_text_cholesky", "als", R"({"factors": 3, "iterations": 1, "solver": "cholesky", "alpha": 0})", true},
    {"bpr", "bpr", R"({"factors": 2, "iterations": 2})", false},
    {"bpr_text", "bpr", R"({"factors": 3, "iterations": 1, "seed": 7})", true},
    {"als_int8", "als", R"({"factors": 2, "iterations": 2, "compression": "int8"})", false},
    {"bpr_float16_text", "bpr", R"({"factors": 3, "iterations": 1, "compression": "float16"})", true},
};

// Cut at the header, halfway and one byte short of the end.
const char* kTruncated[] = {"itemknn", "als", "bpr"};

void write(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!out) throw Error(ErrorKind::Internal, "cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    try {
        for (const Seed& s : kSeeds) {
            const auto bytes = train_model(s.algorithm, rows(s.text), s.params, Context{}).serialize();
            Model::deserialize(bytes.data(), bytes.size());  // a seed that does not load seeds nothing deep
            write(dir + "/" + s.name + ".model", bytes);
            for (const char* t : kTruncated) {
                if (std::string(t) != s.name) continue;
                for (size_t n : {size_t(28), bytes.size() / 2, bytes.size() - 1})
                    write(dir + "/" + s.name + "_cut" + std::to_string(n) + ".model",
                          std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(n)));
            }
        }
        // A blend: its payload holds whole models (itemknn and EASE here).
        auto part = [](const char* algorithm) {
            return std::make_shared<const Model>(train_model(algorithm, rows(false), "{}", Context{}));
        };
        const auto bytes = blend::make({part("itemknn"), part("ease")}, {0.7, 0.3}).serialize();
        Model::deserialize(bytes.data(), bytes.size());
        write(dir + "/blend.model", bytes);
        write(dir + "/blend_cut" + std::to_string(bytes.size() / 2) + ".model",
              std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(bytes.size() / 2)));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}
