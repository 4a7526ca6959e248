// The registry of algorithms: adding one is one line here.
#include "als.h"
#include "bpr.h"
#include "ease.h"
#include "errors.h"
#include "itemknn.h"
#include "model.h"
#include "popularity.h"

namespace recsys {

namespace {
const Algorithm kAlgorithms[] = {
    {"popularity", popularity::train, popularity::read},
    {"itemknn", itemknn::train, itemknn::read},
    {"als", als::train, als::read, true},
    {"bpr", bpr::train, bpr::read, true},
    {"ease", ease::train, ease::read},
};
}  // namespace

const Algorithm& find_algorithm(std::string_view name) {
    for (const auto& a : kAlgorithms)
        if (a.name == name) return a;
    std::string known;
    for (const auto& a : kAlgorithms) known += (known.empty() ? "" : ", ") + std::string(a.name);
    throw invalid_input("unknown algorithm \"" + std::string(name) + "\"", "Known algorithms: " + known + ".");
}

}  // namespace recsys
