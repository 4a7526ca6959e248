// SQL functions for privacy: keyed pseudonyms and masking of personal data.
#include "args.h"
#include "privacy.h"

extern "C" {
PG_FUNCTION_INFO_V1(recsys_pseudonymize);
PG_FUNCTION_INFO_V1(recsys_pseudonymize_hex);
PG_FUNCTION_INFO_V1(recsys_mask_email);
PG_FUNCTION_INFO_V1(recsys_mask_phone);
PG_FUNCTION_INFO_V1(recsys_mask_name);
PG_FUNCTION_INFO_V1(recsys_mask_text);
}

using namespace recsys;
using namespace recsys::pg;

namespace {

// The key: the argument if given, else recsys.pseudonymize_key, which only
// members of recsys_pseudonymizer may use (anyone else could re-identify
// customers by pseudonymising candidate ids). It is never put into a message.
std::string key_arg(FunctionCallInfo fcinfo) {
    if (!PG_ARGISNULL(1)) return text_arg(fcinfo, 1);
    bool allowed = false;
    pg_call([&] {
        Oid role = get_role_oid("recsys_pseudonymizer", true);
        allowed = OidIsValid(role) && has_privs_of_role(GetUserId(), role);
    });
    if (!allowed)
        permission_denied("permission denied to use the server's pseudonymisation key",
                          "Pass a key as the second argument, or ask an administrator to GRANT recsys_pseudonymizer "
                          "to this role.");
    std::string key = setting_pseudonymize_key ? setting_pseudonymize_key : "";
    if (key.empty())
        throw invalid_input("no pseudonymisation key",
                            "Pass a key as the second argument, or have a superuser set it: "
                            "ALTER SYSTEM SET recsys.pseudonymize_key = '...'; SELECT pg_reload_conf();");
    return key;
}

size_t count_arg(FunctionCallInfo fcinfo, int n, const char* what) {
    int32 v = PG_GETARG_INT32(n);
    if (v < 0)
        throw invalid_input(std::string(what) + " must not be negative, got " + std::to_string(v),
                            std::string("Pass 0 or more, e.g. ") + what + " => 0 to keep none in clear.");
    return size_t(v);
}

}  // namespace

extern "C" Datum recsys_pseudonymize(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        if (PG_ARGISNULL(0)) return null_result(fcinfo);
        return Int64GetDatum(pseudonymize(key_arg(fcinfo), std::string_view(id_text_arg(fcinfo, 0, "id"))));
    });
}

extern "C" Datum recsys_pseudonymize_hex(PG_FUNCTION_ARGS) {
    return guarded([&]() -> Datum {
        if (PG_ARGISNULL(0)) return null_result(fcinfo);
        return text_result(pseudonymize_hex(key_arg(fcinfo), std::string_view(id_text_arg(fcinfo, 0, "id"))));
    });
}

extern "C" Datum recsys_mask_email(PG_FUNCTION_ARGS) {
    return guarded([&] { return text_result(mask_email(text_arg(fcinfo, 0))); });
}

extern "C" Datum recsys_mask_phone(PG_FUNCTION_ARGS) {
    return guarded([&] { return text_result(mask_phone(text_arg(fcinfo, 0), count_arg(fcinfo, 1, "keep_last"))); });
}

extern "C" Datum recsys_mask_name(PG_FUNCTION_ARGS) {
    return guarded([&] { return text_result(mask_name(text_arg(fcinfo, 0))); });
}

extern "C" Datum recsys_mask_text(PG_FUNCTION_ARGS) {
    return guarded([&] {
        return text_result(partial_mask(text_arg(fcinfo, 0), count_arg(fcinfo, 1, "keep_first"),
                                        count_arg(fcinfo, 2, "keep_last"), text_arg(fcinfo, 3)));
    });
}
