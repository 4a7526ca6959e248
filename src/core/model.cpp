// Model bytea, format v4 (all integers little-endian). Older formats differ
// in the EASE, ALS and BPR payloads and the checksum only: v1 (0.1.0, and
// 0.2.0 until the zero-copy load) has EASE's float32 weight matrix
// unpadded, v2 pads it to a 64-byte offset so that a loaded model can use it
// in place, v3 stores it and ALS's and BPR's factors as compressed weight
// rows (compression.h: float32, float16 or int8, dense or top-m), v4 hashes
// the checksum in four chains (checksum() below), v1-v3 in one.
//   magic "RECSYSMD" | u32 version | u64 total size
//   string algorithm | string params (JSON) | u64 rows added | u64 rows skipped
//   users IdMap | items IdMap | history CSR (users x items) | f32[] popularity
//   u64 payload size | payload (the algorithm's Scorer)
//   u64 checksum of everything before it
#include "model.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "compression.h"
#include "errors.h"
#include "popularity.h"
#include "privacy.h"
#include "topk.h"

namespace recsys {

namespace {

constexpr char kMagic[8] = {'R', 'E', 'C', 'S', 'Y', 'S', 'M', 'D'};
constexpr uint32_t kFormatVersion = kModelFormatVersion;
constexpr uint32_t kOldestFormatVersion = 1;
constexpr size_t kHeaderSize = sizeof kMagic + 4 + 8;

// Word-wise multiply-xor hash: every step is a bijection of the state, so
// any change confined to one word always changes its chain's result. From
// format 4 on, the words are hashed in four chains (word i in chain i mod 4)
// that are then hashed in turn into one, so a change still changes the
// result, and the four chains of multiplies run side by side, about 4x
// faster than one: the checksum was most of a cold EASE load's decoding.
// Formats 1-3 hash all words in one chain. Checks for cancel every 64 MB.
uint64_t checksum(const uint8_t* p, size_t n, uint32_t version, const Context& ctx) {
    auto step = [](uint64_t h, uint64_t w) {
        h = (h ^ w) * 0x100000001B3ull;
        return h ^ (h >> 29);
    };
    auto word = [&](size_t at) {
        uint64_t w;
        std::memcpy(&w, p + at, 8);
        return w;
    };
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    size_t i = 0;
    if (version >= 4) {
        uint64_t chain[4] = {h, h ^ 1, h ^ 2, h ^ 3};
        for (; i + 32 <= n; i += 32) {
            if (i % (size_t(64) << 20) == 0) ctx.check_cancel();
            for (size_t k = 0; k < 4; ++k) chain[k] = step(chain[k], word(i + 8 * k));
        }
        for (uint64_t c : chain) h = step(h, c);
    }
    for (; i + 8 <= n; i += 8) {  // formats 1-3: every word; 4: the last three at most
        if (i % (size_t(64) << 20) == 0) ctx.check_cancel();
        h = step(h, word(i));
    }
    for (; i < n; ++i) h = step(h, p[i]);
    return h;
}

// The format version in a model's header.
uint32_t version_of(const uint8_t* data) {
    uint32_t version;
    std::memcpy(&version, data + sizeof kMagic, 4);
    return version;
}

void write_csr(ByteWriter& w, const CsrMatrix& m) {
    w.put<uint32_t>(m.rows);
    w.put<uint32_t>(m.cols);
    w.put_array(m.indptr);
    w.put_array(m.indices);
    w.put_array(m.values);
}

CsrMatrix read_csr(ByteReader& r) {
    CsrMatrix m;
    m.rows = r.get<uint32_t>();
    m.cols = r.get<uint32_t>();
    m.indptr = r.get_array<uint64_t>();
    m.indices = r.get_array<uint32_t>();
    m.values = r.get_array<float>();
    if (m.indptr.size() != uint64_t(m.rows) + 1 || m.indptr[0] != 0 || m.indptr.back() != m.indices.size() ||
        m.values.size() != m.indices.size())
        throw corrupted("model is corrupted (inconsistent sparse matrix)");
    for (uint32_t row = 0; row < m.rows; ++row) {
        if (m.indptr[row] > m.indptr[row + 1] || m.indptr[row + 1] > m.indices.size())
            throw corrupted("model is corrupted (inconsistent sparse matrix)");
        for (uint64_t p = m.indptr[row]; p < m.indptr[row + 1]; ++p)
            if (m.indices[p] >= m.cols || (p > m.indptr[row] && m.indices[p] <= m.indices[p - 1]))
                throw corrupted("model is corrupted (sparse matrix index out of order)");
    }
    return m;
}

// serialize() stores the parameters as effective_json() wrote them, and
// describe_json() and the model table show them as JSON: anything else was
// not written by recsys.
bool canonical_params(const std::string& json) {
    try {
        return Params::parse_json(json).to_json() == json;
    } catch (const Error&) {
        return false;
    }
}

}  // namespace

namespace {

constexpr ParamSpec kMinUsersPerItem{"min_users_per_item", ParamType::Int, "1", 1, UINT32_MAX, "", "",
                                     "k-anonymity: drop items bought by fewer distinct users"};
constexpr ParamSpec kMinItemsPerUser{"min_items_per_user", ParamType::Int, "1", 1, UINT32_MAX, "", "",
                                     "k-anonymity: drop users with fewer items"};
constexpr ParamSpec kStoreHistory{"store_history", ParamType::Bool, "true", 0, 0, "", "",
                                  "false keeps no per-user data in the model: it then serves baskets only"};
constexpr ParamSpec kPseudonymizedIds{"pseudonymized_ids", ParamType::Bool, "false", 0, 0, "", "",
                                      "a declaration, shown by describe_model, that the user ids are pseudonyms"};
constexpr const ParamSpec* kCommonParams[] = {&kMinUsersPerItem, &kMinItemsPerUser, &kStoreHistory,
                                              &kPseudonymizedIds};

// The algorithm's own declaration of a parameter it shares with the model
// (the differential-privacy bound of the fallback ranking).
const ParamSpec& own_spec(const Algorithm& alg, std::string_view name) {
    for (const ParamSpec* p : alg.params)
        if (p->name == name) return *p;
    throw Error(ErrorKind::Internal, std::string(alg.name) + " declares no parameter " + std::string(name));
}

// "compression" or "top_m" (compression.h) given to an algorithm that does
// not declare them: a clear error rather than "unknown parameter".
void reject_compression(const Algorithm& alg, const Params& params) {
    auto declares = [](const Algorithm& a, const ParamSpec& spec) {  // by name: EASE has its own default
        return std::any_of(a.params.begin(), a.params.end(), [&](const ParamSpec* p) { return p->name == spec.name; });
    };
    for (const ParamSpec* spec : {&kCompression, &kTopM}) {
        if (!params.has(std::string(spec->name)) || declares(alg, *spec)) continue;
        std::string which;
        for (const Algorithm* a : all_algorithms())
            if (declares(*a, *spec)) which += (which.empty() ? "" : ", ") + std::string(a->name);
        throw invalid_input(std::string(alg.name) + " does not compress its model: \"" + std::string(spec->name) +
                                "\" applies to " + which + " only",
                            alg.name == "itemknn" || alg.name == "rp3beta"
                                ? "Leave it out: " + std::string(alg.name) +
                                      " keeps only its \"neighbours\" largest weights per item; lower \"neighbours\" "
                                      "for a smaller model."
                                : "Leave \"" + std::string(spec->name) + "\" out, or train " + which + ".");
    }
}

}  // namespace

std::span<const ParamSpec* const> common_params() { return kCommonParams; }

MemoryEstimate factor_memory(uint64_t n_users, uint64_t n_items, uint64_t floats_per_row, const std::string& per_row) {
    std::string formula = "(";  // appended piecewise: GCC 12 warns falsely (-Wrestrict) on one long +
    formula += std::to_string(n_users) + " users + " + std::to_string(n_items) + " items) x (";
    formula += per_row + ") floats";
    return {(n_users + n_items) * floats_per_row * sizeof(float), formula};
}

Basket Model::history_of(uint32_t user) const {
    auto items = history.row_indices(user);
    auto weights = history.row_values(user);
    return {std::vector<uint32_t>(items.begin(), items.end()), std::vector<float>(weights.begin(), weights.end())};
}

void Model::order_by_popularity() {
    popularity_order.resize(popularity.size());
    std::iota(popularity_order.begin(), popularity_order.end(), 0u);
    std::sort(popularity_order.begin(), popularity_order.end(),
              [&](uint32_t a, uint32_t b) { return better({a, popularity[a]}, {b, popularity[b]}); });
}

uint64_t Model::memory_bytes() const {
    return users.memory_bytes() + items.memory_bytes() + history.bytes() +
           (popularity.size() + popularity_order.size()) * 4 + (scorer ? scorer->memory_bytes() : 0);
}

std::string Model::describe_json() const {
    auto id_type = [](const IdMap& m) { return m.kind() == IdKind::Text ? "\"text\"" : "\"bigint\""; };
    return "{\"algorithm\": \"" + algorithm + "\", \"params\": " + params_json +
           ", \"format_version\": " + std::to_string(format_version) + ", \"users\": " + std::to_string(n_users()) +
           ", \"items\": " + std::to_string(n_items()) + ", \"interactions\": " + std::to_string(history.nnz()) +
           ", \"rows\": " + std::to_string(rows_added) + ", \"skipped_rows\": " + std::to_string(rows_skipped) +
           ", \"user_id_type\": " + id_type(users) + ", \"item_id_type\": " + id_type(items) +
           ", \"per_user_history\": " + (has_users() ? "true" : "false") +
           ", \"memory_bytes\": " + std::to_string(memory_bytes()) +
           ", \"user_ids\": " + (Params::parse_json(params_json).boolean(kPseudonymizedIds) ? "\"pseudonymized\"" : "\"raw\"") + "}";
}

std::vector<uint8_t> Model::serialize(const Context& ctx) const {
    ByteWriter w(&ctx);
    w.append(kMagic, sizeof kMagic);
    w.put<uint32_t>(kFormatVersion);
    w.put<uint64_t>(0);  // total size, sealed below
    w.put_string(algorithm);
    w.put_string(params_json);
    w.put<uint64_t>(rows_added);
    w.put<uint64_t>(rows_skipped);
    users.write(w);
    items.write(w);
    write_csr(w, history);
    w.put_array(popularity);
    const size_t payload_size_at = w.size();
    w.put<uint64_t>(0);  // the payload's size, patched below
    scorer->write(w);
    w.patch<uint64_t>(payload_size_at, w.size() - payload_size_at - 8);
    w.bytes().reserve(w.size() + 8);  // exactly: a doubling would copy a large model once more
    w.put<uint64_t>(0);                // checksum, sealed below
    seal(w.bytes().data(), w.size(), ctx);
    return std::move(w.bytes());
}

void Model::seal(uint8_t* data, size_t size, const Context& ctx) {
    if (size < kHeaderSize + 8) throw Error(ErrorKind::Internal, "Model::seal: too short for a model");
    const uint64_t total = size;
    std::memcpy(data + sizeof kMagic + 4, &total, 8);
    const uint64_t sum = checksum(data, size - 8, version_of(data), ctx);
    std::memcpy(data + size - 8, &sum, 8);
}

Model Model::deserialize(const uint8_t* data, size_t size, const Context& ctx, std::shared_ptr<const void> backing) {
    // Every check below (and in the readers it calls) says what is wrong with
    // the bytes; what to do about it is the same for all of them.
    auto read = [&]() -> Model {
        if (size == 0) throw corrupted("model is empty");
        if (size < kHeaderSize + 8 || std::memcmp(data, kMagic, sizeof kMagic) != 0)
            throw corrupted("not a recsys model (the bytea does not start with the recsys model header)");
        ByteReader header(data + sizeof kMagic, 12);
        uint32_t version = header.get<uint32_t>();
        uint64_t total = header.get<uint64_t>();
        if (version < kOldestFormatVersion || version > kFormatVersion)
            throw corrupted("model format version " + std::to_string(version) +
                            " is not supported by this recsys (it reads versions " +
                            std::to_string(kOldestFormatVersion) + " to " + std::to_string(kFormatVersion) + ")");
        if (total != size)
            throw corrupted("model is truncated or padded: its header says " + std::to_string(total) + " bytes, but it has " +
                            std::to_string(size));
        uint64_t stored;
        std::memcpy(&stored, data + size - 8, 8);
        if (stored != checksum(data, size - 8, version, ctx)) throw corrupted("model is corrupted (checksum mismatch)");

        ByteReader r(data + kHeaderSize, size - kHeaderSize - 8, &ctx);
        Model m;
        m.format_version = version;
        m.algorithm = r.get_string();
        m.params_json = r.get_string();
        if (!canonical_params(m.params_json)) throw corrupted("model is corrupted (parameters)");
        m.rows_added = r.get<uint64_t>();
        m.rows_skipped = r.get<uint64_t>();
        m.users = IdMap::read(r);
        m.items = IdMap::read(r);
        ctx.check_cancel();
        m.history = read_csr(r);
        ctx.check_cancel();
        m.popularity = r.get_array<float>();
        if (m.history.rows != m.n_users() || m.history.cols != m.n_items() || m.popularity.size() != m.n_items())
            throw corrupted("model is corrupted (sizes disagree)");
        const Algorithm* alg = find_stored_algorithm(m.algorithm);
        if (!alg) {
            throw corrupted("model uses algorithm \"" + m.algorithm + "\", which this recsys does not know");
        }
        uint64_t payload_size = r.get<uint64_t>();
        if (payload_size != r.remaining()) throw corrupted("model is corrupted (payload size)");
        ByteReader payload(r.position(), payload_size, &ctx);
        payload.set_format(version);
        payload.set_backing(backing);
        m.scorer = alg->read(payload, m.n_users(), m.n_items());
        if (payload.remaining() != 0) throw corrupted("model is corrupted (trailing payload bytes)");
        m.order_by_popularity();
        return m;
    };
    try {
        return read();
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::Corrupted || !e.hint().empty()) throw;
        throw Error(ErrorKind::Corrupted, e.what(),
                    "Pass the bytea exactly as recsys_train() returned it; if the model was damaged, train it again "
                    "with train() or recsys_train().");
    }
}

