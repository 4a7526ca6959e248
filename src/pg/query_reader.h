// Reads the rows of a user's query (run with the caller's rights) in
// batches through SPI, as text, so the C++ side never touches SPI. The SQL
// functions that check a caller's query for train() (recsys_query_body,
// recsys_query_columns) are in query_reader.cpp too.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "door.h"

namespace recsys::pg {

struct QueryColumn {
    const char* name;
    bool required;
};

// Calls `row` once per row with the values of `columns` (nullptr for SQL
// NULL or an absent optional column). Throws invalid_input naming the
// missing columns. `what` names the query in messages ("the test query").
// The query is parsed and run with `search_path`: the caller's.
void read_query(const std::string& sql, const std::string& search_path, const std::vector<QueryColumn>& columns,
                const char* what,
                const std::function<void(const std::vector<const char*>& values)>& row);

}  // namespace recsys::pg
