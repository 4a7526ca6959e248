#include "split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "errors.h"
#include "stop_check.h"

using recsys::IdText;
using recsys::in_test_split;
using recsys::interaction_hash;

namespace {

// Share of the 100k pairs (user 0..999, item 0..99) that land in test.
double realized_share(double fraction, uint64_t seed) {
    int in_test = 0;
    for (int64_t user = 0; user < 1000; ++user)
        for (int64_t item = 0; item < 100; ++item) in_test += in_test_split(user, item, fraction, seed);
    return in_test / 100000.0;
}

std::string error_message(auto&& call) {
    try {
        call();
    } catch (const recsys::Error& e) {
        EXPECT_EQ(e.kind(), recsys::ErrorKind::InvalidInput);
        return e.what();
    }
    ADD_FAILURE() << "no error thrown";
    return {};
}

std::vector<size_t> test_positions(const std::vector<bool>& is_test) {
    std::vector<size_t> positions;
    for (size_t i = 0; i < is_test.size(); ++i)
        if (is_test[i]) positions.push_back(i);
    return positions;
}

}  // namespace

TEST(SplitHash, PinnedValues) {
    // Computed once, and matched by an independent re-implementation of the
    // documented mixing. If this changes, every stored split changes too.
    EXPECT_EQ(interaction_hash(42, "SKU-0001", 7), 0x5debef817bbc4d4bULL);
    EXPECT_EQ(interaction_hash("customer-with-long-id", "x", 0), 0x70a1c28e4f0b0ed4ULL);  // > 8 bytes
}

TEST(SplitHash, IntegerIdsHashAsTheirDecimalText) {
    const std::string text_user = "42";
    EXPECT_EQ(interaction_hash(42, 7, 1), interaction_hash("42", "7", 1));
    EXPECT_EQ(interaction_hash(int64_t{42}, uint32_t{7}, 1), interaction_hash(text_user, std::string_view("7"), 1));
    EXPECT_EQ(interaction_hash(-5, 0, 1), interaction_hash("-5", "0", 1));
    EXPECT_EQ(interaction_hash(std::numeric_limits<int64_t>::min(), 1, 1),
              interaction_hash("-9223372036854775808", "1", 1));
    EXPECT_EQ(interaction_hash(std::numeric_limits<uint64_t>::max(), 1, 1),
              interaction_hash("18446744073709551615", "1", 1));
    EXPECT_NE(interaction_hash(42, 7, 1), interaction_hash("042", "7", 1));  // text is taken as is
}

TEST(SplitHash, FieldsDoNotRunTogether) {
    EXPECT_NE(interaction_hash("ab", "c", 1), interaction_hash("a", "bc", 1));
    EXPECT_NE(interaction_hash(1, 2, 1), interaction_hash(2, 1, 1));
    EXPECT_NE(interaction_hash("", "a", 1), interaction_hash("a", "", 1));
    EXPECT_NE(interaction_hash("a", "b", 1), interaction_hash("a", std::string("b\0", 2), 1));
}

TEST(InTestSplit, FractionZeroAndOne) {
    for (int64_t user = 0; user < 200; ++user)
        for (int64_t item = 0; item < 50; ++item) {
            EXPECT_FALSE(in_test_split(user, item, 0.0, 3));
            EXPECT_TRUE(in_test_split(user, item, 1.0, 3));
        }
}

TEST(InTestSplit, RealizedShareIsCloseToFraction) {
    for (double fraction : {0.01, 0.1, 0.2, 0.5, 0.9})
        for (uint64_t seed : {0ULL, 1ULL, 12345ULL})
            EXPECT_NEAR(realized_share(fraction, seed), fraction, 0.01) << "fraction " << fraction << " seed " << seed;
}

TEST(InTestSplit, SeedDecidesTheSplit) {
    int differ = 0;
    for (int64_t user = 0; user < 100; ++user)
        for (int64_t item = 0; item < 100; ++item) {
            bool a = in_test_split(user, item, 0.5, 1);
            EXPECT_EQ(a, in_test_split(user, item, 0.5, 1));
            differ += a != in_test_split(user, item, 0.5, 2);
        }
    // Independent splits at 0.5 disagree on about half of the 10k pairs.
    EXPECT_NEAR(differ / 10000.0, 0.5, 0.03);
}

