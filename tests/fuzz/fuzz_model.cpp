// libFuzzer target of the model decoder (a model bytea can be written by
// anyone who may write the model table). Any bytes either load or fail with
// recsys::Error(Corrupted); a model that loads answers every kind of query
// without crashing and serialises back to the very same bytes. Bytes that
// fail are tried again sealed (Model::seal: size field and checksum made
// right), or almost no mutation would get past the checksum to the decoding.
#include <algorithm>
#include <cstdint>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "batch.h"
#include "errors.h"
#include "fuzz_check.h"
#include "model.h"
#include "recommend.h"

using namespace recsys;
using fuzz::may_refuse;

namespace {

// The first few users and items reach every code path and keep the inputs
// per second high.
constexpr uint32_t kQueried = 4;

void query(const Model& m) {
    m.describe_json();
    RecommendOptions o;
    o.k = 3;
    const uint32_t n_users = std::min(m.n_users(), kQueried), n_items = std::min(m.n_items(), kQueried);
    std::vector<uint32_t> users;
    for (uint32_t u = 0; u < n_users; ++u) {
        recommend_user(m, u, o);
        users.push_back(u);
    }
    recommend_user(m, std::nullopt, o);
    recommend_all(m, users, o, Context{}, [](uint32_t, std::span<const Recommendation>) {}, 2);
    Basket basket;
    for (uint32_t i = 0; i < n_items; ++i) {
        basket.items.push_back(i);
        basket.weights.push_back(1.0f + float(i));
    }
    recommend_basket(m, basket, o);
    // Popularity has no similar items, BPR no explanations.
    for (uint32_t i = 0; i < n_items; ++i) {
        may_refuse([&] { similar_items(m, i, 3); });
        may_refuse([&] { explain(m, basket, std::nullopt, i); });
        if (n_users > 0) may_refuse([&] { explain(m, m.history_of(0), 0u, i); });
    }
}

// True if the bytes loaded.
bool load(const uint8_t* data, size_t size) {
    std::optional<Model> m;
    if (!fuzz::accepts([&] { m.emplace(Model::deserialize(data, size)); }, ErrorKind::Corrupted)) return false;
    try {
        query(*m);
    } catch (const std::exception& e) {
        fuzz::fail("a query on a model that loaded threw:", e.what());
    }
    // An older payload (a 0.1.0 ALS or BPR model) loads and is written in
    // today's format, so the bytes may change once; after that they must not.
    const std::vector<uint8_t> again = m->serialize();
    std::optional<Model> reloaded;
    try {
        reloaded.emplace(Model::deserialize(again.data(), again.size()));
    } catch (const std::exception& e) {
        fuzz::fail("a model that loaded serialises to bytes that do not load:", e.what());
    }
    const std::vector<uint8_t> twice = reloaded->serialize();
    const auto [a, b] = std::mismatch(twice.begin(), twice.end(), again.begin(), again.end());
    if (a != twice.end() || b != again.end())
        fuzz::fail("a re-serialised model serialises to other bytes, from byte", std::to_string(a - twice.begin()));
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        if (load(data, size) || size < 28) return 0;
        std::vector<uint8_t> sealed(data, data + size);
        Model::seal(sealed.data(), sealed.size());
        if (!std::equal(sealed.begin(), sealed.end(), data)) load(sealed.data(), sealed.size());
    } catch (const std::exception& e) {
        fuzz::fail("uncaught exception:", e.what());
    }
    return 0;
}
