#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace switchyard;

static_assert(executor<manual_executor>);

TEST_CASE("manual_executor runs nothing until asked, then one at a time or all") {
    manual_executor exec;
    std::vector<int> ran;
    for (int i = 0; i < 3; ++i) exec.execute([&, i] { ran.push_back(i); });
    CHECK(ran.empty());
    CHECK(exec.size() == 3);
    CHECK(exec.run_one());
    CHECK(ran == std::vector<int>{0});
    exec.execute([&] { exec.execute([&] { ran.push_back(9); }); });  // tasks may queue tasks
    CHECK(exec.run_all() == 4);
    CHECK(ran == std::vector<int>{0, 1, 2, 9});
    CHECK_FALSE(exec.run_one());
}
