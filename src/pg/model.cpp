// Models: the training aggregate recsys_train(algorithm, user_id, item_id [,
// weight [, params]]) — collect rows (transition), merge partial states from
// parallel workers (combine, serialise, deserialise), then train (final) —
// and describe_model. Training over Citus shards (shards.h): the aggregate
// recsys_train_shard, recsys_train's rows built into one shard's encoded
// part, and recsys_train_shards, which merges the parts and trains.
#include "args.h"
#include "model.h"
#include "model_cache.h"
#include "shards.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_train_transition);
PG_FUNCTION_INFO_V1(recsys_train_combine);
PG_FUNCTION_INFO_V1(recsys_train_serialize);
PG_FUNCTION_INFO_V1(recsys_train_deserialize);
PG_FUNCTION_INFO_V1(recsys_train_final);
PG_FUNCTION_INFO_V1(recsys_train_shard_final);
PG_FUNCTION_INFO_V1(recsys_train_shards_transition);
PG_FUNCTION_INFO_V1(recsys_train_shards_final);
PG_FUNCTION_INFO_V1(recsys_describe_bytea);
PG_FUNCTION_INFO_V1(recsys_describe_stored);
}

using namespace recsys;
using namespace recsys::pg;

namespace {

struct TrainState {
    std::string algorithm;
    std::string params = "{}";
    bool configured = false;
    IdArgKind user_kind = IdArgKind::Int64;  // of this query's arguments; not serialised
    IdArgKind item_kind = IdArgKind::Int64;
    InteractionBuilder rows;
};

TrainState* new_state(MemoryContext context) { return owned_by(context, std::make_unique<TrainState>()); }

void configure(TrainState& state, FunctionCallInfo fcinfo) {
    require_arg(fcinfo, 1, "algorithm must not be NULL", "Name one, e.g. recsys_train('itemknn', user_id, item_id).");
    state.algorithm = text_arg(fcinfo, 1);
    find_algorithm(state.algorithm);  // fail on the first row, not after collecting them all
    if (PG_NARGS() > 5 && !PG_ARGISNULL(5)) {
        state.params = jsonb_arg(fcinfo, 5);
        Params::parse_json(state.params);
    }
    state.configured = true;
    state.user_kind = id_arg_kind(fcinfo, 2, "user_id", "Cast the column");
    state.item_kind = id_arg_kind(fcinfo, 3, "item_id", "Cast the column");
}

template <typename User>
void add_row(TrainState& state, FunctionCallInfo fcinfo, User user, double weight) {
    if (is_text(state.item_kind))
        state.rows.add(user, text_id_arg(fcinfo, 3, state.item_kind), weight);
    else
        state.rows.add(user, int_id_arg(fcinfo, 3, state.item_kind), weight);
}

// describe_json() with the size of the model's bytes.
std::string describe_with_size(const Model& model, size_t bytes) {
    std::string json = model.describe_json();
    json.insert(json.size() - 1, ", \"bytes\": " + std::to_string(bytes));
    return json;
}

// The model's bytes as the result, remembered with its description: train()
// describes what it stores, and decoding the bytes again for that took
// 0.2 s of a 2.5 s EASE training on the sample data.
Datum model_result(const Model& model, const Context& ctx) {
    std::vector<uint8_t> bytes = model.serialize(ctx);
    bytea* result = bytea_result(bytes.data(), bytes.size());
    std::string description = describe_with_size(model, bytes.size());
    remember_trained(std::move(bytes), std::move(description));
    return PointerGetDatum(result);
}

// recsys_train_shards' state: the shards' parts, decoded as they arrive.
struct ShardsState {
    std::string algorithm;
    std::string params = "{}";
    std::vector<Interactions> shards;
    uint64_t bytes = 0;
};

}  // namespace

extern "C" Datum recsys_train_transition(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        TrainState* state = transition_state<TrainState>(fcinfo, "recsys_train", [&](MemoryContext context) {
            TrainState* first = new_state(context);
            configure(*first, fcinfo);
            return first;
        });
        bool has_weight = PG_NARGS() > 4;
        if (PG_ARGISNULL(2) || PG_ARGISNULL(3) || (has_weight && PG_ARGISNULL(4))) {
            state->rows.skip();
            return PointerGetDatum(state);
        }
        double weight = has_weight ? PG_GETARG_FLOAT8(4) : 1.0;
        if (is_text(state->user_kind))
            add_row(*state, fcinfo, text_id_arg(fcinfo, 2, state->user_kind), weight);
        else
            add_row(*state, fcinfo, int_id_arg(fcinfo, 2, state->user_kind), weight);
        if ((state->rows.rows() & 0xFFFF) == 0)
            backend_context().reserve(state->rows.bytes(), "collecting the training rows");
        return PointerGetDatum(state);
    });
}