Model train_model(std::string_view algorithm, const InteractionBuilder& rows, std::string_view params_json,
                  const Context& ctx) {
    find_algorithm(algorithm);  // an unknown name fails before the rows are built
    return train_model_on(algorithm, rows.build(ctx), params_json, ctx);
}

Model train_model_on(std::string_view algorithm, Interactions data, std::string_view params_json, const Context& ctx,
                     const std::function<std::unique_ptr<Scorer>(const Interactions&, const Params&)>& make_scorer) {
    const Algorithm& alg = find_algorithm(algorithm);
    Params params = Params::parse_json(params_json);
    const auto min_users = uint32_t(params.integer(kMinUsersPerItem));
    const auto min_items = uint32_t(params.integer(kMinItemsPerUser));
    const bool store_history = params.boolean(kStoreHistory);
    params.boolean(kPseudonymizedIds);
    reject_compression(alg, params);
    if (!store_history && alg.can.learns_users)
        throw invalid_input(std::string(alg.name) + " learns a vector per user, so it cannot be trained with \"store_history\": false",
                            "Use popularity, itemknn or ease, which serve baskets without per-user data.");
    if (data.matrix.nnz() == 0)
        throw invalid_input("no interactions to train on",
                            "The input needs rows with a non-NULL user id, item id and weight.");
    if (min_users > 1 || min_items > 1) {
        auto kept = k_anonymity_filter(data.matrix, min_users, min_items, true);
        if (kept.matrix.nnz() == 0)
            throw invalid_input("no interactions left after dropping items with fewer than " + std::to_string(min_users) +
                                    " users and users with fewer than " + std::to_string(min_items) + " items",
                                "Lower min_users_per_item or min_items_per_user.");
        data.users = data.users.subset(kept.kept_rows);
        data.items = data.items.subset(kept.kept_cols);
        data.matrix = std::move(kept.matrix);
    }
    Model m;
    m.scorer = make_scorer ? make_scorer(data, params) : alg.train(data, params, ctx);
    m.algorithm = std::string(alg.name);
    m.params_json = params.effective_json();
    m.popularity.assign(data.items.size(), 0.0f);
    if (alg.name == "popularity") {  // the fallback ranking is the model itself (which may add noise)
        m.scorer->score({}, std::nullopt, m.popularity);
    } else if (params.has("epsilon")) {
        // A differentially private model keeps a private fallback ranking too
        // (with the same epsilon: 2 epsilon for the model as a whole).
        auto noisy = popularity::private_counts(data.matrix, params.number(kEpsilon, 1.0),
                                                params.integer(own_spec(alg, "max_items_per_user")),
                                                noise_seed(params) + 1);
        std::copy(noisy.begin(), noisy.end(), m.popularity.begin());
    } else {
        for (uint32_t item : data.matrix.indices) m.popularity[item] += 1.0f;
    }
    m.rows_added = data.rows_added;
    m.rows_skipped = data.rows_skipped;
    m.users = std::move(data.users);
    m.items = std::move(data.items);
    m.history = std::move(data.matrix);
    if (!store_history) {
        m.users = IdMap();
        m.history = CsrMatrix();
        m.history.cols = m.n_items();
    }
    m.order_by_popularity();
    return m;
}

}  // namespace recsys
