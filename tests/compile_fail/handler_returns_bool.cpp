// A handler must return void or switchyard::outcome: `return false` would otherwise count as a
// success. This file must not compile.
// expect: a switchyard handler must return void
#include <switchyard/switchyard.hpp>

struct Payment {
    std::string id;
};
SWITCHYARD_EVENT(Payment, "PAYMENT", id)

switchyard::target make_target() {
    return switchyard::handler<Payment>("check", [](const switchyard::event<Payment>& e) { return !e.detail.id.empty(); });
}
