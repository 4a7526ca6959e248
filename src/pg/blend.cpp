// Blends of stored models: recsys_blend (the bytes blend() stores) and
// explain_blend (each component's share of a score).
#include "args.h"
#include "blend.h"
#include "model_cache.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_blend);
PG_FUNCTION_INFO_V1(recsys_explain_blend);
}

using namespace recsys;
using namespace recsys::pg;

// recsys_blend(models, weights): the blend's model bytes.
extern "C" Datum recsys_blend(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        Model model = load_blend(fcinfo, 0, 1, true);
        auto bytes = model.serialize(backend_context());
        return PointerGetDatum(bytea_result(bytes.data(), bytes.size()));
    });
}

// explain_blend(user_id, item_id, model): one row per component.
extern "C" Datum recsys_explain_blend(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
            throw invalid_input("user_id and item_id must not be NULL",
                                "Pass the user and the recommended item, e.g. explain_blend('17850', '85123A').");
        auto [name, owner, model] = load_model(fcinfo, optional_text(fcinfo, 2));
        if (model->algorithm != blend::algorithm.name)
            throw invalid_input("model \"" + name + "\" is a " + model->algorithm + " model, not a blend",
                                "explain_recommendation(user_id, item_id, model) explains other models.");
        auto user = model->users.find(text_arg(fcinfo, 0));
        auto item = model->items.find(text_arg(fcinfo, 1));
        ResultRows rows(fcinfo);
        if (!user || !item) return (Datum)0;  // nothing the model knows to explain
        const auto parts = blend::components(*model);
        for (const auto& s : blend::shares(*model, model->history_of(*user), user, *item)) {
            const std::string& algorithm = parts[s.component].first->algorithm;
            rows.add([&](Datum* values, bool*) {
                values[0] = Int32GetDatum(int32(s.component + 1));
                values[1] = text_datum(algorithm);
                values[2] = Float8GetDatum(s.weight);
                values[3] = Float4GetDatum(s.normalised);
                values[4] = Float4GetDatum(s.share);
            });
        }
        return (Datum)0;
    });
}