TEST(InTestSplit, FractionOutsideZeroToOneIsRejected) {
    EXPECT_EQ(error_message([] { in_test_split(1, 2, 1.5, 0); }), "test fraction must be between 0 and 1, got 1.5");
    EXPECT_EQ(error_message([] { in_test_split(1, 2, -0.25, 0); }), "test fraction must be between 0 and 1, got -0.25");
    EXPECT_EQ(error_message([] { in_test_split(1, 2, std::nan(""), 0); }),
              "test fraction must be between 0 and 1, got nan");
}

TEST(HoldOutPerUser, HoldsOutRoundedShareWithSmallestHashes) {
    std::vector<IdText> items;
    for (int64_t i = 100; i < 110; ++i) items.emplace_back(i);
    auto is_test = recsys::hold_out_per_user("u1", items, 0.3, 9);  // round(0.3 * 10) = 3
    ASSERT_EQ(test_positions(is_test).size(), 3u);

    // Held-out items are exactly those ranked first by hash.
    std::vector<uint64_t> hashes;
    for (const auto& item : items) hashes.push_back(interaction_hash("u1", item, 9));
    std::vector<uint64_t> sorted = hashes;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < items.size(); ++i) EXPECT_EQ(is_test[i], hashes[i] <= sorted[2]) << i;
}

TEST(HoldOutPerUser, CountsAndLimits) {
    auto count = [](size_t n, double fraction) {
        std::vector<IdText> items;
        for (size_t i = 0; i < n; ++i) items.emplace_back(i);
        return test_positions(recsys::hold_out_per_user(1, items, fraction, 0)).size();
    };
    EXPECT_EQ(count(10, 0.0), 0u);
    EXPECT_EQ(count(4, 0.5), 2u);
    EXPECT_EQ(count(5, 0.5), 3u);   // round(2.5) = 3, halves round away from zero
    EXPECT_EQ(count(10, 0.04), 0u);  // round(0.4) = 0
    EXPECT_EQ(count(2, 0.9), 1u);   // round(1.8) = 2, capped: one item stays in training
    EXPECT_EQ(count(10, 1.0), 9u);  // even fraction 1 leaves one training item
    EXPECT_EQ(count(1, 1.0), 0u);   // a single item always stays in training
    EXPECT_EQ(count(0, 0.5), 0u);
    EXPECT_THROW(count(3, 2.0), recsys::Error);
}

TEST(HoldOutPerUser, IndependentOfItemOrder) {
    std::vector<std::string> names = {"a", "b", "c", "d", "e", "f", "g"};
    auto held_out = [&](const std::vector<std::string>& order) {
        std::vector<IdText> items(order.begin(), order.end());
        auto is_test = recsys::hold_out_per_user(5, items, 0.4, 3);
        std::vector<std::string> chosen;
        for (size_t i = 0; i < order.size(); ++i)
            if (is_test[i]) chosen.push_back(order[i]);
        std::sort(chosen.begin(), chosen.end());
        return chosen;
    };
    auto forward = held_out(names);
    EXPECT_EQ(forward.size(), 3u);  // round(2.8)
    std::reverse(names.begin(), names.end());
    EXPECT_EQ(held_out(names), forward);
    std::rotate(names.begin(), names.begin() + 3, names.end());
    EXPECT_EQ(held_out(names), forward);
}

TEST(LeaveLastN, TakesTheLatestItems) {
    // Times 30, 10, 50, 20, 40: the two latest are items at positions 2 and 4.
    std::vector<recsys::TimedItem> items = {{1, 30}, {2, 10}, {3, 50}, {4, 20}, {5, 40}};
    EXPECT_EQ(test_positions(recsys::leave_last_n(7, items, 2, 0)), (std::vector<size_t>{2, 4}));
    EXPECT_EQ(test_positions(recsys::leave_last_n(7, items, 1, 0)), (std::vector<size_t>{2}));
    EXPECT_TRUE(test_positions(recsys::leave_last_n(7, items, 0, 0)).empty());
    // Asking for all (or more) still leaves the earliest item in training.
    EXPECT_EQ(test_positions(recsys::leave_last_n(7, items, 5, 0)), (std::vector<size_t>{0, 2, 3, 4}));
    EXPECT_EQ(test_positions(recsys::leave_last_n(7, items, 99, 0)), (std::vector<size_t>{0, 2, 3, 4}));
    std::vector<recsys::TimedItem> single = {{1, 30}};
    EXPECT_TRUE(test_positions(recsys::leave_last_n(7, single, 1, 0)).empty());
}