extern "C" Datum recsys_train_combine(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        return combine_states<TrainState>(fcinfo, "recsys_train", [](MemoryContext context, TrainState* a, TrainState& b) {
            if (!a) a = new_state(context);
            if (!a->configured) {
                a->algorithm = b.algorithm;
                a->params = b.params;
                a->configured = b.configured;
            }
            a->rows.merge(b.rows);
            backend_context().reserve(a->rows.bytes(), "collecting the training rows");
            return a;
        });
    });
}

extern "C" Datum recsys_train_serialize(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        return serialize_state<TrainState>(fcinfo, "recsys_train", [](const TrainState& state, ByteWriter& w) {
            w.put<uint8_t>(state.configured);
            w.put_string(state.algorithm);
            w.put_string(state.params);
            state.rows.write(w);
        });
    });
}

extern "C" Datum recsys_train_deserialize(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        return deserialize_state(fcinfo, "recsys_train", [](MemoryContext context, ByteReader& r) {
            TrainState* state = new_state(context);
            state->configured = r.get<uint8_t>() != 0;
            state->algorithm = r.get_string();
            state->params = r.get_string();
            state->rows = InteractionBuilder::read(r);
            return state;
        });
    });
}

extern "C" Datum recsys_train_final(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        aggregate_context(fcinfo, "recsys_train");
        auto* state = state_arg<TrainState>(fcinfo, 0);
        if (!state || !state->configured) return null_result(fcinfo);
        const Context ctx = backend_context();
        return model_result(train_model(state->algorithm, state->rows, state->params, ctx), ctx);
    });
}

// On a shard: its rows built, encoded (an empty part for a shard without rows).
extern "C" Datum recsys_train_shard_final(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        aggregate_context(fcinfo, "recsys_train_shard");
        auto* state = state_arg<TrainState>(fcinfo, 0);
        const Context ctx = backend_context();
        const std::vector<uint8_t> bytes = encode_shard(state ? state->rows.build(ctx) : Interactions{}, ctx);
        return PointerGetDatum(bytea_result(bytes.data(), bytes.size()));
    });
}

extern "C" Datum recsys_train_shards_transition(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        ShardsState* state = transition_state<ShardsState>(fcinfo, "recsys_train_shards", [&](MemoryContext context) {
            ShardsState* first = owned_by(context, std::make_unique<ShardsState>());
            require_arg(fcinfo, 1, "algorithm must not be NULL", "Name one, e.g. 'itemknn'.");
            first->algorithm = text_arg(fcinfo, 1);
            find_algorithm(first->algorithm);
            if (!PG_ARGISNULL(3)) {
                first->params = jsonb_arg(fcinfo, 3);
                Params::parse_json(first->params);
            }
            return first;
        });
        require_arg(fcinfo, 2, "shard_state must not be NULL",
                    "Pass what recsys_train_shard returned on each shard, e.g. through recsys.train_distributed().");
        auto bytes = bytea_arg(fcinfo, 2);
        const Context ctx = backend_context();
        state->bytes += bytes.size() * 3;  // decoded: a varint pair becomes 8 bytes or so
        ctx.reserve(state->bytes, "collecting the shards' training rows");
        state->shards.push_back(decode_shard(bytes, ctx));
        return PointerGetDatum(state);
    });
}

extern "C" Datum recsys_train_shards_final(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        aggregate_context(fcinfo, "recsys_train_shards");
        auto* state = state_arg<ShardsState>(fcinfo, 0);
        if (!state) return null_result(fcinfo);
        const Context ctx = backend_context();
        Interactions data = merge_shards(state->shards, ctx);
        std::vector<Interactions>().swap(state->shards);  // the merge is all that is needed now
        return model_result(train_model_on(state->algorithm, std::move(data), state->params, ctx), ctx);
    });
}

// describe_model(bytea): decodes, so it validates the bytes too, unless they
// are exactly those of the model this backend has just trained.
extern "C" Datum recsys_describe_bytea(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        auto bytes = bytea_arg(fcinfo, 0);
        if (auto described = recall_trained(bytes)) return jsonb_from_string(*described);
        Model model = Model::deserialize(bytes.data(), bytes.size(), backend_context());
        return jsonb_from_string(describe_with_size(model, bytes.size()));
    });
}

extern "C" Datum recsys_describe_stored(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        auto [name, owner, model] = load_model(fcinfo, text_arg(fcinfo, 0));
        return jsonb_from_string(model->describe_json());
    });
}
