// Compile-cost baseline: the two libraries switchyard itself builds on, included and unused.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

int main() { return 0; }
