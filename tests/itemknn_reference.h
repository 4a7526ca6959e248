// What both item-kNN test files check the model against: random data kept
// dense beside the rows given to training, and the item similarities
// computed from that dense copy with the textbook formulas.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "interactions.h"
#include "model.h"

namespace itemknn_reference {

using Dense = std::vector<std::vector<double>>;

struct Data {
    uint32_t users = 0, items = 0;
    Dense x;  // users x items by external id, summed weights; 0 = absent
    recsys::InteractionBuilder rows;
};

enum class Weights {
    Small,        // 1..5
    HeavyTailed,  // 1..5, one in ten times 100
};

// Each pair present with probability `density`; some weights are split over
// two rows that must be summed (heavy-tailed ones into 1 and w - 1 even when
// w is 1: a zero row).
inline Data make_data(uint32_t users, uint32_t items, double density, uint32_t seed, Weights weights) {
    Data d;
    d.users = users;
    d.items = items;
    d.x.assign(users, std::vector<double>(items, 0.0));
    std::mt19937 rng(seed);
    std::bernoulli_distribution present(density);
    std::uniform_int_distribution<int> weight(1, 5);
    for (uint32_t u = 0; u < users; ++u) {
        for (uint32_t i = 0; i < items; ++i) {
            if (!present(rng)) continue;
            double w = weight(rng);
            if (weights == Weights::HeavyTailed && rng() % 10 == 0) w *= 100;
            d.x[u][i] = w;
            if ((weights == Weights::HeavyTailed || w >= 2) && rng() % 4 == 0) {
                d.rows.add(int64_t(u), int64_t(i), 1.0);
                d.rows.add(int64_t(u), int64_t(i), w - 1);
            } else {
                d.rows.add(int64_t(u), int64_t(i), w);
            }
        }
    }
    return d;
}

// Hand-computed examples:  u1: A, B    u2: A, B, C    u3: C
// with weights A = (1, 2, 0), B = (4, 1, 0), C = (0, 3, 1) over u1, u2, u3.
inline recsys::InteractionBuilder three_users() {
    recsys::InteractionBuilder b;
    b.add(int64_t(1), std::string_view("A"), 1.0);
    b.add(int64_t(1), std::string_view("B"), 4.0);
    b.add(int64_t(2), std::string_view("A"), 2.0);
    b.add(int64_t(2), std::string_view("B"), 1.0);
    b.add(int64_t(2), std::string_view("C"), 3.0);
    b.add(int64_t(3), std::string_view("C"), 1.0);
    return b;
}

// An item-kNN configuration: its parameters and what the reference needs.
struct Variant {
    std::string similarity = "cosine";
    std::string weighting = "none";
    bool binary = true;
    double shrinkage = 0;
    double k1 = 1.2, b = 0.75;
    bool default_bm25 = true;  // leave bm25_k1 / bm25_b out of the parameters
    size_t neighbours = 10;

    std::string params() const {
        std::string p = "{\"neighbours\": " + std::to_string(neighbours) + ", \"similarity\": \"" + similarity + "\"";
        if (similarity == "cosine") {
            p += std::string(", \"binary\": ") + (binary ? "true" : "false");
            p += ", \"weighting\": \"" + weighting + "\"";
            if (weighting == "bm25" && !default_bm25)
                p += ", \"bm25_k1\": " + std::to_string(k1) + ", \"bm25_b\": " + std::to_string(b);
        }
        if (similarity != "cooccurrence") p += ", \"shrinkage\": " + std::to_string(shrinkage);
        return p + "}";
    }
    std::string name() const {
        return similarity + "/" + weighting + (binary ? "/binary" : "/weighted") + "/shrinkage " +
               std::to_string(shrinkage) + "/k1 " + std::to_string(k1) + "/b " + std::to_string(b) + "/n " +
               std::to_string(neighbours);
    }
};

struct Reference {
    Dense sim;                 // the full similarity matrix, model item indexes
    std::vector<double> norm;  // BM25 length normalisation per item
};

// The similarities in the model's item index space.
inline Reference brute_force(const Data& d, const recsys::Model& m, const Variant& v) {
    const uint32_t n = m.n_items(), nu = m.n_users();
    Reference ref;
    // items x users, in model index order.
    Dense a(n, std::vector<double>(nu, 0.0));
    for (uint32_t i = 0; i < n; ++i)
        for (uint32_t u = 0; u < nu; ++u) {
            double w = d.x[m.users.int_at(u)][m.items.int_at(i)];
            a[i][u] = (v.binary && w != 0) ? 1.0 : w;
        }
    if (v.weighting != "none") {
        // Items are documents, users are terms: idf_u = ln(n_items / items of u).
        std::vector<double> idf(nu, 0.0);
        for (uint32_t u = 0; u < nu; ++u) {
            int df = 0;
            for (uint32_t i = 0; i < n; ++i) df += a[i][u] != 0;
            idf[u] = df ? std::log(double(n) / df) : 0.0;
        }
        std::vector<double> len(n, 0.0);
        double avg = 0;
        ref.norm.assign(n, 1.0);
        for (uint32_t i = 0; i < n; ++i) {
            for (uint32_t u = 0; u < nu; ++u) len[i] += a[i][u];
            avg += len[i] / n;
        }
        for (uint32_t i = 0; i < n; ++i) ref.norm[i] = 1 - v.b + v.b * len[i] / avg;
        for (uint32_t i = 0; i < n; ++i)
            for (uint32_t u = 0; u < nu; ++u) {
                double w = a[i][u];
                if (w == 0) continue;
                if (v.weighting == "tfidf")
                    a[i][u] = std::sqrt(w) * idf[u];
                else
                    a[i][u] = w * (v.k1 + 1) / (w + v.k1 * (1 - v.b + v.b * len[i] / avg)) * idf[u];
            }
    }
    Dense& sim = ref.sim;
    sim.assign(n, std::vector<double>(n, 0.0));
    for (uint32_t i = 0; i < n; ++i)
        for (uint32_t j = 0; j < n; ++j) {
            double dot = 0, ni = 0, nj = 0, both = 0, either = 0;
            for (uint32_t u = 0; u < nu; ++u) {
                dot += a[i][u] * a[j][u];
                ni += a[i][u] * a[i][u];
                nj += a[j][u] * a[j][u];
                both += (a[i][u] != 0 && a[j][u] != 0);
                either += (a[i][u] != 0 || a[j][u] != 0);
            }
            if (v.similarity == "cosine")
                sim[i][j] = dot == 0 ? 0 : dot / (std::sqrt(ni) * std::sqrt(nj) + v.shrinkage);
            else if (v.similarity == "cooccurrence")
                sim[i][j] = both;
            else
                sim[i][j] = both == 0 ? 0 : both / (either + v.shrinkage);
        }
    return ref;
}

// The positive scores of the items a user does not own, best first: what
// recommend_user ranks before popularity fills in.
inline std::vector<double> model_ranking(const std::vector<double>& want, const std::vector<bool>& own) {
    std::vector<double> ranked;
    for (size_t i = 0; i < want.size(); ++i)
        if (!own[i] && want[i] > 0) ranked.push_back(want[i]);
    std::sort(ranked.rbegin(), ranked.rend());
    return ranked;
}

}  // namespace itemknn_reference