TEST(LeaveLastN, EqualTimesBrokenByItemHash) {
    // Items "x" and "y" share the latest time; the one with the larger hash
    // counts as later, whichever order they come in.
    const bool x_later = interaction_hash(7, "x", 4) > interaction_hash(7, "y", 4);
    std::vector<recsys::TimedItem> xy = {{"w", 1}, {"x", 9}, {"y", 9}};
    std::vector<recsys::TimedItem> yx = {{"y", 9}, {"w", 1}, {"x", 9}};
    EXPECT_EQ(test_positions(recsys::leave_last_n(7, xy, 1, 4)), (std::vector<size_t>{x_later ? 1u : 2u}));
    EXPECT_EQ(test_positions(recsys::leave_last_n(7, yx, 1, 4)), (std::vector<size_t>{x_later ? 2u : 0u}));
    // Both tied items out when two are asked for.
    EXPECT_EQ(test_positions(recsys::leave_last_n(7, xy, 2, 4)), (std::vector<size_t>{1, 2}));
}

TEST(SplitRows, EachPairSplitAsItsUserItemsAre) {
    // Rows in any order, a repeated purchase on three rows: every row is
    // marked as hold_out_per_user / leave_last_n mark the user's distinct items.
    recsys::SplitRows rows;
    const std::vector<std::tuple<std::string, std::string, int64_t>> input = {
        {"u1", "a", 5}, {"u2", "x", 1}, {"u1", "b", 9}, {"u1", "a", 20}, {"u1", "c", 7},
        {"u2", "y", 2}, {"u1", "a", 1}, {"u1", "d", 3}, {"u1", "e", 4}};
    for (const auto& [user, item, time] : input) rows.add(user, item, time);
    ASSERT_EQ(rows.size(), input.size());
    EXPECT_EQ(rows.user(2), "u1");
    EXPECT_EQ(rows.item(2), "b");
    const recsys::Context ctx;
    const std::vector<IdText> u1 = {"a", "b", "c", "d", "e"}, u2 = {"x", "y"};
    const std::vector<bool> held_u1 = recsys::hold_out_per_user("u1", u1, 0.4, 7);
    const std::vector<bool> held_u2 = recsys::hold_out_per_user("u2", u2, 0.4, 7);
    const std::vector<bool> last_u1 = recsys::leave_last_n(
        "u1", std::vector<recsys::TimedItem>{{"a", 20}, {"b", 9}, {"c", 7}, {"d", 3}, {"e", 4}}, 2, 7);
    const std::vector<bool> last_u2 =
        recsys::leave_last_n("u2", std::vector<recsys::TimedItem>{{"x", 1}, {"y", 2}}, 2, 7);
    const std::vector<bool> held = rows.hold_out_per_user(0.4, 7, ctx), last = rows.leave_last_n(2, 7, ctx);
    for (size_t r = 0; r < input.size(); ++r) {
        const auto& [user, item, time] = input[r];
        const size_t k = user == "u1" ? size_t(item[0] - 'a') : size_t(item[0] - 'x');
        EXPECT_EQ(held[r], user == "u1" ? held_u1[k] : held_u2[k]) << "row " << r;
        EXPECT_EQ(last[r], user == "u1" ? last_u1[k] : last_u2[k]) << "row " << r;
    }
    EXPECT_TRUE(last[3] && last[0] && last[6]);  // a (latest row at 20) and b are u1's last two
}

TEST(SplitRows, CancelStopsBetweenUsersAndFreesEverything) {
    recsys::SplitRows rows;
    for (int u = 0; u < 5000; ++u)
        for (int i = 0; i < 10; ++i) rows.add(std::to_string(u), std::to_string((u * 7 + i) % 300), i);
    for (int polls : {1, 3}) {
        recsys::Context ctx;
        std::string progress;
        stop_check::cancel_after(ctx, "", polls, progress);
        stop_check::expect_cancelled_and_freed([&] { rows.hold_out_per_user(0.2, 42, ctx); });
        stop_check::cancel_after(ctx, "", polls, progress);
        stop_check::expect_cancelled_and_freed([&] { rows.leave_last_n(1, 42, ctx); });
    }
}

TEST(LeaveLastN, NegativeCountIsRejected) {
    std::vector<recsys::TimedItem> items = {{1, 1}, {2, 2}};
    EXPECT_EQ(error_message([&] { recsys::leave_last_n(1, items, -1, 0); }),
              "number of test items per user must not be negative, got -1");
}
