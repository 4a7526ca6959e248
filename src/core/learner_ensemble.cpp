// ensemble: the mean margin of unlike learners fitted on the same rows.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>

#include "learner_detail.h"

namespace recsys::learn::detail {

namespace {

// Members must give log-odds margins, so that their mean is one too
// (boosted_rank's margins have no scale; ensembles do not nest).
const std::vector<std::string> kMemberKinds = {"logistic", "tree", "forest", "boosted", "mlp"};
// The members taking a seed, which the ensemble's "seed" reaches.
bool takes_seed(const std::string& kind) { return kind == "forest" || kind == "boosted" || kind == "mlp"; }

class Ensemble final : public Learner {
public:
    std::vector<std::unique_ptr<Learner>> members;

    Ensemble(uint32_t d, std::string params) { set_base(d, std::move(params)); }
    std::string kind() const override { return "ensemble"; }
    void set_params(std::string params) { set_base(n_features(), std::move(params)); }

    void predict(const float* x, uint64_t rows, float* out) const override {
        std::fill(out, out + rows, 0.0f);
        std::vector<float> m(rows);
        for (const auto& l : members) {
            l->predict(x, rows, m.data());
            for (uint64_t i = 0; i < rows; ++i) out[i] += m[i];
        }
        const float n = float(members.size());
        for (uint64_t i = 0; i < rows; ++i) out[i] /= n;
    }
    // The mean of the members' terms, when every member can explain.
    bool contributions(const float* row, std::vector<double>& out) const override {
        std::vector<double> sum(n_features() + 1, 0.0), part;
        for (const auto& l : members) {
            if (!l->contributions(row, part)) return false;
            for (size_t j = 0; j < sum.size(); ++j) sum[j] += part[j];
        }
        for (double& v : sum) v /= double(members.size());
        out = std::move(sum);
        return true;
    }
    // None: the members' importances (gain, |coefficient|) are on unlike scales.
    std::optional<std::vector<double>> importance() const override { return std::nullopt; }

protected:
    void write_payload(ByteWriter& w) const override {
        w.put<uint32_t>(uint32_t(members.size()));
        for (const auto& l : members) l->write(w);
    }
};

// The member kinds of a comma-separated list, checked.
std::vector<std::string> member_kinds(const std::string& list) {
    std::vector<std::string> kinds;
    for (std::string& k : name_list(list)) {
        if (std::find(kMemberKinds.begin(), kMemberKinds.end(), k) == kMemberKinds.end())
            throw invalid_input("ensemble member \"" + k + "\" is not a binary learner with log-odds margins",
                                "Members are logistic, tree, forest, boosted or mlp.");
        if (std::find(kinds.begin(), kinds.end(), k) != kinds.end())
            throw invalid_input("ensemble member \"" + k + "\" is listed twice");
        kinds.push_back(std::move(k));
    }
    if (kinds.size() < 2)
        throw invalid_input("an ensemble needs two members or more, \"members\" names " + std::to_string(kinds.size()),
                            "For example \"members\": \"boosted,mlp\", or use the learner itself.");
    return kinds;
}

}  // namespace

std::unique_ptr<Learner> fit_ensemble(const TrainingSet& t, const TrainingSet* v, const Params& p, const Context& ctx) {
    if (t.task != Task::Binary) throw invalid_input("learner ensemble does binary classification only");
    const nlohmann::json given = nlohmann::json::parse(p.to_json());
    if (given.contains("members") && !given["members"].is_string())
        throw invalid_input("parameter \"members\" must be a string of comma-separated learner names");
    // Default: the two strongest learners on the ranker's rows and logistic
    // regression, whose linear view adds to them (online-retail, README).
    const std::string list = given.value("members", std::string("boosted,mlp,logistic"));
    const std::vector<std::string> kinds = member_kinds(list);
    const int64_t seed = p.get_int("seed", 0, 0, INT32_MAX);
    // "<member>.<p>": the member's own parameters; the rest is an error.
    std::vector<nlohmann::json> own(kinds.size(), nlohmann::json::object());
    for (auto& [key, value] : given.items()) {
        if (key == "members" || key == "seed") continue;
        const size_t dot = key.find('.');
        const auto k = dot == std::string::npos ? kinds.end()
                                                : std::find(kinds.begin(), kinds.end(), key.substr(0, dot));
        if (k == kinds.end())
            throw invalid_input("unknown parameter \"" + key + "\" for learner ensemble",
                                "Known parameters: members, seed, and \"<member>.<name>\" for a member's own.");
        own[k - kinds.begin()][key.substr(dot + 1)] = value;
    }
    nlohmann::json effective = {{"members", list}, {"seed", seed}};
    auto e = std::make_unique<Ensemble>(t.cols, "");
    for (size_t m = 0; m < kinds.size(); ++m) {
        if (takes_seed(kinds[m]) && !own[m].contains("seed")) own[m]["seed"] = seed;
        auto l = fit_learner(kinds[m], t, v, Params::parse_json(own[m].dump()), ctx);
        const nlohmann::json member = nlohmann::json::parse(l->params_json());
        for (auto& [key, value] : member.items()) effective[kinds[m] + "." + key] = value;
        e->members.push_back(std::move(l));
    }
    e->set_params(effective.dump());
    return e;
}

std::unique_ptr<Learner> read_ensemble(ByteReader& r, uint32_t d) {
    auto e = std::make_unique<Ensemble>(d, "");
    const uint32_t n = r.get<uint32_t>();
    if (n < 2 || n > kMemberKinds.size()) throw corrupted("learner is corrupted (ensemble member count)");
    for (uint32_t m = 0; m < n; ++m) {
        auto l = read_learner(r);
        if (std::find(kMemberKinds.begin(), kMemberKinds.end(), l->kind()) == kMemberKinds.end() ||
            l->n_features() != d)
            throw corrupted("learner is corrupted (ensemble member)");
        e->members.push_back(std::move(l));
    }
    return e;
}

}  // namespace recsys::learn::detail
