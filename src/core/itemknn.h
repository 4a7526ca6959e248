// Item-kNN: a similarity between the items' columns of the user-item matrix,
// the top `neighbours` kept per item; a user's score for item i is the sum
// over their items j of w_j * sim(j, i).
//
// Parameters (all optional):
//   similarity  "cosine" (default): dot(a, b) / (|a| |b| + shrinkage)
//               "cooccurrence": the number of users who have both items
//                   (binary input; no weighting, no shrinkage)
//               "jaccard": |A n B| / (|A u B| + shrinkage) over the items'
//                   sets of users (binary input; no weighting)
//   weighting   cosine only: "bm25" (default) | "tfidf" | "none". The items x
//               users matrix is weighted as in weighting.h with items as
//               documents and users as terms (as the `implicit` library
//               does): idf_u = ln(n_items / items of u) discounts users who
//               buy everything; BM25 also saturates large quantities (k1)
//               and discounts items with many buyers (b).
//   bm25_k1     1.2, >= 0 (only with weighting "bm25")
//   bm25_b      0.75, in [0, 1] (only with weighting "bm25")
//   binary      every stored interaction counts as 1, applied before the
//               weighting. Default false with BM25 (its saturation already
//               tames wholesale quantities, and quantities then help), true
//               otherwise (raw quantities swamp a plain or tf-idf cosine).
//               Must be true for cooccurrence and jaccard.
//   neighbours  10: similar items kept per item (1..100000)
//   shrinkage   0: added to the denominator (cosine, jaccard), so pairs with
//               little support score lower.
// Defaults chosen on the wholesale sample (bench/itemknn_core.cpp, nDCG@10
// of a per-user 80/20 split): see the comments in itemknn.cpp.
//
// At scoring time each basket item's input weight w goes through the same
// transformation as in training, without the user's idf (a constant per
// user, which does not change the ranking): 1 if binary, then sqrt(w) for
// tf-idf, w (k1 + 1) / (w + k1 norm_j) for BM25 (norm_j, the item's length
// normalisation, is stored in the model). This ranked better than scoring
// with the input weights as `implicit` does (BM25 on quantities, 20
// neighbours: nDCG@10 0.247 against 0.195).
// Training is deterministic: the same model bytes for any thread count.
#pragma once

#include "model.h"
#include "topk.h"

namespace recsys::itemknn {

extern const Algorithm algorithm;

std::unique_ptr<Scorer> train(const Interactions& data, const Params& params, const Context& ctx);
std::unique_ptr<Scorer> read(ByteReader& r, uint32_t n_users, uint32_t n_items);

// The item-kNN scorer for other neighbour-list models (rp3beta.h): row j of
// `neighbours` (items x items, sorted by index) holds j's weights; every
// basket item counts 1. Written as item-kNN's binary payload, read back by
// read_neighbour_scorer, which accepts that payload only.
std::unique_ptr<Scorer> neighbour_scorer(CsrMatrix neighbours);
// Each item's neighbours (sorted by index) as the items x items matrix a
// neighbour scorer keeps; empties `rows` as it goes.
CsrMatrix neighbour_matrix(std::vector<std::vector<Scored>>& rows);
std::unique_ptr<Scorer> read_neighbour_scorer(ByteReader& r, uint32_t n_items);

}  // namespace recsys::itemknn
