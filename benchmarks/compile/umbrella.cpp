// Compile cost of including everything public, and using nothing.
#include <switchyard/switchyard.hpp>

int main() { return 0; }
